"""The DuckDB index is a cache: reindex, deleting it, branch switches and merges change no answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dslineage import Repo
from tests.support import cli_json, invoke, new_repo, run, write_parquet


def _answers(root: Path) -> dict[str, Any]:
    """Everything log/show/diff/history say about dataset `train`, through a fresh Repo."""
    repo = Repo(root)
    seqs = [v["seq"] for v in repo.log("train")]
    return {
        "log": repo.log(),
        "show": [repo.show(f"train@v{s}") for s in seqs],
        "diff": [repo.diff(f"train@v{a}", f"train@v{b}", rows=50) for a, b in ((1, 2), (2, 4), (1, 4))],
        "history": [repo.history("train", [k]) for k in (0, 1, 2, 3, 5, 8, 13)],
        "tags": repo.resolve("train@good")["id"],
    }


@pytest.fixture(scope="module")
def four(module_env: Path) -> Path:
    """A repo whose `train` has four versions (adds, removals, relabels, edits) and a tag."""
    root = new_repo(module_env / "four")
    path = root / "data" / "train.parquet"
    repo = Repo(root)
    rows = {i: ("cat" if i % 2 else "dog", float(i)) for i in range(10)}
    for seq in range(1, 5):
        if seq > 1:
            rows[seq] = ("bird", rows[seq][1])  # relabel
            rows.pop(seq + 4, None)  # remove
            rows[9 + seq] = ("fish", 0.0)  # add
            rows[0] = (rows[0][0], rows[0][1] + 1)  # modify a feature
        ids = sorted(rows)
        write_parquet(path, {"id": ids, "label": [rows[i][0] for i in ids], "x": [rows[i][1] for i in ids]})
        if seq == 1:
            repo.track(str(path), ["id"], ["label"])
        repo.commit(["train"], f"version {seq}", None)
    repo.tag("train@v2", "good")
    return root


@pytest.mark.slow
def test_reindex_and_deleted_index_answer_identically(four):
    """log, show, diff and history are identical after `reindex` and after deleting the index."""
    before = _answers(four)
    assert len(before["log"]) == 4 and before["history"][2]["events"][1]["change"] == "relabeled"  # key 2
    r = Repo(four).reindex()
    assert r == {"records": 5, "versions": 4}
    assert _answers(four) == before
    (four / ".dslineage" / "index.duckdb").unlink()
    assert _answers(four) == before
    assert cli_json(four, "reindex") == {"records": 5, "versions": 4}
    assert cli_json(four, "log", "train") == before["log"]


def test_journal_diff_equals_data_diff(four):
    """The label diff folded from the journal's change sets equals the diff of the bytes, both ways."""
    from dslineage.ops.diff import from_journal

    repo = Repo(four)
    ds = repo.dataset("train")
    for a, b in ((1, 2), (2, 4), (1, 4), (4, 1), (3, 2)):
        data = repo.diff(f"train@v{a}", f"train@v{b}")
        folded = from_journal(repo, ds, f"train@v{a}", f"train@v{b}")
        assert folded is not None and folded.pop("source") == "journal"
        # a row edited in one version and edited again later is modified once either way here
        for key in ("a", "b", "label_transitions", "class_distribution", "schema"):
            assert folded[key] == data[key], (a, b, key)
        assert folded["rows"] == data["rows"], (a, b)
        assert folded["columns"] == {k: v for k, v in data["columns"].items() if k in ds.labels}
    repo.close()


def test_index_is_gitignored(four):
    """The index file never shows up in `git status` (only the journal is tracked)."""
    assert (four / ".dslineage" / "index.duckdb").exists()
    assert run(four, "git", "status", "--porcelain", "--ignored", ".dslineage").stdout.count("index.duckdb") == 1
    assert "index.duckdb" not in run(four, "git", "status", "--porcelain").stdout


@pytest.mark.slow
def test_index_follows_branch_switch(tmp_repo, make_dataset):
    """After `git checkout` of another branch the index shows that branch's versions, and back."""
    path = make_dataset()
    repo = Repo(tmp_repo)
    repo.track(str(path), ["id"], ["label"])
    repo.commit(["train"], "v1", None)
    run(tmp_repo, "git", "checkout", "-q", "-b", "feature")
    write_parquet(path, {"id": [0, 1], "x": [0.0, 0.5], "label": ["cat", "cat"]})
    [v2] = repo.commit(["train"], "v2 on feature", None)
    run(tmp_repo, "git", "checkout", "-q", "main")
    assert [v["seq"] for v in repo.log("train")] == [1]
    assert [v["seq"] for v in cli_json(tmp_repo, "log", "train")] == [1]
    assert invoke(tmp_repo, "show", "train@v2").exit_code == 1
    run(tmp_repo, "git", "checkout", "-q", "feature")
    assert repo.log("train")[0] == {**v2_log(v2), "label_changes": 1}
    assert [e["change"] for e in repo.history("train", "1")["events"]] == ["added", "relabeled"]


def v2_log(v: dict[str, Any]) -> dict[str, Any]:
    """The log entry a commit's returned version should appear as."""
    from dslineage.ops.log import entry

    return entry(v)


