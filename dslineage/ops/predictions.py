"""A model's predictions file, read once and checked against a dataset (issue 13: `review`, `eval`).

Two shapes: the key column(s) and one probability column per class (named after the label
values, optionally prefixed `p_`, `prob_`, `proba_`, `pred_` or `probability_`), or the key
column(s), one predicted-label column and a `confidence` column. Every problem is a one-line
`PredictionsError` raised before anything is written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage.config import Dataset
from dslineage.errors import PathError, PredictionsError, UsageError
from dslineage.store import predictions as sql
from dslineage.store import rows

if TYPE_CHECKING:
    import numpy as np

PREFIXES = ("probability_", "proba_", "prob_", "pred_", "p_")
CONFIDENCE = "confidence"
TOLERANCE = 1e-3
NUMERIC = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
)


@dataclass
class Predictions:
    """Predictions in file order: class names, probabilities (n × K, or None when the file has a
    predicted label and confidence), the predicted class index and its confidence per row."""

    path: Path
    md5: str
    column: str  # the dataset's label column the classes belong to
    classes: list[str]
    probs: np.ndarray | None
    predicted: np.ndarray  # index into classes
    confidence: np.ndarray
    rows: int


def file_md5(path: Path) -> str:
    """The md5 of a file's bytes (how a predictions file is recognised later)."""
    h = hashlib.md5()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def recorded_name(root: Path, path: Path) -> str:
    """How a journal record names a predictions file: its path relative to the repository
    when it is inside it (posix), else its file name alone (no machine-specific path)."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def _class_name(col: str) -> str:
    low = col.lower()
    for p in PREFIXES:
        if low.startswith(p) and len(col) > len(p):
            return col[len(p) :]
    return col


def _known(values: list[str], names: list[str]) -> dict[str, str]:
    """Column → class for the columns naming a label value (exactly, else case-insensitively)."""
    exact = set(values)
    lower = {v.lower(): v for v in values}
    out: dict[str, str] = {}
    for col in names:
        name = _class_name(col)
        for cand in (col, name):
            if cand in exact:
                out[col] = cand
                break
            if cand.lower() in lower:
                out[col] = lower[cand.lower()]
                break
    return out


def _label_values(con: Any, ds: Dataset, src: rows.Source, column: str) -> list[str]:
    if ds.labels_allowed and len(ds.labels) == 1:
        return sorted({str(v) for v in ds.labels_allowed})
    return sql.distinct_labels(con, src, column)


def load(con: Any, ds: Dataset, src: rows.Source, path: str | Path, column: str | None) -> Predictions:
    """Read and check a predictions file against one version of `ds` (`src`): keys cast to the
    dataset's key types, classes matched to the values of `column` (default: the label column
    whose values the file names)."""
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise PathError(f"predictions file {path} does not exist: check the path")
    reader = sql.reader(p)
    if reader is None:
        raise UsageError(f"predictions file {p.name}: use .csv, .tsv, .parquet or .jsonl")
    if p.stat().st_size == 0:
        raise PredictionsError(f"predictions file {p.name} is empty: it needs a header and one row per key")
    import duckdb

    try:
        cols = sql.columns(con, reader, p)
    except duckdb.Error as exc:
        raise PredictionsError(f"cannot read predictions file {p.name}: {str(exc).splitlines()[0][:200]}") from None
    names = [c for c, _ in cols]
    missing = [k for k in ds.key if k not in names]
    if missing:
        raise PredictionsError(
            f"predictions file {p.name} has no key column {', '.join(missing)}: "
            f"add the key column(s) {', '.join(ds.key)} of {ds.name}"
        )
    key_types = sql.key_types(con, src, ds.key)
    try:
        counts = sql.load(con, reader, p, ds.key, key_types, dict(cols))
    except duckdb.Error as exc:
        raise PredictionsError(f"cannot read predictions file {p.name}: {str(exc).splitlines()[0][:200]}") from None
    if counts["rows"] == 0:
        raise PredictionsError(f"predictions file {p.name} is empty: it needs one row per key")
    if counts["bad_keys"]:
        raise PredictionsError(
            f"predictions file {p.name}: {counts['bad_keys']} row(s) have a null key or one "
            f"not of {ds.name}'s key type: fix those rows"
        )
    if counts["duplicate_keys"]:
        raise PredictionsError(
            f"predictions file {p.name}: {counts['duplicate_keys']} key(s) appear more than "
            "once: keep one prediction per key"
        )
    types = dict(cols)
    others = [c for c in names if c not in ds.key]
    conf = next((c for c in others if c.lower() == CONFIDENCE), None)
    candidates = [column] if column else list(ds.labels)
    if column is not None and column not in ds.labels:
        raise UsageError(f"{column!r} is not a label column of {ds.name} (labels: {', '.join(ds.labels)})")
    if conf is not None:
        return _labelled(con, ds, src, p, candidates, [c for c in others if c != conf], conf, types, counts)
    if not others:
        raise PredictionsError(
            f"predictions file {p.name} has only key columns: add one probability column "
            "per class, or a predicted-label column and a `confidence` column"
        )
    best: tuple[str, dict[str, str], list[str]] | None = None
    for cand in candidates:
        values = _label_values(con, ds, src, cand)
        known = _known(values, others)
        if best is None or len(known) > len(best[1]):
            best = (cand, known, values)
    assert best is not None
    label_col, known, values = best
    unknown = [c for c in others if c not in known]
    if unknown:
        shown = ", ".join(values[:12]) + (" ..." if len(values) > 12 else "")
        raise PredictionsError(
            f"predictions file {p.name}: column(s) {', '.join(unknown[:5])} name no class of {ds.name}'s label "
            f"{label_col} (classes: {shown}): name each probability column after a label value (or p_VALUE)"
        )
    if len(set(known.values())) != len(known):
        raise PredictionsError(f"predictions file {p.name}: two columns name the same class: keep one")
    not_numeric = [c for c in others if not types[c].upper().startswith(NUMERIC)]
    if not_numeric:
        raise PredictionsError(
            f"predictions file {p.name}: probability column(s) {', '.join(not_numeric[:5])} "
            "are not numbers: fix them (or name the predicted-label file's `confidence` column)"
        )
    table = sql.arrays(con, others)
    probs = (
        np.column_stack([table.column(c).to_numpy(zero_copy_only=False).astype(np.float64, copy=False) for c in others])
        if others
        else np.zeros((counts["rows"], 0))
    )
    bad = (
        ~np.isfinite(probs).all(axis=1)
        | (probs < -TOLERANCE).any(axis=1)
        | (np.abs(probs.sum(axis=1) - 1.0) > TOLERANCE)
    )
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        key = sql.first_keys(con, ds.key, f"_i = {first}", 1)[0]
        raise PredictionsError(
            f"predictions file {p.name}: {int(bad.sum())} row(s) have probabilities that do not sum to 1 "
            f"within {TOLERANCE:g} (first: key {', '.join(map(str, key))}, sum {probs[first].sum():.6g}): "
            "normalise each row, and list every class"
        )
    classes = [known[c] for c in others]
    predicted = probs.argmax(axis=1)
    return Predictions(
        p, file_md5(p), label_col, classes, probs, predicted, probs[np.arange(len(probs)), predicted], counts["rows"]
    )


def _labelled(
    con: Any,
    ds: Dataset,
    src: rows.Source,
    p: Path,
    candidates: list[str],
    rest: list[str],
    conf: str,
    types: dict[str, str],
    counts: dict[str, int],
) -> Predictions:
    """The key + predicted label + confidence shape."""
    import numpy as np
    import pyarrow.compute as pc

    if len(rest) != 1:
        raise PredictionsError(
            f"predictions file {p.name} has a `confidence` column and {len(rest)} other non-key column(s) "
            f"({', '.join(rest[:5])}): keep exactly one, the predicted label"
        )
    table = sql.arrays(con, [rest[0], conf])
    predicted_text = pc.cast(table.column(0), "string").to_pylist()
    seen = sorted({v for v in predicted_text if v is not None})
    if any(v is None for v in predicted_text):
        raise PredictionsError(f"predictions file {p.name}: some rows have no predicted label: fill them")
    best: tuple[str, list[str]] | None = None
    for cand in candidates:
        values = _label_values(con, ds, src, cand)
        if best is None or len(set(seen) & set(values)) > len(set(seen) & set(best[1])):
            best = (cand, values)
    assert best is not None
    label_col, values = best
    unknown = [v for v in seen if v not in set(values)]
    if unknown:
        raise PredictionsError(
            f"predictions file {p.name}: predicted label(s) {', '.join(unknown[:5])} are not in {ds.name}'s label "
            f"set ({label_col}): predict only label values"
        )
    confidence = table.column(1).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    if not np.isfinite(confidence).all() or (confidence < 0).any() or (confidence > 1 + TOLERANCE).any():
        raise PredictionsError(f"predictions file {p.name}: `confidence` must be a number from 0 to 1 in every row")
    index = {v: i for i, v in enumerate(values)}
    predicted = np.fromiter((index[v] for v in predicted_text), dtype=np.int64, count=len(predicted_text))
    return Predictions(p, file_md5(p), label_col, list(values), None, predicted, confidence, counts["rows"])


def labels_for(con: Any, ds: Dataset, src: rows.Source, preds: Predictions, group: str | None) -> dict[str, Any]:
    """A version's labels aligned with the predictions (file order): `y` (index into `names`, the
    classes then the version's other label values; -1 when null or absent), `present` (key in
    the version), `labelled` (present with a label), `group` (text, or None) and `unclassed`
    (label values the predictions have no class for)."""
    import numpy as np
    import pyarrow as pa

    values = sql.distinct_labels(con, src, preds.column)
    known = set(preds.classes)
    names = list(preds.classes) + [v for v in values if v not in known]
    t = sql.join_version(con, src, ds.key, preds.column, group, names)
    idx = t.column("_i").to_numpy()
    code = t.column("code").combine_chunks()
    y = np.full(preds.rows, -1, dtype=np.int64)
    y[idx] = code.fill_null(-1).to_numpy(zero_copy_only=False)
    present = np.zeros(preds.rows, dtype=bool)
    present[idx] = True
    grp = None
    if group:
        pos = np.full(preds.rows, -1, dtype=np.int64)
        pos[idx] = np.arange(len(idx))
        grp = t.column("grp").combine_chunks().take(pa.array(pos, mask=pos < 0))
    return {
        "y": y,
        "names": names,
        "present": present,
        "labelled": y >= 0,
        "group": grp,
        "unclassed": names[len(preds.classes) :],
    }


def label_text(names: list[str], y: np.ndarray) -> Any:
    """Label codes as an Arrow text array (null where the code is -1)."""
    import numpy as np
    import pyarrow as pa

    text = np.asarray(names + [""], dtype=object)[y]
    return pa.array(text, pa.string(), mask=y < 0)
