"""`dslineage eval`: a fixed model's metrics under each label version, checked against
scikit-learn computed independently, stored per version and shown by `show` (issue 13 item 3)."""

from __future__ import annotations

import numpy as np
import pytest

from dslineage import Repo
from tests.support import cli_json, invoke, snapshot_state, write_text
from tests.support.annotation import CLASSES, PROBS, cifar_arrays, cifar_repo, majority_errors, need_cifar

pytestmark = pytest.mark.slow  # the e2e tier: `pytest -m "not slow"` leaves it out

NAMES = ["bird", "cat", "dog"]


def _brute_ece(conf, correct, bins=15):
    """ECE the slow way: a loop over rows and bins (lower edge exclusive, upper inclusive)."""
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [i for i, c in enumerate(conf) if (lo < c <= hi) or (b == 0 and c == 0)]
        if inside:
            acc = sum(correct[i] for i in inside) / len(inside)
            mean = sum(conf[i] for i in inside) / len(inside)
            total += len(inside) / len(conf) * abs(acc - mean)
    return total


@pytest.fixture
def two_versions(committed, make_dataset, tmp_path):
    """`train` v1 (20 rows) and v2 (rows 1, 2, 3 relabeled); probabilities for every row; subgroups."""
    rng = np.random.default_rng(7)
    probs = rng.dirichlet([1.0, 1.0, 1.0], size=20).round(6)
    probs[:, 2] = 1.0 - probs[:, 0] - probs[:, 1]
    lines = ["id," + ",".join(NAMES)] + [f"{i}," + ",".join(f"{x:.6f}" for x in probs[i]) for i in range(20)]
    pred = write_text(tmp_path / "pred.csv", "\n".join(lines) + "\n")
    make_dataset(src=["a" if i % 2 else "b" for i in range(20)])
    committed.commit(["train"], "with src", None)
    committed.relabel("train", ["1=bird", "2=cat", "3=dog"], reason="fix")
    return committed, pred, probs


