"""SQL over review queues: which queued rows later batches changed or confirmed (DuckDB)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dslineage.store.labels import arrow
from dslineage.store.rows import q


def outcome(
    con: Any,
    queue: Path,
    keys: list[str],
    edits: list[Path],
    confirmed: list[list[Any]],
    votes: list[Path] | None = None,
) -> dict[str, int]:
    """Queued rows changed by the batches' edits (`changed`, of which `as_suggested` to the
    suggested label) and confirmed (reviewed, label kept: keys listed by the batches, or rows
    whose recorded consensus votes (`k0..`, `outcome`) confirmed the label)."""
    import pyarrow as pa

    n = len(keys)
    qk = ", ".join(f"CAST({q(k)} AS VARCHAR) AS k{i}" for i, k in enumerate(keys))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _q AS SELECT {qk}, suggested FROM read_parquet(?)", [str(queue)])
    ek = ", ".join(f"CAST(k{i} AS VARCHAR) AS k{i}" for i in range(n))
    if edits:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _e AS SELECT {ek}, CAST(new AS VARCHAR) AS new "
            "FROM read_parquet(?, union_by_name = true)",
            [[str(p) for p in edits]],
        )
    else:
        nulls = ", ".join(f"NULL::VARCHAR AS k{i}" for i in range(n))
        con.execute(f"CREATE OR REPLACE TEMP TABLE _e AS SELECT {nulls}, NULL::VARCHAR AS new WHERE false")
    con.register(
        "_c0",
        pa.table(
            {f"k{i}": pa.array([None if r[i] is None else str(r[i]) for r in confirmed], pa.string()) for i in range(n)}
        ),
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _c AS SELECT * FROM _c0")
    con.unregister("_c0")
    if votes:
        vk = ", ".join(f"CAST(k{i} AS VARCHAR)" for i in range(n))
        con.execute(
            f"INSERT INTO _c SELECT DISTINCT {vk} FROM read_parquet(?, union_by_name = true) "
            "WHERE outcome = 'confirmed'",
            [[str(p) for p in votes]],
        )
    on_e = " AND ".join(f"_e.k{i} = _q.k{i}" for i in range(n))
    on_c = " AND ".join(f"_c.k{i} = _q.k{i}" for i in range(n))
    changed, suggested, confirmed_n = con.execute(
        f"SELECT count(*) FILTER (WHERE ch), count(*) FILTER (WHERE ch AND sug), "
        f"count(*) FILTER (WHERE NOT ch AND co) FROM (SELECT "
        f"EXISTS (SELECT 1 FROM _e WHERE {on_e}) AS ch, "
        f"EXISTS (SELECT 1 FROM _e WHERE {on_e} AND _e.new = _q.suggested) AS sug, "
        f"EXISTS (SELECT 1 FROM _c WHERE {on_c}) AS co FROM _q)"
    ).fetchone()
    return {"changed": int(changed), "as_suggested": int(suggested), "confirmed": int(confirmed_n)}


def top_rows(con: Any, queue: Path, limit: int) -> Any:
    """The first `limit` rows of a queue, by rank (Arrow)."""
    return arrow(con.execute("SELECT * FROM read_parquet(?) ORDER BY rank LIMIT ?", [str(queue), int(limit)]))
