"""Bad input through the CLI: one line on stderr, non-zero exit, no traceback, nothing changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from dslineage import Repo, dvcio
from tests.support import cli_json, invoke, md5, new_repo, run, snapshot_state, write_parquet, write_text


def refused(root: Path, *args: str, match: str, code: int = 1, cwd_root: Path | None = None) -> str:
    """Run a CLI command that must fail: one stderr line matching `match`, state unchanged."""
    watched = cwd_root or root
    before = snapshot_state(watched)
    result = invoke(root, *args)
    after = snapshot_state(watched)
    err = result.stderr
    assert result.exit_code == code, (result.exit_code, err, result.stdout)
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("error: ") and "Traceback" not in err + result.stdout, err
    assert not err.startswith("error: unexpected "), f"a non-dslineage exception escaped: {err}"
    assert match.lower() in err.lower(), err
    assert result.stdout == ""
    assert after == before
    return err


@pytest.fixture(scope="module")
def shared(module_env: Path) -> Path:
    """A repo with `train` (key id, label label) committed as v1 and v2; other files come and go."""
    root = new_repo(module_env / "bad")
    path = write_parquet(
        root / "data" / "train.parquet", {"id": [1, 2, 3], "x": [0.1, 0.2, 0.3], "label": ["a", "b", "c"]}
    )
    repo = Repo(root)
    repo.track(str(path), ["id"], ["label"])
    repo.commit(None, "v1", None)
    write_parquet(path, {"id": [1, 2, 3], "x": [0.1, 0.2, 0.3], "label": ["a", "b", "z"]})
    repo.commit(None, "v2", None)
    return root


@pytest.fixture
def scratch(shared: Path) -> Any:
    """Files written into the shared repo's `in/` folder for one test, removed afterwards."""
    made: list[Path] = []

    def write(name: str, content: str | dict[str, list[Any]] | bytes) -> Path:
        path = shared / "in" / name
        if isinstance(content, dict):
            write_parquet(path, content)
        elif isinstance(content, bytes):
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(content)
        else:
            write_text(path, content)
        made.append(path)
        return path

    yield write
    for path in made:
        path.unlink(missing_ok=True)


def test_not_a_git_repository(tmp_path):
    """A folder outside any git repository: say so and suggest `dslineage init`."""
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "keep.txt").write_text("x")
    refused(plain, "log", match="dslineage init")
    assert sorted(p.name for p in plain.iterdir()) == ["keep.txt"]


def test_git_repository_not_initialized(tmp_path):
    """A git repository without `.dslineage/`: say so and suggest `dslineage init`."""
    root = tmp_path / "gitonly"
    root.mkdir()
    run(root, "git", "init", "-q")
    (root / "a.txt").write_text("x")
    run(root, "git", "add", "a.txt")
    run(root, "git", "commit", "-q", "-m", "one")
    for args in (("log",), ("status",), ("commit", "-m", "x"), ("track", "a.txt", "--key", "id", "--label", "l")):
        refused(root, *args, match="dslineage init")


@pytest.mark.slow
def test_path_outside_the_repository(shared, tmp_path):
    """track of a file outside the repository names the file and says to move it inside."""
    outside = write_parquet(tmp_path / "outside.parquet", {"id": [1], "label": ["a"]})
    refused(shared, "track", str(outside), "--key", "id", "--label", "label", match="outside the repository")
    refused(shared, "track", "../outside.parquet", "--key", "id", "--label", "label", match="outside")
    refused(shared, "track", "in/nothing.parquet", "--key", "id", "--label", "label", match="does not exist")


def test_unsupported_format(shared, scratch):
    """An unknown suffix is refused (with --format as the fix); so is an unknown --format."""
    scratch("sheet.xlsx", "id,label\n1,a\n")
    refused(shared, "track", "in/sheet.xlsx", "--key", "id", "--label", "label", match="--format")
    refused(
        shared,
        "track",
        "in/sheet.xlsx",
        "--key",
        "id",
        "--label",
        "label",
        "--format",
        "excel",
        match="unsupported format",
        code=2,
    )


