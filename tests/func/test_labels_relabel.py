"""relabel: edit batches applied to parquet, CSV and JSON Lines datasets and recorded as lineage;
bad input refused with one line and nothing changed; a crash leaves the old state or the new."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dslineage import Repo, dvcio
from dslineage.errors import EditError, ExternalError
from tests.support import md5, new_repo, refused, run, snapshot_state, write_parquet, write_text
from tests.support.labels import add_dataset, labels_of


@pytest.fixture(scope="module")
def lab(module_env: Path) -> Path:
    """One repository shared by this module's tests; each test adds its own datasets."""
    return new_repo(module_env / "lab")


@pytest.mark.slow
def test_set_applies_edits_records_batch_and_commits(lab: Path) -> None:
    """--set edits change only those labels; no-ops are counted; a batch and a version are recorded."""
    path = add_dataset(lab, "basic")
    before = pq.read_table(path)
    with Repo(lab) as repo:
        r = repo.relabel("basic", {1: "cat", 2: "bird", 4: "bird"}, reason="guideline v2", by="alice")
        assert (r["applied"], r["noop"], r["missing"], r["seq"]) == (2, 1, 0, 2)
        after = pq.read_table(path)
        assert after.schema.equals(before.schema, check_metadata=True)
        assert after.column("id").equals(before.column("id")) and after.column("x").equals(before.column("x"))
        expected = {**labels_of_table(before), 1: "cat", 4: "bird"}
        assert labels_of(path) == expected
        [b] = repo.batches("basic")
        assert (b["id"], b["state"], b["author"], b["reason"], b["rows"], b["noop"]) == (
            r["batch"],
            "committed",
            "alice",
            "guideline v2",
            2,
            1,
        )
        assert b["version"] == r["version"] and not b["reverted"]
        assert repo.log("basic")[0]["author"] == "alice"
    assert run(lab, "git", "status", "--porcelain").stdout == ""
    tracked = run(lab, "git", "ls-files", ".dslineage/journal").stdout
    assert f"{r['batch'][:12]}.edits.parquet" in tracked and f"-batch-{r['batch'][:12]}.json" in tracked


def labels_of_table(t: pa.Table) -> dict[Any, Any]:
    """key → label of a table with columns id and label."""
    return dict(zip(t.column("id").to_pylist(), t.column("label").to_pylist()))


@pytest.mark.slow
def test_edits_files_carry_provenance_into_show_and_history(lab: Path, tmp_path: Path) -> None:
    """CSV, parquet and JSON Lines edits files: per-row annotator, reason and confidence are kept."""
    add_dataset(lab, "prov")
    csv = write_text(tmp_path / "e.csv", "id,label,annotator,reason,confidence\n1,cat,ann1,blurry,0.6\n")
    par = write_parquet(tmp_path / "e.parquet", {"id": [2], "new_label": ["cat"], "annotator": ["ann2"]})
    jsl = write_text(tmp_path / "e.jsonl", '{"id": 4, "label": "cat", "reason": "zoomed in"}\n')
    with Repo(lab) as repo:
        ids = [repo.relabel("prov", from_file=str(f), by="lead", reason="review")["batch"] for f in (csv, par, jsl)]
        edits = [repo.show(b[:10])["edits"] for b in ids]
        assert edits[0] == [
            {"key": {"id": 1}, "old": "dog", "new": "cat", "annotator": "ann1", "reason": "blurry", "confidence": 0.6}
        ]
        assert (edits[1][0]["annotator"], edits[1][0]["reason"]) == ("ann2", None)
        assert edits[2][0]["reason"] == "zoomed in"
        ev = repo.history("prov", "1")["events"][-1]
        assert (ev["change"], ev["batch"], ev["annotator"], ev["reason"]) == ("relabeled", ids[0], "ann1", "blurry")
        ev = repo.history("prov", "2")["events"][-1]
        assert (ev["batch"], ev["annotator"], ev["reason"]) == (ids[1], "ann2", "review")
        assert repo.history("prov", "5")["events"][0]["batch"] is None


@pytest.mark.slow
def test_no_commit_batches_ride_with_the_next_commit(lab: Path) -> None:
    """Two `--no-commit` batches stay pending; `commit` records one version carrying both."""
    path = add_dataset(lab, "pend")
    with Repo(lab) as repo:
        a = repo.relabel("pend", {1: "cat", 3: "dog"}, by="alice", commit=False)
        b = repo.relabel("pend", {3: "bird", 5: "cat"}, by="bob", commit=False)
        assert a["version"] is None and b["version"] is None
        assert [x["state"] for x in repo.batches("pend")] == ["pending", "pending"]
        assert repo.status(["pend"])[0]["dirty"]
        [v] = repo.commit(["pend"], "review round 1", None)
        assert [(x["state"], x["version"]) for x in repo.batches("pend")] == [("committed", v["id"])] * 2
        rows = {r["id"]: r for r in repo.blame("pend")["table"].to_pylist()}
    assert (rows[1]["batch"], rows[1]["author"]) == (a["batch"], "alice")
    assert (rows[3]["batch"], rows[3]["author"], rows[3]["label"]) == (b["batch"], "bob", "bird")
    assert labels_of(path)[5] == "cat"
    assert run(lab, "git", "status", "--porcelain").stdout == ""


