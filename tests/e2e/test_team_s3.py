"""A shared S3 remote, for real: a SeaweedFS server (tests/support/s3.py), a DVC remote
`s3://BUCKET/dvcstore` whose endpoint is in `.dvc/config` and whose credentials are only in
the environment, a bare git repository as the git remote, and fresh clones of it.

Commands a teammate runs are real subprocesses (`python -m dslineage`), so what DVC's
loggers would print to the real stderr is seen exactly as a user sees it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dslineage import Repo, dvcio
from tests.support import run
from tests.support.s3 import S3Remote

pytestmark = pytest.mark.slow

DVC_NOISE = ("ERROR:", "WARNING:", "failed to connect", "Traceback")


@dataclass
class Team:
    """The origin (a bare git repository), the S3 remote, and the first author's repository."""

    origin: Path
    s3: S3Remote
    home: Path
    base: Path
    v1: dict[str, Any]
    v2: dict[str, Any]

    def clone(self, name: str) -> Path:
        """A fresh `git clone` of the origin: no DVC cache, no data file."""
        dest = self.base / name
        run(self.base, "git", "clone", "-q", str(self.origin), str(dest))
        return dest


def dsl(cwd: Path, *args: str, creds: bool = True, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """`python -m dslineage ARGS` in `cwd`, with or without the S3 credentials in its environment."""
    env = dict(os.environ)
    if not creds:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.pop(name, None)
    proc = subprocess.run([sys.executable, "-m", "dslineage", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if ok:
        assert proc.returncode == 0, (args, proc.returncode, proc.stderr)
    return proc


def dsl_json(cwd: Path, *args: str, creds: bool = True) -> Any:
    """A `--json` command in a subprocess: its parsed stdout (it must succeed)."""
    return json.loads(dsl(cwd, *args, "--json", creds=creds).stdout)


def quiet(proc: subprocess.CompletedProcess[str]) -> None:
    """No raw DVC log line (nor a traceback) reached stderr."""
    noisy = [ln for ln in proc.stderr.splitlines() if any(n in ln for n in DVC_NOISE)]
    assert not noisy, proc.stderr


def cached(root: Path, md5: str) -> bool:
    """Whether the DVC cache of `root` holds the object `md5`."""
    return dvcio.cache_path(root, md5).is_file()


def _add_remote(root: Path, s3: S3Remote) -> None:
    run(root, "dvc", "remote", "add", "-d", "store", s3.url)
    run(root, "dvc", "remote", "modify", "store", "endpointurl", s3.endpoint)
    run(root, "git", "add", ".dvc/config")
    run(root, "git", "commit", "-q", "-m", "DVC remote on S3")


@pytest.fixture
def team(committed: Repo, s3_remote: S3Remote, tmp_path: Path) -> Team:
    """`train` v1 → relabel (a batch) → v2, the DVC remote configured (endpoint in `.dvc/config`,
    credentials only in the environment), the repository pushed to a bare origin — and the
    DVC remote still empty."""
    root = committed.root
    _add_remote(root, s3_remote)
    committed.relabel("train", ["1=fox", "2=fox"], by="alice", reason="foxes")
    versions = {v["seq"]: v for v in committed.log("train")}
    origin = tmp_path / "origin.git"
    run(tmp_path, "git", "init", "-q", "--bare", str(origin))
    run(root, "git", "remote", "add", "origin", str(origin))
    run(root, "git", "push", "-q", "origin", "HEAD:main")
    committed.close()
    return Team(origin, s3_remote, root, tmp_path, versions[1], versions[2])


def test_remote_config_holds_the_endpoint_but_no_credentials(team: Team) -> None:
    """`.dvc/config` (committed) names the bucket and endpoint; the key pair is nowhere in the repository."""
    text = (team.home / ".dvc" / "config").read_text()
    assert team.s3.url in text and team.s3.endpoint in text
    assert team.s3.server.access_key not in text and team.s3.server.secret_key not in text
    assert not (team.home / ".dvc" / "config.local").exists()


def test_dvc_push_sends_only_v2_and_dslineage_push_sends_both(team: Team) -> None:
    """Plain `dvc push` uploads only the work tree's object (v2); `dslineage push` adds v1's."""
    run(team.home, "dvc", "push")
    assert team.s3.md5s() == {team.v2["md5"]}
    result = dsl_json(team.home, "push")
    assert list(result) == ["remote", "versions", "objects_pushed", "objects_present"]
    assert result == {"remote": "store", "versions": 2, "objects_pushed": 1, "objects_present": 1}
    assert team.s3.md5s() == {team.v1["md5"], team.v2["md5"]}
    again = dsl_json(team.home, "push", "train", "-r", "store")
    assert (again["objects_pushed"], again["objects_present"]) == (0, 2)


def test_fresh_clone_reads_the_journal_without_credentials_or_dvc_errors(team: Team) -> None:
    """Without credentials or cache, log/show/history/label diff/batches answer, with no DVC line on stderr."""
    dsl(team.home, "push")
    clone = team.clone("bob")
    log = dsl(clone, "log", "train", "--json", creds=False)
    quiet(log)
    assert [e["seq"] for e in json.loads(log.stdout)] == [2, 1]
    quiet(dsl(clone, "show", "train@v1", creds=False))
    hist = dsl(clone, "history", "train", "1", "--json", creds=False)
    quiet(hist)
    assert [e["labels"]["label"] for e in json.loads(hist.stdout)["events"]] == ["dog", "fox"]
    diff = dsl(clone, "diff", "train@v1", "train@v2", "--json", creds=False)
    quiet(diff)
    assert json.loads(diff.stdout)["rows"]["relabeled"] == 2
    batches = dsl(clone, "batches", "--json", creds=False)
    quiet(batches)
    assert [b["author"] for b in json.loads(batches.stdout)] == ["alice"]
    assert not cached(clone, team.v1["md5"]) and not cached(clone, team.v2["md5"])


def test_fresh_clone_without_credentials_fails_a_checkout_in_one_line(team: Team) -> None:
    """`checkout train@v1` with no credentials: exit 1, one dslineage line naming the remote and the fix."""
    dsl(team.home, "push")
    clone = team.clone("bob")
    proc = dsl(clone, "checkout", "train@v1", creds=False, ok=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "'store'" in lines[0], proc.stderr
    assert "AWS_ACCESS_KEY_ID" in lines[0]
    assert not (clone / "data" / "train.parquet").exists()
    # a row no version changed: its labels are in the bytes only, so history needs them too
    hist = dsl(clone, "history", "train", "5", creds=False, ok=False)
    assert hist.returncode == 1 and len(hist.stderr.strip().splitlines()) == 1, hist.stderr
    quiet(hist)


def test_fsck_remote_without_credentials_names_the_unreachable_remote(team: Team) -> None:
    """`fsck --remote` with no credentials: the remote is listed as unreachable (an error), no version is guessed."""
    dsl(team.home, "push")
    clone = team.clone("bob")
    proc = dsl(clone, "fsck", "--remote", "--json", creds=False, ok=False)
    quiet(proc)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)["remote"]
    assert [u["remote"] for u in report["unreachable"]] == ["store"] and report["versions"] == []
    assert "AWS_ACCESS_KEY_ID" in report["unreachable"][0]["error"]


def test_fresh_clone_with_credentials_fetches_exactly_what_it_needs(team: Team) -> None:
    """With credentials: `checkout train@v1` fetches only v1's object; `blame --fetch` fetches v2's
    (without `--fetch` it reads v2 straight from S3: tests/e2e/test_remote_reads.py)."""
    dsl(team.home, "push")
    clone = team.clone("bob")
    quiet(dsl(clone, "checkout", "train@v1"))
    assert cached(clone, team.v1["md5"]) and not cached(clone, team.v2["md5"])
    assert dvcio.file_md5(clone / "data" / "train.parquet") == team.v1["md5"]
    blame = dsl_json(clone, "blame", "train@v2", "--fetch")
    foxes = [r for r in blame["rows"] if r["label"] == "fox"]
    assert {r["author"] for r in foxes} == {"alice"} and len(foxes) == 2
    assert cached(clone, team.v2["md5"])
    rows = dsl_json(clone, "diff", "train@v1", "train@v2", "--rows", "5")
    assert rows["rows"]["relabeled"] == 2 and len(rows["sample"]) == 2 and rows["exact"] is True


def test_reproduce_in_a_fresh_clone_fetches_the_experiments_versions(team: Team) -> None:
    """An experiment recorded at v1, reproduced in a clone: exactly v1's object is fetched, verified."""
    with Repo(team.home) as repo:
        repo.exp_record("baseline", data=["train@v1"])
    run(team.home, "git", "push", "-q", "origin", "HEAD:main")
    dsl(team.home, "push")
    clone = team.clone("carol")
    result = dsl_json(clone, "reproduce", "baseline", "--into", str(team.base / "out"))
    assert result["verified"] and [d["fetched"] for d in result["datasets"]] == [True]
    assert cached(clone, team.v1["md5"]) and not cached(clone, team.v2["md5"])


def test_pull_fetches_one_version_only(team: Team) -> None:
    """`pull train@v1` puts v1's object (only) in the cache and leaves the work tree alone."""
    dsl(team.home, "push")
    clone = team.clone("bob")
    result = dsl_json(clone, "pull", "train@v1")
    assert result == {
        "dataset": "train",
        "version": team.v1["id"],
        "seq": 1,
        "md5": team.v1["md5"],
        "remote": "store",
        "fetched": True,
    }
    assert cached(clone, team.v1["md5"]) and not cached(clone, team.v2["md5"])
    assert not (clone / "data" / "train.parquet").exists()
    assert dsl_json(clone, "pull", "train@v1", "-r", "store")["fetched"] is False


def test_pull_of_a_version_never_pushed_is_one_line(team: Team) -> None:
    """After `dvc push` alone, a clone's `pull train@v1` fails in one line saying to push it (no DVC warning)."""
    run(team.home, "dvc", "push")
    clone = team.clone("bob")
    proc = dsl(clone, "pull", "train@v1", ok=False)
    quiet(proc)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"error: DVC cache object {team.v1['md5']} (train@v1) is not on the DVC remote 'store': "
        "run `dslineage push` on a machine that has it"
    ]


def test_fsck_remote_lists_a_version_that_was_never_pushed(team: Team) -> None:
    """After `dvc push` alone, `fsck --remote` lists v1 (local: a warning); in a clone it is an error."""
    run(team.home, "dvc", "push")
    report = json.loads(dsl(team.home, "fsck", "--remote", "--json").stdout)
    assert report["remote"]["remotes"] == ["store"] and report["remote"]["unreachable"] == []
    assert [(v["seq"], v["local"]) for v in report["remote"]["versions"]] == [(1, True)]
    assert {"ok", "errors", "warnings", "problems", "repaired", "checked"} <= set(report)
    assert [p["severity"] for p in report["problems"] if p["check"] == "remote"] == ["warning"]
    clone = team.clone("bob")
    proc = dsl(clone, "fsck", "--remote", "--json", ok=False)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert [(v["seq"], v["local"]) for v in report["remote"]["versions"]] == [(1, False)]
    assert [p["severity"] for p in report["problems"] if p["check"] == "remote"] == ["error"]
    dsl(team.home, "push")
    assert json.loads(dsl(team.home, "fsck", "--remote", "--json").stdout)["remote"]["versions"] == []


def test_push_reports_a_version_missing_everywhere_without_failing(team: Team) -> None:
    """A clone that has v2 (not v1) and a remote that lacks v1: push sends v2, warns about v1, exits 0."""
    clone = team.clone("bob")
    run(team.home, "dvc", "push")  # v2 only
    dsl(clone, "checkout", "train@v2")
    proc = dsl(clone, "push", "--json")
    assert json.loads(proc.stdout) == {"remote": "store", "versions": 2, "objects_pushed": 0, "objects_present": 1}
    assert "train@v1" in proc.stderr and "push it from a machine that has it" in proc.stderr
    quiet(proc)


def test_push_to_an_unknown_remote_is_one_line(team: Team) -> None:
    """`push -r nope`: exit 1, one line naming the remotes there are."""
    proc = dsl(team.home, "push", "-r", "nope", ok=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: there is no DVC remote named 'nope' (there are: store): add it with `dvc remote add NAME URL`"
    ]


def test_two_clones_round_trip_through_s3_and_a_bare_repository(team: Team) -> None:
    """A relabels and pushes (git + dslineage push); B pulls and sees A's batch and bytes; and back."""
    dsl(team.home, "push")
    a, b = team.clone("alice"), team.clone("bob")
    dsl(a, "checkout", "train@latest")
    dsl(a, "relabel", "train", "--set", "7=owl", "--by", "ann", "--reason", "owls")
    run(a, "git", "push", "-q", "origin", "HEAD:main")
    assert dsl_json(a, "push")["objects_pushed"] == 1

    run(b, "git", "pull", "-q", "origin", "main")
    pulled = dsl_json(b, "pull", "train")
    assert pulled["seq"] == 3 and pulled["fetched"] is True
    dsl(b, "checkout", "train@latest")
    assert [x["author"] for x in dsl_json(b, "batches", "train")] == ["alice", "ann"]
    assert dsl_json(b, "history", "train", "7")["events"][-1]["labels"] == {"label": "owl"}

    dsl(b, "relabel", "train", "--set", "8=emu", "--by", "ben", "--reason", "emus")
    run(b, "git", "push", "-q", "origin", "HEAD:main")
    dsl(b, "push")
    run(a, "git", "pull", "-q", "origin", "main")
    dsl(a, "checkout", "train@latest")
    assert [x["author"] for x in dsl_json(a, "batches", "train")] == ["alice", "ann", "ben"]
    assert dvcio.file_md5(a / "data" / "train.parquet") == dvcio.file_md5(b / "data" / "train.parquet")
