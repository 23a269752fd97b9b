"""Per-partition work on a real Dask cluster (two worker processes) whose workers read the parts
from a real S3 server (SeaweedFS): diff, commit and audit equal the local results, every task is
handed `s3://` URLs (never a path of this machine), and a fresh clone stays without cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dslineage import Repo
from dslineage.core import common, partaudit
from dslineage.core.remote import reading
from dslineage.model import to_json
from dslineage.store import partdiff
from tests.support import new_repo, run
from tests.support.journals import journal_records, part_bytes
from tests.support.s3 import S3Remote, S3Server

pytestmark = pytest.mark.slow

SPLITS = ("a", "b", "c", "d")
DUPS = {11: 10, 13: 12, 45: 3, 85: 3}  # feature x of these ids repeats another id's (45, 85: in other parts)


@dataclass
class Cluster:
    """A LocalCluster whose workers carry the S3 server's credentials in their environment."""

    address: str
    s3: S3Remote


@pytest.fixture(scope="module")
def cluster(s3_server: S3Server) -> Iterator[Cluster]:
    """Two worker processes on 127.0.0.1, started with AWS_* of the S3 server in their (inherited)
    environment, as real workers get them; one bucket for the module; closed afterwards."""
    from dask.distributed import LocalCluster

    env = {
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        bucket = f"dsl-{uuid.uuid4().hex[:12]}"
        s3_server.client().create_bucket(Bucket=bucket)
        with LocalCluster(
            n_workers=2, threads_per_worker=2, processes=True, host="127.0.0.1", dashboard_address=None
        ) as lc:
            yield Cluster(lc.scheduler_address, S3Remote(s3_server, bucket, f"s3://{bucket}/{uuid.uuid4().hex[:6]}"))


@pytest.fixture
def handed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[Any], Any, Any]]:
    """Every call of `build_changes_parts` this test makes: (pairs, filesystem argument, reads)."""
    calls: list[tuple[list[Any], Any, Any]] = []
    real = partdiff.build_changes_parts

    def spy(con: Any, pairs: Any, *args: Any, **kwargs: Any) -> Any:
        got = real(con, pairs, *args, **kwargs)
        calls.append((list(pairs), kwargs.get("filesystem"), got))
        return got

    monkeypatch.setattr(partdiff, "build_changes_parts", spy)
    return calls


def _write(root: Path, split: str, ids: list[int], label: dict[int, str]) -> None:
    path = root / "data" / "ds" / f"split={split}" / "part-0.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")  # a new file renamed in: DVC may link the old one to its cache
    pq.write_table(
        pa.table(
            {
                "id": ids,
                "x": [DUPS.get(i, i) for i in ids],
                "label": [label.get(i, "cat" if i % 2 else "dog") for i in ids],
            }
        ),
        tmp,
    )
    tmp.replace(path)


def _edit(root: Path, splits: dict[str, list[int]]) -> None:
    """Two relabels in `a`, id 39 moved from `a` to `b` and relabeled, part `d` removed, part `e` added."""
    _write(root, "a", splits["a"][:-1], {3: "bird", 5: "bird"})
    _write(root, "b", [*splits["b"], 39], {39: "fish"})
    (root / "data" / "ds" / "split=d" / "part-0.parquet").unlink()
    _write(root, "e", list(range(500, 520)), {})


def _home(tmp_path: Path, cl: Cluster, env: Any, *, edit: bool = True) -> tuple[Path, dict[str, list[int]]]:
    """A repository on the S3 remote with `ds` v1 (four hive parts) pushed, edits left in its work
    tree (unless `edit` is False)."""
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_EC2_METADATA_DISABLED"):
        env.setenv(k, os.environ[k])
    root = new_repo(tmp_path / "home")
    splits = {s: list(range(40 * n, 40 * n + 40)) for n, s in enumerate(SPLITS)}
    for s, ids in splits.items():
        _write(root, s, ids, {})
    run(root, "dvc", "remote", "add", "-d", "store", cl.s3.url)
    run(root, "dvc", "remote", "modify", "store", "endpointurl", cl.s3.endpoint)
    with Repo(root) as repo:
        repo.track(str(root / "data" / "ds"), ["id"], ["label"], roles={"features": ["x"]})
        repo.commit(["ds"], "first version", None)
        repo.push()
    if edit:
        _edit(root, splits)
    return root, splits