def test_missing_key_or_label_column(shared, scratch):
    """A key or label column the file lacks is named, with the columns that exist."""
    scratch("t.parquet", {"id": [1, 2], "label": ["a", "b"]})
    err = refused(shared, "track", "in/t.parquet", "--key", "ident", "--label", "label", match="'ident'")
    assert "id, label" in err
    refused(shared, "track", "in/t.parquet", "--key", "id", "--label", "klass", match="'klass'")


def test_null_keys_say_how_many(shared, scratch):
    """Null keys are refused with their count."""
    scratch("t.parquet", {"id": [1, None, None, 4], "label": ["a", "b", "c", "d"]})
    refused(shared, "track", "in/t.parquet", "--key", "id", "--label", "label", match="2 row(s) have a null key")


def test_duplicate_keys_say_how_many_and_show_some(shared, scratch):
    """Duplicate keys are refused with how many values repeat and a few examples."""
    ids = [1, 1, 1, 2, 2, 3] + list(range(10, 20)) * 2
    scratch("t.parquet", {"id": ids, "label": ["a"] * len(ids)})
    err = refused(shared, "track", "in/t.parquet", "--key", "id", "--label", "label", match="12 key value(s)")
    assert "1 ×3" in err and err.count("×") == 5


def test_duplicate_composite_keys(shared, scratch):
    """Duplicates of a composite key are checked on the combination, not each column."""
    scratch("t.csv", "a,b,label\n1,x,p\n1,y,q\n1,x,r\n")
    refused(shared, "track", "in/t.csv", "--key", "a,b", "--label", "label", match="1 key value(s)")


@pytest.mark.parametrize(
    "text",
    [
        'id,label\n1,"a\n2,b,extra,more\n3\n',  # unterminated quote and ragged rows
        "id,label\n1,a\n2,b,extra\n3,c\n",  # one ragged row
        'id,label\n1,"a\n2,b\n',  # an unterminated quote only
    ],
)
def test_malformed_csv(shared, scratch, text):
    """A CSV with an unterminated quote or ragged rows is refused as unreadable."""
    scratch("bad.csv", text)
    refused(shared, "track", "in/bad.csv", "--key", "id", "--label", "label", match="cannot read")


def test_malformed_parquet_and_jsonl(shared, scratch):
    """Bytes that are not parquet / JSON Lines are refused as unreadable."""
    scratch("bad.parquet", b"PAR1 this is not parquet")
    refused(shared, "track", "in/bad.parquet", "--key", "id", "--label", "label", match="cannot read")
    scratch("bad.jsonl", '{"id": 1, "label": "a"}\n{"id": 2, "label": \n')
    refused(shared, "track", "in/bad.jsonl", "--key", "id", "--label", "label", match="cannot read")


def test_empty_file(shared, scratch):
    """An empty file is refused as empty, in every format."""
    for name in ("e.csv", "e.parquet", "e.jsonl"):
        scratch(name, b"")
        refused(shared, "track", f"in/{name}", "--key", "id", "--label", "label", match="empty")


@pytest.mark.slow
def test_unknown_dataset(shared):
    """An unknown dataset name lists the tracked ones and points at `dslineage track`."""
    for args in (
        ("log", "nope"),
        ("show", "nope@v1"),
        ("diff", "nope@v1"),
        ("history", "nope", "1"),
        ("checkout", "nope@v1"),
        ("commit", "nope", "-m", "x"),
        ("status", "nope"),
        ("tag", "nope@v1", "t"),
    ):
        err = refused(shared, *args, match="unknown dataset 'nope'")
        assert "tracked: train" in err


