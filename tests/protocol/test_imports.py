"""``ustref/protocol/`` has no import cycle (the grammar modules are listed in
:mod:`ustref.protocol.grammars`, which nothing below it imports)."""

from __future__ import annotations

import ast
from pathlib import Path

import ustref.protocol

ROOT = Path(ustref.protocol.__file__).parent
PACKAGE = "ustref.protocol"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def _imports(path: Path, known: set[str]) -> set[str]:
    """The ``ustref.protocol`` modules ``path`` imports, anywhere in it."""
    found: set[str] = set()
    for item in ast.walk(ast.parse(path.read_text())):
        if isinstance(item, ast.Import):
            found |= {alias.name for alias in item.names}
        elif isinstance(item, ast.ImportFrom) and item.module:
            found.add(item.module)
            found |= {f"{item.module}.{alias.name}" for alias in item.names}
    return {name for name in found if name in known}


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in ROOT.rglob("*.py")}
    known = set(paths)
    return {name: _imports(path, known) - {name} for name, path in paths.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        stack.append(name)
        for dep in sorted(graph[name]):
            # A package's own submodules import it implicitly; only real edges count.
            if state.get(dep) == 1 and not name.startswith(dep + "."):
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[name] = 2
        return []

    for name in sorted(graph):
        if name not in state:
            found = visit(name)
            if found:
                return found
    return []


def test_protocol_has_no_import_cycle() -> None:
    graph = _graph()
    assert f"{PACKAGE}.consumer" in graph[f"{PACKAGE}.grammars"]
    assert _cycle(graph) == []


def test_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []
