"""End to end on real data: the CIFAR-10 test labels and the crowd votes on suspected errors.

Commit the original labels; apply the 18 majority-vote corrections (guessed label chosen by
at least 3 of 5 workers) as edit batches on both label columns, with the votes as provenance;
check diff, history and blame; revert and get the original file (md5) back.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dslineage import Repo
from tests.support import CIFAR, md5, new_repo, run, write_text

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(  # slow: the e2e tier
        not (CIFAR / "cifar10_test_labels.csv").exists() or not (CIFAR / "cifar10_mturk.json").exists(),
        reason=f"real CIFAR-10 data not found at {CIFAR} (see its README)",
    ),
]


def test_cifar10_majority_vote_corrections_as_batches(tmp_path: Path) -> None:
    """18 corrections with vote provenance: diff, history and blame show them; revert restores the md5."""
    root = new_repo(tmp_path / "cifar")
    data = root / "data" / "cifar10.csv"
    data.parent.mkdir()
    shutil.copyfile(CIFAR / "cifar10_test_labels.csv", data)
    original = md5(data)
    votes = json.loads((CIFAR / "cifar10_mturk.json").read_text())
    majority = sorted((v for v in votes if v["mturk"]["guessed"] >= 3), key=lambda v: v["id"])
    assert len(majority) == 18

    def edits(column: str, field: str) -> Path:
        lines = [f"id,{column},annotator,reason,confidence"]
        for v in majority:
            m = v["mturk"]
            why = f"mturk: {m['guessed']}/5 guessed, {m['given']} given, {m['neither']} neither, {m['both']} both"
            lines.append(f'{v["id"]},{v[field]},mturk-majority,"{why}",{m["guessed"] / 5}')
        return write_text(tmp_path / f"{column}.csv", "\n".join(lines) + "\n")

    names = sorted({v["given_original_label_name"] for v in votes})
    with Repo(root) as repo:
        repo.track(str(data), ["id"], ["label", "label_name"], labels_allowed=None)
        v1 = repo.commit(["cifar10"], "original CIFAR-10 test labels", None)[0]
        a = repo.relabel(
            "cifar10",
            from_file=str(edits("label", "our_guessed_label")),
            column="label",
            by="curator",
            reason="majority vote",
            commit=False,
        )
        b = repo.relabel(
            "cifar10",
            from_file=str(edits("label_name", "our_guessed_label_name")),
            column="label_name",
            by="curator",
            reason="majority vote",
        )
        assert a["applied"] == b["applied"] == 18 and b["seq"] == 2
        changed = data.read_text().splitlines()
        before = (CIFAR / "cifar10_test_labels.csv").read_text().splitlines()
        assert sum(x != y for x, y in zip(changed, before)) == 18  # nothing else moved

        d = repo.diff("cifar10@v1", "cifar10@v2")
        assert d["rows"]["relabeled"] == 18 and d["rows"]["added"] == d["rows"]["removed"] == 0
        moved = {(t["from"], t["to"]): t["count"] for t in d["label_transitions"] if t["column"] == "label_name"}
        expect: dict[tuple[str, str], int] = {}
        for v in majority:
            pair = (v["given_original_label_name"], v["our_guessed_label_name"])
            expect[pair] = expect.get(pair, 0) + 1
        assert moved == expect and set(x for pair in moved for x in pair) <= set(names)

        first = majority[0]
        ev = repo.history("cifar10", str(first["id"]))["events"]
        assert [e["change"] for e in ev] == ["added", "relabeled"]
        assert ev[1]["labels"] == {"label": first["our_guessed_label"], "label_name": first["our_guessed_label_name"]}
        assert ev[1]["annotator"] == "mturk-majority" and ev[1]["reason"].startswith("mturk: ")
        assert ev[1]["batch"] in (a["batch"], b["batch"])

        blame = repo.blame("cifar10", column="label_name")
        assert blame["total"] == 10_000 and blame["by_batch"] == {b["batch"]: 18}
        assert blame["by_author"]["mturk-majority"] == 18
        assert repo.blame("cifar10", column="label", batch=a["batch"][:8])["total"] == 18

        r = repo.revert("cifar10@v2", reason="re-audit")
        assert (r["restored"], r["conflicts"], len(r["batches"])) == (18, 0, 2)  # rows, not cells
        assert md5(data) == original == repo.log("cifar10")[0]["md5"] == v1["md5"]
    assert run(root, "git", "status", "--porcelain").stdout == ""