def test_discarded_pending_batch_is_not_linked(lab: Path) -> None:
    """A pending batch thrown away by `checkout --force` is not claimed by a later commit."""
    path = add_dataset(lab, "disc")
    with Repo(lab) as repo:
        repo.relabel("disc", {1: "cat"}, commit=False)
        repo.checkout("disc@latest", force=True)
        t = pq.read_table(path)
        write_parquet(path, {**t.to_pydict(), "x": [9.0] * t.num_rows})
        [v] = repo.commit(["disc"], "features only", None)
        [b] = repo.batches("disc")
    assert b["version"] is None and b["state"] == "discarded"
    assert v["relabeled"] == 0


@pytest.mark.slow
def test_csv_keeps_every_byte_but_the_edited_labels(lab: Path) -> None:
    """CSV: delimiter, CRLF, quoting, zero-padded keys, number spelling and header stay byte for byte."""
    text = 'id;note;x;label\r\n001;"a;b";0.50;"cat"\r\n002;plain;1.0;"dog"\r\n003;"";2;"bird"\r\n'
    path = write_text(lab / "data" / "semi.csv", text)
    with Repo(lab) as repo:
        repo.track(str(path), ["id"], ["label"])
        v1 = repo.commit(["semi"], "v1", None)[0]
        r = repo.relabel("semi", ["002=cat"])
        assert path.read_bytes().decode() == text.replace('002;plain;1.0;"dog"', '002;plain;1.0;"cat"')
        repo.revert(r["batch"])
    assert path.read_bytes().decode() == text and md5(path) == v1["md5"]


def test_parquet_keeps_schema_types_metadata_and_codec(lab: Path) -> None:
    """Parquet: int32 keys, dictionary labels, field and schema metadata and the codec survive."""
    schema = pa.schema(
        [
            pa.field("id", pa.int32()),
            pa.field("label", pa.dictionary(pa.int8(), pa.string()), metadata={"k": "v"}),
            pa.field("w", pa.float32()),
        ],
        metadata={b"origin": b"test"},
    )
    t = pa.table({"id": [1, 2, 3], "label": ["a", "b", "a"], "w": [0.5, 1.5, 2.5]}).cast(schema)
    path = lab / "data" / "typed.parquet"
    pq.write_table(t, path, compression="zstd")
    with Repo(lab) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(["typed"], "v1", None)
        repo.relabel("typed", {2: "a", 3: "c"})
    out = pq.read_table(path)
    assert out.schema.equals(schema, check_metadata=True)
    assert out.column("label").to_pylist() == ["a", "a", "c"]
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"


def test_jsonl_dataset_and_composite_key_with_label_column_choice(lab: Path) -> None:
    """JSON Lines with a composite key and two label columns: --column picks, KEY1,KEY2=LABEL addresses."""
    path = write_text(
        lab / "data" / "multi.jsonl",
        "".join(json.dumps({"img": f"i{i}", "box": i % 2, "coarse": "animal", "fine": "cat"}) + "\n" for i in range(4)),
    )
    with Repo(lab) as repo:
        repo.track(str(path), ["img", "box"], ["coarse", "fine"])
        repo.commit(["multi"], "v1", None)
        with pytest.raises(Exception, match="--column"):
            repo.relabel("multi", ["i1,1=dog"])
        r = repo.relabel("multi", ["i1,1=dog", "i2,0=cat"], column="fine")
    assert (r["applied"], r["noop"]) == (1, 1)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [x["fine"] for x in rows] == ["cat", "dog", "cat", "cat"] and rows[1]["coarse"] == "animal"