def test_eval_equals_sklearn_and_counts_flips(two_versions):
    """Accuracy, macro F1, per-class P/R/F1/support, ECE and subgroup error equal an independent
    computation; flips count rows whose correctness changed between the versions."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    repo, pred, probs = two_versions
    r = repo.eval("train", predictions=str(pred), versions="v2..v3", group="src")
    assert [v.seq for v in r.versions] == [2, 3] and len(r.predictions_md5) == 32
    y_pred = [NAMES[int(i)] for i in probs.argmax(axis=1)]
    truths = []
    for v in r.versions:
        truth = [row["label"] for row in _labels(repo, f"train@v{v.seq}")]
        truths.append(truth)
        assert v.accuracy == pytest.approx(accuracy_score(truth, y_pred))
        assert v.macro_f1 == pytest.approx(f1_score(truth, y_pred, average="macro", zero_division=0))
        labels = sorted(set(truth) | set(y_pred))
        p, rec, f, s = precision_recall_fscore_support(truth, y_pred, labels=labels, zero_division=0)
        got = {c.label: c for c in v.per_class}
        for i, lab in enumerate(labels):
            assert (got[lab].precision, got[lab].recall, got[lab].f1, got[lab].support) == pytest.approx(
                (p[i], rec[i], f[i], s[i])
            )
        wf = f1_score(truth, y_pred, average="weighted", zero_division=0)
        assert got["weighted avg"].f1 == pytest.approx(wf)
        correct = [a == b for a, b in zip(truth, y_pred)]
        assert v.ece == pytest.approx(_brute_ece(list(probs.max(axis=1)), correct))
        for g in v.per_group:
            idx = [i for i in range(20) if ("a" if i % 2 else "b") == g.value]
            assert g.rows == len(idx) and g.error_rate == pytest.approx(sum(not correct[i] for i in idx) / len(idx))
    c0 = [a == b for a, b in zip(truths[0], y_pred)]
    c1 = [a == b for a, b in zip(truths[1], y_pred)]
    assert r.versions[0].flips.to_wrong is None
    assert r.versions[1].flips.to_wrong == sum(a and not b for a, b in zip(c0, c1))
    assert r.versions[1].flips.to_right == sum(b and not a for a, b in zip(c0, c1))
    assert r.versions[1].flips.to_wrong + r.versions[1].flips.to_right >= 1
    stored = next(s for s in repo.eval_results("train") if s["seq"] == 3)
    for j, c in enumerate(NAMES):  # class-wise ECE: column c's probability against "the label is c"
        assert stored["ece_per_class"][c] == pytest.approx(_brute_ece(list(probs[:, j]), [t == c for t in truths[1]]))


def _labels(repo, ref):
    import duckdb

    from dslineage.core import common
    from dslineage.core.refs import resolve

    ds, v = resolve(repo, ref)
    path = common.version_path(repo, ds, v)
    con = duckdb.connect()
    try:
        rows = con.execute("SELECT id, label FROM read_parquet(?) ORDER BY id", [str(path)]).fetchall()
    finally:
        con.close()
    return [{"id": i, "label": lab} for i, lab in rows]


def test_results_are_stored_per_version_and_shown(two_versions):
    """One record per version keyed by the predictions md5; the same result is not stored twice;
    `show NAME@vN` lists it; a later version is comparable with the same predictions."""
    repo, pred, _ = two_versions
    r = repo.eval("train", predictions=str(pred))
    assert [v.seq for v in r.versions] == [1, 2, 3]
    stored = repo.eval_results("train")
    assert [s["seq"] for s in stored] == [1, 2, 3]
    assert all(s["predictions_md5"] == r.predictions_md5 for s in stored)
    keys = {"version", "seq", "accuracy", "macro_f1", "ece", "per_class", "per_group", "flips"}
    assert keys <= set(stored[0])
    repo.eval("train", predictions=str(pred))
    assert len(repo.eval_results("train")) == 3
    shown = repo.show("train@v3")["quality"]["eval"]
    assert len(shown) == 1 and shown[0]["accuracy"] == pytest.approx(r.versions[-1].accuracy)
    repo.relabel("train", ["5=cat"], reason="later fix")
    later = repo.eval("train@latest", predictions=str(pred))
    assert later.predictions_md5 == r.predictions_md5 and [v.seq for v in later.versions] == [4]
    root = repo.root
    repo.close()
    text = invoke(root, "show", "train@v3")
    assert text.exit_code == 0 and "eval" in text.stdout and r.predictions_md5[:8] in text.stdout


def test_version_selection(two_versions):
    """`--versions v1,latest` and `A..B`; B not descending from A is refused."""
    repo, pred, _ = two_versions
    r = repo.eval("train", predictions=str(pred), versions="v1,latest", record=False)
    assert [v.seq for v in r.versions] == [1, 3] and r.versions[1].flips.to_wrong is not None
    r = repo.eval("train", predictions=str(pred), versions="v2..latest", record=False)
    assert [v.seq for v in r.versions] == [2, 3]
    with pytest.raises(Exception, match="not an ancestor"):
        repo.eval("train", predictions=str(pred), versions="v3..v1", record=False)
    assert repo.eval_results("train") == []


def test_cli_eval_json_contract_and_errors(two_versions, tmp_path):
    """`eval --json` has exactly the contract's keys; --classes restricts per_class; bad input is one line."""
    repo, pred, _ = two_versions
    root = repo.root
    repo.close()
    data = cli_json(
        root,
        "eval",
        "train",
        "--predictions",
        str(pred),
        "--versions",
        "v2..v3",
        "--group",
        "src",
        "--classes",
        "cat,dog",
    )
    assert set(data) == {"dataset", "predictions_md5", "versions"}
    v = data["versions"][1]
    assert set(v) == {"version", "seq", "accuracy", "macro_f1", "ece", "per_class", "per_group", "flips"}
    assert set(v["per_class"][0]) == {"label", "precision", "recall", "f1", "support"}
    assert set(v["per_group"][0]) == {"group", "value", "error_rate", "rows"}
    assert set(v["flips"]) == {"to_wrong", "to_right"}
    assert [c["label"] for c in v["per_class"]] == ["cat", "dog", "macro avg", "weighted avg"]
    text = invoke(root, "eval", "train", "--predictions", str(pred), "--no-record")
    assert text.exit_code == 0 and "macro F1" in text.stdout
    before = snapshot_state(root)
    for args, problem in ((["--classes", "fish"], "not in train's label set"), (["--versions", "v9"], "v9")):
        res = invoke(root, "eval", "train", "--predictions", str(pred), *args)
        assert res.exit_code != 0 and problem in res.stderr and len(res.stderr.strip().splitlines()) == 1
    empty = write_text(tmp_path / "empty.csv", "")
    res = invoke(root, "eval", "train", "--predictions", str(empty))
    assert res.exit_code == 1 and "empty" in res.stderr
    assert snapshot_state(root) == before


