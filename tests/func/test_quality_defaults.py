"""Quality defaults that fit (issue 11 item 4): drift baselines, column roles, default thresholds,
label rules at relabel time, `check` committing only tracked rules, and exit code 3 for a failed gate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from dslineage import Repo
from dslineage.errors import ChecksFailedError
from tests.support import CIFAR, invoke, new_repo, run, snapshot_state, write_parquet

CLASSES = [f"c{i}" for i in range(10)]


def balanced(root: Path, n: int = 1000) -> Path:
    """`data/train.parquet`: n rows, ten classes of equal size, a numeric feature."""
    return write_parquet(
        root / "data" / "train.parquet",
        {"id": list(range(n)), "x": [float(i % 7) for i in range(n)], "label": [CLASSES[i % 10] for i in range(n)]},
    )


def rules(root: Path, text: str) -> None:
    """Write the rules file and commit it (so that `check` may store results)."""
    (root / ".dslineage" / "checks.yaml").write_text(text, encoding="utf-8")
    run(root, "git", "add", ".dslineage/checks.yaml")
    run(root, "git", "commit", "-q", "-m", "rules")


def everything_is(root: Path, label: str, keys: list[int]) -> list[str]:
    """`--set K=label` arguments for `keys`."""
    return [f"{k}={label}" for k in keys]


# -- exit codes ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_failed_gates_exit_3_and_errors_exit_1(committed, tmp_repo):
    """`check` and `drift` over a threshold and the refused commit exit 3; a real error still exits 1."""
    rules(tmp_repo, "train:\n  allowed_labels: [cat, dog, bird]\n")
    write_parquet(
        tmp_repo / "data" / "train.parquet",
        {"id": list(range(20)), "x": [float(i) for i in range(20)], "label": ["zebra"] * 20},
    )
    assert invoke(tmp_repo, "check", "train").exit_code == 3
    assert invoke(tmp_repo, "drift", "train").exit_code == 3
    r = invoke(tmp_repo, "commit", "train", "-m", "bad")
    assert r.exit_code == 3 and "--no-verify" in r.stderr
    assert ChecksFailedError("x").exit_code == 3
    assert invoke(tmp_repo, "check", "nosuch").exit_code == 1


def test_docs_document_exit_code_3():
    """The exit-code table of the docs (docs/exit-codes.md) has a row for 3 naming check, drift and the commit gate."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| 3 "))
    assert "check" in row and "drift" in row and "commit" in row


def test_statistics_packages_are_default_dependencies():
    """numpy, scipy and krippendorff are in the default dependencies, not only an extra."""
    import tomllib

    meta = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    names = {d.split(">")[0].split("<")[0].split("=")[0].strip() for d in meta["project"]["dependencies"]}
    assert {"numpy", "scipy", "krippendorff"} <= names


# -- drift baseline ----------------------------------------------------------------------------------


def _drifted_then_reverted(root: Path) -> Repo:
    """v1 balanced (gate passes), v2 a 300-row 'everything is c0' batch (check fails), v3 its revert."""
    balanced(root)
    repo = Repo(root)
    repo.track(str(root / "data" / "train.parquet"), ["id"], ["label"])
    rules(root, "train:\n  max_drift: {label_js: 0.01}\n")
    repo.commit(["train"], "v1", None)
    out = repo.relabel("train", everything_is(root, "c0", list(range(1, 301))), reason="all c0")
    assert repo.check("train@v2")["passed"] is False
    repo.revert(out["batch"])
    return repo


@pytest.mark.slow
def test_check_after_revert_compares_with_last_passing_version(tmp_repo):
    """A revert that undoes a drift passes: the baseline is the last version that passed, not the parent."""
    repo = _drifted_then_reverted(tmp_repo)
    result = repo.check("train@v3")
    assert result["passed"] is True, result["results"]
    assert result["baseline"]["seq"] == 1
    drift = [x for x in result["results"] if x["rule"] == "max_drift"]
    assert drift and all(x["value"] == pytest.approx(0) for x in drift)
    repo.close()


@pytest.mark.slow
def test_drift_bare_name_uses_the_baseline_and_against_overrides(tmp_repo):
    """`drift NAME` measures the working file against the last passing version; --against picks another."""
    repo = _drifted_then_reverted(tmp_repo)
    r = invoke(tmp_repo, "drift", "train", "--json")
    data = json.loads(r.stdout)
    assert r.exit_code == 0 and data["a"]["seq"] == 1 and not data["drifted"]
    r = invoke(tmp_repo, "drift", "train", "--against", "train@v2", "--json")
    data = json.loads(r.stdout)
    assert r.exit_code == 3 and data["a"]["seq"] == 2 and data["b"]["workdir"] is True
    r = invoke(tmp_repo, "drift", "train@v3", "--against", "train@v2", "--json")
    assert json.loads(r.stdout)["b"]["seq"] == 3
    repo.close()


