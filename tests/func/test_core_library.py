"""The library API (`dslineage.Repo`) on real git + DVC repositories: commit, log, show, diff."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from dslineage import Repo
from dslineage.model import to_json
from tests.support import IDENTITY, cli_json, md5, new_repo, run, write_parquet, write_text

LABELS = ["cat", "dog", "bird"]


def v1_data() -> dict[str, list[Any]]:
    """Ten rows: id 0..9, x = id, label cycling cat/dog/bird."""
    ids = list(range(10))
    return {"id": ids, "x": [float(i) for i in ids], "label": [LABELS[i % 3] for i in ids]}


def v2_data() -> dict[str, list[Any]]:
    """v1 with 1 dog→cat and 2 bird→cat relabeled, x of 3 edited, 9 removed, 10 added."""
    d = v1_data()
    rows = {i: (x, lab) for i, x, lab in zip(d["id"], d["x"], d["label"])}
    rows[1] = (1.0, "cat")
    rows[2] = (2.0, "cat")
    rows[3] = (30.0, "cat")
    del rows[9]
    rows[10] = (10.0, "cat")
    ids = sorted(rows)
    return {"id": ids, "x": [rows[i][0] for i in ids], "label": [rows[i][1] for i in ids]}


def v3_data() -> dict[str, list[Any]]:
    """v2 with 1 cat→bird, 3 removed and a new column `note`."""
    d = v2_data()
    keep = [j for j, i in enumerate(d["id"]) if i != 3]
    out = {k: [v[j] for j in keep] for k, v in d.items()}
    out["label"] = ["bird" if i == 1 else lab for i, lab in zip(out["id"], out["label"])]
    out["note"] = [f"n{i}" for i in out["id"]]
    return out


@pytest.fixture(scope="module")
def lineage(module_env: Path) -> Path:
    """A shared, read-only repo: dataset `train` committed as v1, v2 and v3 (v3 by Alice)."""
    root = new_repo(module_env / "lineage")
    path = write_parquet(root / "data" / "train.parquet", v1_data())
    repo = Repo(root)
    repo.track(str(path), ["id"], ["label"])
    repo.commit(["train"], "first version", None)
    write_parquet(path, v2_data())
    repo.commit(["train"], "fix labels", None)
    write_parquet(path, v3_data())
    repo.commit(["train"], "drop 3, relabel 1, add notes", "Alice <alice@example.com>")
    return root


# -- track ----------------------------------------------------------------------------------


def test_track_registers_in_git_tracked_config(tmp_repo, make_dataset):
    """track writes `.dslineage/datasets/NAME.yaml`, commits it, and returns the registration."""
    path = make_dataset("train")
    repo = Repo(tmp_repo)
    before = run(tmp_repo, "git", "rev-parse", "HEAD").stdout
    r = repo.track(str(path), ["id"], ["label"])
    assert r["dataset"] == "train" and r["path"] == "data/train.parquet" and r["format"] == "parquet"
    assert r["key"] == ["id"] and r["labels"] == ["label"] and r["imported_versions"] == []
    assert run(tmp_repo, "git", "rev-parse", "HEAD").stdout != before
    assert run(tmp_repo, "git", "ls-files", ".dslineage/datasets").stdout.split() == [".dslineage/datasets/train.yaml"]
    assert repo.dataset("train").key == ["id"]
    again = repo.track(str(path), ["id"], ["label"])  # idempotent re-registration
    assert again["dataset"] == "train"


def test_track_name_option_and_default_stem(tmp_repo, make_dataset):
    """The default name is the file stem; --name overrides it."""
    repo = Repo(tmp_repo)
    assert repo.track(str(make_dataset("alpha")), ["id"], ["label"])["dataset"] == "alpha"
    assert repo.track(str(make_dataset("beta")), ["id"], ["label"], name="b2")["dataset"] == "b2"
    assert sorted(repo.datasets()) == ["alpha", "b2"]


TEXT_FORMATS = {
    "csv": ("train.csv", "id,x,label\n{rows}", ",", None),
    "tsv": ("train.tsv", "id\tx\tlabel\n{rows}", "\t", None),
    "jsonl": ("train.jsonl", "{rows}", None, None),
}


def _text_rows(fmt: str, rows: list[tuple[int, float, str]]) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps({"id": i, "x": x, "label": lab}) + "\n" for i, x, lab in rows)
    sep = "\t" if fmt == "tsv" else ","
    return "".join(f"{i}{sep}{x}{sep}{lab}\n" for i, x, lab in rows)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl"])
def test_text_formats_commit_and_diff(tmp_repo, fmt):
    """CSV, TSV and JSON Lines datasets commit and diff row by row like parquet."""
    name, header, _, _ = TEXT_FORMATS[fmt]
    rows = [(i, i / 2, LABELS[i % 3]) for i in range(12)]
    path = write_text(tmp_repo / "data" / name, header.format(rows=_text_rows(fmt, rows)))
    repo = Repo(tmp_repo)
    r = repo.track(str(path), ["id"], ["label"])
    assert r["format"] == ("jsonl" if fmt == "jsonl" else "csv")
    if fmt == "tsv":
        assert repo.dataset("train").csv["delimiter"] == "\t"
    [v1] = repo.commit(["train"], "v1", None)
    assert v1["rows"] == 12
    edited = [(i, x, "fish" if i == 4 else lab) for i, x, lab in rows if i != 11] + [(12, 6.0, "cat")]
    write_text(path, header.format(rows=_text_rows(fmt, edited)))
    d = repo.diff("train@v1")
    assert d["rows"] == {"added": 1, "removed": 1, "modified": 1, "relabeled": 1, "unchanged": 10}
    assert d["label_transitions"] == [{"column": "label", "from": "dog", "to": "fish", "count": 1}]
    repo.commit(["train"], "v2", None)
    events = repo.history("train", "4")["events"]
    assert [(e["change"], e["labels"]["label"]) for e in events] == [("added", "dog"), ("relabeled", "fish")]


@pytest.mark.slow
def test_composite_keys_and_two_label_columns(tmp_repo):
    """A (split, idx) key and two label columns: transitions per column, history by K1,K2 and dict."""
    path = tmp_repo / "data" / "items.parquet"
    base = {
        "split": ["a", "a", "b", "b"],
        "idx": [0, 1, 0, 1],
        "label": ["cat", "dog", "cat", "dog"],
        "quality": ["ok", "ok", "bad", "ok"],
    }
    write_parquet(path, base)
    repo = Repo(tmp_repo)
    repo.track(str(path), ["split", "idx"], ["label", "quality"])
    repo.commit(None, "v1", None)
    write_parquet(path, {**base, "label": ["cat", "cat", "cat", "dog"], "quality": ["ok", "ok", "ok", "ok"]})
    d = repo.diff("items@v1")
    assert d["rows"]["relabeled"] == 2 and d["rows"]["modified"] == 2 and d["rows"]["unchanged"] == 2
    assert d["label_transitions"] == [
        {"column": "label", "from": "dog", "to": "cat", "count": 1},
        {"column": "quality", "from": "bad", "to": "ok", "count": 1},
    ]
    assert {(c["column"], c["label"], c["a"], c["b"]) for c in d["class_distribution"]} == {
        ("label", "cat", 2, 3),
        ("label", "dog", 2, 1),
        ("quality", "ok", 3, 4),
        ("quality", "bad", 1, 0),
    }
    repo.commit(None, "v2", None)
    by_text = repo.history("items", "a,1")
    by_dict = repo.history("items", {"idx": 1, "split": "a"})
    assert by_text["key"] == by_dict["key"] == {"split": "a", "idx": 1}
    assert [(e["change"], e["labels"]) for e in by_text["events"]] == [
        ("added", {"label": "dog", "quality": "ok"}),
        ("relabeled", {"label": "cat", "quality": "ok"}),
    ]
    assert by_text["events"] == by_dict["events"]
    assert by_text["events"][1]["from"] == {"label": "dog", "quality": "ok"}
    by_cli = cli_json(tmp_repo, "history", "items", "--key-value", "idx=1", "--key-value", "split=a")
    assert by_cli == cli_json(tmp_repo, "history", "items", "a,1") == json.loads(json.dumps(to_json(by_text)))


# -- commit ---------------------------------------------------------------------------------


def test_commit_records_version_and_one_git_commit(tmp_repo, make_dataset):
    """commit records rows, schema, label distribution and changes; one git commit holds it all."""
    path = make_dataset("train", n=6)
    repo = Repo(tmp_repo)
    repo.track(str(path), ["id"], ["label"])
    [v1] = repo.commit(["train"], "first", None)
    assert v1["seq"] == 1 and v1["parent"] is None and v1["rows"] == 6 and v1["author"] == IDENTITY
    assert v1["md5"] == md5(path) and v1["git_commit"] == run(tmp_repo, "git", "rev-parse", "HEAD").stdout.strip()
    files = run(tmp_repo, "git", "show", "--name-only", "--format=", "HEAD").stdout.split()
    assert "data/train.parquet.dvc" in files and "data/.gitignore" in files
    assert any(f.startswith(".dslineage/journal/") and f.endswith(".json") for f in files)
    shown = repo.show("train@v1")
    assert [c["name"] for c in shown["schema"]] == ["id", "x", "label"]
    assert shown["class_distribution"] == {
        "label": [{"label": "bird", "count": 2}, {"label": "cat", "count": 2}, {"label": "dog", "count": 2}]
    }
    write_parquet(
        path,
        {
            "id": [0, 1, 2, 3, 4, 6],
            "x": [0.0, 0.5, 1.0, 9.0, 2.0, 3.0],
            "label": ["cat", "cat", "bird", "cat", "dog", "cat"],
        },
    )
    [v2] = repo.commit(["train"], "second", "Bob <bob@example.com>")
    assert (v2["seq"], v2["parent"], v2["author"], v2["rows"]) == (2, v1["id"], "Bob <bob@example.com>", 6)
    assert (v2["added"], v2["removed"], v2["relabeled"], v2["modified"]) == (1, 1, 1, 1)
    files = run(tmp_repo, "git", "show", "--name-only", "--format=", "HEAD").stdout.split()
    assert sorted(f.rsplit(".", 1)[-1] for f in files) == ["dvc", "json", "parquet"]
    assert run(tmp_repo, "git", "status", "--porcelain").stdout == ""


@pytest.mark.slow
def test_commit_of_two_datasets_is_one_git_commit(tmp_repo, make_dataset):
    """Datasets changed together are recorded by one git commit; status counts rows before the first."""
    repo = Repo(tmp_repo)
    for name in ("a", "b"):
        repo.track(str(make_dataset(name, n=4)), ["id"], ["label"])
    assert [(s["dataset"], s["version"], s["dirty"], s["rows"]["added"]) for s in repo.status()] == [
        ("a", None, True, 4),
        ("b", None, True, 4),
    ]
    versions = repo.commit(None, "both", None)
    assert sorted(v["dataset"] for v in versions) == ["a", "b"]
    assert len({v["git_commit"] for v in versions}) == 1
    assert run(tmp_repo, "git", "rev-list", "--count", "HEAD").stdout.strip() == "4"  # init, 2 tracks, commit
    assert run(tmp_repo, "git", "status", "--porcelain").stdout == ""


def test_commit_nothing_changed_returns_empty(committed, tmp_repo):
    """Committing an unchanged dataset records nothing and makes no git commit."""
    before = run(tmp_repo, "git", "rev-parse", "HEAD").stdout
    assert committed.commit(["train"], "again", None) == []
    assert committed.commit(None, "again", None) == []
    assert run(tmp_repo, "git", "rev-parse", "HEAD").stdout == before
    assert len(committed.log("train")) == 1


def test_commit_leaves_other_staged_work_alone(committed, tmp_repo):
    """A dslineage commit includes only its own paths, not unrelated staged or modified files."""
    (tmp_repo / "notes.txt").write_text("draft\n")
    run(tmp_repo, "git", "add", "notes.txt")
    write_parquet(tmp_repo / "data" / "train.parquet", {"id": [1], "x": [1.0], "label": ["cat"]})
    committed.commit(["train"], "shrink", None)
    assert "notes.txt" not in run(tmp_repo, "git", "show", "--name-only", "--format=", "HEAD").stdout
    assert run(tmp_repo, "git", "status", "--porcelain").stdout == "A  notes.txt\n"


# -- log and show ---------------------------------------------------------------------------

LOG_KEYS = {
    "id",
    "seq",
    "dataset",
    "md5",
    "parent",
    "git_commit",
    "message",
    "author",
    "timestamp",
    "rows",
    "label_changes",
}


def test_log_contract_newest_first(lineage):
    """log returns every issue key, newest first, with parents chained and git commits real."""
    entries = Repo(lineage).log("train")
    assert [e["seq"] for e in entries] == [3, 2, 1]
    for e in entries:
        assert LOG_KEYS <= set(e)
        assert run(lineage, "git", "cat-file", "-t", e["git_commit"]).stdout.strip() == "commit"
    assert [e["parent"] for e in entries] == [entries[1]["id"], entries[2]["id"], None]
    assert [e["message"] for e in entries] == ["drop 3, relabel 1, add notes", "fix labels", "first version"]
    assert [e["author"] for e in entries] == ["Alice <alice@example.com>", IDENTITY, IDENTITY]
    assert [e["rows"] for e in entries] == [9, 10, 10]
    assert [e["label_changes"] for e in entries] == [1, 2, 0]
    assert entries[0]["timestamp"] > entries[1]["timestamp"] > entries[2]["timestamp"]
    assert Repo(lineage).log() == entries  # all datasets: the only one


def test_show_adds_schema_and_distribution(lineage):
    """show has the log keys plus schema (with types) and the class distribution of that version."""
    v = Repo(lineage).show("train@v3")
    assert LOG_KEYS <= set(v)
    assert [(c["name"], c["type"]) for c in v["schema"]] == [
        ("id", "BIGINT"),
        ("x", "DOUBLE"),
        ("label", "VARCHAR"),
        ("note", "VARCHAR"),
    ]
    assert v["class_distribution"] == {
        "label": [{"label": "cat", "count": 4}, {"label": "bird", "count": 3}, {"label": "dog", "count": 2}]
    }
    assert v["tags"] == [] and v["path"] == "data/train.parquet"


# -- diff -----------------------------------------------------------------------------------


def test_diff_json_contract_and_counts(lineage):
    """diff v1→v2 has every key of the issue's JSON contract with the right values."""
    repo = Repo(lineage)
    d = repo.diff("train@v1", "train@v2")
    v1, v2 = repo.resolve("train@v1"), repo.resolve("train@v2")
    assert d["a"] == {"id": v1["id"], "seq": 1, "md5": v1["md5"]}
    assert d["b"] == {"id": v2["id"], "seq": 2, "md5": v2["md5"]}
    assert d["rows"] == {"added": 1, "removed": 1, "modified": 3, "relabeled": 2, "unchanged": 6}
    assert d["columns"] == {"label": 2, "x": 1}
    assert d["label_transitions"] == [
        {"column": "label", "from": "bird", "to": "cat", "count": 1},
        {"column": "label", "from": "dog", "to": "cat", "count": 1},
    ]
    assert d["class_distribution"] == [
        {"column": "label", "label": "cat", "a": 4, "b": 6},
        {"column": "label", "label": "bird", "a": 3, "b": 2},
        {"column": "label", "label": "dog", "a": 3, "b": 2},
    ]
    assert d["schema"] == {"added": [], "removed": [], "retyped": []}
    assert json.loads(json.dumps(to_json(d))) == d  # JSON data once through to_json


