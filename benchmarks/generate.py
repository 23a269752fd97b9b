"""`generate`: seeded synthetic labeled datasets and a derived second version of each.

Columns: `key` (int64, 0..n-1), `f0..f4` (float64 in [0, 1)), `label` (one of 10 class
names). Version 2 relabels about `relabel_rate` of the rows (always to another class),
removes about `remove_rate` and appends about `add_rate` new keys. Every value is a hash
of (seed, key, purpose) computed by DuckDB, so a run is deterministic and fast (no numpy).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from benchmarks.params import CLASSES, Layout, Params

_PPM = 1_000_000


def _classes() -> str:
    return "[" + ", ".join(f"'{c}'" for c in CLASSES) + "]"


def _features(seed: int, col: str = "i") -> str:
    return ", ".join(f"(hash(hash({col}, {seed}, {j})) >> 11)::DOUBLE / 9007199254740992.0 AS f{j}" for j in range(5))


def _copy(con: Any, sql: str, target: Path) -> None:
    """COPY a query to parquet under a temporary name, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    path = str(tmp).replace("'", "''")
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet, COMPRESSION snappy)")
    os.replace(tmp, target)


def base_sql(rows: int, seed: int, start: int = 0) -> str:
    """Rows `start..start+rows-1` of the seeded dataset, ordered by key."""
    return (
        f"SELECT i::BIGINT AS key, {_features(seed)}, "
        f"{_classes()}[1 + (hash(hash(i, {seed}, 9)) % 10)::INTEGER] AS label "
        f"FROM range({start}, {start + rows}) t(i) ORDER BY i"
    )


def derived_sql(v1: Path, rows: int, p: Params) -> str:
    """Version 2 of `v1`: relabeled, removed and appended rows at the configured rates."""
    s = p.seed
    src = "'" + str(v1).replace("'", "''") + "'"
    relabel = int(p.relabel_rate * _PPM)
    remove = int(p.remove_rate * _PPM)
    added = int(round(rows * p.add_rate))
    new_label = (
        f"{_classes()}[1 + ((list_position({_classes()}, label) - 1 + 1 "
        f"+ hash(hash(key, {s}, 102)) % 9) % 10)::INTEGER]"
    )
    kept = (
        f"SELECT key, f0, f1, f2, f3, f4, "
        f"CASE WHEN hash(hash(key, {s}, 101)) % {_PPM} < {relabel} THEN {new_label} ELSE label END AS label "
        f"FROM read_parquet({src}) WHERE hash(hash(key, {s}, 103)) % {_PPM} >= {remove}"
    )
    return f"SELECT * FROM ({kept} UNION ALL ({base_sql(added, s + 1, start=rows)})) ORDER BY key"


def generate_pair(layout: Layout, rows: int, p: Params, con: Any = None) -> tuple[Path, Path]:
    """Write v1 and v2 of the `rows`-row dataset (skipped when both already exist)."""
    import duckdb

    v1, v2 = layout.pair(rows)
    own = con is None
    con = con or duckdb.connect()
    try:
        _copy(con, base_sql(rows, p.seed), v1)
        _copy(con, derived_sql(v1, rows, p), v2)
    finally:
        if own:
            con.close()
    return v1, v2


def counts(v1: Path, v2: Path) -> dict[str, int]:
    """Exact changes v1 → v2 (the ground truth every diff must reproduce)."""
    import duckdb

    con = duckdb.connect()
    try:
        row = con.execute(
            "SELECT count(*) FILTER (WHERE a.key IS NULL), count(*) FILTER (WHERE b.key IS NULL), "
            "count(*) FILTER (WHERE a.label <> b.label), count(a.key), count(b.key) "
            "FROM read_parquet(?) a FULL OUTER JOIN read_parquet(?) b ON a.key = b.key",
            [str(v1), str(v2)],
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return dict(zip(("added", "removed", "relabeled", "rows_v1", "rows_v2"), map(int, row)))


def all_sizes(p: Params) -> list[int]:
    """Every size the pipeline reads from `bench/data`: `sizes`, the history size and `big_rows` (when set)."""
    return sorted({*p.sizes, p.history_rows, *([p.big_rows] if p.big_rows > 0 else [])})


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """Generate every size the stages read (`all_sizes`), once for all of them; return exact change counts."""
    out: dict[str, Any] = {}
    for rows in all_sizes(p):
        v1, v2 = generate_pair(layout, rows, p)
        out[str(rows)] = {**counts(v1, v2), "bytes_v1": v1.stat().st_size, "bytes_v2": v2.stat().st_size}
        print(f"generate: {rows} rows -> {v1.parent} {out[str(rows)]}", flush=True)
    return out
