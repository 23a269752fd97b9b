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

    with LocalCluster(n_workers=2, threads_per_worker=2, processes=True, host="127.0.0.1",
                      dashboard_address=None) as lc:
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
def test_cluster_diff_equals_local_pool_and_union_diff(cluster: Any, pool: LocalEngine, tmp_path: Path,
                                                       seed: int) -> None:
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
