"""Data-quality gates: rules in `.dslineage/checks.yaml`, `check`, `drift` and `audit`.

The statistics (numpy, scipy, krippendorff) are default dependencies; everything heavy is
imported inside the functions that use it.
"""

from __future__ import annotations

from typing import Any


def fmt(value: Any) -> str:
    """A measured value or threshold for people: 4 significant digits for floats, '-' for none."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    return "-" if value is None else str(value)


def require() -> None:
    """A one-line error when numpy, scipy or krippendorff is missing (a broken install)."""
    import importlib.util

    from dslineage.errors import DslineageError

    missing = [m for m in ("numpy", "scipy", "krippendorff") if importlib.util.find_spec(m) is None]
    if missing:
        raise DslineageError(
            f"the data-quality gates need {', '.join(missing)}: reinstall dslineage "
            "(`pip install --force-reinstall dslineage`) or `pip install numpy scipy krippendorff`"
        )