def test_diff_defaults_to_working_file_and_bare_name(lineage):
    """diff NAME@A without B compares with the working file; a bare NAME means NAME@latest."""
    repo = Repo(lineage)
    d = repo.diff("train@v2")
    assert d["b"]["workdir"] is True and d["b"]["md5"] == repo.resolve("train@v3")["md5"]
    assert d["rows"] == {"added": 0, "removed": 1, "modified": 1, "relabeled": 1, "unchanged": 8}
    assert d["schema"]["added"] == ["note"]
    same = repo.diff("train")
    assert same["rows"] == {"added": 0, "removed": 0, "modified": 0, "relabeled": 0, "unchanged": 9}
    assert same["label_transitions"] == [] and same["columns"] == {}


def test_diff_transitions_only_for_rows_in_both(lineage):
    """Added and removed rows never appear in label_transitions (v1 → v3)."""
    d = Repo(lineage).diff("train@v1", "train@v3")
    # 1: dog→bird, 2: bird→cat; 3 (cat, removed), 9 (removed) and 10 (added) are not transitions
    assert d["label_transitions"] == [
        {"column": "label", "from": "bird", "to": "cat", "count": 1},
        {"column": "label", "from": "dog", "to": "bird", "count": 1},
    ]
    assert d["rows"] == {"added": 1, "removed": 2, "modified": 2, "relabeled": 2, "unchanged": 6}


