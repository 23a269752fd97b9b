"""End to end on real data: the CIFAR-10 test labels and the 18 crowd-confirmed corrections."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from dslineage import Repo
from tests.support import CIFAR, cli_json, run, write_text

LABELS_CSV = CIFAR / "cifar10_test_labels.csv"
MTURK_JSON = CIFAR / "cifar10_mturk.json"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(  # slow: the e2e tier
        not (LABELS_CSV.exists() and MTURK_JSON.exists()),
        reason=f"CIFAR-10 label files not found in {CIFAR} (see tests/support/repos.py CIFAR)",
    ),
]


def _corrections() -> list[dict]:
    """The consensus corrections: at least 3 of 5 crowd workers chose the guessed label."""
    return [e for e in json.loads(MTURK_JSON.read_text()) if e["mturk"]["guessed"] >= 3]


def test_cifar10_commit_correct_diff_history(tmp_repo: Path):
    """10,000 labels committed, 18 corrections committed: diff, transitions and history agree."""
    fixes = {e["id"]: e for e in _corrections()}
    assert len(fixes) == 18
    path = tmp_repo / "data" / "cifar10_test.csv"
    path.parent.mkdir()
    shutil.copyfile(LABELS_CSV, path)  # into the temporary test repo only
    repo = Repo(tmp_repo)
    repo.track(str(path), ["id"], ["label", "label_name"], name="cifar")
    [v1] = repo.commit(["cifar"], "CIFAR-10 test labels as published", None)
    assert v1["rows"] == 10_000
    dist = repo.show("cifar@v1")["class_distribution"]["label_name"]
    assert len(dist) == 10 and {d["count"] for d in dist} == {1000}

    rows = list(csv.reader(io.StringIO(LABELS_CSV.read_text())))
    header, body = rows[0], rows[1:]
    for row in body:
        fix = fixes.get(int(row[0]))
        if fix:
            assert (int(row[1]), row[2]) == (fix["given_original_label"], fix["given_original_label_name"])
            row[1], row[2] = str(fix["our_guessed_label"]), fix["our_guessed_label_name"]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *body])
    write_text(path, out.getvalue())

    d = cli_json(tmp_repo, "diff", "cifar@v1")
    assert d["rows"] == {"added": 0, "removed": 0, "modified": 18, "relabeled": 18, "unchanged": 9982}
    assert d["columns"] == {"label": 18, "label_name": 18}
    expected = Counter((e["given_original_label_name"], e["our_guessed_label_name"]) for e in fixes.values())
    got = Counter({(t["from"], t["to"]): t["count"] for t in d["label_transitions"] if t["column"] == "label_name"})
    assert got == expected
    assert sum(t["count"] for t in d["label_transitions"] if t["column"] == "label") == 18
    shift = Counter()
    for (old, new), n in expected.items():
        shift[old] -= n
        shift[new] += n
    for c in d["class_distribution"]:
        if c["column"] == "label_name":
            assert (c["a"], c["b"]) == (1000, 1000 + shift[c["label"]])

    [v2] = cli_json(tmp_repo, "commit", "cifar", "-m", "apply 18 crowd-confirmed corrections (guessed >= 3/5)")
    assert (v2["relabeled"], v2["added"], v2["removed"], v2["modified"]) == (18, 0, 0, 0)
    one = min(fixes)
    h = cli_json(tmp_repo, "history", "cifar", str(one))
    e = fixes[one]
    assert [(x["seq"], x["change"], x["labels"]["label_name"]) for x in h["events"]] == [
        (1, "added", e["given_original_label_name"]),
        (2, "relabeled", e["our_guessed_label_name"]),
    ]
    assert h["events"][1]["labels"]["label"] == e["our_guessed_label"]
    assert h["events"][1]["message"].startswith("apply 18")
    untouched = cli_json(tmp_repo, "history", "cifar", "0")
    assert [(x["change"], x["labels"]["label_name"]) for x in untouched["events"]] == [("added", "cat")]
    assert run(tmp_repo, "dvc", "status").stdout.strip() == "Data and pipelines are up to date."