@pytest.mark.slow
def test_baseline_tag_in_rules_file(tmp_repo):
    """`baseline: TAG` in checks.yaml makes drift in `check` compare with that tagged version."""
    repo = _drifted_then_reverted(tmp_repo)
    repo.tag("train@v2", "golden")
    rules(tmp_repo, "train:\n  baseline: golden\n  max_drift: {label_js: 0.01}\n")
    result = repo.check("train@v3", record=False)
    assert result["baseline"]["seq"] == 2 and result["passed"] is False
    rules(tmp_repo, "train:\n  baseline: nosuchtag\n  max_drift: {label_js: 0.01}\n")
    with pytest.raises(Exception, match="nosuchtag"):
        repo.check("train@v3", record=False)
    repo.close()


# -- default thresholds --------------------------------------------------------------------------------


def test_default_thresholds_flag_two_percent_moved_into_one_class(tmp_repo):
    """With default thresholds, 20 of 1000 rows moved into one class is drift; 19 is not."""
    balanced(tmp_repo)
    repo = Repo(tmp_repo)
    repo.track(str(tmp_repo / "data" / "train.parquet"), ["id"], ["label"])
    repo.commit(["train"], "v1", None)
    movers = [i for i in range(1000) if i % 10 != 0]
    repo.relabel("train", everything_is(tmp_repo, "c0", movers[:19]), commit=False)
    assert repo.drift("train@v1")["drifted"] is False
    repo.relabel("train", everything_is(tmp_repo, "c0", movers[19:20]), commit=False)
    result = repo.drift("train@v1")
    assert result["drifted"] is True
    shift = next(e for e in result["columns"] if e["statistic"] == "shift")
    assert shift["value"] == pytest.approx(0.02) and shift["drifted"]
    repo.close()


def test_docs_document_default_thresholds():
    """The quality-gates guide (docs/guide/quality.md) names the default drift thresholds, including the 2% shift."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "quality.md").read_text(encoding="utf-8")
    assert "label_shift" in text and "0.02" in text


# -- label rules at relabel time ---------------------------------------------------------------------


@pytest.mark.slow
def test_relabel_refuses_label_outside_allowed_labels_up_front(committed, tmp_repo):
    """`relabel --set 5=kitten` against `allowed_labels` is refused with the gate's message; nothing changes."""
    rules(tmp_repo, "train:\n  allowed_labels: [cat, dog, bird]\n")
    before = snapshot_state(tmp_repo)
    r = invoke(tmp_repo, "relabel", "train", "--set", "5=kitten")
    assert r.exit_code == 3, r.stderr
    assert "data-quality check(s) failed (train allowed_labels label" in r.stderr
    assert r.stderr.count("\n") == 1
    assert snapshot_state(tmp_repo) == before
    r = invoke(tmp_repo, "relabel", "train", "--set", "5=kitten", "--no-commit")
    assert r.exit_code == 3 and snapshot_state(tmp_repo) == before
    assert invoke(tmp_repo, "relabel", "train", "--set", "5=dog").exit_code == 0


@pytest.mark.slow
def test_relabel_refuses_batch_that_breaks_a_class_rule(committed, tmp_repo):
    """A batch that would make a class rule fail (max_class_share) is refused; one that keeps it passing is not."""
    rules(tmp_repo, "train:\n  max_class_share: 0.5\n")
    before = snapshot_state(tmp_repo)
    r = invoke(tmp_repo, "relabel", "train", *[f"--set={k}=cat" for k in range(1, 12)])
    assert r.exit_code == 3 and "max_class_share" in r.stderr
    assert snapshot_state(tmp_repo) == before
    assert invoke(tmp_repo, "relabel", "train", "--set", "1=cat").exit_code == 0


# -- check stores results only with tracked rules ------------------------------------------------------


@pytest.mark.slow
def test_check_does_not_commit_untracked_rules_results(committed, tmp_repo):
    """`check` with an untracked checks.yaml makes no git commit and says why; once committed, it stores."""
    (tmp_repo / ".dslineage" / "checks.yaml").write_text("train:\n  unique_key: true\n", encoding="utf-8")
    before = run(tmp_repo, "git", "rev-parse", "HEAD").stdout
    r = invoke(tmp_repo, "check", "train", "--json")
    data = json.loads(r.stdout)
    assert r.exit_code == 0 and data["stored"] is False and "checks.yaml" in data["not_stored"]
    assert run(tmp_repo, "git", "rev-parse", "HEAD").stdout == before
    assert "?? .dslineage/checks.yaml" in run(tmp_repo, "git", "status", "--porcelain").stdout
    r = invoke(tmp_repo, "check", "train")
    assert "not stored" in r.stderr
    run(tmp_repo, "git", "add", ".dslineage/checks.yaml")
    run(tmp_repo, "git", "commit", "-q", "-m", "rules")
    (tmp_repo / ".dslineage" / "checks.yaml").write_text("train:\n  unique_key: [id]\n", encoding="utf-8")
    assert cli_check(tmp_repo)["stored"] is False  # modified since the last commit
    run(tmp_repo, "git", "checkout", "--", ".dslineage/checks.yaml")
    assert cli_check(tmp_repo)["stored"] is True


