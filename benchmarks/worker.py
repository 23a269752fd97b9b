"""Measured tasks, each run alone in a child process by `measure.task()`.

`python -m benchmarks.worker TASK JSON_KWARGS` calls the task's setup (imports, opening
files: not timed), then times the callable it returns and prints one JSON line:
{"seconds": ..., "rss": peak RSS in bytes, "result": ...}. doltlite tasks must import
doltlite before anything loads sqlite3, which a fresh interpreter guarantees.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Timed = Callable[[], Any]
TASKS: dict[str, Callable[..., Timed]] = {}

FEATURES = ("f0", "f1", "f2", "f3", "f4")


def _task(fn: Callable[..., Timed]) -> Callable[..., Timed]:
    TASKS[fn.__name__] = fn
    return fn


@_task
def duckdb_diff(a: str, b: str) -> Timed:
    """The lower bound: one hand-written FULL OUTER JOIN, then counts and label transitions."""
    import duckdb

    from benchmarks import duckdb_join

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    return lambda: duckdb_join.run(con, a, b)


@_task
def lib_diff(root: str, a: str, b: str) -> Timed:
    """dslineage's library: `Repo(root).diff(a, b)` of two committed versions."""
    import duckdb  # noqa: F401  (imported before the clock, as a long-lived process has it)
    import pyarrow  # noqa: F401

    from dslineage.repo import Repo

    def run() -> Any:
        rows = Repo(root).diff(a, b).rows
        return {"added": rows.added, "removed": rows.removed, "relabeled": rows.relabeled}

    return run


@_task
def lib_diff_bytes(root: str, a: str, b: str) -> Timed:
    """dslineage's library reading both versions' bytes (`ops.diff.diff(..., fold=False)`),
    the path a committed-version diff took before it was folded from the change sets."""
    import duckdb  # noqa: F401
    import pyarrow  # noqa: F401

    from dslineage.ops.diff import diff
    from dslineage.repo import Repo

    def run() -> Any:
        rows = diff(Repo(root), a, b, fold=False).rows
        return {"added": rows.added, "removed": rows.removed, "relabeled": rows.relabeled}

    return run


@_task
def pandas_diff(a: str, b: str) -> Timed:
    """pandas: read both files, outer merge on the key with an indicator, compare columns."""
    import pandas as pd

    def run() -> Any:
        da, db = pd.read_parquet(a), pd.read_parquet(b)
        m = da.merge(db, on="key", how="outer", suffixes=("_a", "_b"), indicator=True)
        both = m[m["_merge"] == "both"]
        relabeled = both["label_a"] != both["label_b"]
        changed = relabeled.copy()
        for c in FEATURES:
            changed |= both[f"{c}_a"] != both[f"{c}_b"]
        both[relabeled].groupby(["label_a", "label_b"]).size()
        return {
            "added": int((m["_merge"] == "right_only").sum()),
            "removed": int((m["_merge"] == "left_only").sum()),
            "relabeled": int(relabeled.sum()),
        }

    return run


@_task
def datacompy_polars(a: str, b: str) -> Timed:
    """datacompy's PolarsCompare on the key (its own join and per-column comparison)."""
    import logging

    import polars as pl
    from datacompy.polars import PolarsCompare

    logging.getLogger("datacompy").setLevel(logging.WARNING)

    def run() -> Any:
        cmp = PolarsCompare(pl.read_parquet(a), pl.read_parquet(b), join_columns="key")
        unequal = {s["column"]: s["unequal_cnt"] for s in cmp.column_stats}
        return {
            "added": len(cmp.df2_unq_rows),
            "removed": len(cmp.df1_unq_rows),
            "relabeled": int(unequal.get("label", 0)),
        }

    return run


