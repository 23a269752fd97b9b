"""Issue 16 item 1: report, reproduce, exp, review, eval and consensus work on a directory
dataset (hive partitions of parquet parts) as on a file (real git, real DVC)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dslineage.ops.version_copy import md5_of
from tests.support import cli_json, md5, write_text
from tests.support.partitions import split_part, tracked_splits


def labels_of(top: Path) -> dict[int, str]:
    """id -> label over every part under `top`."""
    out: dict[int, str] = {}
    for p in top.rglob("*.parquet"):
        t = pq.read_table(p)
        out.update(zip(t.column("id").to_pylist(), t.column("label").to_pylist()))
    return out


@pytest.fixture
def dirrepo(tmp_repo: Path) -> Path:
    """`data/ds` v1 (three hive partitions, 50 rows, all 'cat'), then v2: 3=dog, 45=owl."""
    tracked_splits(tmp_repo, with_x=True)
    cli_json(tmp_repo, "relabel", "ds", "--set", "3=dog", "--set", "45=owl", "--reason", "two fixes")
    return tmp_repo


def test_report_of_a_directory_dataset(dirrepo: Path) -> None:
    """The report's JSON has the directory's transitions, class shift, changed rows and
    batches between v1 and v2, and the HTML report is written."""
    root = dirrepo
    rep = cli_json(root, "report", "ds", "--format", "json")
    d = rep["datasets"][0]
    assert (d["a"]["seq"], d["b"]["seq"], d["versions_total"]) == (1, 2, 2)
    assert sorted((t["from_label"], t["to_label"], t["count"]) for t in d["transitions"]) == [
        ("cat", "dog", 1),
        ("cat", "owl", 1),
    ]
    assert {s["label"]: s["delta"] for s in d["shift"]} == {"cat": -2, "dog": 1, "owl": 1}
    assert sorted((r["key"], r["new"]) for r in d["changed_rows"]) == [("3", "dog"), ("45", "owl")]
    assert d["changed_total"] == 2 and len(d["batches"]) == 1
    out = cli_json(root, "report", "ds", "-o", "rep.html")
    html = (root / "rep.html").read_text()
    assert out["charts"] and "owl" in html and (root / "rep.html").stat().st_size > 10_000
    (root / "rep.html").unlink()


def test_reproduce_puts_a_directory_version_back(dirrepo: Path, tmp_path: Path) -> None:
    """An experiment recorded at v2: `reproduce --into DIR` writes exactly v2's parts there
    (a stray file of a used target is removed with --force) and verifies the `.dir` md5;
    after a later relabel, `reproduce` in place brings v2's labels back, verified."""
    root = dirrepo
    write_text(root / "metrics.json", '{"acc": 0.9}\n')
    cli_json(root, "exp", "record", "base", "--metrics", "metrics.json")
    into = tmp_path / "into"
    write_text(into / "data" / "ds" / "split=old" / "stray.parquet", "not a part")
    out = cli_json(root, "reproduce", "base", "--into", str(into), "--force")
    assert out["verified"] and [d["seq"] for d in out["datasets"]] == [2]
    top = into / "data" / "ds"
    assert not (top / "split=old").exists()
    assert sorted(p.relative_to(top).as_posix() for p in top.rglob("*") if p.is_file()) == [
        f"split={s}/part-0.parquet" for s in ("test", "train", "val")
    ]
    assert md5_of(top) == out["datasets"][0]["md5"]
    assert md5(top / "split=train" / "part-0.parquet") == md5(split_part(root, "train"))
    cli_json(root, "relabel", "ds", "--set", "4=emu")
    out = cli_json(root, "reproduce", "base")
    assert out["verified"]
    got = labels_of(root / "data" / "ds")
    assert (got[3], got[4], got[45]) == ("dog", "cat", "owl")


def _predictions(root: Path) -> Path:
    """Predictions for every row: 'dog' with confidence 0.55 for ids < 5, else 'cat' at 0.99."""
    lines = ["id,prediction,confidence"] + [
        f"{i},{'dog' if i < 5 else 'cat'},{0.55 if i < 5 else 0.99}" for i in range(50)
    ]
    return write_text(root / ".git" / "pred.csv", "\n".join(lines) + "\n")


def test_eval_and_review_read_every_part(dirrepo: Path) -> None:
    """eval scores predictions against the labels of all 50 rows across the parts; review
    queues the least confident rows, wherever their part."""
    root = dirrepo
    pred = _predictions(root)
    ev = cli_json(root, "eval", "ds", "--predictions", str(pred))
    by_seq = {v["seq"]: v for v in ev["versions"]}
    assert by_seq[2]["accuracy"] == pytest.approx(45 / 50)  # 0, 1, 2, 4 are cats, 45 an owl
    dogs = {seq: next(c for c in v["per_class"] if c["label"] == "dog") for seq, v in by_seq.items()}
    assert (dogs[1]["support"], dogs[2]["support"], dogs[2]["recall"]) == (0, 1, 1.0)  # 3 (train) is the dog
    rv = cli_json(root, "review", "ds", "--predictions", str(pred), "--method", "least-confidence", "--limit", "5")
    keys = sorted(int(r["key"]["id"] if isinstance(r["key"], dict) else r["key"]) for r in rv["rows"][:5])
    assert keys == [0, 1, 2, 3, 4]


def test_consensus_relabels_rows_in_their_parts(dirrepo: Path) -> None:
    """Votes say 7 (train) and 33 (val) are dogs: consensus relabels exactly those two rows,
    rewriting only their parts; the test part keeps its bytes."""
    root = dirrepo
    test_part = md5(split_part(root, "test"))
    lines = ["id,annotator,label"] + [
        f"{i},{a},{'dog' if i in (7, 33) or (i == 3) else ('owl' if i == 45 else 'cat')}"
        for i in range(50)
        for a in "abc"
    ]
    votes = write_text(root / ".git" / "votes.csv", "\n".join(lines) + "\n")
    cli_json(root, "consensus", "ds", "--votes", str(votes), "--method", "majority")
    got = labels_of(root / "data" / "ds")
    assert {i for i, v in got.items() if v == "dog"} == {3, 7, 33} and got[45] == "owl"
    assert md5(split_part(root, "test")) == test_part
    assert [s["dirty"] for s in cli_json(root, "status")] == [False]
    d = cli_json(root, "diff", "ds@v2", "ds@latest")
    assert d["rows"]["relabeled"] == 2
    assert json.loads(json.dumps(d["columns"])) == {"label": 2}