def test_diff_rows_sample_has_old_and_new_values(lineage):
    """--rows N returns at most N changed rows, each with change kind and old./new. values."""
    repo = Repo(lineage)
    d = repo.diff("train@v1", "train@v2", rows=10)
    by_id = {r["id"]: r for r in d["sample"]}
    assert sorted(by_id) == [1, 2, 3, 9, 10]
    assert by_id[1]["change"] == "relabeled" and (by_id[1]["old.label"], by_id[1]["new.label"]) == ("dog", "cat")
    assert by_id[3]["change"] == "modified" and (by_id[3]["old.x"], by_id[3]["new.x"]) == (3.0, 30.0)
    assert by_id[9]["change"] == "removed" and by_id[9]["new.label"] is None
    assert by_id[10]["change"] == "added" and by_id[10]["old.label"] is None
    assert len(repo.diff("train@v1", "train@v2", rows=2)["sample"]) == 2
    assert "sample" not in repo.diff("train@v1", "train@v2")


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_diff_output_writes_every_changed_row(lineage, tmp_path, suffix):
    """--output FILE.parquet|.csv writes every changed row with old and new values."""
    out = lineage / "out" / f"changes.{suffix}"
    d = Repo(lineage).diff("train@v1", "train@v2", output=str(out))
    assert d["output"] == f"out/changes.{suffix}"
    table = pq.read_table(out) if suffix == "parquet" else pacsv.read_csv(out)
    rows = {r["id"]: r for r in table.to_pylist()}
    assert sorted(rows) == [1, 2, 3, 9, 10]
    assert rows[2]["change"] == "relabeled" and rows[2]["old.label"] == "bird" and rows[2]["new.label"] == "cat"
    assert rows[3]["old.x"] == 3.0 and rows[3]["new.x"] == 30.0
    out.unlink()
    out.parent.rmdir()


