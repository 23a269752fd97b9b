"""`consensus` and `annotators` on the real CIFAR-10 crowd votes (../shared/data/cifar10/).

The data gives, per suspected error, how many of 5 workers chose the given label, the
guessed label, neither or both; it does not say which worker gave which answer. The test
turns each chosen label into one vote and hands the 5 answers of an image to workers
w1..w5 in a seeded random order (the answers are real, the worker identities made up),
then checks the batch, its revert, and `annotators`' figures against scikit-learn's kappa
and the krippendorff package computed here on the same votes.
"""

from __future__ import annotations

import itertools
import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from dslineage import Repo
from tests.support import CIFAR, md5, new_repo, write_text

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CIFAR / "cifar10_test_labels.csv").exists() or not (CIFAR / "cifar10_mturk.json").exists(),
        reason=f"real CIFAR-10 data not found at {CIFAR} (see its README)",
    ),
]
WORKERS = [f"w{i}" for i in range(1, 6)]


def _votes() -> list[dict[str, Any]]:
    """One vote per worker answer naming a class (given or guessed), workers in seeded order."""
    out = []
    for e in json.loads((CIFAR / "cifar10_mturk.json").read_text()):
        m = e["mturk"]
        answers = (
            [e["given_original_label_name"]] * m["given"]
            + [e["our_guessed_label_name"]] * m["guessed"]
            + [None] * (m["neither"] + m["both"])
        )
        order = WORKERS[:]
        random.Random(e["id"]).shuffle(order)
        out += [{"id": e["id"], "annotator": w, "label": a} for w, a in zip(order, answers) if a is not None]
    return out


def _alpha(votes: list[dict[str, Any]]) -> float:
    import krippendorff
    import numpy as np

    items = sorted({v["id"] for v in votes})
    classes = sorted({v["label"] for v in votes})
    data = np.full((len(WORKERS), len(items)), np.nan)
    for v in votes:
        data[WORKERS.index(v["annotator"]), items.index(v["id"])] = classes.index(v["label"])
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def _mean_kappa(votes: list[dict[str, Any]]) -> float:
    import math

    from sklearn.metrics import cohen_kappa_score

    by = {w: {v["id"]: v["label"] for v in votes if v["annotator"] == w} for w in WORKERS}
    kappas = []
    for a, b in itertools.combinations(WORKERS, 2):
        shared = sorted(set(by[a]) & set(by[b]))
        k = cohen_kappa_score([by[a][i] for i in shared], [by[b][i] for i in shared])
        if not math.isnan(k):
            kappas.append(k)
    return sum(kappas) / len(kappas)


def test_cifar10_crowd_votes_consensus_batch_and_annotator_figures(tmp_path: Path) -> None:
    """Majority consensus (ties queued) relabels exactly the images most workers moved; annotators
    matches sklearn kappa / krippendorff alpha; the batch reverts to the original bytes."""
    root = new_repo(tmp_path / "cifar")
    data = root / "data" / "cifar10.csv"
    data.parent.mkdir()
    shutil.copyfile(CIFAR / "cifar10_test_labels.csv", data)
    original = md5(data)
    votes = _votes()
    path = write_text(
        tmp_path / "votes.csv",
        "id,annotator,label\n" + "".join(f"{v['id']},{v['annotator']},{v['label']}\n" for v in votes),
    )
    given = {e["id"]: e for e in json.loads((CIFAR / "cifar10_mturk.json").read_text())}
    moved = {i for i, e in given.items() if e["mturk"]["guessed"] > e["mturk"]["given"]}
    tied = {i for i, e in given.items() if e["mturk"]["guessed"] == e["mturk"]["given"] > 0}
    voted = {v["id"] for v in votes}
    assert len(moved) >= 18 and {i for i, e in given.items() if e["mturk"]["guessed"] >= 3} <= moved
    with Repo(root) as repo:
        repo.track(str(data), ["id"], ["label_name"], labels_allowed=None)
        repo.commit(["cifar10"], "original CIFAR-10 test labels", None)
        r = repo.consensus(
            "cifar10",
            votes=str(path),
            method="majority",
            min_agreement=0.51,
            by="curator",
            reason="mturk re-verification",
        )
        assert (r.applied, r.queued, r.rows_voted) == (len(moved), len(tied), len(voted))
        assert r.confirmed == len(voted) - len(moved) - len(tied)
        batch = repo.batch(r.batch)
        assert {e["key"]["id"] for e in batch["edits"]} == moved
        assert all(e["new"] == given[e["key"]["id"]]["our_guessed_label_name"] for e in batch["edits"])
        assert r.agreement.alpha == pytest.approx(_alpha(votes), abs=1e-9)
        assert r.agreement.mean_kappa == pytest.approx(_mean_kappa(votes), abs=1e-9)

        ann = repo.annotators("cifar10")
        assert ann.alpha == pytest.approx(_alpha(votes), abs=1e-9)
        consensus = {
            i: (given[i]["our_guessed_label_name"] if i in moved else given[i]["given_original_label_name"])
            for i in voted
            if i not in tied
        }
        for a in ann.annotators:
            mine = [v for v in votes if v["annotator"] == a.annotator]
            assert a.votes == len(mine) and a.batches == 1
            decided = [v for v in mine if v["id"] in consensus]
            agree = sum(v["label"] == consensus[v["id"]] for v in decided)
            # tied rows have a consensus too (either label); they count as agreeing when it is theirs
            assert agree <= a.agreement_with_consensus * a.votes <= agree + (len(mine) - len(decided))
            assert a.skill == pytest.approx(a.agreement_with_consensus)  # majority vote: skill = agreement
        repo.revert(r.batch)
        assert md5(data) == original
        assert repo.annotators("cifar10").annotators == []
