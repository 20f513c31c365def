"""The layers of docs/architecture.md, enforced: imports run one way, and no circle can come back.

Every `import` of an aura module counts, function-local ones included (reading the source, not
importing it), so an import hidden inside a function to dodge a circle fails here as well.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "aura"
MAX_MODULE_LINES = 300
MAX_TOP_LEVEL_MODULES = 12

# Lowest first: a module may import from its own layer and those below it, never above.
INFRASTRUCTURE = (
    "aura.config",
    "aura.environment",
    "aura.extensions",
    "aura.models",
    "aura.database",
    "aura.events",
    "aura.schemas",
    "aura.llm",
    "aura.web",
    "aura.auth",
    "aura.jobs.queue",
)
MEMORY = ("aura.memory",)
ENTRY_POINTS = ("aura", "aura.memory.api", "aura.memory.cli", "aura.auth.cli")  # plus every *.api, *.cli
# Everything else is a feature: chat, consolidation, conversations, jobs, webhooks, admin.


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _targets(node: ast.AST, known: Mapping[str, Path]) -> Iterable[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        # `from aura.memory import service` imports the module aura.memory.service
        names = [
            f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
            for a in node.names
        ]
    else:
        return
    for name in names:
        while name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in known:
            yield name


def import_graph() -> tuple[dict[str, set[str]], list[tuple[str, str, int]]]:
    """Each module's aura imports, and the (module, imported, line) of those inside a function."""
    known = all_modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    local: list[tuple[str, str, int]] = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for scope in ast.walk(tree):
            in_function = isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            for node in ast.walk(scope) if in_function else ast.iter_child_nodes(scope):
                for target in _targets(node, known):
                    if target != name:
                        graph[name].add(target)
                        if in_function:
                            local.append((name, target, node.lineno))
    return graph, local


def circles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components larger than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
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


def _within(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def layer_of(name: str) -> int:
    """0 infrastructure, 1 memory, 2 features, 3 entry points (the factory, blueprints' api, CLI)."""
    if name in ENTRY_POINTS or name.endswith((".api", ".cli")) or name == "aura.admin.views":
        return 3
    if _within(name, INFRASTRUCTURE):
        return 0
    if _within(name, MEMORY):
        return 1
    return 2


def test_the_circle_finder_finds_a_circle_and_nothing_else():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_among_auras_modules():
    graph, _ = import_graph()
    assert len(graph) > 50  # the reader saw the package
    assert circles(graph) == []


def test_no_aura_import_hides_inside_a_function():
    _, local = import_graph()
    assert local == [], "import at the top of the module; a circle means a layer is wrong"


def test_imports_point_down_the_layers():
    graph, _ = import_graph()
    upward = [
        f"{name} (layer {layer_of(name)}) imports {target} (layer {layer_of(target)})"
        for name, targets in graph.items()
        for target in targets
        if layer_of(target) > layer_of(name)
    ]
    assert upward == []


@pytest.mark.parametrize("feature", ["aura.webhooks", "aura.jobs", "aura.consolidation", "aura.chat"])
def test_the_memory_layer_knows_nothing_of_the_features_that_listen_to_it(feature):
    graph, _ = import_graph()
    memory_core = [name for name in graph if _within(name, MEMORY) and layer_of(name) == 1]
    assert "aura.memory.service" in memory_core
    assert [(name, t) for name in memory_core for t in graph[name] if _within(t, [feature])] == []


def test_modules_stay_small_and_the_top_level_short():
    modules = all_modules()
    too_long = {
        name: lines
        for name, path in modules.items()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}
    top_level = [
        name for name, path in modules.items() if name.count(".") == 1 and path.name != "__init__.py"
    ]
    assert len(top_level) + 1 <= MAX_TOP_LEVEL_MODULES, top_level  # + aura/__init__.py, the factory