def test_diff_output_refuses_other_suffix(lineage):
    """--output with a suffix other than .parquet/.csv is a usage error and writes nothing."""
    from dslineage.errors import UsageError

    with pytest.raises(UsageError, match="parquet or .csv"):
        Repo(lineage).diff("train@v1", "train@v2", output=str(lineage / "changes.xlsx"))
    assert not (lineage / "changes.xlsx").exists()


def test_diff_schema_changes(tmp_repo):
    """Added, removed and retyped columns are reported; a retyped column compares by value text."""
    path = write_parquet(
        tmp_repo / "d.parquet", {"id": [1, 2, 3], "old": [1, 2, 3], "code": [7, 8, 9], "label": ["a", "b", "c"]}
    )
    repo = Repo(tmp_repo)
    repo.track(str(path), ["id"], ["label"])
    repo.commit(None, "v1", None)
    write_parquet(path, {"id": [1, 2, 3], "code": ["7", "8", "nine"], "label": ["a", "b", "c"], "new": [0.5, 0.5, 0.5]})
    d = repo.diff("d@v1")
    assert d["schema"] == {"added": ["new"], "removed": ["old"], "retyped": ["code"]}
    assert d["columns"] == {"code": 1}
    assert d["rows"] == {"added": 0, "removed": 0, "modified": 1, "relabeled": 0, "unchanged": 2}
    sample = repo.diff("d@v1", rows=5)["sample"]
    assert sample == [
        {
            "id": 3,
            "change": "modified",
            "old.code": 9,
            "new.code": "nine",
            "old.label": "c",
            "new.label": "c",
            "old.old": 3,
            "new.new": 0.5,
        }
    ]


