"""A package's re-exported names, imported on first use (PEP 562 ``__getattr__``).

A package whose ``__init__`` re-exports its submodules' names imports them all as
soon as any one submodule is imported; ustref-consumerd's start-up needs
:mod:`ustref.transport.argv` alone. Such a package lists its names in ``__all__``
(and for type checkers under ``if TYPE_CHECKING``) and defines
``__getattr__ = lazy_getattr(__name__, SUBMODULES, __all__)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any


def lazy_getattr(
    package: str, submodules: Sequence[str], names: Sequence[str]
) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: a name of ``names`` comes from the
    first of ``submodules`` that defines it, imported then."""

    def __getattr__(name: str) -> Any:
        if name in names:
            for module in submodules:
                found = importlib.import_module(f"{package}.{module}")
                if hasattr(found, name):
                    return getattr(found, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