def test_cifar10_original_and_crowd_corrected(tmp_path):
    """On CIFAR-10: the original labels (v1) and the 18 majority-confirmed corrections (v2) scored
    with the real cross-validated probabilities equal scikit-learn; the flipped rows are the
    corrected rows whose new label the model predicts (or no longer predicts)."""
    need_cifar()
    from sklearn.metrics import accuracy_score, f1_score

    root = cifar_repo(tmp_path / "cifar")
    labels, probs = cifar_arrays()
    fixes = majority_errors()
    with Repo(root) as repo:
        repo.relabel(
            "cifar",
            [f"{k}={v}" for k, v in sorted(fixes.items())],
            column="label_name",
            reason="crowd majority (3+ of 5)",
        )
        r = repo.eval("cifar", predictions=str(PROBS))
    y_pred = [CLASSES[int(i)] for i in probs.argmax(axis=1)]
    y1 = [CLASSES[int(i)] for i in labels]
    y2 = [fixes.get(i, y) for i, y in enumerate(y1)]
    for v, truth in zip(r.versions, (y1, y2)):
        assert v.accuracy == pytest.approx(accuracy_score(truth, y_pred))
        assert v.macro_f1 == pytest.approx(f1_score(truth, y_pred, average="macro"))
    to_right = [i for i in fixes if y_pred[i] == y2[i] and y_pred[i] != y1[i]]
    to_wrong = [i for i in fixes if y_pred[i] == y1[i] and y_pred[i] != y2[i]]
    assert r.versions[1].flips.to_right == len(to_right) and r.versions[1].flips.to_wrong == len(to_wrong)
    print(
        f"\nCIFAR-10 eval: v1 accuracy {r.versions[0].accuracy:.4f} macro F1 {r.versions[0].macro_f1:.4f} "
        f"ECE {r.versions[0].ece:.4f}; v2 accuracy {r.versions[1].accuracy:.4f} macro F1 "
        f"{r.versions[1].macro_f1:.4f} ECE {r.versions[1].ece:.4f}; flips to right {len(to_right)} "
        f"(ids {sorted(to_right)}), to wrong {len(to_wrong)}"
    )


def test_predicted_label_and_confidence_shape(two_versions, tmp_path):
    """Key + predicted label + confidence: accuracy as scikit-learn's, ECE from the given confidence."""
    from sklearn.metrics import accuracy_score

    repo, _, _ = two_versions
    predicted = [["cat", "dog", "bird"][(i * 2) % 3] for i in range(20)]
    conf = [0.4 + (i % 5) / 10 for i in range(20)]
    lines = ["id,predicted,confidence"] + [f"{i},{predicted[i]},{conf[i]}" for i in range(20)]
    pred = write_text(tmp_path / "lab.csv", "\n".join(lines) + "\n")
    r = repo.eval("train@v3", predictions=str(pred), record=False)
    truth = [row["label"] for row in _labels(repo, "train@v3")]
    assert r.versions[0].accuracy == pytest.approx(accuracy_score(truth, predicted))
    correct = [a == b for a, b in zip(truth, predicted)]
    assert r.versions[0].ece == pytest.approx(_brute_ece(conf, correct))
