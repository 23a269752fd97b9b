"""Row-level three-way merge of dataset versions (base, ours, theirs), keyed by the dataset's key.

How, all in DuckDB over the files, never a Python loop over rows:
- Finding the rows to look at. Fast path, when the three schemas are the same and each side
  keeps base's rows in place (as `relabel` does): one POSITIONAL JOIN of the three files keeps
  the rows whose key or any value differs, with the three rows' values: exact, one scan of
  each file, no hash table. Otherwise the keyed path: ONE FULL OUTER JOIN of the three sides
  on the key keeps the rows whose presence or row hash differs from base; the row hash is
  DuckDB's `hash()` of the row's values, computed inside that query and never stored (an md5
  over a canonical text of every value was tried first: 7x the CPU, 3x a whole commit at 5M
  rows), and those rows are then fetched by row number and compared value by value.
- Those few rows are merged cell by cell in SQL (the `_Sql` expressions below).
- The result is ours' Arrow table with the merged cells spliced in (vectorised Arrow), the
  removed rows filtered out and the rows only theirs has appended: ours' row order, theirs'
  order for the appended rows; ours' column order, then the columns only theirs added.
  Parquet files are scanned where they lie; ours is loaded only when there is a result to
  build (a merge that stops with conflicts never reads it whole).

Semantics (a side's cell is "changed" when it differs from base; absent rows have no cells):
- a cell changed on one side takes that side's value; changed identically on both: fine;
  changed differently: a conflict cell;
- a row added on one side is kept; added on both: one row, with a conflict for every cell
  whose values differ; removed on one side and unchanged on the other: removed; removed on
  one side and modified on the other: a `"*row*"` conflict; removed on both: removed;
- columns: one added or dropped on one side is carried (an added column takes that side's
  values, null in rows that side lacks); a column retyped on one side takes the new type
  (values compared as text); the same column added on both with different types, retyped
  differently on both, or dropped on one side while the other changed some of its values,
  raises `SchemaConflictError` (one line naming the column): such a conflict is the
  schema's, not a cell's, and `prefer` does not resolve it;
- no base (`base=None`): every row is an add (equal on both sides, or conflicting cells);
- `resolutions` (key columns, `column`, `value` as JSON text) resolve the listed conflict
  cells first; a `"*row*"` resolution is a JSON object of the row's values or `null` to
  drop the row; entries that name no conflict are ignored. Then `prefer` ("ours" or
  "theirs") resolves every remaining conflict to that side (for a `"*row*"` conflict: that
  side's row, or its removal).
- `conflicts` holds the conflicts left unresolved; `table` is None exactly when there are
  any. For a CSV, cell values are compared and reported as the file's text (keys typed).
- `counts`: `from_ours` = rows ours changed or added that the result keeps with at least one
  of ours' changed cells; `from_theirs` = rows theirs changed or added whose result differs
  from ours and carries at least one of theirs' changed cells; `added` / `removed` = rows of
  the result not in base / of base not in the result (while conflicts remain, counts cover
  what is decided). `theirs_keys` = rows whose merged content differs from ours (absent
  from ours, or a cell of one of ours' columns differs): the merge's change set against
  ours, whose provenance is theirs' side (or a resolution). `label_changes`: when the result
  differs from ours only in label cells of rows ours has (same rows, same schema, parquet
  sides), those rows as `k0..` keys, `o0..` ours' and `n0..` the merged label values, by key
  (what a full diff against ours would find, at O(rows changed)); else None.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dslineage.config import Dataset
from dslineage.errors import DslineageError, SchemaError
from dslineage.store.merge_arrow import _assemble
from dslineage.store.merge_plan import (
    _NAMES,
    SIDES,
    MergeOutcome,
    _check_resolutions,
    _expose,
    _find_changed,
    _gather,
    _load,
    _ordered,
    _plan,
    _positional,
    _stage_resolutions,
    _types,
)
from dslineage.store.merge_sql import _check_drops, _conflicts, _is_csv, _label_changes, _merge_rows, _Sql, _typed_keys
from dslineage.store.rows import Source


def merge3(
    con: Any,
    base: Source | None,
    ours: Source,
    theirs: Source,
    ds: Dataset,
    *,
    prefer: str | None = None,
    resolutions: Any = None,
) -> MergeOutcome:
    """Three-way merge of `ours` and `theirs` against `base` (None: no common version),
    keyed by `ds.key`; see the module docstring for the rules."""
    import duckdb

    from dslineage.errors import FormatError
    from dslineage.store.labels import arrow

    if prefer not in (None, "ours", "theirs"):
        raise DslineageError(f"prefer must be 'ours' or 'theirs', not {prefer!r}")
    srcs = {"b": base, "o": ours, "t": theirs}
    try:
        ours_table, ours_schema = _expose(con, "o", ours, None)
        loaded = [ours_table]

        def ours_rows() -> Any:  # ours as Arrow, loaded only when needed (not for conflicts)
            if loaded[0] is None:
                loaded[0] = _load(con, ours)
            return loaded[0]

        empty = ours_schema.empty_table().select([k for k in ds.key if k in ours_schema.names])
        schemas = {"o": ours_schema, "b": _expose(con, "b", base, empty)[1], "t": _expose(con, "t", theirs, None)[1]}
        for s in SIDES:
            absent = [k for k in ds.key if k not in schemas[s].names]
            if absent:
                label = srcs[s].label if srcs[s] is not None else _NAMES[s]  # type: ignore[union-attr]
                raise SchemaError(f"{label} has no key column {', '.join(map(repr, absent))}: it cannot be merged")
        types = {s: _types(con, f"_mg_{s}") for s in SIDES}
        order = {s: list(schemas[s].names) for s in SIDES}
        cols = _plan(types, ds, order)
        key_types = [types["o"][k] for k in ds.key]
        out_types = key_types  # key types of the outputs: a CSV's text keys cast to their type
        if _is_csv(ours):
            from dslineage.store.rows import schema

            detected = {c["name"]: c["type"] for c in schema(con, ours)}
            out_types = [detected.get(k, "VARCHAR") for k in ds.key]
        if not _positional(con, ds, cols):
            _find_changed(con, ds, cols)
            _gather(con, ds, cols, ours_rows())
        resolved = _stage_resolutions(con, resolutions, ds, key_types)
        if resolved:
            _check_resolutions(con, cols)
        sql = _Sql(cols, prefer, resolved)
        _check_drops(con, sql, cols)
        _merge_rows(con, ds, cols, sql, resolved)
        conflicts = _conflicts(con, ds, cols, sql, out_types)
        counts = {
            k: int(v)
            for k, v in zip(
                ("from_ours", "from_theirs", "added", "removed"),
                con.execute(
                    "SELECT count(*) FILTER (WHERE _fo), count(*) FILTER (WHERE _ft), "
                    "count(*) FILTER (WHERE _present AND rb IS NULL), "
                    "count(*) FILTER (WHERE rb IS NOT NULL AND NOT _present) FROM _mg_r"
                ).fetchone(),
            )
        }
        keys_out = _typed_keys(ds, out_types)
        theirs_keys = arrow(con.execute(f"SELECT {keys_out} FROM _mg_r WHERE _present AND _dif ORDER BY ALL"))
        table, origin, label_changes = None, None, None
        if conflicts.num_rows == 0:
            table, origin = _assemble(con, ours_rows(), schemas["t"], ds, cols)
            if not any(_is_csv(s) for s in (base, ours, theirs) if s is not None):
                label_changes = _label_changes(con, ds, cols, key_types)
        return MergeOutcome(
            table=table,
            conflicts=conflicts,
            counts=counts,
            theirs_keys=theirs_keys,
            origin=origin,
            label_changes=label_changes,
        )
    except duckdb.Error as exc:  # e.g. a value that does not fit a column's merged type
        raise FormatError(
            f"cannot merge {ours.label} with {theirs.label}: {str(exc).strip().splitlines()[0][:300]}"
        ) from None
    finally:
        for name in ("_mg_b", "_mg_o", "_mg_t", "_mg_res"):
            con.execute(f"DROP VIEW IF EXISTS {name}")  # registered Arrow tables too
        for name in ("_mg_d", "_mg_c", "_mg_x", "_mg_r", "_mg_rv", "_mg_rm"):
            con.execute(f"DROP TABLE IF EXISTS {name}")


def write_merged(con: Any, outcome: MergeOutcome, ours_path: Path, tmp: Path, ds: Dataset) -> None:
    """Write the merged rows to `tmp` in the format, schema and codec of `ours_path`; the
    caller renames `tmp` into place.

    Parquet keeps ours' Arrow schema (metadata included) and compression codec; JSON Lines
    is written by DuckDB. A CSV copies ours' lines verbatim for every row the merge left
    unchanged and writes changed and added rows in ours' dialect (delimiter, quote, line
    ending, always-quoted columns), so its bytes differ only where rows did; when ours'
    records and lines do not correspond one to one (quoted line breaks, a missing final line
    break) or the columns changed, the whole file is written in ours' dialect instead, as
    `relabel` does.
    """
    from dslineage.store import labels

    if outcome.table is None:
        raise DslineageError(
            f"{ds.name} has {outcome.conflicts.num_rows} unresolved conflict(s): resolve them before writing"
        )
    with _ordered(con):
        if ds.format == "csv" and outcome.origin is not None and _write_csv_lines(con, outcome, ours_path, tmp, ds):
            return
        labels.write(con, outcome.table, tmp, ds, ours_path)


def _write_csv_lines(con: Any, outcome: MergeOutcome, ours_path: Path, tmp: Path, ds: Dataset) -> bool:
    """Write a CSV merge result by copying ours' unchanged lines; False when ours' lines are
    not one record each (the caller then rewrites the whole file)."""
    import numpy as np

    from dslineage.store import labels

    raw = ours_path.read_bytes()
    header = bool((ds.csv or {}).get("header", True))
    if not raw.endswith(b"\n"):
        return False
    ends = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == 10) + 1
    if len(ends) != outcome.origin["rows"] + (1 if header else 0):
        return False  # a quoted line break, or blank lines: lines are not records
    starts = np.concatenate([[0], ends[:-1]])
    origin = outcome.origin["index"]
    changed = np.flatnonzero(origin < 0)
    fresh: list[bytes] = []
    if len(changed):
        part = tmp.with_name(tmp.name + ".rows")
        try:
            labels.write(con, outcome.table.take(changed), part, ds, ours_path)
            body = part.read_bytes()
        finally:
            part.unlink(missing_ok=True)
        fresh = body.splitlines(keepends=True)[1 if header else 0 :]
        if len(fresh) != len(changed):
            return False  # a changed value holds a line break
    first = 1 if header else 0
    # runs of consecutive output rows copied from consecutive lines of ours
    breaks = np.flatnonzero((origin[1:] != origin[:-1] + 1) | (origin[1:] < 0) | (origin[:-1] < 0)) + 1
    bounds = np.concatenate([[0], breaks, [len(origin)]]).astype(np.int64)
    with open(tmp, "wb") as out:
        if header:
            out.write(raw[: int(ends[0])])
        k = 0
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            if a == b:
                continue
            if origin[a] < 0:
                out.write(b"".join(fresh[k : k + (b - a)]))
                k += b - a
            else:
                lo, hi = int(origin[a]) + first, int(origin[b - 1]) + first
                out.write(raw[int(starts[lo]) : int(ends[hi])])
    return True
