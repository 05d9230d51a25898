"""Imports flow one way (core -> data -> models -> train); inference never needs training.

Every import counts: module level, inside functions, under ``TYPE_CHECKING``, relative, and
``importlib.import_module("avsvt....")`` with a literal name.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "avsvt"

# module (or subpackage) -> prefixes it must never import
FORBIDDEN = {
    "avsvt.constants": ["avsvt.", "torch"],
    "avsvt.errors": ["avsvt.", "torch"],
    "avsvt.notes": ["avsvt.", "torch"],
    "avsvt.layout": ["avsvt.data", "avsvt.models", "avsvt.train", "avsvt.labels", "torch"],
    "avsvt.utterances": ["avsvt.data", "avsvt.models", "avsvt.train", "torch"],
    "avsvt.labels": ["avsvt.data", "avsvt.models", "avsvt.train", "torch"],
    "avsvt.decoding": ["avsvt.data", "avsvt.models", "avsvt.train", "torch"],
    "avsvt.metrics": ["avsvt.data", "avsvt.models", "avsvt.train", "torch"],
    "avsvt.data": ["avsvt.models", "avsvt.train", "avsvt.transcribe"],
    "avsvt.models": ["avsvt.train", "avsvt.transcribe", "avsvt.synth", "avsvt.noise"],
    "avsvt.transcribe": ["avsvt.train", "avsvt.live"],
    "avsvt.live": ["avsvt.train", "avsvt.recipes", "avsvt.synth", "avsvt.noise", "avsvt.models"],
    "avsvt.lips": ["avsvt.models", "avsvt.train"],
    "avsvt.synth": ["avsvt.models", "avsvt.train"],
    "avsvt.noise": ["avsvt.models", "avsvt.train"],
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve_relative(module: str | None, level: int, importer: str, is_package: bool) -> str:
    parts = importer.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([module] if module else []))


def imports_of(path: Path) -> set[str]:
    """Every module name ``path`` imports, resolved to absolute names."""
    importer = module_name(path)
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = (
                node.module
                if node.level == 0
                else _resolve_relative(node.module, node.level, importer, is_package)
            )
            if module:
                found.add(module)
                # ``from avsvt.models import apply`` imports the submodule avsvt.models.apply
                found |= {f"{module}.{alias.name}" for alias in node.names}
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_flow_one_way(path):
    name = module_name(path)
    rules = [
        bad for owner, bad in FORBIDDEN.items() if name == owner or name.startswith(owner + ".")
    ]
    for imported in imports_of(path):
        for forbidden in (prefix for rule in rules for prefix in rule):
            assert not (imported == forbidden.rstrip(".") or imported.startswith(forbidden)), (
                f"{name} imports {imported}"
            )


def test_the_scan_sees_the_package():
    assert len(MODULES) > 10


def import_graph() -> dict[str, set[str]]:
    """Package module -> the package modules it imports (names that are not modules dropped)."""
    names = {module_name(path) for path in MODULES}
    return {
        module_name(path): {name for name in imports_of(path) if name in names}
        - {module_name(path)}
        for path in MODULES
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_scan_sees_every_kind_of_import(tmp_path):
    assert "avsvt.transcribe.api" in imports_of(PACKAGE / "transcribe" / "commands.py")
    assert "avsvt.models.checkpoint" in imports_of(PACKAGE / "transcribe" / "predictor.py")


def test_there_is_no_import_cycle():
    assert cycles(import_graph()) == []
