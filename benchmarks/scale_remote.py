"""The remote part of the `scale` stage: a diff of two versions read straight from an S3 remote.

Starts SeaweedFS (`weed mini`, bound to 127.0.0.1, a made-up key pair: `tests.support.s3`),
gives each repository of the stage a bucket as its default DVC remote, `dslineage push`es every
version, then per run clones each repository (git only: an empty DVC cache), builds its index
(not timed) and times `dslineage diff ds@v1 ds@v2 --rows 10 --json` (the rows shown must be read
from the objects: the byte path) and the plain `--json` diff (folded from the change sets). The
`remote` key of the output ({"objects", "bytes_read", "object_bytes"}, issue 16; absent when
nothing was read remotely) gives the bytes read; the figure is their share of both versions'
whole size (every part of a directory; `object_bytes` counts only the objects the command
opened). The server and its data are removed afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

from benchmarks import measure, repos
from benchmarks.params import Layout, Params
from benchmarks.scale import REL, dsl, parsed


def _setup(root: Path, server: Any, env: dict[str, str]) -> dict[str, Any]:
    """A bucket as `root`'s default DVC remote (endpoint in .dvc/config, committed), then push."""
    bucket = f"scale-{uuid.uuid4().hex[:10]}"
    server.client().create_bucket(Bucket=bucket)
    dvc = measure.bin_of("dvc")
    for argv in (
        [*dvc, "remote", "add", "-f", "-d", "store", f"s3://{bucket}/dvcstore"],
        [*dvc, "remote", "modify", "store", "endpointurl", server.endpoint],
        ["git", "add", ".dvc/config"],
        ["git", "commit", "-q", "-m", "S3 remote"],
    ):
        subprocess.run(argv, cwd=root, check=True, capture_output=True)
    push = dsl(root, "push", "--json", env=env)
    push["result"] = parsed(push)
    return push


def _clone_diff(root: Path, clone: Path, env: dict[str, str], versions_bytes: int, *extra: str) -> dict[str, Any]:
    """One diff of v1 and v2 in a fresh clone of `root` (index built first, not timed); the bytes
    read against `versions_bytes` (both versions in full: every part of a directory, the whole file)."""
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True, capture_output=True)
    dsl(clone, "log", repos.DATASET, "--json", env=env)
    try:
        res = dsl(clone, "diff", f"{repos.DATASET}@v1", f"{repos.DATASET}@v2", *extra, "--json", env=env)
        body = parsed(res)
    finally:
        shutil.rmtree(clone, ignore_errors=True)
    remote = body.get("remote")
    res["result"] = {
        "relabeled": (body.get("rows") or {}).get("relabeled"),
        "remote": remote,
        "versions_bytes": versions_bytes,
    }
    if isinstance(remote, dict):
        # of both versions' whole size (the issue's figure), and of the objects the command opened
        res["result"]["fraction_read"] = remote["bytes_read"] / versions_bytes
        res["result"]["fraction_of_opened"] = remote["bytes_read"] / max(1, remote["object_bytes"])
    return res


def run(layout: Layout, p: Params, roots: dict[str, Path], v1_bytes: dict[str, int], edited: int) -> dict[str, Any]:
    """Push both repositories (v1 and v2 committed, v2 checked out) to a fresh S3 server and time
    the remote diffs (per repository); `v1_bytes` is v1's size in each."""
    if not p.scale_remote:
        return measure.skipped("scale remote", "scale_remote is false")
    try:
        import pytest

        from tests.support.s3 import seaweedfs
    except ImportError as exc:
        return measure.skipped("scale remote", f"the SeaweedFS helper needs the test extra: {exc}")
    base = layout.work / "scale-s3"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    out: dict[str, Any] = {}
    try:
        with seaweedfs(base) as server:
            env = {
                "AWS_ACCESS_KEY_ID": server.access_key,
                "AWS_SECRET_ACCESS_KEY": server.secret_key,
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true",
            }
            for kind, root in roots.items():
                push = _setup(root, server, env)
                both = v1_bytes[kind] + repos.tree_bytes(root / REL[kind])
                rows: list[dict[str, Any]] = []
                fold: list[dict[str, Any]] = []
                for _ in range(max(1, p.scale_runs)):
                    rows.append(_clone_diff(root, base / f"clone-{kind}", env, both, "--rows", "10"))
                    fold.append(_clone_diff(root, base / f"clone-{kind}", env, both))
                out[kind] = {
                    "push": measure.summarize([push]),
                    "diff_rows": measure.summarize(rows),
                    "diff_folded": measure.summarize(fold),
                    "agrees": all(s["result"]["relabeled"] == edited for s in rows + fold),
                }
                print(
                    f"scale remote {kind}: diff --rows {out[kind]['diff_rows']['median_s']:.2f} s "
                    f"{out[kind]['diff_rows']['result']}",
                    flush=True,
                )
    except pytest.skip.Exception as exc:  # the `weed` binary is absent or cannot run here
        return measure.skipped("scale remote", str(exc))
    except measure.TaskFailed as exc:
        return {**out, **measure.skipped("scale remote", f"a remote command failed: {exc}")}
    finally:
        shutil.rmtree(base, ignore_errors=True)
    for kind in roots:
        if not isinstance(out[kind]["diff_rows"]["result"].get("remote"), dict):
            out[kind]["diff_rows"]["skipped_target"] = "diff --json printed no `remote` key"
            measure.skipped(f"scale remote bytes ({kind})", "diff --json printed no `remote` key")
    return out
