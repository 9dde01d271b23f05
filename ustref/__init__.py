"""ustref: a pure-Python reference implementation of the LTTng UST consumer daemon.

Subpackages: :mod:`ustref.protocol` (typed lttcomm wire grammars),
:mod:`ustref.ring` (lttng-ust 2.13.5 shared-memory ring-buffer reader).
"""

__version__ = "0.1.0"
