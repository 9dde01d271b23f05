"""Imports on first use: a package's re-exported names, and whole modules.

**Re-exported names** (PEP 562 ``__getattr__``).

A package whose ``__init__`` re-exports its submodules' names imports them all as
soon as any one submodule is imported; ustref-consumerd's start-up needs
:mod:`ustref.transport.argv` alone. Such a package lists its names in ``__all__``
(and for type checkers under ``if TYPE_CHECKING``) and defines
``__getattr__ = lazy_getattr(__name__, SUBMODULES, __all__)``.

**Modules** (:func:`lazy_module`). ustref-consumerd's relay daemon client, with that
peer's grammar, serves only sessions that stream: a consumer that writes locally (or
sits idle) never executes it. Its importers bind it with ``lazy_module`` and, for
type checkers, import it under ``if TYPE_CHECKING``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
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


def lazy_module(name: str) -> ModuleType:
    """Module ``name``, executed at the first access to one of its attributes
    (:class:`importlib.util.LazyLoader`); the module itself when it is imported
    already. Its parent package is imported now, and the module is bound in
    ``sys.modules`` and on its parent as an import would."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    return module
