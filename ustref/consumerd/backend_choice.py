"""The names of the ust-ctl backends and how the consumer picks one.

Kept apart from :mod:`ustref.consumerd.ring_backend` (which re-exports them) so that
the command line (:mod:`ustref.consumerd.cli`) can read and check the choice without
importing the ring-buffer code: the consumer imports that only once it serves.
"""

from __future__ import annotations

PURE = "pure"
LIB = "lib"
CHOICES = (PURE, LIB)
DEFAULT = PURE
ENV = "USTREF_UST_CTL"
"""Chooses the backend when the option is absent: lttng-sessiond launches the consumer
with a fixed argv, so the environment it passes down is the way to pick ``lib`` there."""
