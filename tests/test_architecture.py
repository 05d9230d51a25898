"""Imports flow one way (core -> data -> models -> train); inference never needs training."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "avsvt"

# module (or subpackage) -> prefixes it must never import
FORBIDDEN = {
    "avsvt.constants": ["avsvt.", "torch"],
    "avsvt.errors": ["avsvt.", "torch"],
    "avsvt.notes": ["avsvt.data", "avsvt.models", "avsvt.train", "torch"],
    "avsvt.labels": ["avsvt.data", "avsvt.models", "avsvt.train", "torch"],
    "avsvt.decoding": ["avsvt.data", "avsvt.models", "avsvt.train", "torch"],
    "avsvt.metrics": ["avsvt.data", "avsvt.models", "avsvt.train", "torch"],
    "avsvt.data": ["avsvt.models", "avsvt.train", "avsvt.transcribe"],
    "avsvt.models": ["avsvt.train", "avsvt.transcribe", "avsvt.synth", "avsvt.noise"],
    "avsvt.transcribe": ["avsvt.train"],
    "avsvt.lips": ["avsvt.models", "avsvt.train"],
    "avsvt.synth": ["avsvt.models", "avsvt.train"],
    "avsvt.noise": ["avsvt.models", "avsvt.train"],
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
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
