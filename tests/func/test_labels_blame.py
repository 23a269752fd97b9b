"""blame, impact, batches, show BATCH and history provenance over one shared history; the
answers are the same after `reindex`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from dslineage import Repo
from tests.support import cli_json, invoke, new_repo, write_parquet, write_text
from tests.support.labels import ANIMALS, add_dataset


@pytest.fixture(scope="module")
def story(module_env: Path) -> dict[str, Any]:
    """v1: 12 rows; v2: alice's batch (rows 1, 2, 4; per-row annotator on 4); v3: a hand commit
    relabeling row 3 and adding row 100; v4: bob's batch on row 2 (overrides alice)."""
    root = new_repo(module_env / "story")
    path = add_dataset(root, "s")
    edits = write_text(module_env / "alice.csv", "id,label,annotator\n1,cat\n2,cat\n4,bird,carol\n")
    with Repo(root) as repo:
        a = repo.relabel("s", from_file=str(edits), by="alice", reason="first pass")
        t = pq.read_table(path).to_pydict()
        t["id"].append(100)
        t["x"].append(50.0)
        t["label"].append("dog")
        t["label"][3] = "bird"
        write_parquet(path, t)
        repo.commit(["s"], "hand fix and a new row", None)
        b = repo.relabel("s", {2: "dog"}, by="bob", reason="second look")
        versions = {v["seq"]: v["id"] for v in repo.log("s")}
    return {"root": root, "a": a["batch"], "b": b["batch"], "v": versions}


def blame_rows(repo: Repo, ref: str = "s", **filters: Any) -> dict[Any, dict[str, Any]]:
    """Blame rows by id."""
    return {r["id"]: r for r in repo.blame(ref, **filters)["table"].to_pylist()}


@pytest.mark.slow
def test_blame_points_each_row_at_what_set_its_label(story: dict[str, Any]) -> None:
    """Batch rows name batch and annotator; hand edits and additions name their version; others v1."""
    v, me = story["v"], "Test Author <author@example.com>"
    with Repo(story["root"]) as repo:
        rows = blame_rows(repo)
        r = repo.blame("s")
    assert len(rows) == 13 and r["total"] == 13
    got = {k: (x["seq"], x["batch"], x["author"], x["label"]) for k, x in rows.items() if k in (0, 1, 2, 3, 4, 100)}
    assert got == {
        0: (1, None, me, "cat"),
        1: (2, story["a"], "alice", "cat"),
        2: (4, story["b"], "bob", "dog"),
        3: (3, None, me, "bird"),
        4: (2, story["a"], "carol", "bird"),
        100: (3, None, me, "dog"),
    }
    assert rows[1]["reason"] == "first pass" and rows[1]["version"] == v[2]
    assert r["by_author"] == {me: 10, "alice": 1, "bob": 1, "carol": 1}
    assert r["by_batch"] == {story["a"]: 2, story["b"]: 1}


def test_blame_filters_and_older_refs(story: dict[str, Any], module_env: Path) -> None:
    """--label, --by, --batch, --since narrow the rows; NAME@v2 blames as of v2; --output writes all."""
    with Repo(story["root"]) as repo:
        assert set(blame_rows(repo, label="bird")) == {3, 4, 5, 8, 11}
        assert set(blame_rows(repo, by="ALI")) == {1}
        assert set(blame_rows(repo, batch=story["b"][:6])) == {2}
        assert set(blame_rows(repo, since="v2")) == {2, 3, 100}
        old = blame_rows(repo, "s@v2")
        assert (old[2]["batch"], old[2]["label"], len(old)) == (story["a"], "cat", 12)
        out = repo.blame("s", output=str(story["root"] / "out" / "blame.parquet"))
    assert pq.read_table(story["root"] / out["output"]).num_rows == 13


def test_blame_cli_json_contract(story: dict[str, Any]) -> None:
    """`blame --json`: rows with key, label, version, batch, author, timestamp; by_author; by_batch."""
    j = cli_json(story["root"], "blame", "s", "--by", "bob")
    assert set(j) >= {"rows", "by_author", "by_batch"}
    [row] = j["rows"]
    assert set(row) >= {"key", "label", "version", "batch", "author", "timestamp"}
    assert (row["key"], row["label"], row["batch"], row["version"]) == ({"id": 2}, "dog", story["b"], story["v"][4])
    assert j["by_author"] == {"bob": 1} and j["by_batch"] == {story["b"]: 1}
    text = invoke(story["root"], "blame", "s", "--rows", "3")
    assert text.exit_code == 0 and "by author" in text.stdout


def test_impact_counts_rows_still_carrying_the_batch(story: dict[str, Any]) -> None:
    """alice's batch: 3 rows in v2 and v3, 2 in v4 (bob relabeled row 2)."""
    j = cli_json(story["root"], "impact", story["a"][:8])
    assert [(x["seq"], x["rows"], x["latest"]) for x in j["versions"]] == [(2, 3, False), (3, 3, False), (4, 2, True)]
    assert j["still_in_latest"] == 2 and j["batch"] == story["a"]


def test_batches_show_and_history_through_the_cli(story: dict[str, Any]) -> None:
    """`batches --json` lists both; `show BATCH --json` lists edits; `show NAME@REF` stays a version;
    `history --json` relabel events carry batch, annotator and reason."""
    listed = cli_json(story["root"], "batches", "s")
    assert [(b["id"], b["author"], b["rows"], b["reverted"]) for b in listed] == [
        (story["a"], "alice", 3, False),
        (story["b"], "bob", 1, False),
    ]
    shown = cli_json(story["root"], "show", story["a"][:9])
    assert shown["kind"] == "batch" and [e["key"]["id"] for e in shown["edits"]] == [1, 2, 4]
    assert shown["edits"][2]["annotator"] == "carol"
    assert cli_json(story["root"], "show", "s@v2")["seq"] == 2
    text = invoke(story["root"], "show", story["b"][:9])
    assert text.exit_code == 0 and "edits (1)" in text.stdout
    h = cli_json(story["root"], "history", "s", "2")
    relabels = [e for e in h["events"] if e["change"] == "relabeled"]
    assert [(e["batch"], e["annotator"], e["reason"]) for e in relabels] == [
        (story["a"], "alice", "first pass"),
        (story["b"], "bob", "second look"),
    ]


def test_same_answers_after_reindex(story: dict[str, Any]) -> None:
    """batches, blame, impact and history answer identically from a rebuilt index."""

    def answers() -> Any:
        with Repo(story["root"]) as repo:
            return (
                repo.batches("s"),
                repo.blame("s")["table"].sort_by("id").to_pylist(),
                repo.impact(story["a"]),
                repo.history("s", "4"),
            )

    before = answers()
    with Repo(story["root"]) as repo:
        repo.reindex()
    assert answers() == before


def test_blame_of_a_csv_dataset_with_text_keys(tmp_path: Path) -> None:
    """Blame works on CSV datasets and keys that are text."""
    root = new_repo(tmp_path / "csv")
    path = write_text(root / "d.csv", "name,label\n" + "".join(f"n{i},{ANIMALS[i % 3]}\n" for i in range(5)))
    with Repo(root) as repo:
        repo.track(str(path), ["name"], ["label"])
        repo.commit(None, "v1", None)
        b = repo.relabel("d", ["n1=bird"], by="dana")
        rows = {r["name"]: r for r in repo.blame("d")["table"].to_pylist()}
    assert (rows["n1"]["batch"], rows["n1"]["author"], rows["n0"]["seq"]) == (b["batch"], "dana", 1)