def test_diff_int_to_float_retype_is_not_a_value_change(tmp_repo):
    """A column retyped int64 → float64 with equal values does not mark rows modified."""
    path = write_parquet(tmp_repo / "d.parquet", {"id": [1, 2], "n": [1, 2], "label": ["a", "b"]})
    repo = Repo(tmp_repo)
    repo.track(str(path), ["id"], ["label"])
    repo.commit(None, "v1", None)
    write_parquet(path, {"id": [1, 2], "n": [1.0, 2.5], "label": ["a", "b"]})
    d = repo.diff("d@v1")
    assert d["schema"]["retyped"] == ["n"]
    assert d["rows"]["modified"] == 1 and d["columns"] == {"n": 1}


# -- history --------------------------------------------------------------------------------


def _timeline(h: dict[str, Any]) -> list[tuple[int, str, str]]:
    return [(e["seq"], e["change"], e["labels"]["label"]) for e in h["events"]]


def test_history_contract_and_relabels(lineage):
    """history has the issue's keys; a twice-relabeled row shows both relabels oldest first."""
    h = Repo(lineage).history("train", "1")
    assert h["dataset"] == "train" and h["key"] == {"id": 1}
    assert _timeline(h) == [(1, "added", "dog"), (2, "relabeled", "cat"), (3, "relabeled", "bird")]
    for e in h["events"]:
        assert {"version", "seq", "change", "labels", "author", "timestamp", "message"} <= set(e)
    assert [e["message"] for e in h["events"]] == ["first version", "fix labels", "drop 3, relabel 1, add notes"]
    assert h["events"][2]["author"] == "Alice <alice@example.com>"
    assert h["events"][2]["from"] == {"label": "cat"}
    assert [e["version"] for e in h["events"]] == [e["id"] for e in reversed(Repo(lineage).log("train"))]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (3, [(1, "added", "cat"), (2, "modified", "cat"), (3, "removed", "cat")]),
        (9, [(1, "added", "cat"), (2, "removed", "cat")]),
        (10, [(2, "added", "cat")]),
        (4, [(1, "added", "dog")]),
    ],
)
def test_history_modified_removed_added_unchanged(lineage, key, expected):
    """Rows that were modified, removed, added later or never changed have the right timeline."""
    assert _timeline(Repo(lineage).history("train", [key])) == expected


