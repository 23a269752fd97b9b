"""`dslineage fsck`: each kind of damage is reported with its fix; `--repair` fixes what it
can (interrupted commands, leftovers, the index) and the exit code says whether errors remain."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from dslineage import Repo, dvcio, journal
from tests.support import head, invoke, run
from tests.support.reliability import base_repo, copy_repo, dslineage


@pytest.fixture(scope="module")
def template(module_env: Path) -> Path:
    """`d` committed as v1 and v2 (module-wide; each test works on a copy)."""
    return base_repo(module_env / "tpl", versions=2)


@pytest.fixture
def repo_copy(template: Path, tmp_path: Path) -> Path:
    """A private copy of the template."""
    return copy_repo(template, tmp_path / "repo")


def fsck(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """`dslineage fsck ARGS --json` through the CLI: (exit code, report)."""
    result = invoke(root, "fsck", *args, "--json")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout)


def checks(report: dict[str, Any], severity: str = "error") -> list[str]:
    """The checks that reported problems of a severity."""
    return sorted(p["check"] for p in report["problems"] if p["severity"] == severity)


def versions(root: Path) -> list[dict[str, Any]]:
    """Version records straight from the journal, by seq."""
    recs = [journal.read(journal.folder(root) / n) for n in journal.list_files(root)]
    return sorted((r for r in recs if r["kind"] == "version"), key=lambda r: r["seq"])


@pytest.mark.slow
def test_clean_repo_passes_deep_check(repo_copy: Path):
    """A healthy repo: exit 0, no problems, every object re-hashed with --deep."""
    code, report = fsck(repo_copy, "--deep")
    assert code == 0 and report["ok"] and report["problems"] == []
    assert report["checked"]["versions"] == 2 and report["checked"]["cache_objects_verified"] == 2


@pytest.mark.slow
def test_interrupted_commit_is_reported_then_rolled_back(repo_copy: Path):
    """A commit killed after its journal write: fsck says so (exit 1, nothing changed);
    --repair rolls it back; commands work again."""
    from tests.support import write_parquet
    from tests.support.reliability import data

    write_parquet(repo_copy / "data" / "d.parquet", data(relabel={7: "bird"}, extra=5))
    before = head(repo_copy)
    killed = dslineage(repo_copy, "commit", "-m", "x", env={"DSLINEAGE_FAULT": "commit:after-journal"})
    assert killed.returncode == -9
    code, report = fsck(repo_copy)
    assert code == 1 and checks(report)[0] == "txn"
    txn_problem = next(p for p in report["problems"] if p["check"] == "txn")
    assert "not made" in txn_problem["message"] and "roll it back" in txn_problem["fix"]
    assert (repo_copy / ".dslineage" / "txn" / "intent.json").exists()  # fsck alone changes nothing
    code, report = fsck(repo_copy, "--repair")
    assert code == 0 and report["problems"] == []
    assert [r["check"] for r in report["repaired"]][0] == "txn"
    assert head(repo_copy) == before and len(versions(repo_copy)) == 2
    assert invoke(repo_copy, "commit", "-m", "again").exit_code == 0
    assert len(versions(repo_copy)) == 3


def test_corrupt_cache_object_found_only_by_deep(repo_copy: Path):
    """Flipped bytes in a cache object: --deep reports the md5 mismatch; repair cannot fix it."""
    v1 = versions(repo_copy)[0]
    obj = dvcio.cache_path(repo_copy, v1["md5"])
    os.chmod(obj, 0o644)
    obj.write_bytes(obj.read_bytes()[:-10] + b"0123456789")
    assert fsck(repo_copy)[0] == 0
    code, report = fsck(repo_copy, "--deep", "--repair")
    assert code == 1 and checks(report) == ["cache"]
    assert "corrupt" in report["problems"][0]["message"] and "dvc pull" in report["problems"][0]["fix"]


def test_missing_cache_objects(repo_copy: Path):
    """An old version's object missing is a warning; the current one's, with the working
    file gone too, is an error."""
    v1, v2 = versions(repo_copy)
    dvcio.cache_path(repo_copy, v1["md5"]).unlink()
    code, report = fsck(repo_copy)
    assert code == 0 and checks(report, "warning") == ["cache"]
    dvcio.cache_path(repo_copy, v2["md5"]).unlink()
    (repo_copy / "data" / "d.parquet").unlink()
    code, report = fsck(repo_copy)
    assert code == 1 and "cache" in checks(report)


def test_dvc_file_without_journal_entry(repo_copy: Path):
    """A `.dvc` file naming bytes no version records (e.g. a plain `dvc add`) is an error."""
    (repo_copy / "data" / "d.parquet").write_bytes(b"id,label\n1,a\n")  # replaced, not edited in place
    run(repo_copy, "dvc", "add", "-q", "data/d.parquet")
    code, report = fsck(repo_copy)
    assert code == 1 and checks(report) == ["dvc"]
    assert "without a journal entry" in report["problems"][0]["message"]
    assert "dslineage commit d" in report["problems"][0]["fix"]


def test_damaged_journal(repo_copy: Path):
    """An unreadable record, a deleted committed record, a dangling parent: each an error
    naming the `git checkout` that restores it."""
    names = journal.list_files(repo_copy)
    first, second = (journal.folder(repo_copy) / n for n in names)
    first.unlink()  # v1's record: v2's parent is now dangling
    second.write_text("{not json")
    code, report = fsck(repo_copy, "--repair")
    assert code == 1
    messages = " | ".join(p["message"] for p in report["problems"])
    assert "unreadable" in messages and "missing from the work tree" in messages
    errors = [p for p in report["problems"] if p["check"] == "journal" and p["severity"] == "error"]
    assert all("git checkout" in p["fix"] for p in errors), errors
    run(repo_copy, "git", "checkout", "--", ".dslineage/journal")
    assert fsck(repo_copy)[0] == 0


def test_leftovers_of_interrupted_writes_are_repaired(repo_copy: Path):
    """An uncommitted version record, an orphan change set and a temp file: repair deletes them."""
    rec = dict(
        versions(repo_copy)[-1],
        id="f" * 40,
        timestamp="2030-01-01T00:00:00.000000+00:00",
        parent=versions(repo_copy)[-1]["id"],
        seq=3,
    )
    rec.pop("format", None)
    stray = journal.write(repo_copy, rec)
    orphan = journal.folder(repo_copy) / "0123456789ab.changes.parquet"
    orphan.write_bytes(b"PAR1")
    temp = repo_copy / "data" / ".d.parquet.tmp-123"
    temp.write_bytes(b"half")
    code, report = fsck(repo_copy)
    assert code == 1 and checks(report) == ["journal", "journal"]
    assert checks(report, "warning") == ["leftover"]
    code, report = fsck(repo_copy, "--repair")
    assert code == 0 and report["problems"] == []
    assert not stray.exists() and not orphan.exists() and not temp.exists()


def test_index_disagreeing_with_journal_is_rebuilt(repo_copy: Path):
    """Rows deleted from the index behind its back: reported, and --repair rebuilds it."""
    import duckdb

    with Repo(repo_copy) as repo:
        repo.log()
    con = duckdb.connect(str(repo_copy / ".dslineage" / "index.duckdb"))
    con.execute("DELETE FROM versions WHERE seq = 1")
    con.close()
    code, report = fsck(repo_copy)
    assert code == 1 and checks(report) == ["index"] and "reindex" in report["problems"][0]["fix"]
    code, report = fsck(repo_copy, "--repair")
    assert code == 0
    assert [v["seq"] for v in Repo(repo_copy).log()] == [2, 1]


def test_unreadable_index_is_rebuilt(repo_copy: Path):
    """An index file of garbage: `fsck --repair` rebuilds it."""
    index = repo_copy / ".dslineage" / "index.duckdb"
    index.write_bytes(os.urandom(4096))
    code, report = fsck(repo_copy, "--repair")
    assert code == 0 and report["problems"] == []
    assert len(Repo(repo_copy).log()) == 2


def test_registration_outside_repo_is_an_error(repo_copy: Path):
    """A registration (e.g. from a hostile clone) whose path leaves the repo is reported."""
    reg = repo_copy / ".dslineage" / "datasets" / "d.yaml"
    reg.write_text(reg.read_text().replace("path: data/d.parquet", "path: ../../etc/passwd"))
    code, report = fsck(repo_copy)
    assert code == 1 and "registration" in checks(report)


def test_human_output_lists_problem_and_fix(repo_copy: Path):
    """Without --json: one line per problem, its fix below, a summary on stderr."""
    (journal.folder(repo_copy) / journal.list_files(repo_copy)[-1]).write_text("{")
    result = invoke(repo_copy, "fsck")
    assert result.exit_code == 1
    assert "error" in result.stdout and "fix: restore it with `git checkout --" in result.stdout
    assert "error(s)" in result.stderr and "checked 1 datasets" in result.stderr


def _discarded_batch(root: Path) -> list[str]:
    """`relabel --no-commit` then `checkout --force` of the latest version: the batch is discarded.
    Returns its journal files (record and edits), relative to the repository."""
    r = invoke(root, "relabel", "d", "--set", "1=bird", "--no-commit", "--json")
    assert r.exit_code == 0, r.stderr
    batch = json.loads(r.stdout)["batch"]
    assert invoke(root, "checkout", "d@latest", "--force").exit_code == 0
    files = [
        line[3:]
        for line in run(root, "git", "status", "--porcelain", "--untracked-files=all").stdout.splitlines()
        if line.startswith("?? .dslineage/journal/")
    ]
    assert len(files) == 2 and any(batch[:12] in f for f in files), files
    return files


def test_fsck_tells_the_truth_about_a_discarded_batch(repo_copy: Path):
    """A batch `checkout --force` discarded is reported as discarded (not "committed with the next
    commit"), and the fix names `fsck --repair`; fsck alone changes nothing."""
    files = _discarded_batch(repo_copy)
    code, report = fsck(repo_copy)
    [p] = [p for p in report["problems"] if p["check"] == "journal"]
    assert "discarded" in p["message"] and "next" not in p["fix"] and "--repair" in p["fix"]
    assert p["repairable"] is True
    assert all((repo_copy / f).exists() for f in files)


def test_fsck_repair_removes_a_discarded_batch_and_records_it(repo_copy: Path):
    """`fsck --repair` deletes the discarded batch's record and edits, lists that repair, and a
    second fsck is clean; the deletion is logged in `.git/dslineage/pruned.jsonl`."""
    files = _discarded_batch(repo_copy)
    code, report = fsck(repo_copy, "--repair")
    assert code == 0 and report["problems"] == [], report["problems"]
    assert any("discarded" in r["message"] for r in report["repaired"])
    assert not any((repo_copy / f).exists() for f in files)
    log = (repo_copy / ".git" / "dslineage" / "pruned.jsonl").read_text()
    assert all(Path(f).name in log for f in files)
    code, report = fsck(repo_copy)
    assert code == 0 and report["problems"] == [] and report["warnings"] == 0
    assert run(repo_copy, "git", "status", "--porcelain", "--untracked-files=all").stdout == ""
    assert invoke(repo_copy, "batches", "d", "--json").stdout.strip() == "[]"


@pytest.mark.slow
def test_pending_batch_is_kept_by_repair(repo_copy: Path):
    """A batch still pending (its edits are in the working file) is a warning that repair leaves alone."""
    r = invoke(repo_copy, "relabel", "d", "--set", "1=bird", "--no-commit")
    assert r.exit_code == 0
    code, report = fsck(repo_copy, "--repair")
    [p] = [p for p in report["problems"] if p["check"] == "journal"]
    assert p["severity"] == "warning" and "pending" in p["message"] and not p["repairable"]
    assert report["repaired"] == [] or not any("batch" in r["message"] for r in report["repaired"])
    assert invoke(repo_copy, "commit", "d", "-m", "carry").exit_code == 0
    code, report = fsck(repo_copy)
    assert report["problems"] == []


def test_batches_prune_removes_discarded_batches(repo_copy: Path):
    """`batches --prune` deletes discarded batches' files (and says which); pending ones stay."""
    files = _discarded_batch(repo_copy)
    r = invoke(repo_copy, "batches", "d", "--prune", "--json")
    assert r.exit_code == 0, r.stderr
    pruned = json.loads(r.stdout)["pruned"]
    assert len(pruned) == 1 and not any((repo_copy / f).exists() for f in files)
    assert run(repo_copy, "git", "status", "--porcelain", "--untracked-files=all").stdout == ""