@pytest.mark.slow
def test_merge_of_two_branches_each_committing(tmp_repo):
    """Two branches each commit a different dataset; `git merge` has no conflict and the index has both."""
    repo = Repo(tmp_repo)
    base = write_parquet(tmp_repo / "base" / "base.parquet", {"id": [1, 2], "label": ["a", "b"]})
    repo.track(str(base), ["id"], ["label"])
    repo.commit(None, "base", None)
    ids: dict[str, list[str]] = {}
    for branch in ("alpha", "beta"):
        run(tmp_repo, "git", "checkout", "-q", "-b", branch, "main")
        path = write_parquet(tmp_repo / branch / f"{branch}.parquet", {"id": [1, 2], "label": ["x", "y"]})
        repo.track(str(path), ["id"], ["label"])
        repo.commit([branch], f"{branch} v1", None)
        write_parquet(path, {"id": [1, 2, 3], "label": ["x", "z", "w"]})
        repo.commit([branch], f"{branch} v2", None)
        ids[branch] = [v["id"] for v in repo.log(branch)]
    run(tmp_repo, "git", "checkout", "-q", "alpha")
    merged = run(tmp_repo, "git", "merge", "--no-edit", "beta", check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "CONFLICT" not in merged.stdout
    log = Repo(tmp_repo).log()
    assert sorted((v["dataset"], v["seq"]) for v in log) == [
        ("alpha", 1),
        ("alpha", 2),
        ("base", 1),
        ("beta", 1),
        ("beta", 2),
    ]
    for name in ("alpha", "beta"):
        assert [v["id"] for v in Repo(tmp_repo).log(name)] == ids[name]  # ids stable across the merge
        assert all(v["git_commit"] for v in Repo(tmp_repo).log(name))
        events = Repo(tmp_repo).history(name, "2")["events"]
        assert [(e["change"], e["labels"]["label"]) for e in events] == [("added", "y"), ("relabeled", "z")]
    before = _plain_answers(tmp_repo)
    Repo(tmp_repo).reindex()
    assert _plain_answers(tmp_repo) == before


def _plain_answers(root: Path) -> Any:
    repo = Repo(root)
    return repo.log(), repo.diff("beta@v1", "beta@v2"), repo.history("alpha", "3")


def _index_of(root: Path, path: Path, bulk: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh index of `root`'s journal at `path`, built in bulk or one record at a time."""
    from dslineage.gitio import Git
    from dslineage.store import index as index_mod
    from dslineage.store import ingest

    monkeypatch.setattr(ingest, "BULK_MIN_FILES", 1 if bulk else 10**9)
    git = Git(root)
    return index_mod.Index(root, lambda: git.commits_adding(".dslineage/journal"), path=path)


def _odd_records(root: Path) -> None:
    """Journal records the commands do not write: minimal keys, odd change-set names, other kinds."""
    from dslineage import journal

    # dated after the commits' records, as a record written now would be: the first change set of
    # a dataset (in file-name order) sets its change table's column order, and so the fingerprint
    ts = "2099-01-01T00:00:00.000001+00:00"
    base = {"kind": "version", "dataset": "bare", "md5": "0" * 32, "path": "data/bare.csv", "timestamp": ts}
    journal.write(root, {**base, "id": "b" * 40, "seq": 1})  # no parent(s), message, rows, changes, ...
    journal.write(
        root,
        {
            **base,
            "id": "c" * 40,
            "seq": 2,
            "timestamp": ts.replace("01+", "02+"),
            "changes": {"known": True, "file": "../escape.changes.parquet"},
        },
    )
    journal.write(
        root,
        {
            **base,
            "id": "d" * 40,
            "seq": 3,
            "timestamp": ts.replace("01+", "03+"),
            "changes": {"known": True, "file": "missing.changes.parquet", "added": 2},
        },
    )
    shared = sorted(journal.folder(root).glob("*.changes.parquet"))[0].name  # another version's
    journal.write(
        root,
        {
            **base,
            "id": "a" * 40,
            "dataset": "train",
            "seq": 99,
            "timestamp": ts.replace("01+", "04+"),
            "changes": {"known": True, "file": shared, "relabeled": 1},
        },
    )
    journal.write(root, {"kind": "transformation", "id": "e" * 40, "timestamp": ts, "cmd": "python prep.py"})
    journal.write(
        root,
        {
            "kind": "experiment",
            "id": "f" * 40,
            "timestamp": ts,
            "dataset": "train",
            "note": "ünïcode ✓",
            "params": {"lr": 0.1, "nested": [1, {"a": None}]},
        },
    )
    # no id, no dataset, no kind (written by hand)
    (journal.folder(root) / "20990101T000000000001-mystery.json").write_text(json.dumps({"timestamp": ts}))


@pytest.mark.slow
def test_bulk_index_equals_record_by_record(tmp_repo, make_dataset, tmp_path, monkeypatch):
    """Versions, tags, batches, transformations and records missing optional keys index the same
    in bulk (cold, and as a large increment onto an index with change tables) as one by one."""
    from dslineage.store.index import changes_table

    repo = Repo(tmp_repo)
    path = make_dataset()
    repo.track(str(path), ["id"], ["label"])
    repo.commit(["train"], "v1", None)
    write_parquet(path, {"id": list(range(25)), "x": [0.0] * 25, "label": ["cat"] * 25})
    repo.commit(["train"], "v2", None)
    repo.tag("train@v2", "good")
    repo.relabel("train", {"3": "dog", "4": "bird"}, reason="fix", commit=True)
    half = _index_of(tmp_repo, tmp_path / "half.duckdb", False, monkeypatch)
    half.sync()  # an index with a change table, to which the next sync adds in bulk
    write_parquet(path, {"id": list(range(30)), "x": [1.0] * 30, "label": ["dog"] * 30})
    repo.commit(["train"], "v4", None)
    repo.tag("train@v4", "best")
    _odd_records(tmp_repo)
    run(tmp_repo, "git", "add", "-A")
    run(tmp_repo, "git", "commit", "-q", "-m", "odd records")
    repo.close()
    from dslineage import journal

    one = _index_of(tmp_repo, tmp_path / "one.duckdb", False, monkeypatch)
    records = len(journal.list_files(tmp_repo))
    assert records > 10 and one.sync()["added"] == records
    expected = one.fingerprint()
    assert expected[changes_table("train").strip('"')][0] > 0 and expected["tags"][0] == 2
    from dslineage.store.index import Index

    def one_by_one(self: Any, name: str) -> None:
        raise AssertionError(f"{name} was indexed one by one: the bulk path fell back")

    monkeypatch.setattr(Index, "_ingest", one_by_one)
    cold = _index_of(tmp_repo, tmp_path / "cold.duckdb", True, monkeypatch)
    assert cold.sync() == {"added": records, "removed": 0}
    assert cold.fingerprint() == expected
    _index_of(tmp_repo, half.path, True, monkeypatch)  # the module now says: bulk from 1 file
    assert half.sync(force=True)["added"] >= 8
    assert half.fingerprint() == expected
    for ix in (cold, half):
        assert ix.versions() == one.versions() and ix.records("batch") == one.records("batch")
        assert ix.records("experiment") == one.records("experiment") and ix.tags("train") == one.tags("train")
        assert ix.key_events("train", [3]) == one.key_events("train", [3])
    for ix in (one, cold, half):
        ix.close()


@pytest.mark.slow
def test_bulk_index_falls_back_and_fails_like_record_by_record(tmp_repo, make_dataset, tmp_path, monkeypatch):
    """A record DuckDB casts (seq as text) indexes the same in bulk; a damaged record is the same
    one-line error either way and leaves the index empty."""
    from dslineage import journal
    from dslineage.errors import DslineageError

    repo = Repo(tmp_repo)
    path = make_dataset()
    repo.track(str(path), ["id"], ["label"])
    repo.commit(["train"], "v1", None)
    repo.close()
    journal.write(
        tmp_repo,
        {
            "kind": "version",
            "id": "a" * 40,
            "dataset": "odd",
            "seq": "7",
            "md5": "1" * 32,
            "path": "data/odd.csv",
            "timestamp": "2026-01-01T00:00:00.000001+00:00",
        },
    )
    one = _index_of(tmp_repo, tmp_path / "one.duckdb", False, monkeypatch)
    one.sync()
    bulk = _index_of(tmp_repo, tmp_path / "bulk.duckdb", True, monkeypatch)
    bulk.sync()
    assert bulk.fingerprint() == one.fingerprint() and bulk.version("a" * 40)["seq"] == 7
    twin = journal.folder(tmp_repo) / "20260101T000000000003-version-twin.json"  # a duplicate version id
    twin.write_text((journal.folder(tmp_repo) / journal.list_files(tmp_repo)[0]).read_text())
    errors = []
    for bulk_mode in (False, True):
        ix = _index_of(tmp_repo, tmp_path / f"twin-{bulk_mode}.duckdb", bulk_mode, monkeypatch)
        with pytest.raises(Exception) as err:
            ix.sync()
        errors.append((type(err.value), str(err.value)))
        assert ix.con.execute("SELECT count(*) FROM journal_files").fetchone()[0] == 0
        assert ix.con.execute("SELECT current_setting('enable_external_file_cache')").fetchone()[0] is True
        ix.close()
    assert errors[0] == errors[1] and "duplicate key" in errors[0][1].lower()
    twin.unlink()
    damaged = journal.folder(tmp_repo) / "20260101T000000000002-version-damaged.json"
    damaged.write_text('{"kind": "version", "id": ')
    messages = []
    for bulk_mode in (False, True):
        ix = _index_of(tmp_repo, tmp_path / f"damaged-{bulk_mode}.duckdb", bulk_mode, monkeypatch)
        with pytest.raises(DslineageError) as err:
            ix.sync()
        messages.append(str(err.value))
        assert ix.con.execute("SELECT count(*) FROM journal_files").fetchone()[0] == 0
        ix.close()
    assert messages[0] == messages[1] and "damaged" in messages[0] and "\n" not in messages[0]
    for ix in (one, bulk):
        ix.close()