def cli_check(root: Path) -> dict:
    """`check train --json`, parsed."""
    return json.loads(invoke(root, "check", "train", "--json").stdout)


# -- column roles ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_track_stores_column_roles_and_old_registrations_load(committed, tmp_repo):
    """`track --feature/--prediction/--group/--ignore` land in the registration; one without them loads."""
    write_parquet(
        tmp_repo / "data" / "train.parquet",
        {
            "id": list(range(20)),
            "x": [float(i) for i in range(20)],
            "label": ["cat", "dog"] * 10,
            "pred": ["cat"] * 20,
            "src": ["a", "b"] * 10,
            "note": ["n"] * 20,
        },
    )
    r = invoke(
        tmp_repo,
        "track",
        "data/train.parquet",
        "--key",
        "id",
        "--label",
        "label",
        "--feature",
        "x",
        "--prediction",
        "pred",
        "--group",
        "src",
        "--ignore",
        "note",
    )
    assert r.exit_code == 0, r.stderr
    reg = yaml.safe_load((tmp_repo / ".dslineage" / "datasets" / "train.yaml").read_text())
    assert reg["features"] == ["x"] and reg["predictions"] == ["pred"]
    assert reg["groups"] == ["src"] and reg["ignore"] == ["note"]
    ds = Repo(tmp_repo).dataset("train")
    assert ds.predictions == ["pred"]
    r = invoke(tmp_repo, "track", "data/train.parquet", "--key", "id", "--label", "label", "--prediction", "nope")
    assert r.exit_code == 2 and "nope" in r.stderr
    r = invoke(tmp_repo, "track", "data/train.parquet", "--key", "id", "--label", "label", "--prediction", "label")
    assert r.exit_code == 2


def test_old_registration_without_roles_loads(committed, tmp_repo):
    """A registration written before column roles existed loads with empty roles."""
    reg = yaml.safe_load((tmp_repo / ".dslineage" / "datasets" / "train.yaml").read_text())
    assert not {"features", "predictions", "groups", "ignore"} & set(reg)
    ds = Repo(tmp_repo).dataset("train")
    assert ds.predictions == [] and ds.features == []


def test_audit_never_counts_predictions_as_features(committed, tmp_repo):
    """Rows that differ only in the prediction column are not conflicting duplicates of each other."""
    write_parquet(
        tmp_repo / "data" / "train.parquet",
        {
            "id": list(range(6)),
            "x": [1.0, 1.0, 2.0, 2.0, 3.0, 3.0],
            "label": ["a", "b", "a", "b", "a", "a"],
            "pred": ["a", "a", "b", "b", "a", "b"],
        },
    )
    invoke(tmp_repo, "track", "data/train.parquet", "--key", "id", "--label", "label", "--prediction", "pred")
    result = Repo(tmp_repo).audit("train", record=False)
    cd = result["conflicting_duplicates"]
    assert cd["on"] == ["x"] and cd["groups"] == 2


def test_audit_uses_registered_group(committed, tmp_repo):
    """A registered --group column is the audit's subgroup column by default."""
    write_parquet(
        tmp_repo / "data" / "train.parquet",
        {
            "id": list(range(20)),
            "x": [float(i) for i in range(20)],
            "label": ["cat", "dog"] * 10,
            "src": ["a"] * 10 + ["b"] * 10,
        },
    )
    invoke(tmp_repo, "track", "data/train.parquet", "--key", "id", "--label", "label", "--group", "src")
    result = Repo(tmp_repo).audit("train", record=False, min_group_rows=1)
    assert result["subgroups"]["column"] == "src"
    assert result["conflicting_duplicates"]["on"] == ["x"]


@pytest.mark.skipif(not (CIFAR / "cifar10_test_labels.csv").exists(), reason="CIFAR-10 data not found")
def test_cifar_predicted_label_is_not_a_feature(tmp_path):
    """CIFAR-10 (id, label, label_name, predicted_label) with the prediction role: no feature, no false duplicates."""
    root = new_repo(tmp_path / "repo")
    (root / "data").mkdir()
    shutil.copyfile(CIFAR / "cifar10_test_labels.csv", root / "data" / "cifar10.csv")
    r = invoke(
        root,
        "track",
        "data/cifar10.csv",
        "--key",
        "id",
        "--label",
        "label",
        "--label",
        "label_name",
        "--prediction",
        "predicted_label",
    )
    assert r.exit_code == 0, r.stderr
    result = Repo(root).audit("cifar10", record=False)
    cd = result["conflicting_duplicates"]
    assert cd["on"] == [] and cd["groups"] == 0 and cd["rows"] == 0
