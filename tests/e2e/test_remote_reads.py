"""Versions read where they live: a fresh clone with an empty DVC cache answers `diff`, `blame`,
`show`, `audit` and `eval` by reading the objects straight from a real S3 server (SeaweedFS,
tests/support/s3.py), only the columns and row groups a query needs; `--fetch` downloads them
as before; bad credentials are one error line.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dslineage import Repo, dvcio
from dslineage.core.remote import reading
from dslineage.model import to_json
from tests.support import run
from tests.support.s3 import S3Remote

pytestmark = pytest.mark.slow

ROWS, GROUP = 30_000, 3_000  # ten row groups
RELABELED = [3, 4_500, 17_000, 29_999]


@dataclass
class Pair:
    """The author's repository (everything cached) and a fresh clone of it (nothing cached)."""

    home: Path
    clone: Path
    s3: S3Remote
    v1: dict[str, Any]
    v2: dict[str, Any]


def _write(path: Path, labels: list[str]) -> None:
    """A dataset with a wide text column, in ten row groups (new file, then rename)."""
    table = pa.table(
        {
            "id": pa.array(range(ROWS), pa.int64()),
            "label": pa.array(labels),
            "text": pa.array([hashlib.sha256(str(i).encode()).hexdigest() for i in range(ROWS)]),  # incompressible
            "source": pa.array(["web" if i % 4 else "lab" for i in range(ROWS)]),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, row_group_size=GROUP)
    os.replace(tmp, path)


def cached_objects(root: Path) -> list[Path]:
    """Every object file in the DVC cache of `root`."""
    files = dvcio.cache_root(root) / "files"
    return [p for p in files.rglob("*") if p.is_file()] if files.exists() else []


@pytest.fixture
def pair(tmp_repo: Path, s3_remote: S3Remote, tmp_path: Path) -> Pair:
    """`train` v1 → relabel of four rows (v2), both objects pushed to S3, and a fresh git clone."""
    labels = [["cat", "dog", "bird"][i % 3] for i in range(ROWS)]
    _write(tmp_repo / "data" / "train.parquet", labels)
    run(tmp_repo, "dvc", "remote", "add", "-d", "store", s3_remote.url)
    run(tmp_repo, "dvc", "remote", "modify", "store", "endpointurl", s3_remote.endpoint)
    with Repo(tmp_repo) as repo:
        repo.track("data/train.parquet", ["id"], ["label"])
        repo.commit(["train"], "first version", None)
        repo.relabel("train", [f"{k}=fox" for k in RELABELED], by="alice", reason="foxes")
        repo.push()
        versions = {v["seq"]: v for v in repo.log("train")}
    run(tmp_repo, "git", "add", "-A")
    run(tmp_repo, "git", "commit", "-q", "-m", "DVC remote on S3")
    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", str(tmp_repo), str(clone))
    assert not cached_objects(clone)
    return Pair(tmp_repo, clone, s3_remote, versions[1], versions[2])


def shared_clone(root: Path, s3: S3Remote, tmp_path: Path, path: str, label: str, edits: list[str]) -> Path:
    """Track `path` (key `id`) in `root`, commit v1, relabel `edits` (v2), push both to the S3
    remote `s3` (the repository's default DVC remote) and return a fresh git clone (nothing cached)."""
    run(root, "dvc", "remote", "add", "-d", "store", s3.url)
    run(root, "dvc", "remote", "modify", "store", "endpointurl", s3.endpoint)
    with Repo(root) as repo:
        name = repo.track(path, ["id"], [label])["dataset"]
        repo.commit([name], "first version", None)
        repo.relabel(name, edits, by="crowd", reason="second look")
        repo.push()
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-q", "-m", "DVC remote on S3")
    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", str(root), str(clone))
    return clone


def dsl(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m dslineage ARGS` in `cwd` (a real process, so stderr is what a user sees)."""
    return subprocess.run(
        [sys.executable, "-m", "dslineage", *args], cwd=cwd, capture_output=True, text=True, env=env or dict(os.environ)
    )


def blame_rows(root: Path, ref: str) -> tuple[list[dict[str, Any]], Any]:
    """The blame of `ref` in `root` (rows relabeled since v1, sorted by key) and the remote reads."""
    with Repo(root) as repo:
        result = repo.blame(ref, changed_only=True)
        reads = repo.remote_reads()
    rows = sorted(result.table.to_pylist(), key=lambda r: r["id"])  # type: ignore[attr-defined]
    return rows, reads


def test_blame_of_a_remote_version_matches_the_local_one_and_caches_nothing(pair: Pair) -> None:
    """`blame train@v2` in the clone reads v2 from S3: same rows as the author's, cache still empty."""
    local, none = blame_rows(pair.home, "train@v2")
    remote, reads = blame_rows(pair.clone, "train@v2")
    assert none is None and local and remote == local
    assert sorted(r["id"] for r in remote) == RELABELED
    assert not cached_objects(pair.clone)
    assert reads.objects == 1 and reads.name == "store"
    assert reads.object_bytes == pair.v2["size"] if pair.v2.get("size") else reads.object_bytes > 0
    # key + label columns only: far less than the file, whose wide text column is never read
    assert 0 < reads.bytes_read < reads.object_bytes / 4, reads


def test_diff_rows_and_output_of_remote_versions_match_the_local_ones(pair: Pair) -> None:
    """`diff v1 v2 --rows` (which reads the changed rows' bytes) is the same in the clone, read from S3."""
    found = []
    for root in (pair.home, pair.clone):
        with Repo(root) as repo:
            result = repo.diff("train@v1", "train@v2", rows=10, output=str(root / "changed.parquet"))
            found.append((to_json(result), repo.remote_reads(), pq.read_table(root / "changed.parquet")))
    (local, none, out_local), (remote, reads, out_remote) = found
    assert none is None and reads is not None
    local.pop("output"), remote.pop("output")
    assert remote == local and len(remote["sample"]) == len(RELABELED)
    assert out_remote.equals(out_local) and out_remote.num_rows == len(RELABELED)
    assert reads.objects == 2 and reads.bytes_read < reads.object_bytes
    assert not cached_objects(pair.clone)


def test_a_byte_level_diff_of_remote_versions_reads_what_it_compares(pair: Pair) -> None:
    """The byte-level diff (no change-set fold) of v1 and v2 read from S3 equals the local one."""
    from dslineage.ops.diff import diff

    found = []
    for root in (pair.home, pair.clone):
        with Repo(root) as repo, reading(repo):
            found.append((to_json(diff(repo, "train@v1", "train@v2", fold=False)), repo.remote_reads()))
    (local, none), (remote, reads) = found
    assert remote == local and remote["rows"]["relabeled"] == len(RELABELED)
    assert none is None and reads is not None and reads.objects == 2
    assert not cached_objects(pair.clone)


def test_eval_of_remote_versions_matches_the_local_one(pair: Pair, tmp_path: Path) -> None:
    """`eval` under v1 and v2 read from S3 scores the same as under the author's cached versions."""
    pred = tmp_path / "pred.csv"
    pred.write_text("id,predicted,confidence\n" + "".join(f"{i},cat,0.9\n" for i in range(ROWS)))
    found = []
    for root in (pair.home, pair.clone):
        with Repo(root) as repo:
            found.append((repo.eval("train", predictions=str(pred), record=False), repo.remote_reads()))
    (local, none), (remote, reads) = found
    assert remote == local and [v.seq for v in remote.versions] == [1, 2]
    assert none is None and reads is not None and reads.objects == 2 and reads.bytes_read < reads.object_bytes
    assert not cached_objects(pair.clone)


def test_audit_and_show_of_a_remote_version_match_the_local_ones(pair: Pair) -> None:
    """`audit train@v2 --group source` reads v2 from S3 and finds what the author's finds; `show` needs no bytes."""
    results = []
    for root in (pair.home, pair.clone):
        with Repo(root) as repo:
            results.append(
                (repo.audit("train@v2", group="source", record=False), repo.remote_reads(), repo.show("train@v2"))
            )
    (local, no_reads, show_a), (remote, reads, show_b) = results
    assert no_reads is None and reads is not None and reads.objects == 1
    assert json.dumps(remote, sort_keys=True, default=str) == json.dumps(local, sort_keys=True, default=str)
    assert show_a == show_b
    assert not cached_objects(pair.clone)


def test_cli_json_has_the_remote_key_only_for_a_remote_read(pair: Pair) -> None:
    """`blame --json` in the clone adds `remote` (bytes read < object size); the author's output has no such key."""
    local = json.loads(dsl(pair.home, "blame", "train@v2", "--json").stdout)
    proc = dsl(pair.clone, "blame", "train@v2", "--json")
    assert proc.returncode == 0, proc.stderr
    remote = json.loads(proc.stdout)
    assert "remote" not in local
    info = remote.pop("remote")
    for doc in (local, remote):  # blame lists rows in scan order (several row groups: any order)
        doc["rows"].sort(key=lambda r: r["key"]["id"])
    assert remote == local and len(remote["rows"]) == len(RELABELED)
    assert list(info) == ["name", "objects", "bytes_read", "object_bytes"]
    assert info["name"] == "store" and info["objects"] == 1 and 0 < info["bytes_read"] < info["object_bytes"]
    diff = dsl(pair.clone, "diff", "train@v1", "train@v2", "--rows", "2", "--json")
    assert diff.returncode == 0, diff.stderr
    keys = list(json.loads(diff.stdout))
    assert keys[-1] == "remote" and keys[:-1] == list(
        json.loads(dsl(pair.home, "diff", "train@v1", "train@v2", "--rows", "2", "--json").stdout)
    )
    human = dsl(pair.clone, "blame", "train@v2")
    assert human.returncode == 0, human.stderr
    note = " ".join(human.stderr.split())  # the note alone (wrapped at 80 columns): no s3fs/aiohttp noise
    assert note.startswith("read ") and note.endswith("uncached object(s) from the DVC remote 'store'"), note
    assert not cached_objects(pair.clone)


def test_fetch_downloads_the_version_as_before(pair: Pair) -> None:
    """`blame --fetch` puts v2's object into the clone's cache, and reports no remote read."""
    proc = dsl(pair.clone, "blame", "train@v2", "--fetch", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "remote" not in json.loads(proc.stdout)
    assert dvcio.cache_path(pair.clone, pair.v2["md5"]).is_file()
    assert not dvcio.cache_path(pair.clone, pair.v1["md5"]).is_file()
    again = dsl(pair.clone, "blame", "train@v2", "--json")  # now cached: a local read
    assert "remote" not in json.loads(again.stdout)


def test_bad_credentials_are_one_line_naming_the_remote(pair: Pair) -> None:
    """A wrong secret key: `blame` exits 1 with one line naming the remote and the variables to check."""
    env = {**os.environ, "AWS_SECRET_ACCESS_KEY": "wrong-secret"}
    proc = dsl(pair.clone, "blame", "train@v2", env=env)
    lines = proc.stderr.strip().splitlines()
    print(f"\n{proc.stderr}")
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and "'store'" in lines[0] and "AWS_SECRET_ACCESS_KEY" in lines[0]
    assert not cached_objects(pair.clone)


def test_an_object_missing_on_the_remote_is_one_line(pair: Pair) -> None:
    """v2's object deleted from the bucket: `blame` says it is not on the remote and how to fix it."""
    key = next(k for k in pair.s3.keys() if k.endswith(pair.v2["md5"][2:]))
    pair.s3.server.client().delete_object(Bucket=pair.s3.bucket, Key=key)
    proc = dsl(pair.clone, "blame", "train@v2")
    lines = proc.stderr.strip().splitlines()
    print(f"\n{proc.stderr}")
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "not on the DVC remote 'store'" in lines[0] and "dslineage push" in lines[0]
    assert f"{pair.v2['md5']} (train@v2)" in lines[0]


def test_an_unreachable_endpoint_is_one_line(pair: Pair) -> None:
    """The endpoint pointed at a closed port (in the clone's config.local): one line naming the remote."""
    run(pair.clone, "dvc", "remote", "modify", "--local", "store", "endpointurl", "http://127.0.0.1:9")
    proc = dsl(pair.clone, "audit", "train@v2", "--json")
    lines = proc.stderr.strip().splitlines()
    print(f"\n{proc.stderr}")
    assert proc.returncode == 1 and len(lines) == 1 and not proc.stdout, proc.stderr
    assert lines[0].startswith("error: reading from the DVC remote 'store' failed") and "endpoint" in lines[0]


def test_a_row_lookup_reads_only_the_row_group_that_holds_it(pair: Pair) -> None:
    """`history` of a row no version changed reads its labels from v2 on S3: one row group of ten, not the file."""
    with Repo(pair.clone) as repo:
        events = repo.history("train", "12345").events
        reads = repo.remote_reads()
    assert [e.labels["label"] for e in events] == [["cat", "dog", "bird"][12345 % 3]]
    print(f"\nhistory of one row of v2 from S3: {reads}")
    assert reads is not None and reads.objects == 1
    assert 0 < reads.bytes_read < reads.object_bytes / 5, reads
    assert not cached_objects(pair.clone)


def test_history_cli_reports_its_remote_read_and_fetch_downloads(pair: Pair) -> None:
    """`history --json` in the clone ends with the `remote` key (the row's labels read from S3);
    with `--fetch` the version is downloaded instead and the output is the author's, key for key."""
    home = json.loads(dsl(pair.home, "history", "train", "12345", "--json").stdout)
    proc = dsl(pair.clone, "history", "train", "12345", "--json")
    remote = json.loads(proc.stdout)
    assert proc.returncode == 0 and list(remote)[-1] == "remote" and remote["remote"]["objects"] == 1
    assert {k: v for k, v in remote.items() if k != "remote"} == home
    assert not cached_objects(pair.clone)
    fetched = dsl(pair.clone, "history", "train", "12345", "--fetch", "--json")
    assert fetched.returncode == 0 and json.loads(fetched.stdout) == home
    assert len(cached_objects(pair.clone)) == 1


@pytest.mark.parametrize("args", [("drift", "train@v1", "train@v2"), ("check", "train@v2", "--no-record")])
def test_quality_gates_on_remote_versions_report_the_read(pair: Pair, args: tuple[str, ...]) -> None:
    """`drift` and `check` of versions the clone has not cached give the author's answer, read from
    S3 (the `remote` key last, nothing cached); `--fetch` downloads instead and adds no key."""
    for root in (pair.home, pair.clone):  # rules for `check` (a class-size rule reads the labels)
        (root / ".dslineage" / "checks.yaml").write_text("train:\n  min_rows_per_class: 100\n", encoding="utf-8")
    home = dsl(pair.home, *args, "--json")
    proc = dsl(pair.clone, *args, "--json")
    assert proc.returncode == home.returncode, proc.stderr
    remote = json.loads(proc.stdout)
    assert list(remote)[-1] == "remote" and remote["remote"]["objects"] >= 1
    assert {k: v for k, v in remote.items() if k != "remote"} == json.loads(home.stdout)
    assert not cached_objects(pair.clone)
    fetched = dsl(pair.clone, *args, "--fetch", "--json")
    assert json.loads(fetched.stdout) == json.loads(home.stdout) and cached_objects(pair.clone)


CIFAR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cifar10"


def test_blame_and_audit_of_cifar10_read_from_s3_a_fraction_of_the_object(
    tmp_repo: Path, s3_remote: S3Remote, tmp_path: Path
) -> None:
    """Real data: CIFAR-10's labels with the model's ten probability columns, in row groups of 1,000; after
    a relabel, a fresh clone's `blame` and `audit` read v2 from S3 — the same answers, a fraction of its bytes."""
    import pyarrow.csv as pacsv

    if not (CIFAR / "cifar10_test_labels.csv").exists():
        pytest.skip(f"the CIFAR-10 files are not in {CIFAR} (see /work/shared/data/cifar10/README.md)")
    labels = pacsv.read_csv(CIFAR / "cifar10_test_labels.csv")
    probs = pacsv.read_csv(CIFAR / "cifar10_pred_probs.csv")
    table = labels.join(probs, "id").sort_by("id")
    (tmp_repo / "data").mkdir(exist_ok=True)
    pq.write_table(table, tmp_repo / "data" / ".cifar.tmp", row_group_size=1_000)
    os.replace(tmp_repo / "data" / ".cifar.tmp", tmp_repo / "data" / "cifar.parquet")
    clone = shared_clone(
        tmp_repo, s3_remote, tmp_path, "data/cifar.parquet", "label_name", ["2405=frog", "6877=deer", "8058=bird"]
    )
    found = []
    for root in (tmp_repo, clone):
        with Repo(root) as repo:
            blame = sorted(
                repo.blame("cifar@v2", changed_only=True).table.to_pylist(),  # type: ignore[attr-defined]
                key=lambda r: r["id"],
            )
            blame_reads = repo.remote_reads()
            audit = repo.audit("cifar@v2", record=False)
            found.append((blame, audit, blame_reads, repo.remote_reads()))
    (blame_a, audit_a, none_a, none_b), (blame_b, audit_b, blame_reads, audit_reads) = found
    assert none_a is None and none_b is None
    assert blame_b == blame_a and [r["id"] for r in blame_b] == [2405, 6877, 8058]
    assert json.dumps(audit_b, sort_keys=True, default=str) == json.dumps(audit_a, sort_keys=True, default=str)
    assert not cached_objects(clone)
    print(f"\nCIFAR-10 v2 from S3: blame read {blame_reads}, audit read {audit_reads}")
    assert blame_reads.bytes_read < blame_reads.object_bytes / 3, blame_reads  # id + label_name of 14 columns
    assert audit_reads.bytes_read <= audit_reads.object_bytes, audit_reads


def test_a_small_object_is_read_whole_without_caching_it(pair: Pair) -> None:
    """`core.remote.read_object` (for a directory version's `.dir` manifest) returns v1's exact bytes from S3."""
    from dslineage.core.remote import read_object

    with Repo(pair.home) as repo:
        assert read_object(repo, pair.v1["md5"]) is None  # cached here: read it locally
        expected = dvcio.cache_path(pair.home, pair.v1["md5"]).read_bytes()
    with Repo(pair.clone) as repo, reading(repo):
        data = read_object(repo, pair.v1["md5"], "train@v1")
        reads = repo.remote_reads()
    assert data == expected and reads is not None and reads.bytes_read == len(expected) == reads.object_bytes
    assert not cached_objects(pair.clone)


def test_a_read_failing_in_the_middle_of_a_query_is_one_error(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """Object checked, then every ranged GET fails (the connection drops): blame raises one line naming the remote."""
    from dslineage.errors import RemoteError

    def drop(*_: Any) -> bytes:
        raise ConnectionResetError("Connection reset by peer")

    monkeypatch.setattr(dvcio.ReadCounter, "_fetch", drop)
    with Repo(pair.clone) as repo, pytest.raises(RemoteError) as caught:
        repo.blame("train@v2")
    text = str(caught.value)
    assert text.startswith("reading from the DVC remote 'store' failed (") and "AWS_ACCESS_KEY_ID" in text, text
    assert len(text.splitlines()) == 1


def test_a_directory_version_is_read_part_by_part_from_the_remote(
    tmp_repo: Path, s3_remote: S3Remote, tmp_path: Path
) -> None:
    """A partitioned dataset in a fresh clone: its `.dir` manifest and parts are read from S3
    (nothing cached); `diff --rows` and `blame` equal the author's, and only the two changed
    parts of the ten are opened for the relabelled rows' values."""
    top = tmp_repo / "data" / "shards"
    for n in range(10):
        ids = list(range(n * 1_000, n * 1_000 + 1_000))
        path = top / f"shard={n}" / "part-0.parquet"
        path.parent.mkdir(parents=True)
        pq.write_table(
            pa.table(
                {
                    "id": pa.array(ids, pa.int64()),
                    "label": ["cat" if i % 2 else "dog" for i in ids],
                    "text": [hashlib.sha256(str(i).encode()).hexdigest() for i in ids],
                }
            ),
            path,
        )
    clone = shared_clone(tmp_repo, s3_remote, tmp_path, "data/shards", "label", ["10=fox", "7010=fox"])
    found = []
    for root in (tmp_repo, clone):
        with Repo(root) as repo:
            diff = to_json(repo.diff("shards@v1", "shards@v2", rows=5))
            blame = sorted(
                repo.blame("shards@v2", changed_only=True).table.to_pylist(),  # type: ignore[attr-defined]
                key=lambda r: r["id"],
            )
            found.append((diff, blame, repo.remote_reads()))
    (local_diff, local_blame, none), (remote_diff, remote_blame, reads) = found
    assert none is None and reads is not None and reads.name == "store"
    assert remote_diff["sample"] == local_diff["sample"]  # type: ignore[index]
    assert "7010" in json.dumps(remote_diff["sample"]) and remote_diff["rows"]["relabeled"] == 2  # type: ignore[index]
    assert [r["id"] for r in remote_blame] == [10, 7010] and remote_blame == local_blame
    assert not cached_objects(clone)
    assert 0 < reads.bytes_read < reads.object_bytes
    with Repo(clone) as repo:  # the files of a directory version travel with its manifest, both ways
        pulled = repo.pull("shards@v1")
        repo.checkout("shards@v1")
    assert pulled.fetched and len(cached_objects(clone)) == 11  # the `.dir` manifest and its ten files
    back = pq.read_table(clone / "data" / "shards" / "shard=7" / "part-0.parquet")
    assert back.column("label")[10].as_py() == "dog"  # id 7010 before the relabel
