"""End to end on the real CIFAR-10 labels: both label columns (`label`, `label_name`, a declared
pair) corrected in ONE crowd batch, then history, blame, batches, audit and revert exact for both."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dslineage import Repo
from tests.support import CIFAR, cli_json, invoke, md5, new_repo, run, write_text

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(  # slow: the e2e tier
        not (CIFAR / "cifar10_test_labels.csv").exists() or not (CIFAR / "cifar10_mturk.json").exists(),
        reason=f"real CIFAR-10 data not found at {CIFAR} (see its README)",
    ),
]


def test_cifar10_one_crowd_batch_on_both_label_columns(tmp_path: Path) -> None:
    """18 majority-vote corrections of label and label_name as one relabel: every count is 18 rows."""
    root = new_repo(tmp_path / "cifar")
    data = root / "data" / "cifar10.csv"
    data.parent.mkdir()
    shutil.copyfile(CIFAR / "cifar10_test_labels.csv", data)
    original = md5(data)
    votes = json.loads((CIFAR / "cifar10_mturk.json").read_text())
    majority = sorted((v for v in votes if v["mturk"]["guessed"] >= 3), key=lambda v: v["id"])
    assert len(majority) == 18
    lines = ["id,label,label_name,annotator,reason,confidence"]
    for v in majority:
        m = v["mturk"]
        lines.append(
            f"{v['id']},{v['our_guessed_label']},{v['our_guessed_label_name']},mturk-majority,"
            f'"mturk {m["guessed"]}/5",{m["guessed"] / 5}'
        )
    crowd = write_text(tmp_path / "crowd.csv", "\n".join(lines) + "\n")
    with Repo(root) as repo:
        repo.track(
            str(data),
            ["id"],
            ["label", "label_name"],
            label_pairs=["label=label_name"],
            roles={"predictions": ["predicted_label"]},
        )
        repo.commit(["cifar10"], "original", None)
        r = repo.relabel("cifar10", from_file=str(crowd), by="curator", reason="majority vote")
        assert r["applied"] == 18 and r["by_column"] == {"label": 18, "label_name": 18} and r["seq"] == 2
        assert len(r["batches"]) == 2
        log = repo.log("cifar10")
        assert log[0]["seq"] == 2 and log[0]["changes"]["relabeled"] == 18
        before = (CIFAR / "cifar10_test_labels.csv").read_text().splitlines()
        assert sum(x != y for x, y in zip(data.read_text().splitlines(), before)) == 18

        # batches: one relabel, one row per label column, grouped, 18 rows each
        listed = cli_json(root, "batches", "cifar10")
        assert sorted((b["column"], b["rows"]) for b in listed) == [("label", 18), ("label_name", 18)]
        assert {b["group"] for b in listed} == {r["batches"][0]}
        for bid in r["batches"]:
            assert repo.batch(bid)["rows"] == 18

        # history: both columns' batch named
        first = majority[0]
        ev = repo.history("cifar10", str(first["id"]))["events"]
        assert ev[1]["labels"] == {"label": first["our_guessed_label"], "label_name": first["our_guessed_label_name"]}
        assert {x["column"]: x["batch"] for x in ev[1]["batches"]} == dict(zip(["label", "label_name"], r["batches"]))
        assert ev[1]["annotator"] == "mturk-majority"

        # blame on both columns credits the crowd batch for exactly 18 rows
        for col, bid in zip(["label", "label_name"], r["batches"]):
            b = repo.blame("cifar10", column=col)
            assert b["total"] == 10_000 and b["by_batch"] == {bid: 18}

        # audit: readable, proper JSON (no DuckDB map text)
        a = cli_json(root, "audit", "cifar10")
        assert '"key":' not in json.dumps(a["conflicting_duplicates"])
        text = invoke(root, "audit", "cifar10")
        assert text.exit_code == 0 and "key ×" not in text.stdout

        # revert: 18 rows, exactly the original bytes, history names the revert for `label`
        dry = repo.revert("cifar10@v2", dry_run=True)
        assert dry["restored"] == 18 and dry["by_column"] == {"label": 18, "label_name": 18}
        rv = repo.revert(r["batches"][0], reason="re-audit")
        assert rv["restored"] == 18 and md5(data) == original
        ev = repo.history("cifar10", str(first["id"]))["events"]
        assert ev[-1]["batch"] is not None and ev[-1]["batch"] in rv["batches"]
        for col in ("label", "label_name"):
            assert repo.blame("cifar10", column=col)["by_batch"] == {}
        # revert of the revert: blame credits the crowd batch again, restored by the new revert
        again = repo.revert(rv["batches"][0])
        for col, bid in zip(["label", "label_name"], r["batches"]):
            b = repo.blame("cifar10", column=col)
            assert b["by_batch"] == {bid: 18}
            restored = {x["restored_by"] for x in b["table"].to_pylist() if x["batch"] == bid}
            assert restored <= set(again["batches"]) and restored
    assert run(root, "git", "status", "--porcelain").stdout == ""