@pytest.mark.slow
def test_bad_input_is_refused_with_one_line_and_nothing_changes(lab: Path, tmp_path: Path) -> None:
    """Missing key/label columns, unknown keys, conflicting duplicates, disallowed or mistyped labels,
    uncommitted changes, unknown batches: one line, exit 1 (2 for usage), nothing changed."""
    add_dataset(lab, "bad", labels_allowed=["cat", "dog", "bird"])
    path = lab / "data" / "bad.parquet"
    nokey = write_text(tmp_path / "nokey.csv", "ident,label\n1,cat\n")
    nolabel = write_text(tmp_path / "nolabel.csv", "id,annotator\n1,ann\n")
    dup = write_text(tmp_path / "dup.csv", "id,label\n1,cat\n1,dog\n2,cat\n2,cat\n")
    refused(lab, "relabel", "bad", "--from", str(nokey), match="no column id")
    refused(lab, "relabel", "bad", "--from", str(nolabel), match="no column label")
    err = refused(lab, "relabel", "bad", "--set", "1=cat", "--set", "77=cat", "--set", "78=dog", match="not in bad")
    assert "77" in err and "78" in err and "--skip-missing" in err
    err = refused(lab, "relabel", "bad", "--from", str(dup), match="conflicting edits for 1 key")
    assert "cat / dog" in err
    refused(lab, "relabel", "bad", "--set", "1=zebra", match="outside the allowed labels")
    refused(lab, "relabel", "bad", "--set", "x=cat", match="not valid for the key column")
    refused(lab, "relabel", "bad", "--set", "1", match="KEY=LABEL", code=2)
    refused(lab, "relabel", "bad", match="--set KEY=LABEL", code=2)
    refused(lab, "relabel", "nosuch", "--set", "1=cat", match="unknown dataset")
    for cmd in (["show", "deadbeef"], ["revert", "deadbeef"], ["impact", "deadbeef"]):
        refused(lab, *cmd, match="unknown")
    t = pq.read_table(path)
    write_parquet(path, {**t.to_pydict(), "x": [1.0] * t.num_rows})
    refused(lab, "relabel", "bad", "--set", "1=cat", match="uncommitted changes")
    with Repo(lab) as repo:
        r = repo.relabel("bad", {1: "cat"}, force=True, commit=False)  # --force edits on top
        assert r["applied"] == 1 and labels_of(path)[1] == "cat"
        repo.checkout("bad@latest", force=True)


@pytest.mark.slow
def test_relabel_mistyped_label_for_a_numeric_label_column(lab: Path) -> None:
    """A label that is not a valid value of the label column's type is refused, naming the type."""
    path = write_parquet(lab / "data" / "num.parquet", {"id": [1, 2], "label": [3, 4]})
    with Repo(lab) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(["num"], "v1", None)
    refused(lab, "relabel", "num", "--set", "1=abc", match="not valid BIGINT")
    with Repo(lab) as repo:
        assert repo.relabel("num", ["1=07"])["applied"] == 1
    assert labels_of(path) == {1: 7, 2: 4}


def test_a_failing_commit_puts_everything_back(lab: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If DVC fails while the version is recorded, the working file, journal, HEAD and status are as before."""
    add_dataset(lab, "fail")
    before = snapshot_state(lab)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ExternalError("dvc add failed: disk full")

    monkeypatch.setattr(dvcio, "add", broken)
    with Repo(lab) as repo, pytest.raises(ExternalError):
        repo.relabel("fail", {1: "cat"})
    assert snapshot_state(lab) == before
    monkeypatch.undo()
    with Repo(lab) as repo:
        assert repo.batches("fail") == []


@pytest.mark.slow
@pytest.mark.parametrize("step, done", [("after-batch", False), ("after-git-commit", True)])
def test_a_killed_relabel_is_rolled_back_or_completed(tmp_path: Path, step: str, done: bool) -> None:
    """SIGKILL mid-relabel: the next command restores the old file (or keeps the committed batch)."""
    root = new_repo(tmp_path / "crash")
    path = add_dataset(root, "kill")
    before = snapshot_state(root)
    env = {**os.environ, "DSLINEAGE_FAULT": f"relabel:{step}"}
    proc = subprocess.run(
        [sys.executable, "-m", "dslineage", "-C", str(root), "relabel", "kill", "--set", "1=cat"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == -9, proc.stderr
    with Repo(root) as repo:
        found = repo.batches("kill")
        assert [b["state"] for b in found] == (["committed"] if done else [])
    assert labels_of(path)[1] == ("cat" if done else "dog")
    if not done:
        assert snapshot_state(root) == before
    assert run(root, "git", "status", "--porcelain").stdout == ""


def test_all_noop_edits_record_nothing(lab: Path) -> None:
    """Edits that only repeat current labels are reported as no-ops; no batch, no version."""
    add_dataset(lab, "noop")
    before = snapshot_state(lab)
    with Repo(lab) as repo:
        r = repo.relabel("noop", {0: "cat", 1: "dog"})
    assert (r["batch"], r["version"], r["applied"], r["noop"]) == (None, None, 0, 2)
    assert snapshot_state(lab) == before


def test_relabel_raises_edit_error_for_pending_revert(lab: Path) -> None:
    """Reverting a batch that no version carries yet is refused, saying how to proceed."""
    add_dataset(lab, "pendrev")
    with Repo(lab) as repo:
        r = repo.relabel("pendrev", {1: "cat"}, commit=False)
        with pytest.raises(EditError, match="pending, not committed"):
            repo.revert(r["batch"][:8])
        repo.checkout("pendrev@latest", force=True)
