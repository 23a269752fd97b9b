"""The rules file `.dslineage/checks.yaml`: per dataset, what a good version looks like.

    train:
      columns: {id: int64, x: float, label: string}
      allowed_labels: [cat, dog, bird]          # or {label_col: [...]} per label column
      ranges: {x: {min: 0, max: 10}}            # or x: [0, 10]
      max_null_fraction: {x: 0.01, "*": 0}      # "*": every other column
      unique_key: true                          # or a list of columns
      min_rows_per_class: 5                     # or {label_col: 5}
      min_class_share: 0.05
      max_class_share: 0.6
      max_drift: {label_js: 0.1, label_psi: 0.2, label_shift: 0.02, numeric_psi: 0.2,
                  numeric_ks: 0.1, columns: {x: {psi: 0.3, ks: 0.2}}}   # or `true`: the defaults
      baseline: golden                          # drift against this tag/version (default: the
                                                # last version that passed its checks)

Loading validates the shape and every value; column names are checked against the data
when the rules run (`check_columns`). Every problem is one line naming the file, the rule
and the fix.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dslineage.config import META_DIR, Dataset
from dslineage.errors import RulesError

CHECKS_FILE = f"{META_DIR}/checks.yaml"
RULES = (
    "columns",
    "allowed_labels",
    "ranges",
    "max_null_fraction",
    "unique_key",
    "min_rows_per_class",
    "min_class_share",
    "max_class_share",
    "max_drift",
    "baseline",
)
LABEL_RULES = ("allowed_labels", "min_rows_per_class", "min_class_share", "max_class_share")
DRIFT_STATS = ("js", "psi", "shift", "ks")
DRIFT_KEYS = ("label_js", "label_psi", "label_shift", "numeric_psi", "numeric_ks", "columns")
# Thresholds `dslineage drift` uses for whatever the rules leave unset (README: quality gates).
# label_shift: the largest change of one class's share of rows; 0.02 flags a batch that moves
# 2% of the rows into one class, which JS (0.038) and PSI (0.007) both miss on ten classes.
DRIFT_DEFAULTS = {"label_js": 0.1, "label_psi": 0.2, "label_shift": 0.02, "numeric_psi": 0.2, "numeric_ks": 0.1}


@dataclass
class Rules:
    """The checks of one dataset, normalised: per-label rules keyed by label column."""

    dataset: str
    columns: dict[str, str] = field(default_factory=dict)
    allowed_labels: dict[str, list[Any]] = field(default_factory=dict)
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    max_null_fraction: dict[str, float] = field(default_factory=dict)
    unique_key: list[str] = field(default_factory=list)
    min_rows_per_class: dict[str, int] = field(default_factory=dict)
    min_class_share: dict[str, float] = field(default_factory=dict)
    max_class_share: dict[str, float] = field(default_factory=dict)
    drift: dict[str, Any] = field(default_factory=dict)  # DRIFT_KEYS; columns: {col: {stat: t}}
    baseline: str | None = None  # REF drift is measured against (default: the last passing version)

    def count(self) -> int:
        """How many rule entries there are (for messages)."""
        d = sum(1 for k in DRIFT_KEYS[:-1] if k in self.drift) + len(self.drift.get("columns", {}))
        return (
            len(self.columns)
            + len(self.allowed_labels)
            + len(self.ranges)
            + len(self.max_null_fraction)
            + bool(self.unique_key)
            + len(self.min_rows_per_class)
            + len(self.min_class_share)
            + len(self.max_class_share)
            + d
        )


def _bad(where: str, problem: str, fix: str) -> RulesError:
    return RulesError(f"{CHECKS_FILE}: {where}: {problem}: {fix}")


def _number(where: str, value: Any, lo: float = 0.0, hi: float = math.inf, kind: str = "a number") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        bounds = f" between {lo:g} and {hi:g}" if hi != math.inf else (f" >= {lo:g}" if lo != -math.inf else "")
        raise _bad(where, f"expected {kind}{bounds}, got {value!r}", "fix the value")
    return float(value)


def _per_label(where: str, value: Any, ds: Dataset, convert: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        out = {}
        for col, v in value.items():
            if col not in ds.labels:
                raise _bad(
                    f"{where}.{col}",
                    f"not a label column of {ds.name} (labels: {', '.join(ds.labels)})",
                    "use a label column, or a single value for all of them",
                )
            out[col] = convert(f"{where}.{col}", v)
        return out
    return {col: convert(where, value) for col in ds.labels}


def _mapping(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise _bad(where, f"expected a mapping of column names, got {value!r}", "write `column: value` pairs")
    return {str(k): v for k, v in value.items()}


def _range(where: str, value: Any) -> tuple[float | None, float | None]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        lo, hi = value
    elif isinstance(value, dict) and value and set(value) <= {"min", "max"}:
        lo, hi = value.get("min"), value.get("max")
    else:
        raise _bad(where, f"expected {{min: A, max: B}} or [A, B], got {value!r}", "fix the range")
    lo = None if lo is None else _number(where + ".min", lo, -math.inf)
    hi = None if hi is None else _number(where + ".max", hi, -math.inf)
    if lo is not None and hi is not None and lo > hi:
        raise _bad(where, f"min {lo:g} is above max {hi:g}", "swap them")
    return lo, hi


def _labels(where: str, value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _bad(where, f"expected a non-empty list of labels, got {value!r}", "list the allowed labels")
    return value


def _drift(where: str, value: Any) -> dict[str, Any]:
    if value is True:
        return {k: v for k, v in DRIFT_DEFAULTS.items()}
    value = _mapping(where, value)
    out: dict[str, Any] = {}
    for key, v in value.items():
        if key not in DRIFT_KEYS:
            raise _unknown(f"{where}.{key}", key, DRIFT_KEYS, "drift setting")
        if key != "columns":
            top = 1 if key in ("label_js", "label_shift", "numeric_ks") else math.inf
            out[key] = _number(f"{where}.{key}", v, 0, top)
            continue
        cols: dict[str, dict[str, float]] = {}
        for col, stats in _mapping(f"{where}.columns", v).items():
            stats = _mapping(f"{where}.columns.{col}", stats)
            for stat in stats:
                if stat not in ("psi", "ks"):
                    raise _unknown(f"{where}.columns.{col}.{stat}", stat, ("psi", "ks"), "column statistic")
            cols[col] = {
                s: _number(f"{where}.columns.{col}.{s}", t, 0, 1 if s == "ks" else math.inf) for s, t in stats.items()
            }
        out["columns"] = cols
    return out


def _unknown(where: str, name: str, known: tuple[str, ...], what: str) -> RulesError:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return _bad(where, f"unknown {what} {name!r}", f"{hint}use one of {', '.join(known)}")


def parse(ds: Dataset, raw: Any) -> Rules:
    """Validate one dataset's entry of the rules file."""
    where = ds.name
    if not isinstance(raw, dict):
        raise _bad(where, f"expected a mapping of rules, got {raw!r}", f"write `rule: value` lines under {ds.name}:")
    r = Rules(ds.name)
    for name, value in raw.items():
        at = f"{where}.{name}"
        if name not in RULES:
            raise _unknown(at, str(name), RULES, "rule")
        if name == "columns":
            r.columns = {c: _type(f"{at}.{c}", t) for c, t in _mapping(at, value).items()}
        elif name == "allowed_labels":
            r.allowed_labels = _per_label(at, value, ds, _labels)
        elif name == "ranges":
            r.ranges = {c: _range(f"{at}.{c}", v) for c, v in _mapping(at, value).items()}
        elif name == "max_null_fraction":
            if not isinstance(value, dict):
                value = {"*": value}
            r.max_null_fraction = {c: _number(f"{at}.{c}", v, 0, 1, "a fraction") for c, v in value.items()}
        elif name == "unique_key":
            r.unique_key = _unique(at, value, ds)
        elif name == "min_rows_per_class":
            r.min_rows_per_class = _per_label(at, value, ds, lambda w, v: int(_number(w, v, 0, kind="a count")))
        elif name in ("min_class_share", "max_class_share"):
            setattr(r, name, _per_label(at, value, ds, lambda w, v: _number(w, v, 0, 1, "a share")))
        elif name == "baseline":
            if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
                raise _bad(at, f"expected a tag or version such as golden or v3, got {value!r}", "fix the value")
            r.baseline = f"v{value}" if isinstance(value, int) else str(value).strip()
        else:
            r.drift = _drift(at, value)
    return r


def _type(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(
            where,
            f"expected a type name such as int64, float, string or DOUBLE, got {value!r}",
            "fix the type (use 'any' for any type)",
        )
    return value.strip()


def _unique(where: str, value: Any, ds: Dataset) -> list[str]:
    if value is True:
        return list(ds.key)
    if value is False or value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and value and all(isinstance(c, str) for c in value):
        return list(value)
    raise _bad(where, f"expected true or a list of columns, got {value!r}", "fix the value")


def load(root: Path, datasets: dict[str, Dataset]) -> dict[str, Rules]:
    """Every dataset's rules from the rules file (empty when there is no file)."""
    import yaml

    path = root / CHECKS_FILE
    if not path.exists():
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RulesError(f"{CHECKS_FILE}: not valid YAML ({line}{problem}): fix the syntax") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _bad("top level", "expected a mapping of dataset names to rules", "start each block with `NAME:`")
    out = {}
    for name, entry in raw.items():
        if name not in datasets:
            known = ", ".join(sorted(datasets)) or "none"
            raise _bad(
                str(name), f"no tracked dataset of that name (tracked: {known})", "fix the name or remove the block"
            )
        out[name] = parse(datasets[name], entry)
    return out
