"""The diff's lower bound: one hand-written DuckDB FULL OUTER JOIN of two versions' parquet files,
then the counts and label transitions. Standard library and duckdb only: `python duckdb_join.py A B`
runs it as a whole process (imports included), the baseline of `dslineage diff` as a command; the
`duckdb_diff` worker task times the same queries inside a process that imported duckdb already."""

from __future__ import annotations

import json
import sys
from typing import Any

FEATURES = ("f0", "f1", "f2", "f3", "f4")


def _literal(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def lower_bound_sql(a: str, b: str) -> str:
    """The join of files `a` and `b`: one row per added, removed, relabeled or modified key. The
    paths are literals, not bound parameters: DuckDB's Python client imports numpy and pandas at
    the first bound parameter (0.3 s here), which a whole-process baseline should not pay."""
    differs = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in (*FEATURES, "label"))
    return (
        "CREATE OR REPLACE TEMP TABLE d AS SELECT CASE WHEN a.key IS NULL THEN 'added' "
        "WHEN b.key IS NULL THEN 'removed' WHEN a.label IS DISTINCT FROM b.label THEN 'relabeled' "
        "ELSE 'modified' END AS change, COALESCE(a.key, b.key) AS key, a.label AS o, b.label AS n "
        f"FROM read_parquet({_literal(a)}) a FULL OUTER JOIN read_parquet({_literal(b)}) b ON a.key = b.key "
        f"WHERE a.key IS NULL OR b.key IS NULL OR {differs}"
    )


def run(con: Any, a: str, b: str) -> dict[str, int]:
    """The join of files `a` and `b` on connection `con`: change counts (transitions fetched too)."""
    con.execute(lower_bound_sql(a, b))
    counts = dict(con.execute("SELECT change, count(*) FROM d GROUP BY 1").fetchall())
    con.execute("SELECT o, n, count(*) FROM d WHERE change = 'relabeled' GROUP BY 1, 2").fetchall()
    return {k: int(v) for k, v in counts.items()}


if __name__ == "__main__":
    import duckdb

    connection = duckdb.connect()
    connection.execute("SET preserve_insertion_order = false")
    print(json.dumps(run(connection, sys.argv[1], sys.argv[2])))
