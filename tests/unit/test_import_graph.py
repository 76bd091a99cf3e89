"""The package's import graph, read from the source: no import cycles, and layers point one way.

The graph is built statically (``ast`` over every module of ``integration_logs_async``), so a
module is checked whether or not a test imports it. Every ``import`` statement counts: at module
level and inside functions (a lazy import still runs, later). Imports under
``if TYPE_CHECKING:`` never run; they count for the layering rule (a type is a dependency too)
but not for cycles (that is what they are for).

Packages: importing ``pkg.sub`` first runs ``pkg/__init__.py``, so an import of ``pkg.sub`` from
OUTSIDE ``pkg`` is also an edge to ``pkg``. From INSIDE ``pkg`` it is not: ``pkg/__init__.py``
is already running (or done) when its own submodules import each other. Hence a package
``__init__`` re-exporting its submodules is no cycle, and neither is ``pkg/_x.py`` importing a
sibling as ``from . import _y`` (that names the module ``pkg._y``). But ``from . import Name``
in ``pkg/_x.py``, where ``Name`` is re-exported by ``pkg/__init__.py``, IS an edge to ``pkg``:
it works only when ``__init__`` happens to import ``Name``'s module before ``_x``, so it counts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from itertools import pairwise
from pathlib import Path

PACKAGE = "integration_logs_async"
SOURCE = Path(__file__).resolve().parents[2] / PACKAGE

# --- the layering rule, as data -----------------------------------------------------------------

GENERIC = (
    f"{PACKAGE}.harvest",
    f"{PACKAGE}.harvest.*",
    f"{PACKAGE}.cli",
    f"{PACKAGE}.cli.*",
    f"{PACKAGE}.fanout",
    f"{PACKAGE}._fanout*",
    f"{PACKAGE}.tail",
    f"{PACKAGE}._tail*",
    f"{PACKAGE}.sinks",
    f"{PACKAGE}.sinks.*",
    f"{PACKAGE}.stream",
    f"{PACKAGE}._stream*",
    f"{PACKAGE}._paging*",  # the pagination engine
    f"{PACKAGE}._pagination*",
    f"{PACKAGE}._http*",  # the transport
    f"{PACKAGE}._transport*",
)
"""Modules that know no provider: they reach one only through the registry (fnmatch patterns)."""

PROVIDER_INTERNALS = (
    # A provider's folder: providers/<name>/... (modules directly in providers/, named
    # ``_something`` or the package itself, are shared by all providers: registry, spec, base).
    f"{PACKAGE}.providers.[!_]*",
    # Where provider code lived before issue 16; a compatibility shim left there still counts.
    f"{PACKAGE}.sendcloud",
    f"{PACKAGE}.elasticpath",
    f"{PACKAGE}._sendcloud_integrations",
    f"{PACKAGE}.models.sendcloud",
    f"{PACKAGE}.models.elasticpath",
    f"{PACKAGE}.models",  # the public re-export of every provider's models
)
"""Modules that GENERIC modules must not import (fnmatch patterns)."""


# --- the graph -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Edge:
    """One module depending on another: where it says so, and how."""

    line: int
    typing_only: bool  # under ``if TYPE_CHECKING:``
    implicit: bool  # the package ``__init__`` run before the submodule actually named


Graph = dict[str, dict[str, Edge]]


def module_files() -> dict[str, tuple[Path, bool]]:
    """Every module of the package: dotted name -> (file, is a package ``__init__``)."""
    found: dict[str, tuple[Path, bool]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, typing_only: bool = False) -> Iterator[tuple[ast.stmt, bool]]:
    """Every import statement under ``tree`` (any depth), and whether only type checkers run it."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, typing_only
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), True)
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), typing_only)
        else:
            yield from _imports(node, typing_only)


