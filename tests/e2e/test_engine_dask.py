"""Per-partition change detection on a real Dask cluster (two worker processes) equals the local result."""

from __future__ import annotations

import os
import random
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dslineage.engine import DaskEngine, EngineError, LocalEngine, open_engine
from tests.support.partitions import both_ways

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A LocalCluster of two worker processes on 127.0.0.1 (two task threads each: tasks share a
    process's database concurrently), closed after the module."""
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=2, processes=True, host="127.0.0.1", dashboard_address=None
    ) as lc:
        yield lc


def test_tasks_run_on_the_cluster_workers(cluster: Any) -> None:
    """`--scheduler ADDRESS` sends tasks to the workers' processes, never this one."""
    with open_engine(cluster.scheduler_address) as engine:
        assert isinstance(engine, DaskEngine)
        workers = set(engine.client.run(os.getpid).values())
        pids = engine.map(os.getpid, [()] * 8)
    assert len(workers) == 2 and set(pids) <= workers and os.getpid() not in pids


@pytest.fixture(scope="module")
def pool() -> Iterator[LocalEngine]:
    """A two-process local pool, shared by the module's tests."""
    with LocalEngine(2) as engine:
        yield engine


@pytest.mark.parametrize("seed", range(6))
def test_cluster_diff_equals_local_pool_and_union_diff(
    cluster: Any, pool: LocalEngine, tmp_path: Path, seed: int
) -> None:
    """Random partitioned versions: the `_chg` rows and types from Dask workers equal those of the
    local process pool and of the one-query diff over the unions (hive columns and digests too)."""
    with DaskEngine(cluster.scheduler_address) as dask_engine:
        for hive, digests in ((False, True), (True, False)):
            run = tmp_path / f"{hive}-{digests}"
            ref, on_dask, _ = both_ways(run / "dask", random.Random(seed), dask_engine, hive=hive, digests=digests)
            ref_local, on_pool, _ = both_ways(run / "pool", random.Random(seed), pool, hive=hive, digests=digests)
            assert ref == ref_local  # the same random versions on both engines
            assert on_dask == ref and on_pool == ref


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_scheduler_is_one_clear_error() -> None:
    """No scheduler at the address: an EngineError naming the address and the fix, within the timeout."""
    address = f"tcp://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    with pytest.raises(EngineError) as info:
        DaskEngine(address, timeout=2)
    message = str(info.value)
    assert address in message and "dask scheduler" in message and "\n" not in message
    assert time.monotonic() - start < 30


def _dir_repo(root: Path) -> None:
    """`data/ds`: four hive partitions of 40 rows each, tracked and committed as v1; then a relabel
    in one part, a row moved between two parts and a part removed, left uncommitted."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dslineage import Repo

    def write(split: str, ids: list[int], label: dict[int, str]) -> None:
        path = root / "data" / "ds" / f"split={split}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")  # a new file renamed in: DVC may link the old one to its cache
        pq.write_table(
            pa.table(
                {"id": ids, "x": [i / 4 for i in ids], "label": [label.get(i, "cat" if i % 2 else "dog") for i in ids]}
            ),
            tmp,
        )
        tmp.replace(path)

    splits = {s: list(range(40 * n, 40 * n + 40)) for n, s in enumerate(("a", "b", "c", "d"))}
    for s, ids in splits.items():
        write(s, ids, {})
    with Repo(root) as repo:
        repo.track(str(root / "data" / "ds"), ["id"], ["label"])
        repo.commit(["ds"], "first version", None)
    write("a", splits["a"][:-1], {3: "bird", 5: "bird"})  # two relabels; id 39 moves to b
    write("b", [*splits["b"], 39], {39: "fish"})  # ... relabelled on the way
    (root / "data" / "ds" / "split=d" / "part-0.parquet").unlink()  # 40 rows removed


def test_directory_commit_on_the_cluster_records_what_a_local_commit_records(
    cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`commit` of a directory dataset with `--scheduler` (per-part change detection on the
    Dask workers) records the same counts, label shift and change-set rows as a local commit."""
    import shutil

    import duckdb

    from dslineage import Repo
    from dslineage.files import JOURNAL_DIR
    from dslineage.journal import changes_name
    from dslineage.store import partdiff
    from tests.support import new_repo

    engines: list[str] = []
    real = partdiff.build_changes_parts

    def spy(*args: Any, engine: Any, **kwargs: Any) -> Any:
        engines.append(type(engine).__name__)
        return real(*args, engine=engine, **kwargs)

    monkeypatch.setattr(partdiff, "build_changes_parts", spy)

    local = new_repo(tmp_path / "local")
    _dir_repo(local)
    remote = tmp_path / "on-dask"
    shutil.copytree(local, remote, symlinks=True)
    found = {}
    for root, scheduler in ((local, None), (remote, cluster.scheduler_address)):
        with Repo(root, scheduler=scheduler) as repo:
            assert repo.engine_spec == scheduler
            repo.commit(["ds"], "second version", None)
            rec = next(v for v in repo.index.records("version", "ds") if v["seq"] == 2)
        rows = duckdb.sql(
            "SELECT * FROM read_parquet(?) ORDER BY ALL", params=[str(root / JOURNAL_DIR / changes_name(rec["id"]))]
        ).fetchall()
        changes = {k: v for k, v in rec["changes"].items() if k != "file"}  # named by the record id
        found[scheduler] = (changes, rec["label_distribution"], rec["rows"], rows)
    local_found, dask_found = found[None], found[cluster.scheduler_address]
    assert local_found[0]["relabeled"] == 3 and local_found[0]["removed"] == 40 and local_found[2] == 120
    assert engines == ["DaskEngine"]  # the local commit kept to one query; this one ran on the workers
    assert dask_found == local_found