@pytest.mark.slow
def test_unknown_ref(shared):
    """An unknown version names the forms and lists recent versions."""
    for args in (
        ("show", "train@v7"),
        ("diff", "train@v1", "train@nonsense"),
        ("checkout", "train@latest~5"),
        ("tag", "train@zzz", "t"),
    ):
        refused(shared, *args, match="train@")
    assert "recent: v2, v1" in refused(shared, "show", "train@v7", match="unknown version")


def test_ambiguous_ref(shared, tmp_path):
    """An ambiguous version (a tag that git reads as another commit) lists both candidates."""
    clone = tmp_path / "clone"
    run(shared, "git", "clone", "-q", str(shared), str(clone))
    Repo(clone).tag("train@v1", "main")  # the branch `main` has train at v2
    err = refused(clone, "show", "train@main", match="ambiguous")
    assert "train@v1" in err and "train@v2" in err


@pytest.mark.slow
def test_checkout_over_uncommitted_changes(committed, tmp_repo):
    """checkout refuses to overwrite an edited working file and says --force."""
    write_parquet(tmp_repo / "data" / "train.parquet", {"id": [1], "x": [0.0], "label": ["new"]})
    refused(tmp_repo, "checkout", "train@v1", match="--force")
    result = invoke(tmp_repo, "checkout", "train@v1", "--force")
    assert result.exit_code == 0 and "restored" in result.stderr
    assert run(tmp_repo, "git", "status", "--porcelain").stdout == ""


@pytest.mark.slow
def test_missing_cache_object(committed, tmp_repo):
    """A version whose DVC cache object is gone (no remote): diff/checkout/history say what is missing."""
    path = tmp_repo / "data" / "train.parquet"
    v1 = committed.resolve("train@v1")
    write_parquet(path, {"id": [1, 2], "x": [0.5, 1.0], "label": ["dog", "dog"]})  # 2: bird → dog
    committed.commit(["train"], "v2", None)
    dvcio.cache_path(tmp_repo, v1["md5"]).unlink()
    for args in (("diff", "train@v1"), ("checkout", "train@v1"), ("diff", "train@v1", "train@v2", "--rows", "3")):
        err = refused(tmp_repo, *args, match=v1["md5"])
        assert "remote" in err
    # a label diff of two versions and history need no bytes: they come from the journal
    assert cli_json(tmp_repo, "diff", "train@v1", "train@v2")["source"] == "journal"
    assert [e["change"] for e in cli_json(tmp_repo, "history", "train", "2")["events"]] == ["added", "relabeled"]


@pytest.mark.slow
def test_commit_without_message_or_file(committed, tmp_repo):
    """commit needs -m (usage error, exit 2) and a working file that exists."""
    write_parquet(tmp_repo / "data" / "train.parquet", {"id": [1], "x": [0.0], "label": ["new"]})
    refused(tmp_repo, "commit", match="-m", code=2)
    (tmp_repo / "data" / "train.parquet").unlink()
    refused(tmp_repo, "commit", "-m", "gone", match="does not exist")


@pytest.mark.slow
def test_bad_history_key_and_output(shared):
    """A key of the wrong arity, a bad --key-value, an unknown key, a bad --output suffix."""
    refused(shared, "history", "train", "--key-value", "ident=1", match="key columns are id", code=2)
    refused(shared, "history", "train", "--key-value", "id", match="COL=VALUE", code=2)
    refused(shared, "history", "train", "999", match="no row with key 999", code=1)
    refused(shared, "history", "train", match="key", code=2)
    refused(shared, "diff", "train@v1", "--output", "out.xlsx", match=".parquet", code=2)
    refused(shared, "diff", "train@v1", "--output", "/tmp/elsewhere.csv", match="outside")


def test_cli_usage_errors_exit_2(shared):
    """An unknown command or option is a usage error (exit 2) without a traceback."""
    for args in (("frobnicate",), ("log", "--bogus")):
        result = invoke(shared, *args)
        assert result.exit_code == 2 and "Traceback" not in result.output


def test_debug_shows_the_traceback(shared):
    """--debug lets the exception through (for bug reports) instead of the one-line message."""
    result = invoke(shared, "--debug", "show", "train@v7")
    assert result.exit_code != 0 and type(result.exception).__name__ == "RefError"