def test_history_unknown_key_is_an_error(lineage):
    """A key that no version ever had is an error naming the key."""
    from dslineage.errors import DslineageError

    with pytest.raises(DslineageError, match="12345"):
        Repo(lineage).history("train", "12345")
    with pytest.raises(DslineageError, match="key"):
        Repo(lineage).history("train", {"nope": 1})


# -- checkout, status, tags -----------------------------------------------------------------


@pytest.mark.slow
def test_checkout_restores_bytes_and_dvc_file(committed, tmp_repo):
    """checkout NAME@v1 restores v1's bytes and .dvc file; checkout latest brings v2 back."""
    path = tmp_repo / "data" / "train.parquet"
    v1_md5 = md5(path)
    write_parquet(path, {"id": [1, 2], "x": [0.0, 0.0], "label": ["cat", "cat"]})
    committed.commit(["train"], "v2", None)
    v2_md5 = md5(path)
    r = committed.checkout("train@v1")
    assert (r["seq"], r["changed"], r["md5"]) == (1, True, v1_md5)
    assert md5(path) == v1_md5
    assert f"md5: {v1_md5}" in (tmp_repo / "data" / "train.parquet.dvc").read_text()
    assert run(tmp_repo, "dvc", "status").stdout.strip() == "Data and pipelines are up to date."
    assert committed.checkout("train@v1")["changed"] is False
    committed.checkout("train@latest")
    assert md5(path) == v2_md5
    assert run(tmp_repo, "git", "status", "--porcelain").stdout == ""


