"""The shape of the code, as docs/architecture.md draws it: every import statement among the
console's modules (module level, inside functions and under `imports_passed_through` alike)
forms no cycle and goes only where the doc's layers table allows.

The graph is built from the source with `ast`, not by importing: an import that only runs in
a function is an edge too, and a lazy import is no way around a cycle. The table is read from
docs/architecture.md itself, so the diagram and the rules the code is held to are one text."""

import ast
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("omnify", "accounts", "orchestration")
DOC = ROOT / "docs" / "architecture.md"
TABLE = re.compile(r"<!-- layers: begin -->\n(.*?)<!-- layers: end -->", re.S)


def project_modules() -> dict[str, Path]:
    """Dotted name -> file, for the console's own modules (migrations aside: they only name
    what the models were)."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """What one import statement names, as dotted names (relative ones made absolute)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    # `from a import b` names the module a.b when there is one, else a name in a.
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules its import statements name (itself aside)."""
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        edges = graph.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            named = _imported(node, module, is_package)
            # For `from a import b`, a.b when it is a module, else a (b is a name in it).
            targets = [name for name in named[:-1] if name in modules] or named[-1:]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != module:
                    edges.add(target)
    return graph


@dataclass(frozen=True)
class Layer:
    name: str
    patterns: tuple[str, ...]
    may_import: frozenset[str]


def layers_table(text: str | None = None) -> list[Layer]:
    """The rows of docs/architecture.md's layers table, bottom layer first."""
    match = TABLE.search(text if text is not None else DOC.read_text())
    assert match, f"{DOC} has no layers table between its markers"
    rows = [line for line in match.group(1).splitlines() if line.startswith("| ")]
    layers = []
    for row in rows[1:]:  # the header
        name, modules, may_import = (cell.strip() for cell in row.strip("|").split("|"))
        layers.append(
            Layer(
                name=name.strip("*"),
                patterns=tuple(re.findall(r"`([^`]+)`", modules)),
                may_import=frozenset(re.findall(r"\*\*([^*]+)\*\*", may_import)),
            )
        )
    return layers


def layer_of(module: str, layers: list[Layer]) -> Layer | None:
    """A module's layer: the row whose pattern names it most exactly (the longest pattern
    that matches, so `orchestration.workflows.*.definition` wins over
    `orchestration.workflows.*`)."""
    matches = [
        (len(pattern), layer)
        for layer in layers
        for pattern in layer.patterns
        if fnmatchcase(module, pattern) or fnmatchcase(module, pattern.removesuffix(".*"))
    ]
    return max(matches, key=lambda match: match[0])[1] if matches else None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm,
    iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def forbidden_imports(graph: dict[str, set[str]], layers: list[Layer]) -> list[str]:
    problems = []
    for module in sorted(graph):
        source = layer_of(module, layers)
        if source is None:
            continue  # test_every_module_is_in_a_layer names it
        for target in sorted(graph[module]):
            destination = layer_of(target, layers)
            if destination is None or destination is source:
                continue
            if destination.name not in source.may_import:
                problems.append(f"{module} ({source.name}) imports {target} ({destination.name})")
    return problems


# --- the project --------------------------------------------------------------------------
def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_every_import_goes_where_the_layers_table_allows():
    assert forbidden_imports(import_graph(), layers_table()) == []


def test_every_module_is_in_a_layer():
    layers = layers_table()
    unplaced = [
        module
        for module, path in project_modules().items()
        if layer_of(module, layers) is None and path.read_text().strip()
    ]
    assert unplaced == []


def test_the_contract_imports_neither_django_nor_drf():
    """The sandbox imports the contract: Django there would be imported into every workflow
    run (and is not deterministic)."""
    contract = layers_table()[0]
    assert contract.name == "contract"
    found = []
    for module, path in project_modules().items():
        if layer_of(module, layers_table()) is not contract:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                named = _imported(node, module, path.name == "__init__.py")
                found += [f"{module}: {name}" for name in named if name.split(".")[0] in THIRD]
    assert found == []


THIRD = {"django", "rest_framework", "guardian", "knox", "axes"}


def test_the_table_names_only_layers_it_has():
    layers = layers_table()
    names = {layer.name for layer in layers}
    assert len(names) == len(layers)
    for layer in layers:
        assert layer.may_import <= names, f"{layer.name} may import an unknown layer"
        assert layer.name not in layer.may_import


APART = re.compile(r"<!-- apart: begin -->\n(.*?)<!-- apart: end -->", re.S)


def apart_table(text: str | None = None) -> list[tuple[str, str]]:
    """docs/architecture.md's rooms that must not import each other: (importer, imported)."""
    match = APART.search(text if text is not None else DOC.read_text())
    assert match, f"{DOC} has no table of rooms kept apart between its markers"
    rows = [line for line in match.group(1).splitlines() if line.startswith("| ")][1:]
    return [tuple(re.findall(r"`([^`]+)`", row)) for row in rows]


def imports_between_rooms_kept_apart(
    graph: dict[str, set[str]], apart: list[tuple[str, str]]
) -> list[str]:
    def within(module: str, pattern: str) -> bool:
        return fnmatchcase(module, pattern) or fnmatchcase(module, pattern.removesuffix(".*"))

    return [
        f"{module} imports {target}"
        for importer, imported in apart
        for module in sorted(graph)
        if within(module, importer)
        for target in sorted(graph[module])
        if within(target, imported)
    ]


def test_rooms_kept_apart_import_nothing_of_each_other():
    apart = apart_table()
    assert ("orchestration.admin.*", "orchestration.api.*") in apart
    assert imports_between_rooms_kept_apart(import_graph(), apart) == []


# --- the checks themselves ----------------------------------------------------------------
SAMPLE = """
<!-- layers: begin -->
| layer | modules | may import |
|---|---|---|
| **low** | `pkg.low.*` | nothing |
| **typed** | `pkg.*.typed` | **low** |
| **high** | `pkg.*` | **low**, **typed** |
<!-- layers: end -->
"""


def test_the_table_is_read_with_the_most_exact_pattern_winning():
    layers = layers_table(SAMPLE)
    assert [layer.name for layer in layers] == ["low", "typed", "high"]
    assert layer_of("pkg.low", layers).name == "low"
    assert layer_of("pkg.low.deep", layers).name == "low"
    assert layer_of("pkg.x.typed", layers).name == "typed"
    assert layer_of("pkg.x", layers).name == "high"
    assert layer_of("other", layers) is None


def test_an_import_between_rooms_kept_apart_is_named():
    graph = {"pkg.admin.x": {"pkg.api", "pkg.low"}, "pkg.api": set(), "pkg.low": set()}
    found = imports_between_rooms_kept_apart(graph, [("pkg.admin.*", "pkg.api.*")])
    assert found == ["pkg.admin.x imports pkg.api"]


def test_an_import_upwards_is_named():
    layers = layers_table(SAMPLE)
    graph = {"pkg.low.a": {"pkg.x"}, "pkg.x": {"pkg.low.a", "pkg.y.typed"}, "pkg.y.typed": set()}
    assert forbidden_imports(graph, layers) == ["pkg.low.a (low) imports pkg.x (high)"]


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [["a", "b"], ["c", "d"]]),
    ],
)
def test_cycles_are_found(graph, expected):
    assert sorted(cycles(graph)) == expected


def test_an_import_inside_a_function_is_an_edge():
    source = "def f():\n    from orchestration import models\n"
    tree = ast.parse(source)
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
    assert "orchestration.models" in _imported(node, "orchestration.x", is_package=False)
