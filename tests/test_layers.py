"""The import graph of the project's modules: no cycle, and the foundation imports nothing above it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("robust_eval", "attacks", "trainers")
FOUNDATION = "robust_eval.core"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_imports(path: Path, modules: set[str]) -> set[str]:
    """Project modules a file imports (at any depth: inside functions and TYPE_CHECKING blocks too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    modules = {module_name(p) for p in files}
    graph = {}
    for path in files:
        name = module_name(path)
        parents = {name.rsplit(".", i)[0] for i in range(1, name.count(".") + 1)}  # a package's __init__
        graph[name] = project_imports(path, modules) - {name} - parents
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_no_import_cycle_between_modules() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_foundation_imports_only_the_foundation() -> None:
    for module, targets in import_graph().items():
        if module.startswith(FOUNDATION):
            above = sorted(t for t in targets if not t.startswith(FOUNDATION))
            assert not above, f"{module} imports {above}"


def test_attacks_and_trainers_use_only_the_foundation_of_robust_eval() -> None:
    for module, targets in import_graph().items():
        if module.split(".")[0] in ("attacks", "trainers"):
            above = sorted(t for t in targets if t.startswith("robust_eval") and not t.startswith(FOUNDATION))
            assert not above, f"{module} imports {above}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
