"""The shape of ``ustref/consumerd/``: no import cycle, no system call or clock outside
the shell. Both read the sources (AST), so a function-level import or a call hidden
in a helper counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import ustref.consumerd

PACKAGE = Path(ustref.consumerd.__file__).parent
SHELL = {"loop.py", "cli.py", "effects.py", "testpoint.py"}
"""The shell: the event loop and command line, the effects it performs for the core,
and the test-only pause pipe it opens, reads and unlinks (``testpoint.py``)."""

FORBIDDEN = {
    ("time", "monotonic"),
    ("time", "monotonic_ns"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "perf_counter"),
    ("time", "perf_counter_ns"),
    ("time", "clock_gettime"),
    ("time", "clock_gettime_ns"),
    ("os", "write"),
    ("os", "pipe"),
    ("os", "pipe2"),
    ("os", "unlink"),
    ("os", "remove"),
    ("os", "rmdir"),
    ("fcntl", "fcntl"),
}
"""(module, function) calls the core must leave to the shell (``spec/core.md``)."""


def _modules() -> dict[str, ast.Module]:
    return {
        f"ustref.consumerd.{path.stem}": ast.parse(path.read_text(), str(path))
        for path in sorted(PACKAGE.glob("*.py"))
    }


def _imports(name: str, tree: ast.Module) -> set[str]:
    """Every ``ustref.consumerd`` module ``tree`` imports, at any depth (function
    bodies and ``TYPE_CHECKING`` blocks included)."""
    out: set[str] = set()
    package = name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = f"{package}.{base}" if base else package
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in out if m.startswith("ustref.consumerd.") and m != name}


def test_no_import_cycle_under_consumerd() -> None:
    modules = _modules()
    graph = {name: _imports(name, tree) & set(modules) for name, tree in modules.items()}
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_the_handlers_do_not_import_the_core() -> None:
    modules = _modules()
    for name in ("handlers", "lifetime", "state", "exchange", "streams", "registry"):
        assert "ustref.consumerd.core" not in _imports(
            f"ustref.consumerd.{name}", modules[f"ustref.consumerd.{name}"]
        ), name


def _calls(tree: ast.Module) -> set[tuple[str, str]]:
    """(module, function) pairs called as ``module.function(...)`` or imported as
    ``from module import function``."""
    out: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            out.add((node.value.id, node.attr))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.update((node.module, alias.name) for alias in node.names)
    return out


def test_only_the_shell_reads_the_clock_or_makes_these_system_calls() -> None:
    """The done-when check of the sans-IO core: no module under ``ustref/consumerd/``
    but the shell calls a clock, ``os.write``, ``os.pipe2``, ``fcntl`` or ``os.unlink``."""
    offenders = {
        (path.name, f"{module}.{function}")
        for path in sorted(PACKAGE.glob("*.py"))
        if path.name not in SHELL
        for module, function in _calls(ast.parse(path.read_text()))
        if (module, function) in FORBIDDEN
    }
    assert offenders == set()
    # and the shell does make them (the check looks at the right names)
    shell_calls = set().union(*(_calls(ast.parse((PACKAGE / n).read_text())) for n in SHELL))
    assert {("time", "monotonic_ns"), ("os", "write"), ("fcntl", "fcntl")} <= shell_calls