@_task
def lib_commit(root: str, name: str, message: str) -> Timed:
    """dslineage's library: `Repo(root).commit([name], message)`."""
    import duckdb  # noqa: F401
    import pyarrow  # noqa: F401

    from dslineage.repo import Repo

    def run() -> Any:
        [v] = Repo(root).commit([name], message, None)
        return {"seq": v["seq"]}

    return run


@_task
def lib_reindex(root: str, bulk: bool) -> Timed:
    """dslineage's library: `Repo(root).reindex()`, in bulk or (`bulk=False`) record by record."""
    import duckdb  # noqa: F401
    import pyarrow  # noqa: F401

    from dslineage.repo import Repo
    from dslineage.store import ingest

    if not bulk:
        ingest.BULK_MIN_FILES = 1 << 62  # the path every sync took before bulk ingestion

    def run() -> Any:
        from dslineage.model import to_json

        with Repo(root) as repo:
            return to_json(repo.reindex())  # the worker prints its result with plain json.dumps

    return run


@_task
def lib_history(root: str, name: str, keys: list[Any]) -> Timed:
    """dslineage's library: `Repo(root).history(name, key)` for each key, a new Repo each time.

    Reports the median over the keys (and every key's time) as this run's seconds.
    """
    import duckdb  # noqa: F401
    import pyarrow  # noqa: F401

    from dslineage.repo import Repo

    Repo(root).history(name, [keys[0]])  # warm the OS file cache and the index sync

    def run() -> Any:
        times, cpus, events = [], [], []
        for k in keys:
            t0, c0 = time.perf_counter(), time.process_time()
            h = Repo(root).history(name, [k])
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            events.append(len(h.events))
        return {"per_key_s": times, "per_key_cpu_s": cpus, "events": events}

    return run


@_task
def lib_relabel(root: str, name: str, edits: str) -> Timed:
    """dslineage's library: `Repo(root).relabel(name, from_file=edits)` (one batch, committed)."""
    import duckdb  # noqa: F401
    import pyarrow  # noqa: F401

    from dslineage.repo import Repo

    def run() -> Any:
        out = Repo(root).relabel(name, from_file=edits, reason="bench", message="bench relabel")
        batch = out["batch"]
        return {"applied": out["applied"], "batch": batch["id"] if isinstance(batch, dict) else batch}

    return run


@_task
def lib_revert(root: str, target: str) -> Timed:
    """dslineage's library: `Repo(root).revert(batch)`."""
    import duckdb  # noqa: F401
    import pyarrow  # noqa: F401

    from dslineage.repo import Repo

    def run() -> Any:
        out = Repo(root).revert(target, message="bench revert")
        return {"restored": out["restored"], "conflicts": out["conflicts"]}

    return run


@_task
def lib_blame(root: str, ref: str) -> Timed:
    """dslineage's library: `Repo(root).blame(ref)` over all rows."""
    import duckdb  # noqa: F401
    import pyarrow  # noqa: F401

    from dslineage.repo import Repo

    def run() -> Any:
        out = Repo(root).blame(ref)
        return {"rows": getattr(out.table, "num_rows", None)}

    return run


@_task
def crowdkit_alone(votes: str, method: str) -> Timed:
    """crowd-kit alone: read the votes with pandas and `fit_predict` with the same aggregator."""
    import pandas as pd

    from dslineage.quality.crowd import model

    model(method)  # imports crowd-kit before the clock starts

    def run() -> Any:
        frame = pd.read_parquet(votes).rename(columns={"key": "task", "annotator": "worker"})
        return {"tasks": int(model(method).fit_predict(frame).shape[0])}

    return run


@_task
def lib_consensus(root: str, name: str, votes: str, method: str) -> Timed:
    """dslineage's library: `Repo(root).consensus(name, votes=..., method=...)` (batch + version)."""
    import duckdb  # noqa: F401
    import pyarrow  # noqa: F401

    from dslineage.quality.crowd import model
    from dslineage.repo import Repo

    model(method)

    def run() -> Any:
        with Repo(root) as repo:
            r = repo.consensus(name, votes=votes, method=method, reason="bench")
        return {"applied": r.applied, "rows_voted": r.rows_voted}

    return run


