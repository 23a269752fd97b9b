"""The test suite's own set-up: every test module in a tier, helpers only from tests.support,
DeprecationWarning from our package an error (pyproject's filterwarnings)."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

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
    stray = sorted(
        p.relative_to(TESTS).as_posix() for p in TESTS.rglob("test_*.py") if p.relative_to(TESTS).parts[0] not in TIERS
    )
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


def test_deprecation_warning_from_our_package_is_an_error() -> None:
    """A DeprecationWarning attributed to a dslineage module raises (the suite's filterwarnings)."""
    with pytest.raises(DeprecationWarning, match="old API"):
        warnings.warn_explicit("old API", DeprecationWarning, "dslineage/x.py", 1, module="dslineage.x", registry={})


def test_third_party_deprecation_warning_stays_a_warning() -> None:
    """A DeprecationWarning attributed to another package is recorded as a warning: not raised, not ignored."""
    with warnings.catch_warnings(record=True) as seen:  # keeps the active filters, records what they let through
        warnings.warn_explicit("old API", DeprecationWarning, "lib/x.py", 1, module="somelib.x", registry={})
    assert [(w.category, str(w.message)) for w in seen] == [(DeprecationWarning, "old API")]