def _targets(node: ast.stmt, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The package's modules that an import statement names (relative imports resolved).

    A name inside the package that is no module of it is returned as written (a dangling
    import: test_every_import_of_the_package_resolves reports it).
    """
    found: list[str] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            name = alias.name
            while name and name not in known:  # ``import pkg.mod.attr`` -> the module
                name = name.rpartition(".")[0]
            found += [name] if name else [alias.name] if _inside(alias.name) else []
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module if is_package else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            base = f"{base}.{node.module}" if node.module else base
        else:
            base = node.module or ""
        for alias in node.names:
            if f"{base}.{alias.name}" in known:  # ``from pkg import submodule``
                found.append(f"{base}.{alias.name}")
            elif base in known or _inside(base):  # ``from module import name``
                found.append(base)
    return found


def _inside(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def _packages_run_first(importer: str, target: str) -> list[str]:
    """The packages whose ``__init__`` runs when ``importer`` imports ``target`` (outermost
    first): ``target``'s ancestors, except those ``importer`` lives in (already running)."""
    parts = target.split(".")
    ancestors = [".".join(parts[:n]) for n in range(1, len(parts))]
    return [pkg for pkg in ancestors if not importer.startswith(pkg + ".")]


def build_graph() -> Graph:
    """importer -> imported -> the edge (a run-time import wins over a typing-only one)."""
    files = module_files()
    known = set(files)
    graph: Graph = {}
    for module, (path, is_package) in files.items():
        out: dict[str, Edge] = {}
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, typing_only in _imports(tree):
            for target in _targets(node, module, is_package, known):
                found = [(target, False)]
                found += [(pkg, True) for pkg in _packages_run_first(module, target)]
                for name, implicit in found:
                    if name == module:
                        continue
                    edge = Edge(node.lineno, typing_only, implicit)
                    before = out.get(name)
                    if before is None or _rank(edge) < _rank(before):
                        out[name] = edge
        graph[module] = out
    return graph


def _rank(edge: Edge) -> tuple[bool, bool, int]:
    return (edge.typing_only, edge.implicit, edge.line)


def test_every_import_of_the_package_resolves() -> None:
    """Also lazy imports, which run only when their function does (a moved module leaves
    them dangling)."""
    graph = build_graph()
    dangling = [
        f"{module} line {edge.line}: {target}"
        for module, out in sorted(graph.items())
        for target, edge in sorted(out.items())
        if target not in graph
    ]
    assert not dangling, "imports of modules the package does not have:\n  " + "\n  ".join(dangling)


# --- cycles --------------------------------------------------------------------------------------


def strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (recursive: the package has ~150 modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def cycle_through(start: str, graph: dict[str, list[str]], members: set[str]) -> list[str]:
    """A shortest import path from ``start`` back to itself, within ``members``."""
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for nxt in graph.get(node, ()):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if nxt in members and nxt not in parent:
                    parent[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"{start} is on no cycle")


def describe(path: list[str], graph: Graph) -> str:
    """``a -> b (a.py:12) -> ...``: each step with the line that makes it."""
    steps = [path[0]]
    for here, there in pairwise(path):
        edge = graph[here][there]
        how = " (package __init__ runs first)" if edge.implicit else ""
        steps.append(f"{there}  [{here} line {edge.line}{how}]")
    return "\n    -> ".join(steps)


def test_the_graph_sees_the_package() -> None:
    graph = build_graph()
    assert f"{PACKAGE}.config" in graph and f"{PACKAGE}.harvest" in graph
    assert f"{PACKAGE}.config" in graph[PACKAGE], "the top package imports config"


def test_no_import_cycles() -> None:
    graph = build_graph()
    runtime = {
        module: sorted(t for t, edge in out.items() if not edge.typing_only)
        for module, out in graph.items()
    }
    cycles = [
        describe(cycle_through(component[0], runtime, set(component)), graph)
        for component in strongly_connected(runtime)
        if len(component) > 1
    ]
    assert not cycles, "import cycle(s):\n  " + "\n  ".join(cycles)


def test_cycles_are_found() -> None:
    """The checker itself: a made-up graph with one cycle and a package re-export."""
    graph = {"p": ["p._x"], "p._x": ["p._y"], "p._y": ["q"], "q": ["p._x"], "r": ["q"]}
    components = [c for c in strongly_connected(graph) if len(c) > 1]
    assert components == [["p._x", "p._y", "q"]]
    assert cycle_through("p._x", graph, set(components[0])) == ["p._x", "p._y", "q", "p._x"]
    assert _packages_run_first("p._x", "p._y") == []  # a sibling: p is already running
    assert _packages_run_first("q", "p.sub._z") == ["p", "p.sub"]


# --- layering ------------------------------------------------------------------------------------


def _matches(module: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatchcase(module, pattern) for pattern in patterns)


def provider_of(module: str) -> str:
    """The provider a provider-internal module belongs to (``sendcloud``, ``elasticpath``;
    ``*`` for a module of all of them)."""
    rest = module.removeprefix(f"{PACKAGE}.")
    if rest.startswith("providers."):
        return rest.split(".")[1]
    return next((name for name in ("sendcloud", "elasticpath") if name in rest), "*")


def provider_imports() -> dict[tuple[str, str], list[str]]:
    """(generic importer, provider) -> the provider-internal modules it imports, with lines."""
    found: dict[tuple[str, str], list[str]] = {}
    for importer, out in sorted(build_graph().items()):
        if not _matches(importer, GENERIC):
            continue
        for target, edge in sorted(out.items()):
            if not edge.implicit and _matches(target, PROVIDER_INTERNALS):
                found.setdefault((importer, provider_of(target)), []).append(
                    f"{target} (line {edge.line})"
                )
    return found


def test_generic_modules_do_not_import_provider_internals() -> None:
    found = provider_imports()
    assert not found, (
        "generic modules import provider internals; go through the provider registry instead:\n"
        + "\n".join(f"  {importer} -> {', '.join(t)}" for (importer, _), t in found.items())
    )


def test_the_layering_rule_matches_what_it_names() -> None:
    """Each pattern still names a module, so that a rename cannot silently empty the rule."""
    modules = set(module_files())
    for required in (
        f"{PACKAGE}.harvest",
        f"{PACKAGE}.cli",
        f"{PACKAGE}.fanout",
        f"{PACKAGE}.stream",
    ):
        assert required in modules and _matches(required, GENERIC)
    engine = [m for m in modules if _matches(m, (f"{PACKAGE}._pagina*", f"{PACKAGE}._paging*"))]
    transport = [m for m in modules if _matches(m, (f"{PACKAGE}._http*", f"{PACKAGE}._transp*"))]
    assert engine and transport, "the pagination engine or the transport moved: update GENERIC"
    assert any(_matches(m, PROVIDER_INTERNALS) for m in modules)