def test_checkout_refuses_uncommitted_then_force(committed, tmp_repo):
    """checkout refuses to overwrite uncommitted changes; --force discards them."""
    from dslineage.errors import DirtyError

    path = tmp_repo / "data" / "train.parquet"
    v1_md5 = md5(path)
    write_parquet(path, {"id": [1], "x": [0.0], "label": ["edited"]})
    edited = md5(path)
    with pytest.raises(DirtyError, match="--force"):
        committed.checkout("train@v1")
    assert md5(path) == edited
    committed.checkout("train@v1", force=True)
    assert md5(path) == v1_md5


def test_status_counts_rows(committed, tmp_repo):
    """status is clean after commit; after an edit it is dirty with row-level counts."""
    assert committed.status() == [
        {
            "dataset": "train",
            "path": "data/train.parquet",
            "version": 1,
            "dirty": False,
            "missing": False,
            "rows": {"added": 0, "removed": 0, "modified": 0},
            "worktree_version": None,
            "note": None,
            "merging": None,
        }
    ]
    ids = list(range(1, 21))
    write_parquet(
        tmp_repo / "data" / "train.parquet",
        {"id": ids, "x": [i / 2 for i in ids], "label": ["z" if i < 3 else LABELS[i % 3] for i in ids]},
    )
    [s] = committed.status(["train"])
    assert s["dirty"] is True and s["rows"] == {"added": 1, "removed": 1, "modified": 2}
    assert committed.status(counts=False)[0]["dirty"] is True


def test_tags(committed, tmp_repo):
    """A tag names a version as NAME@TAG, shows in `show`, is idempotent and cannot be moved."""
    from dslineage.errors import UsageError

    write_parquet(tmp_repo / "data" / "train.parquet", {"id": [1], "x": [0.0], "label": ["cat"]})
    committed.commit(["train"], "v2", None)
    t = committed.tag("train@v1", "baseline")
    assert t["created"] is True and t["seq"] == 1
    assert committed.resolve("train@baseline")["seq"] == 1
    assert committed.show("train@v1")["tags"] == ["baseline"]
    assert committed.tag("train@v1", "baseline")["created"] is False
    with pytest.raises(UsageError, match="another version"):
        committed.tag("train@v2", "baseline")
    for bad in ("latest", "v3", "abcd12", "1st", "a~1"):
        with pytest.raises(UsageError, match="invalid tag"):
            committed.tag("train@v1", bad)
    assert run(tmp_repo, "git", "status", "--porcelain").stdout == ""


def test_checkout_over_bytes_an_older_version_records_is_not_refused(committed, tmp_repo):
    """Working bytes that some version records (here v1's, put back by hand) are not
    uncommitted work: checkout replaces them without --force; other edits still need it."""
    import shutil

    from dslineage import dvcio
    from dslineage.errors import DirtyError
    from tests.support import write_parquet

    path = tmp_repo / "data" / "train.parquet"
    write_parquet(path, {"id": list(range(20)), "x": [i / 2 for i in range(20)], "label": ["cat"] * 20})
    committed.commit(["train"], "all cats", None)
    v1 = committed.resolve("train@v1")
    tmp = path.with_name(".train.parquet.v1")
    shutil.copyfile(dvcio.cache_path(tmp_repo, v1["md5"]), tmp)
    tmp.replace(path)
    assert committed.checkout("train@v2")["changed"]
    write_parquet(path, {"id": [1], "x": [0.5], "label": ["owl"]})
    with pytest.raises(DirtyError):
        committed.checkout("train@v1")
