"""The import graph of ``ustref/`` has no cycle.

Every module is parsed with :mod:`ast` (never imported); every ``import`` in it
counts — at module level, inside functions and under ``if TYPE_CHECKING`` —
relative or absolute; ``from package import name`` is an edge to
``package.name`` when that is a module and to ``package`` otherwise (importing
a submodule is not counted as depending on its package's ``__init__``). A
cycle is printed as the chain of modules that closes it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ustref

PACKAGE_ROOT = Path(ustref.__file__).resolve().parent


def module_name(path: Path) -> str:
    """The dotted name of the module at ``path`` (a file under :data:`PACKAGE_ROOT`)."""
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(path): path for path in sorted(PACKAGE_ROOT.rglob("*.py"))}


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that the module ``name`` (source at ``path``) imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for stmt in ast.walk(tree):
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                found.add(alias.name)
        elif isinstance(stmt, ast.ImportFrom):
            if stmt.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (stmt.level - 1)]
                base = ".".join(base_parts + ([stmt.module] if stmt.module else []))
            else:
                base = stmt.module or ""
            for alias in stmt.names:
                submodule = f"{base}.{alias.name}"
                # ``from package import submodule`` needs the submodule, not
                # what the package's ``__init__`` defines; any other name
                # comes from ``base`` itself.
                found.add(submodule if submodule in known else base)
    edges: set[str] = set()
    for imported in found:
        # ``import a.b.c`` names a.b.c; keep the longest prefix that is a module.
        target = imported
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            edges.add(target)
    return edges


def import_graph() -> dict[str, set[str]]:
    """Module → the package's modules it imports."""
    modules = all_modules()
    known = set(modules)
    return {name: imported_modules(name, path, known) for name, path in modules.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def visit(root: str) -> None:
        nonlocal counter
        # Iterative depth-first search: (node, iterator over its successors).
        work: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            if successors:
                succ = successors.pop(0)
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, sorted(graph[succ])))
                elif succ in on_stack:
                    low[node] = min(low[node], index[succ])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return components


def one_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest chain of imports inside ``component`` from its first module back to it."""
    start = component[0]
    members = set(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for succ in sorted(graph[node] & members):
                if succ == start:
                    chain = [node]
                    while chain[-1] != start:
                        chain.append(previous[chain[-1]])
                    return [start, *reversed(chain[:-1]), start]
                if succ not in previous:
                    previous[succ] = node
                    following.append(succ)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


def test_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    # A module-level absolute import.
    assert "ustref.protocol.registry" in graph["ustref.protocol.grammars"]
    # ``from package import submodule``.
    assert "ustref.protocol.peers.client" in graph["ustref.protocol.grammars"]
    # A function-level import.
    assert "ustref.fuzz.mutations" in graph["ustref.fuzz.decode"]


def test_tarjan_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert one_cycle(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_no_import_cycle() -> None:
    graph = import_graph()
    cycles = strongly_connected(graph)
    for component in cycles:
        print("import cycle:", " -> ".join(one_cycle(graph, component)))
        print("  modules in it:", ", ".join(component))
    assert not cycles, f"{len(cycles)} import cycle(s), printed above"
