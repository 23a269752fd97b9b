"""doltlite peer tasks (Dolt's version control in SQLite): load, diff, history, blame.

Imported only inside a worker child, after `import doltlite` has made libdoltlite the
process's SQLite. The table is `t(key INTEGER PRIMARY KEY, f0..f4 REAL, label TEXT)`.
"""

from __future__ import annotations

from typing import Any

from benchmarks.worker import Timed, _task

_COLS = "key, f0, f1, f2, f3, f4, label"
_BATCH = 100_000


def _connect(db: str) -> Any:
    import sqlite3

    con = sqlite3.connect(db, isolation_level=None)
    return con


def _insert_parquet(con: Any, path: str, where: str = "true", params: list[Any] | None = None) -> int:
    """Insert the rows of a parquet file (filtered by a DuckDB predicate) in batches."""
    import duckdb

    dcon = duckdb.connect()
    cur = dcon.execute(f"SELECT {_COLS} FROM read_parquet(?) WHERE {where}", [path, *(params or [])])
    n = 0
    con.execute("BEGIN")
    while batch := cur.fetchmany(_BATCH):
        con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
        n += len(batch)
    con.execute("COMMIT")
    dcon.close()
    return n


def _commit(con: Any, message: str) -> str:
    return str(con.execute("SELECT dolt_commit('-A', '-m', ?)", [message]).fetchone()[0])


@_task
def doltlite_load(db: str, v1: str, v2: str) -> Timed:
    """Build a doltlite database with v1 committed, then v2 applied as row edits and committed."""
    import duckdb

    def run() -> Any:
        con = _connect(db)
        con.execute("CREATE TABLE t(key INTEGER PRIMARY KEY, f0 REAL, f1 REAL, f2 REAL, f3 REAL, f4 REAL, label TEXT)")
        _insert_parquet(con, v1)
        first = _commit(con, "v1")
        d = duckdb.connect()
        removed = d.execute(
            "SELECT a.key FROM read_parquet(?) a ANTI JOIN read_parquet(?) b ON a.key = b.key", [v1, v2]
        ).fetchall()
        relabeled = d.execute(
            "SELECT b.label, a.key FROM read_parquet(?) a JOIN read_parquet(?) b ON a.key = b.key "
            "WHERE a.label <> b.label",
            [v1, v2],
        ).fetchall()
        d.close()
        con.execute("BEGIN")
        con.executemany("DELETE FROM t WHERE key = ?", removed)
        con.executemany("UPDATE t SET label = ? WHERE key = ?", relabeled)
        con.execute("COMMIT")
        _insert_parquet(con, v2, f"key NOT IN (SELECT key FROM read_parquet('{v1}'))")
        second = _commit(con, "v2")
        con.close()
        return {"v1": first, "v2": second}

    return run


@_task
def doltlite_diff(db: str, commit: str) -> Timed:
    """doltlite's diff table between a commit and its parent: counts and label transitions."""
    con = _connect(db)

    def run() -> Any:
        rows = con.execute(
            "SELECT diff_type, from_label, to_label, count(*) FROM dolt_diff_t WHERE to_commit = ? GROUP BY 1, 2, 3",
            [commit],
        ).fetchall()
        out = {"added": 0, "removed": 0, "relabeled": 0}
        for kind, old, new, n in rows:
            if kind == "modified":
                out["relabeled"] += n if old != new else 0
            else:
                out[kind] += n
        return out

    return run


@_task
def doltlite_chain(db: str, versions: int, window: int, rows: int) -> Timed:
    """Add commits to the database, each relabeling the next `window` keys (history fixture)."""
    from benchmarks.chain import label_offset
    from benchmarks.params import CLASSES

    def run() -> Any:
        con = _connect(db)
        n = rows  # the key space the windows move over: the same as dslineage's chain
        have = int(con.execute("SELECT count(*) FROM dolt_log").fetchone()[0]) - 1
        cases = " ".join(f"WHEN {i} THEN '{c}'" for i, c in enumerate(CLASSES))
        for v in range(have + 1, versions + 1):
            start = (v * window) % n
            con.execute("BEGIN")
            # the same new labels as dslineage's chain (chain.py): class (key + offset) % 10
            con.execute(
                f"UPDATE t SET label = CASE (key + ?) % 10 {cases} END WHERE key >= ? AND key < ?",
                [label_offset(v, n, window), start, start + window],
            )
            con.execute("COMMIT")
            _commit(con, f"v{v}")
        con.close()
        return {"versions": versions}

    return run


@_task
def doltlite_history(db: str, keys: list[int]) -> Timed:
    """doltlite's history table for one key at a time; median over the keys."""
    import time

    con = _connect(db)

    def run() -> Any:
        times, cpus, events = [], [], []
        for k in keys:
            t0, c0 = time.perf_counter(), time.process_time()
            rows = con.execute("SELECT label, commit_hash FROM dolt_history_t WHERE key = ?", [k]).fetchall()
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            events.append(len(rows))
        return {"per_key_s": times, "per_key_cpu_s": cpus, "events": events}

    return run


@_task
def doltlite_blame(db: str) -> Timed:
    """doltlite's blame table over all rows (last commit touching each row)."""
    con = _connect(db)

    def run() -> Any:
        rows = con.execute('SELECT "commit", count(*) FROM dolt_blame_t GROUP BY 1').fetchall()
        return {"rows": sum(n for _, n in rows), "commits": len(rows)}

    return run
