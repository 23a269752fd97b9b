"""The test suite's own layout: every test module in a tier, helpers only from tests.support."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
TIERS = ("unit", "func", "e2e")


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports (absolute names, at any depth of the file)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_every_test_module_is_in_a_tier() -> None:
    """tests/test_*.py (e.g. merged in from another branch) belongs in tests/unit, func or e2e."""
    stray = sorted(p.relative_to(TESTS).as_posix() for p in TESTS.rglob("test_*.py")
                   if p.relative_to(TESTS).parts[0] not in TIERS)
    assert not stray, f"move these into tests/unit, tests/func or tests/e2e (see tests/support/__init__.py): {stray}"


def test_no_test_module_imports_another_or_a_conftest() -> None:
    """Helpers come from tests.support, fixtures from conftest.py files: never `from tests.conftest`
    or `from tests.<tier>.test_x import ...`."""
    bad = []
    for path in sorted(TESTS.rglob("*.py")):
        for module in _imported_modules(path):
            last = module.rsplit(".", 1)[-1]
            if module.startswith("tests.") and (last.startswith("test_") or last == "conftest"):
                bad.append(f"{path.relative_to(TESTS).as_posix()}: {module}")
    assert not bad, f"import helpers from tests.support instead: {bad}"