def _only_urls(calls: list[tuple[list[Any], Any, Any]]) -> None:
    """Every task got s3:// URLs (no local path) and the remote's location to read them with."""
    assert calls
    for pairs, fs, _ in calls:
        locs = [x for _, *xs in pairs for x in xs if x is not None]
        assert locs and all(str(x).startswith("s3://") for x in locs), locs
        assert type(fs).__name__ == "S3Location" and not hasattr(fs, "key")


def test_diff_and_commit_on_s3_reading_workers_equal_local(
    cluster: Cluster, tmp_path: Path, handed: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`diff ds` (work tree vs v1) and `commit` on the cluster: the same result as on this machine,
    tasks handed s3:// URLs only, the new parts uploaded to the remote, the workers' bytes counted."""
    home, _ = _home(tmp_path, cluster, monkeypatch)
    twin = tmp_path / "twin"
    shutil.copytree(home, twin, symlinks=True)
    with Repo(home) as repo, reading(repo):
        local = to_json(repo.diff("ds"))
    assert not handed
    with Repo(twin, scheduler=cluster.address) as repo, reading(repo):
        on_dask = to_json(repo.diff("ds"))
        reads = repo.remote_reads()
    _only_urls(handed)
    assert on_dask == local and local["rows"]["relabeled"] == 3 and local["rows"]["removed"] == 40
    assert reads is not None and reads.bytes_read > 0 and sum(c[2].bytes_read for c in handed) == reads.bytes_read
    with Repo(home) as repo:
        new = {p.md5 for p in common.working_parts(repo, repo.dataset("ds")) or []}
    assert new <= cluster.s3.md5s()  # the working parts were uploaded before the workers read them

    handed.clear()
    found = []
    for root, scheduler in ((home, None), (twin, cluster.address)):
        with Repo(root, scheduler=scheduler) as repo:
            repo.commit(["ds"], "second version", None)
            rec = next(v for v in repo.index.records("version", "ds") if v["seq"] == 2)
        found.append(
            (
                {k: v for k, v in rec["changes"].items() if k != "file"},
                rec["label_distribution"],
                rec["rows"],
                rec["md5"],
            )
        )
    _only_urls(handed)
    assert found[0] == found[1] and found[0][0]["relabeled"] == 3


def test_fresh_clone_diff_and_audit_on_the_cluster_read_s3_and_cache_nothing(
    cluster: Cluster, tmp_path: Path, handed: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a clone without cache, the byte diff of v1 → v2 and the audit of v2 on the cluster equal
    the author's local results; the workers read from S3 and the clone's DVC cache stays empty."""
    from dslineage import dvcio
    from dslineage.ops.diff import diff

    home, _ = _home(tmp_path, cluster, monkeypatch)
    with Repo(home) as repo:
        repo.commit(["ds"], "second version", None)
        repo.push()
        local_diff = to_json(diff(repo, "ds@v1", "ds@v2", fold=False))
        local_audit = to_json(repo.audit("ds@v2", record=False, group="split"))
    run(home, "git", "add", "-A")
    run(home, "git", "commit", "-q", "-m", "on S3")
    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", str(home), str(clone))
    assert not handed
    profiles: list[Any] = []
    real = partaudit.on_engine
    monkeypatch.setattr(partaudit, "on_engine", lambda *a, **k: profiles.append(real(*a, **k)) or profiles[-1])
    with Repo(clone, scheduler=cluster.address) as repo:
        with reading(repo):
            dask_diff = to_json(diff(repo, "ds@v1", "ds@v2", fold=False))
        dask_audit = to_json(repo.audit("ds@v2", record=False, group="split"))
        reads = repo.remote_reads()
    _only_urls(handed)
    (prof,) = profiles  # the audit's per-part statistics ran on the workers, from S3 URLs
    assert prof.locations and all(u.startswith("s3://") for u in prof.locations.values())
    assert type(prof.reads).__name__ == "S3Location"
    assert dask_diff == local_diff and local_diff["rows"]["added"] == 20
    assert {k: v for k, v in dask_audit.items() if k != "remote"} == local_audit
    conflicts = local_audit["conflicting_duplicates"]  # (10, 11), (12, 13) and x = 3 across three parts
    assert conflicts["groups"] == 3 and conflicts["rows"] == 7 and local_audit["subgroups"]["groups"] == 4
    assert reads is not None and reads.bytes_read > 0
    # the CLI: `--scheduler` before the command; --json's `remote` key counts the 4 parts the workers read
    # and the `.dir` manifest the client read
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "dslineage",
            "--scheduler",
            cluster.address,
            "audit",
            "ds@v2",
            "--group",
            "split",
            "--no-record",
            "--json",
        ],
        cwd=clone,
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0, cli.stderr
    printed = json.loads(cli.stdout)
    assert printed["conflicting_duplicates"] == local_audit["conflicting_duplicates"]
    # bytes: the client's footer reads plus both task rounds (tiny parts: mostly footers), so not bounded by the size
    assert printed["remote"]["objects"] == 5 and printed["remote"]["bytes_read"] > 0
    files = dvcio.cache_root(clone) / "files"
    assert not files.exists() or not [p for p in files.rglob("*") if p.is_file() and not p.name.endswith(".dir")]


def test_workers_without_credentials_fail_with_one_line_naming_the_remote(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers whose environment lacks the S3 credentials (the client has them; nothing ships them):
    `diff` fails with the remote-read error line naming the remote and the credentials to check."""
    from dask.distributed import LocalCluster

    from dslineage.errors import RemoteError

    home, _ = _home(tmp_path, cluster, monkeypatch)
    with pytest.MonkeyPatch.context() as mp:
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            mp.delenv(k)
        bare = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
    with bare, Repo(home, scheduler=bare.scheduler_address) as repo, reading(repo):
        with pytest.raises(RemoteError) as info:
            repo.diff("ds")
    message = str(info.value)
    assert "DVC remote 'store'" in message and "AWS_ACCESS_KEY_ID" in message and "\n" not in message


def test_relabel_rewrites_on_s3_reading_workers_equal_local(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`relabel` of rows in two parts on the cluster: each part is rewritten by a worker reading it
    from S3 by URL (one task per edited part), and the part files, the `.dvc` file and the journal
    are byte for byte / record for record those of the same relabel on this machine."""
    from dslineage import engine

    handed_parts: list[tuple[str, list[Any]]] = []
    real = engine.DaskEngine.map

    def spy(self: engine.DaskEngine, fn: Any, items: Any) -> list[Any]:
        handed_parts.append((fn.__name__, list(items)))
        return real(self, fn, items)

    monkeypatch.setattr(engine.DaskEngine, "map", spy)
    home, _ = _home(tmp_path, cluster, monkeypatch, edit=False)
    twin = tmp_path / "twin"
    shutil.copytree(home, twin, symlinks=True)
    edits = {"3": "bird", "5": "bird", "121": "fish"}  # parts split=a and split=d
    with Repo(home) as repo:
        repo.relabel("ds", edits, reason="fix", by="ann")
    assert not handed_parts
    with Repo(twin, scheduler=cluster.address) as repo, reading(repo):
        repo.relabel("ds", edits, reason="fix", by="ann")
        reads = repo.remote_reads()
    (name, items), *rest = [h for h in handed_parts if h[0] == "rewrite_part"]
    assert name == "rewrite_part" and not rest and len(items) == 2
    assert all(str(it[1]).startswith("s3://") and it[3] is None for it in items)  # URLs in, bytes back
    assert all(type(it[4]).__name__ == "S3Location" and not hasattr(it[4], "key") for it in items)
    assert reads is not None and reads.bytes_read > 0
    assert part_bytes(twin) == part_bytes(home)
    assert (twin / "data" / "ds.dvc").read_text() == (home / "data" / "ds.dvc").read_text()
    assert journal_records(twin) == journal_records(home)
    t = pq.read_table(twin / "data" / "ds" / "split=d" / "part-0.parquet")
    assert dict(zip(t.column("id").to_pylist(), t.column("label").to_pylist()))[121] == "fish"