def _merge_setup(base: str, ours: str, theirs: str) -> tuple[Any, Any, dict[str, Any]]:
    import duckdb  # noqa: F401
    import pyarrow  # noqa: F401

    from dslineage.config import Dataset
    from dslineage.store import merge, rows

    ds = Dataset(name="ds", path="data/ds.parquet", format="parquet", key=["key"], labels=["label"])
    srcs = {name: rows.source(Path(path), ds) for name, path in (("base", base), ("ours", ours), ("theirs", theirs))}
    return ds, rows.connect({}), {"merge": merge, **srcs}


@_task
def lib_merge(base: str, ours: str, theirs: str, out: str, prefer: str | None = None) -> Timed:
    """The three-way merge engine: `merge3` of the three files, then `write_merged` to `out`."""
    ds, con, s = _merge_setup(base, ours, theirs)

    def run() -> Any:
        res = s["merge"].merge3(con, s["base"], s["ours"], s["theirs"], ds, prefer=prefer)
        s["merge"].write_merged(con, res, Path(ours), Path(out), ds)
        return {**res.counts, "conflicts": res.conflicts.num_rows}

    return run


@_task
def lib_merge_conflicts(base: str, ours: str, theirs: str) -> Timed:
    """The conflicts listing: `merge3` of two sides that relabelled the same rows differently."""
    ds, con, s = _merge_setup(base, ours, theirs)

    def run() -> Any:
        res = s["merge"].merge3(con, s["base"], s["ours"], s["theirs"], ds)
        return {"conflicts": res.conflicts.num_rows, "first": res.conflicts.slice(0, 1).to_pylist()}

    return run


def peak_rss() -> int:
    """This process's own peak RSS in bytes (VmHWM: unlike ru_maxrss, not inherited)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _warm_duckdb() -> None:
    """Pay, before the clock starts, what DuckDB's Python client does on the first query with
    bound parameters: it imports numpy and pandas when they are installed (0.3-1.4 s here).
    Every task here binds parameters, so leaving it in would add that constant to each figure."""
    try:
        import duckdb
    except ImportError:
        return
    duckdb.connect().execute("SELECT ?", [1]).fetchall()


def _warm_library() -> None:
    """Import, before the clock starts, the modules dslineage's library loads on first use (pyarrow's
    parquet and compute modules, PyYAML: ~0.1 s): a library figure is that of a long-lived process,
    as the other tools' are (their imports are made in their setup)."""
    import pyarrow.compute  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import yaml  # noqa: F401


def _cpu() -> float:
    """CPU seconds of this process (all threads) and of the child processes it has waited for (git, `dvc add`)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def main() -> None:
    """Run one task and print its measurement as a JSON line."""
    name, kwargs = sys.argv[1], json.loads(sys.argv[2])
    if name.startswith("doltlite"):
        import doltlite  # noqa: F401  (must come before sqlite3 is loaded)

        from benchmarks import dolt  # noqa: F401  (registers the doltlite tasks)
    from benchmarks import worker_tasks  # noqa: F401  (registers the tasks kept there)

    _warm_duckdb()
    if name.startswith("lib_"):
        _warm_library()
    run = TASKS[name](**kwargs)
    start, cpu_start = time.perf_counter(), _cpu()
    result = run()
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu_start
    if isinstance(result, dict) and "per_key_s" in result:
        import statistics

        seconds = statistics.median(result["per_key_s"])
        cpu = statistics.median(result.get("per_key_cpu_s") or [cpu])
    rss = peak_rss()
    out = {"seconds": seconds, "cpu": cpu, "rss": rss, "result": result}
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    # run through the package module, so tasks registered by dolt.py land in the same TASKS
    from benchmarks import worker

    worker.main()
