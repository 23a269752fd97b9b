"""Row-level SQL around a stopped merge: which edit batch set each conflicting cell on a side.

The conflicts table (the engine's `MergeOutcome.conflicts`: key columns under their dataset
names, `column`, `base`, `ours`, `theirs`) is joined to the edits files of one side's
batches (`k0..`, `new`, `annotator`, `reason`); identifiers are quoted, values bound.
"""

from __future__ import annotations

from typing import Any

from dslineage.store.rows import plain, q


def side_batches(
    con: Any, conflicts: Any, keys: list[str], batches: list[dict[str, Any]]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """For each conflicting (key..., column): the newest of `batches` (dicts with id, file,
    column, author, reason, timestamp) whose edits set that key's label in that column."""
    if not batches or conflicts.num_rows == 0:
        return {}
    import pyarrow as pa

    con.register("_dsl_conf", conflicts.select([*keys, "column"]))
    con.register(
        "_dsl_side",
        pa.table(
            {
                "file": pa.array([b["file"] for b in batches], pa.string()),
                "id": pa.array([b["id"] for b in batches], pa.string()),
                "col": pa.array([b["column"] for b in batches], pa.string()),
                "author": pa.array([b.get("author") for b in batches], pa.string()),
                "reason": pa.array([b.get("reason") for b in batches], pa.string()),
                "ts": pa.array([b["timestamp"] for b in batches], pa.string()),
            }
        ),
    )
    import duckdb

    on = " AND ".join(f"e.k{i} = c.{q(k)}" for i, k in enumerate(keys))
    klist = ", ".join(f"c.{q(k)}" for k in keys)
    found: list[Any] = []
    try:
        for who, why in (
            ("COALESCE(e.annotator, b.author)", "COALESCE(e.reason, b.reason)"),
            ("b.author", "b.reason"),
        ):  # edits files without per-row columns
            try:
                found = con.execute(
                    f'SELECT {klist}, c."column", b.id, {who}, {why} '
                    "FROM read_parquet(?, filename = true, union_by_name = true) e "
                    "JOIN _dsl_side b ON b.file = e.filename "
                    f'JOIN _dsl_conf c ON {on} AND c."column" = b.col '
                    f'QUALIFY row_number() OVER (PARTITION BY {klist}, c."column" ORDER BY b.ts DESC) = 1',
                    [[b["file"] for b in batches]],
                ).fetchall()
                break
            except duckdb.BinderException:
                continue
    finally:
        con.unregister("_dsl_conf")
        con.unregister("_dsl_side")
    n = len(keys)
    return {
        tuple(plain(v) for v in r[: n + 1]): {"id": r[n + 1], "annotator": r[n + 2], "reason": r[n + 3]} for r in found
    }
