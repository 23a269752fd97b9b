"""Shared helpers of the annotation-loop tests (review, eval): the real CIFAR-10 data and a
repository tracking it, built once per module."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CIFAR = ROOT.parent / "shared" / "data" / "cifar10"
PROBS = CIFAR / "cifar10_pred_probs.csv"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def need_cifar() -> None:
    """Skip the test when the shared CIFAR-10 folder is absent."""
    if not (CIFAR / "cifar10_test_labels.csv").is_file() or not PROBS.is_file():
        pytest.skip(f"the real CIFAR-10 data is not at {CIFAR} (see its README)")


def cifar_arrays() -> tuple[Any, Any]:
    """The given labels (0..9) and the cross-validated probabilities (10,000 × 10), in id order."""
    import numpy as np

    with (CIFAR / "cifar10_test_labels.csv").open() as f:
        labels = np.array([int(r["label"]) for r in csv.DictReader(f)])
    probs = np.loadtxt(PROBS, delimiter=",", skiprows=1)[:, 1:]
    return labels, probs


def majority_errors() -> dict[int, str]:
    """The 18 rows 3+ of 5 crowd workers relabelled: id → the guessed label name."""
    items = json.loads((CIFAR / "cifar10_mturk.json").read_text())
    return {int(e["id"]): e["our_guessed_label_name"] for e in items if e["mturk"]["guessed"] >= 3}


def cifar_repo(dest: Path) -> Path:
    """A repository tracking the CIFAR-10 test labels as dataset `cifar` (v1), key id, labels
    `label` and `label_name` (a declared pair)."""
    from dslineage import Repo
    from tests.support import new_repo

    new_repo(dest)
    (dest / "data").mkdir()
    shutil.copyfile(CIFAR / "cifar10_test_labels.csv", dest / "data" / "cifar.csv")
    with Repo(dest) as repo:
        repo.track(
            str(dest / "data" / "cifar.csv"),
            ["id"],
            ["label", "label_name"],
            label_pairs=["label=label_name"],
            roles={"predictions": ["predicted_label"]},
        )
        repo.commit(["cifar"], "CIFAR-10 test labels as given", None)
    return dest
