"""No import loop inside lrviz/, counting every import statement (at module level or inside a function).

A loop makes the import order matter and hides layering mistakes: the low layers (errors, signatures, spec,
schedules, the framework math) must not reach back up to what imports them. Imports under ``if TYPE_CHECKING:``
(annotations only, never run) are not counted. ``from package import name`` counts as an import of
``package.name`` when that is a module, else of ``package``.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "lrviz"


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_lines(tree)
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skipped:
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    child = f"{target}.{alias.name}"
                    graph[name].add(child if child in modules else target)
            elif isinstance(node, ast.Import):
                graph[name].update(alias.name for alias in node.names)
        graph[name] = {target for target in graph[name] if target in modules and target != name}
    return graph


def loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_checker_finds_a_loop() -> None:
    assert loops({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert loops({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_lazy_imports() -> None:
    graph = import_graph()
    assert "lrviz.configs.pipeline" in graph["lrviz.configs"]  # imported inside __getattr__
    assert "lrviz.schedule_math" in graph["lrviz.frameworks.deepspeed"]  # imported inside a function


def test_no_import_loop_in_lrviz() -> None:
    found = loops(import_graph())
    assert not found, "import loops: " + "; ".join(" <-> ".join(component) for component in found)


def test_low_layers_import_nothing_above_them() -> None:
    graph = import_graph()
    low = {"lrviz.errors", "lrviz.notes", "lrviz.signature_types", "lrviz.schedule_math"}
    for name in low:
        assert graph[name] <= low, (name, graph[name] - low)
    for name in ("lrviz.spec", "lrviz.signatures", "lrviz.schedules"):
        above = {target for target in graph[name] if target.startswith(("lrviz.configs", "lrviz.commands", "lrviz.cli",
                                                                        "lrviz.advise", "lrviz.resolve"))}
        assert not above, (name, above)
