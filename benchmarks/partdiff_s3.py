"""`partdiff` on Dask workers that read the parts from an S3 remote: the changed pairs' parts are
put on a SeaweedFS server (`weed mini` on 127.0.0.1, `tests.support.s3`) under their DVC keys,
and a `LocalCluster` of two worker processes (the server's key pair in their environment only)
diffs them by `s3://` URL, as `dslineage --scheduler` does with an S3 default remote.

Reports the first (cold) run's time and the bytes the workers received then (`cold_s`,
`bytes_read`, against the objects' size `object_bytes`: the diff reads the key, label and compared
columns only), and the median of the timed runs after it (`median_s`; DuckDB's file cache in a
worker may serve the same objects again: `warm_bytes_read`).
Skipped (with the reason) when the `weed` binary or the test extra is missing.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Pairs = list[tuple[str, str | None, str | None]]


def run(
    base: Path,
    pairs: Pairs,
    time_it: Callable[[Callable[[], dict[str, Any]]], dict[str, Any]],
    diff: Callable[[Any, Pairs, Any], tuple[dict[str, Any], Any]],
) -> dict[str, Any]:
    """Upload the parts of `pairs` to a fresh S3 server and time `diff(engine, s3 pairs, location)`
    on a two-worker LocalCluster whose workers hold the credentials (the client ships none)."""
    try:
        import pytest
        from dask.distributed import LocalCluster

        from dslineage.dvcio import file_md5
        from dslineage.dvcio.remote_put import put_missing
        from dslineage.dvcio.remote_read import S3Location
        from dslineage.engine import DaskEngine
        from tests.support.s3 import seaweedfs
    except ImportError as exc:
        return {"skipped": f"needs the test and dask extras: {exc}"}
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    saved = {
        k: os.environ.get(k)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_EC2_METADATA_DISABLED")
    }
    try:
        with seaweedfs(base) as server:
            os.environ.update(
                AWS_ACCESS_KEY_ID=server.access_key,
                AWS_SECRET_ACCESS_KEY=server.secret_key,
                AWS_DEFAULT_REGION="us-east-1",
                AWS_EC2_METADATA_DISABLED="true",
            )
            server.client().create_bucket(Bucket="bench")
            loc = S3Location("bench", "s3://bench/dvcstore", server.endpoint)
            md5 = {f: file_md5(Path(f)) for _, *sides in pairs for f in sides if f is not None}
            placed = put_missing(loc, {m: Path(f) for f, m in md5.items()})
            s3_pairs: Pairs = [
                (rel, loc.object_url(md5[a]) if a else None, loc.object_url(md5[b]) if b else None)
                for rel, a, b in pairs
            ]
            read: list[Any] = []
            with LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
            ) as cluster:

                def once() -> dict[str, Any]:
                    with DaskEngine(cluster.scheduler_address) as engine:
                        summary, got = diff(engine, s3_pairs, loc)
                    read.append(got)
                    return summary

                start = time.perf_counter()
                once()  # cold: the workers import dslineage and make their S3 client once
                cold = time.perf_counter() - start
                out = time_it(once)  # warm: DuckDB's file cache in each worker may serve the same objects
            first = read[0]
            out.update(
                cold_s=cold,
                bytes_read=first.bytes_read,
                requests=first.requests,
                tasks=first.tasks,
                object_bytes=sum(placed.sizes.values()),
                warm_bytes_read=read[-1].bytes_read,
            )
            return out
    except pytest.skip.Exception as exc:  # the `weed` binary is absent or cannot run here
        return {"skipped": str(exc)}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(base, ignore_errors=True)
