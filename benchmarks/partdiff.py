"""`partdiff` benchmark: the row diff of two versions of a dataset kept as `partdiff_parts` parquet
parts, where `partdiff_changed` parts changed (relabels, and rows moved from one changed part to
another), run four ways:

* `one_query_all_parts`: `rowdiff.build_changes` over the unions of every part (as if unpartitioned);
* `one_query_changed_parts`: the same over the changed parts only (what a directory diff does);
* `pool_changed_pairs`: `partdiff.build_changes_parts` on the local process pool (opened, and its
  processes spawned, inside the timing, as each command does), `pool_warm_changed_pairs` reusing it;
* `dask_changed_pairs`: the same on a Dask LocalCluster of two worker processes (started before the
  timing, as a cluster would be; the client connects inside it);
* `dask_s3_changed_pairs`: the same with the workers reading the parts from a SeaweedFS S3 server by
  `s3://` URL (`benchmarks/partdiff_s3.py`), with the bytes they received vs the objects' size.

`*_all_pairs` does the same with every part rewritten (all pairs sent), to show the per-task cost.
Every way must give the same change counts (`agrees`). Times only: nothing here is asserted.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.params import CLASSES, Layout, Params

Pairs = list[tuple[str, str | None, str | None]]


def _write(path: Path, keys: Any, labels: Any, x: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": keys, "label": labels, "x": x}), path)


def generate(folder: Path, p: Params) -> tuple[dict[str, Path], dict[str, Path], dict[str, Path], list[str]]:
    """Version A, version B (A with `partdiff_changed` parts changed) and B' (every part rewritten with
    the same change), as relpath -> file; and the changed relpaths."""
    import numpy as np

    rng = np.random.default_rng(p.seed)
    per = max(1, p.partdiff_rows // p.partdiff_parts)
    names = [f"part-{i:04d}.parquet" for i in range(p.partdiff_parts)]
    changed = names[: max(1, p.partdiff_changed)]
    a, b, b_all = {}, {}, {}
    moved_keys: Any = np.array([], dtype=np.int64)
    for i, name in enumerate(names):
        keys = np.arange(i * per, (i + 1) * per, dtype=np.int64)
        labels = rng.choice(np.array(CLASSES), per)
        x = rng.random(per)
        a[name] = folder / "a" / name
        _write(a[name], keys, labels, x)
        if name in changed:
            flip = rng.random(per) < 0.001 * p.partdiff_parts / len(changed)  # ~0.1% of all rows
            labels = np.where(flip, rng.choice(np.array(CLASSES), per), labels)
            if i == 0 and len(changed) > 1:  # the first 10 rows move to the second changed part
                moved_keys, keys, labels, x = keys[:10], keys[10:], labels[10:], x[10:]
            elif i == 1:
                keys = np.concatenate([moved_keys, keys])
                labels = np.concatenate([rng.choice(np.array(CLASSES), len(moved_keys)), labels])
                x = np.concatenate([rng.random(len(moved_keys)), x])
            b[name] = folder / "b" / name
            _write(b[name], keys, labels, x)
        else:
            b[name] = a[name]
        b_all[name] = folder / "b_all" / name
        _write(b_all[name], keys, labels, x)
    return a, b, b_all, changed


def _union(files: list[Path]) -> Any:
    from dslineage.store.rows import Source

    return Source("read_parquet(?)", ([str(f) for f in files],), "union")


def _one_query(a: list[Path], b: list[Path]) -> dict[str, Any]:
    from dslineage.config import Dataset
    from dslineage.store import rowdiff
    from dslineage.store.rows import connect

    con = connect({})
    ds = Dataset(name="parts", path="parts", format="parquet", key=["id"], labels=["label"])
    _, summary = rowdiff.compare(con, _union(a), _union(b), ds)
    con.close()
    return summary


def _on_engine(engine: Any, pairs: Pairs, cols: dict[str, str], reads: Any = None) -> dict[str, Any]:
    return _engine_diff(engine, pairs, cols, reads)[0]


def _engine_diff(engine: Any, pairs: Pairs, cols: dict[str, str], reads: Any = None) -> tuple[dict[str, Any], Any]:
    """The summary of the pairs' diff on `engine` (parts read as `reads` says) and what tasks read remotely."""
    from dslineage.store import partdiff, rowdiff
    from dslineage.store.rows import connect

    p = rowdiff.DiffPlan(
        keys=["id"], labels=["label"], compared=["label", "x"], retyped=[], added_cols=[], removed_cols=[]
    )
    con = connect({})
    try:
        got = partdiff.build_changes_parts(con, pairs, p, cols, cols, engine=engine, filesystem=reads)
        return rowdiff.summarize_changes(con, p), got
    finally:
        con.close()


def _time(fn: Callable[[], dict[str, Any]], runs: int, truth: dict[str, Any] | None) -> dict[str, Any]:
    times, result = [], {}
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    counts = {k: result[k] for k in ("added", "removed", "relabeled", "modified")}
    return {
        "median_s": statistics.median(times),
        "runs": times,
        "result": counts,
        "agrees": truth is None or counts == truth,
    }


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """Generate the two partitioned versions, then time each way of diffing them."""
    from dask.distributed import LocalCluster

    from dslineage.engine import DaskEngine, LocalEngine

    a, b, b_all, changed = generate(layout.work / "partdiff", p)
    cols = {"id": "BIGINT", "label": "VARCHAR", "x": "DOUBLE"}
    some: Pairs = [(n, str(a[n]), str(b[n])) for n in changed]
    every: Pairs = [(n, str(a[n]), str(b_all[n])) for n in a]
    out: dict[str, Any] = {"rows": p.partdiff_rows, "parts": p.partdiff_parts, "changed_parts": len(changed)}
    base = _time(lambda: _one_query(list(a.values()), list(b.values())), p.runs, None)
    truth = base["result"]
    out["one_query_all_parts"] = base
    out["one_query_changed_parts"] = _time(
        lambda: _one_query([a[n] for n in changed], [b[n] for n in changed]), p.runs, truth
    )

    def cold(pairs: Pairs) -> dict[str, Any]:
        with LocalEngine() as engine:
            return _on_engine(engine, pairs, cols)

    out["pool_changed_pairs"] = _time(lambda: cold(some), p.runs, truth)
    with LocalEngine() as warm:
        _on_engine(warm, some, cols)
        out["pool_warm_changed_pairs"] = _time(lambda: _on_engine(warm, some, cols), p.runs, truth)
        out["pool_warm_all_pairs"] = _time(lambda: _on_engine(warm, every, cols), p.runs, truth)
    out["one_query_all_pairs"] = _time(lambda: _one_query(list(a.values()), list(b_all.values())), p.runs, truth)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address

        def dask(pairs: Pairs) -> dict[str, Any]:
            with DaskEngine(address) as engine:
                return _on_engine(engine, pairs, cols)

        dask(some)  # the workers import dslineage once
        out["dask_changed_pairs"] = _time(lambda: dask(some), p.runs, truth)
        out["dask_all_pairs"] = _time(lambda: dask(every), p.runs, truth)
    from benchmarks import partdiff_s3

    out["dask_s3_changed_pairs"] = partdiff_s3.run(
        layout.work / "partdiff-s3",
        some,
        lambda fn: _time(fn, p.runs, truth),
        lambda engine, pairs, reads: _engine_diff(engine, pairs, cols, reads),
    )
    for name, res in out.items():
        if isinstance(res, dict) and "median_s" in res:
            print(
                f"partdiff {name}: {res['median_s']:.3f} s {res['result']}{'' if res['agrees'] else ' DISAGREES'}",
                flush=True,
            )
    return out
