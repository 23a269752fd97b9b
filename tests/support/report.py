"""A real repository for the report tests: CIFAR-10 labels, a crowd-correction batch built from
the crowd votes, a bad batch that is reverted, quality results, an experiment and eval records."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

from tests.support import CIFAR, new_repo, run, write_text

CHECKS = """
cifar10:
  min_rows_per_class: 900
  max_class_share: 0.2
  max_drift: {label_js: 0.05}
"""


def _edits(path: Path, column: str, rows: list[tuple[int, Any, str, str, float | None]]) -> Path:
    """A relabel edits file: id, the new label, annotator, reason, confidence."""
    lines = [f"id,{column},annotator,reason,confidence"]
    for key, label, who, why, conf in rows:
        lines.append(f'{key},{label},{who},"{why}",{"" if conf is None else conf}')
    return write_text(path, "\n".join(lines) + "\n")


def eval_record(
    vid: str, seq: int, dataset: str, acc: float, f1: float, ece: float, recall: list[float], names: list[str]
) -> dict[str, Any]:
    """An eval journal record in the issue-13 convention (`kind: "eval"`)."""
    from dslineage import journal

    return {
        "kind": "eval",
        "id": journal.make_id("eval", vid, acc),
        "dataset": dataset,
        "version": vid,
        "seq": seq,
        "predictions_md5": "0" * 32,
        "accuracy": acc,
        "macro_f1": f1,
        "ece": ece,
        "per_class": [{"label": n, "recall": r, "precision": r, "support": 1000} for n, r in zip(names, recall)],
        "per_group": [],
        "flips": {},
        "author": "eval-bot",
        "timestamp": journal.now(),
    }


def build_cifar_repo(root: Path, *, evals: bool = True) -> dict[str, Any]:
    """Build the repository; return the version ids and batch ids it made."""
    from dslineage import Repo, journal

    new_repo(root)
    data = root / "data" / "cifar10.csv"
    data.parent.mkdir()
    shutil.copyfile(CIFAR / "cifar10_test_labels.csv", data)
    votes = json.loads((CIFAR / "cifar10_mturk.json").read_text())
    names = sorted({v["given_original_label_name"] for v in votes})
    (root / ".dslineage" / "checks.yaml").write_text(CHECKS, encoding="utf-8")
    run(root, "git", "add", ".dslineage/checks.yaml")
    run(root, "git", "commit", "-q", "-m", "quality rules")
    out: dict[str, Any] = {}
    with Repo(root) as repo:
        repo.track(str(data), ["id"], ["label_name"], labels_allowed=None)
        out["v1"] = repo.commit(["cifar10"], "original CIFAR-10 test labels", None)[0]["id"]
        repo.tag("cifar10@v1", "original")
        # the crowd's votes as two passes: any correction at least 2 of 5 workers chose, then the
        # stricter reading (3 of 5) putting the 2-of-5 rows back: v2 holds the majority corrections,
        # and the 2-of-5 rows carry two disagreeing ratings (the audit's agreement figure)
        loose = [
            (
                v["id"],
                v["our_guessed_label_name"],
                "mturk-2of5",
                f"mturk: {v['mturk']['guessed']}/5 guessed",
                v["mturk"]["guessed"] / 5,
            )
            for v in votes
            if v["mturk"]["guessed"] >= 2
        ]
        strict = [
            (
                v["id"],
                v["given_original_label_name"],
                "mturk-3of5",
                "mturk: no majority for the change",
                1 - v["mturk"]["guessed"] / 5,
            )
            for v in votes
            if v["mturk"]["guessed"] == 2
        ]
        out["crowd"] = repo.relabel(
            "cifar10",
            from_file=str(_edits(root.parent / "crowd.csv", "label_name", loose)),
            column="label_name",
            by="curator",
            reason="crowd votes, 2 of 5",
            commit=False,
        )["batch"]
        out["review"] = repo.relabel(
            "cifar10",
            from_file=str(_edits(root.parent / "review.csv", "label_name", strict)),
            column="label_name",
            by="curator",
            reason="crowd majority vote (3 of 5)",
        )["batch"]
        out["loose_rows"], out["strict_rows"] = len(loose), len(strict)
        out["v2"] = repo.log("cifar10")[0]["id"]
        repo.tag("cifar10@v2", "crowd-fixed")
        rng = random.Random(7)
        bad = [(k, "cat", "bob", "bulk script", None) for k in sorted(rng.sample(range(10_000), 300))]
        made = repo.relabel(
            "cifar10",
            from_file=str(_edits(root.parent / "bad.csv", "label_name", bad)),
            column="label_name",
            by="bob",
            reason="bulk fix script",
        )
        out["bad"], out["bad_rows"] = made["batch"], made["applied"]
        repo.check("cifar10@latest")
        repo.revert(out["bad"], reason="script relabeled good rows")
        out["latest"] = repo.log("cifar10")[0]["id"]
        repo.check("cifar10@latest")
        repo.audit("cifar10@latest")
        (root / "params.yaml").write_text("lr: 0.01\nepochs: 5\n", encoding="utf-8")
        (root / "metrics.json").write_text('{"accuracy": 0.93}\n', encoding="utf-8")
        run(root, "git", "add", "params.yaml", "metrics.json")
        run(root, "git", "commit", "-q", "-m", "experiment inputs")
        repo.exp_record("resnet-baseline", params=str(root / "params.yaml"), metrics=str(root / "metrics.json"))
        if evals:
            versions = list(reversed(repo.log("cifar10")))
            base = [0.95, 0.97, 0.9, 0.84, 0.93, 0.88, 0.96, 0.95, 0.97, 0.96]
            paths = []
            for i, v in enumerate(versions):
                bump = 0.004 * i if v["id"] != versions[2]["id"] else -0.03
                rec = eval_record(
                    v["id"],
                    v["seq"],
                    "cifar10",
                    0.931 + bump,
                    0.93 + bump,
                    0.041 - bump / 4,
                    [min(1.0, b + bump) for b in base],
                    names,
                )
                paths.append(journal.write(root, rec).relative_to(root).as_posix())
            run(root, "git", "add", *paths)
            run(root, "git", "commit", "-q", "-m", "dslineage: eval results")
    return out
