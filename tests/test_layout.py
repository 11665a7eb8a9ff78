"""The package layout (issue 13, docs/architecture.md): at most 15 modules directly in
``harvester/``, no import circle between modules, and each package imports only the layers
below it.

The import graph is read from the source (``ast``), not from ``sys.modules``: every ``import``
and ``from ... import`` a module runs, at its top or inside a function, is an edge; imports under
``if TYPE_CHECKING:`` are not (they never run). ``from package import name`` is an edge to the
module ``package.name`` when there is one, else to the package."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("harvester", "sparql")
MAX_TOP_MODULES = 15

#: harvester/'s top-level modules that run a harvest (above the subpackages); every other
#: top-level module is a foundation module, below everything
RUN = {"harvester.pipeline", "harvester.history"}

#: layer -> the layers it may import (besides itself); see docs/architecture.md. A package not
#: named here is not checked (a new one adds itself, and its paragraph, when it lands).
MAY_IMPORT: dict[str, set[str]] = {
    "foundation": set(),
    "harvester.store": {"foundation"},
    "harvester.linking": {"foundation"},
    "harvester.demo": {"foundation"},
    "harvester.feed": {"foundation", "harvester.store"},
    "harvester.mapping": {"foundation", "harvester.store", "harvester.linking"},
    "harvester.sources": {"foundation", "harvester.mapping"},
    "run": {
        "foundation",
        "harvester.store",
        "harvester.mapping",
        "harvester.sources",
        "harvester.linking",
    },
    "sparql": {"foundation", "harvester.store", "harvester.mapping", "harvester.feed"},
    "harvester.service": {
        "foundation",
        "harvester.store",
        "harvester.mapping",
        "harvester.sources",
        "harvester.linking",
        "harvester.demo",
        "harvester.feed",
        "run",
        "sparql",
    },
}

#: edges that break the layers on purpose, with the reason
EXCEPTIONS = {
    # the embedded store's FROM check uses the endpoint's SPARQL lexer, imported late (the
    # sparql package imports the store)
    ("harvester.store.embedded", "sparql.guard"),
    # a followed stream's run (source kind ldes) is described like a harvest run, in the same
    # commit as its last page (issue 15)
    ("harvester.feed.follow", "harvester.history"),
}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _runtime_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements in ``node`` that run (all but those under ``if TYPE_CHECKING``)."""
    if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
        for child in node.orelse:
            yield from _runtime_imports(child)
        return
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    for child in ast.iter_child_nodes(node):
        yield from _runtime_imports(child)


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project's modules that module ``name`` imports."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module.split(".") if node.module else []
            if node.level:
                base = package[: len(package) - node.level + 1] + base
            module = ".".join(base)
            targets = [
                f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module
                for alias in node.names
            ]
        found.update(t for t in targets if t in known and t != name)
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "sparql":
        return "sparql"
    if len(parts) == 2 and module in RUN:
        return "run"
    if len(parts) <= 2 and not (ROOT / "harvester" / parts[-1]).is_dir():
        return "foundation"  # harvester itself, or one of its top-level modules
    return ".".join(parts[:2]) if ".".join(parts[:2]) in MAY_IMPORT else None


def test_at_most_15_modules_directly_in_harvester() -> None:
    top = sorted(path.name for path in (ROOT / "harvester").glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top


def test_no_import_circle() -> None:
    assert cycles(import_graph()) == []


def test_each_package_imports_only_the_layers_below_it() -> None:
    broken = []
    for module, targets in import_graph().items():
        here = layer(module)
        if here is None:
            continue
        for target in sorted(targets):
            there = layer(target)
            allowed = there is None or there == here or there in MAY_IMPORT[here]
            if not allowed and (module, target) not in EXCEPTIONS:
                broken.append(f"{module} ({here}) imports {target} ({there})")
    assert broken == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"a"}}, [["a"]]),
    ],
)
def test_cycles_finds_circles(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


def test_late_imports_count_and_type_checking_ones_do_not() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import typed_only\nelse:\n    import otherwise\n"
        "def f():\n    import late\n"
    )
    names = {a.name for node in _runtime_imports(ast.parse(source)) for a in node.names}
    assert names == {"TYPE_CHECKING", "otherwise", "late"}
    assert "sparql.guard" in import_graph()["harvester.store.embedded"]  # inside a function