# -- awkward names ---------------------------------------------------------------------------

WEIRD = {"key": 'my key; "id"', "label": "étiquette 🏷", "feat": 'a"; DROP TABLE x; --', "other": "semi;colon's"}


@pytest.mark.slow
def test_awkward_column_names_and_unicode_labels(tmp_repo):
    """Column names with spaces, quotes, semicolons, unicode (and SQL) and unicode labels just work."""
    k, lab, feat, other = WEIRD.values()
    path = tmp_repo / "data" / "wëird set.parquet"
    base = {
        k: ["α", "β", "γ", "δ"],
        lab: ["chat 🐱", "chien", "oiseau", "'; DROP TABLE versions; --"],
        feat: [1.0, 2.0, 3.0, 4.0],
        other: ["x", "y", "z", "w"],
    }
    write_parquet(path, base)
    track = cli_json(tmp_repo, "track", str(path), "--key", k, "--label", lab, "--name", "weird")
    assert track["key"] == [k] and track["labels"] == [lab]
    cli_json(tmp_repo, "commit", "weird", "-m", "première version ✓")
    write_parquet(path, {**base, lab: ["chien", "chien", "oiseau", "🐦"], feat: [1.0, 2.0, 30.0, 4.0]})
    [s] = cli_json(tmp_repo, "status")
    assert s["dirty"] and s["rows"] == {"added": 0, "removed": 0, "modified": 3}
    d = cli_json(tmp_repo, "diff", "weird@v1", "--rows", "5", "--output", "out/ch.csv")
    assert d["columns"] == {lab: 2, feat: 1}
    assert d["label_transitions"] == [
        {"column": lab, "from": "'; DROP TABLE versions; --", "to": "🐦", "count": 1},
        {"column": lab, "from": "chat 🐱", "to": "chien", "count": 1},
    ]
    assert d["sample"][0][k] == "α" and d["sample"][0][f"new.{lab}"] == "chien"
    assert pacsv.read_csv(tmp_repo / "out" / "ch.csv").column(k).to_pylist() == ["α", "γ", "δ"]
    [v2] = cli_json(tmp_repo, "commit", "-m", "relabel")
    h = cli_json(tmp_repo, "history", "weird", "α")
    assert [(e["change"], e["labels"][lab]) for e in h["events"]] == [("added", "chat 🐱"), ("relabeled", "chien")]
    assert cli_json(tmp_repo, "history", "weird", "--key-value", f"{k}=δ")["key"] == {k: "δ"}
    shown = cli_json(tmp_repo, "show", "weird@v2")
    assert [c["name"] for c in shown["schema"]] == list(base)
    assert invoke(tmp_repo, "log").exit_code == 0 and invoke(tmp_repo, "diff", "weird@v1", "-n", "3").exit_code == 0
    cli_json(tmp_repo, "checkout", "weird@v1")
    assert pq.read_table(path).column(lab).to_pylist() == base[lab]
    assert v2["seq"] == 2 and json.dumps(h, ensure_ascii=False)
    assert md5(path) == Repo(tmp_repo).resolve("weird@v1")["md5"]


@pytest.mark.slow
def test_weird_csv_header(tmp_repo):
    """A CSV whose header has quoted names with commas, quotes and semicolons tracks and diffs."""
    header = '"id ""x""","lab, el;",v\n'
    path = write_text(tmp_repo / "w.csv", header + "1,a,1\n2,b,2\n")
    repo = Repo(tmp_repo)  # the CLI splits --key/--label on commas: a comma in a name needs the library
    repo.track(str(path), ['id "x"'], ["lab, el;"])
    repo.commit(None, "v1", None)
    write_text(path, header + "1,a,1\n2,c,2\n")
    assert repo.diff("w@v1")["label_transitions"] == [{"column": "lab, el;", "from": "b", "to": "c", "count": 1}]
