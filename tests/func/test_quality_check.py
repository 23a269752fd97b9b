"""`dslineage check` and the commit gate on real git + DVC repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy.stats import ks_2samp
from typer.testing import CliRunner

from dslineage.cli.app import app
from dslineage.errors import ChecksFailedError, UsageError
from dslineage.quality import stats
from dslineage.quality.types import type_matches
from tests.support import head, run, write_parquet

RULES = """
train:
  columns: {id: int64, x: float, label: string}
  allowed_labels: [cat, dog, bird]
  ranges: {x: [0, 10]}
  max_null_fraction: {x: 0.1, "*": 0}
  unique_key: true
  min_rows_per_class: 5
  min_class_share: 0.2
  max_class_share: 0.5
  max_drift: {label_js: 0.2, numeric_ks: 0.5}
"""


def rules(root: Path, text: str = RULES) -> None:
    """Write `.dslineage/checks.yaml` (not committed: results are then not stored; see `commit_rules`)."""
    (root / ".dslineage" / "checks.yaml").write_text(text, encoding="utf-8")


def commit_rules(root: Path) -> None:
    """Commit the rules file: `check` stores results only when git holds the rules."""
    run(root, "git", "add", ".dslineage/checks.yaml")
    run(root, "git", "commit", "-q", "-m", "rules")


def bad_data(root: Path) -> None:
    """20 rows: 3 null x, one x out of range, one label outside the allowed set, 'dog' share 0.45."""
    write_parquet(
        root / "data" / "train.parquet",
        {
            "id": list(range(20)),
            "x": [None if i in (1, 2, 3) else (50.0 if i == 4 else i / 2) for i in range(20)],
            "label": ["zebra" if i == 0 else ["cat", "dog", "bird", "dog"][i % 4] for i in range(20)],
        },
    )


def by_rule(result: dict) -> dict:
    """{(rule, column[, statistic]): (value, passed)} for compact assertions."""
    return {
        (r["rule"], r["column"], *([r["statistic"]] if "statistic" in r else [])): (r["value"], r["passed"])
        for r in result["results"]
    }


def state(root: Path) -> tuple:
    """HEAD, porcelain status and the dataset bytes: what a refused command must leave alone."""
    return head(root), run(root, "git", "status", "--porcelain").stdout, (root / "data/train.parquet").read_bytes()


def test_check_working_file_measures_every_rule(committed, tmp_repo):
    """Each rule reports its measured value against its threshold on the working file."""
    rules(tmp_repo)
    bad_data(tmp_repo)
    res = committed.check("train")
    got = by_rule(res)
    assert res["workdir"] is True and res["version"] is None and res["passed"] is False
    assert got[("columns", "x")] == ("DOUBLE", True)
    assert got[("max_null_fraction", "x")] == (pytest.approx(3 / 20), False)
    assert got[("max_null_fraction", "label")] == (0.0, True)
    assert got[("ranges", "x")] == (1, False)
    assert got[("unique_key", "id")] == (0, True)
    assert got[("allowed_labels", "label")] == (1, False)
    # classes present: zebra 1, cat 4, dog 10, bird 5 (an allowed class absent would count 0)
    assert got[("min_rows_per_class", "label")] == (1, False)
    assert got[("min_class_share", "label")] == (pytest.approx(1 / 20), False)
    assert got[("max_class_share", "label")] == (pytest.approx(10 / 20), True)
    # parent v1 (bird, cat, dog) = (6, 7, 7); working file (bird, cat, dog, zebra) = (5, 4, 10, 1)
    js = stats.js_distance([6, 7, 7, 0], [5, 4, 10, 1])
    assert got[("max_drift", "label", "js")] == (pytest.approx(js), js <= 0.2)
    # x: v1 has 0, 0.5, .., 9.5; now rows 1-3 are null and row 4 is 50.0 (nulls are left out of KS)
    v1 = [i / 2 for i in range(20)]
    now = [0.0, 50.0] + [i / 2 for i in range(5, 20)]
    assert got[("max_drift", "x", "ks")] == (pytest.approx(ks_2samp(v1, now).statistic), True)
    for r in res["results"]:
        assert {"rule", "column", "value", "threshold", "passed"} <= set(r)


def test_check_without_parent_skips_drift_and_passes_clean_data(committed, tmp_repo):
    """On the first version the drift rule is skipped (no parent); clean data passes every rule."""
    rules(tmp_repo, RULES.replace("min_class_share: 0.2", "min_class_share: 0.3"))
    res = committed.check("train@v1", record=False)
    assert res["passed"] is True, [r for r in res["results"] if not r["passed"]]
    [skipped] = [r for r in res["results"] if r["rule"] == "max_drift"]
    assert skipped["detail"] == "skipped: no parent version"


def test_check_of_a_version_is_stored_once_and_shown(committed, tmp_repo):
    """Checking a committed version records the result in its own git commit, once; show and reindex see it."""
    rules(tmp_repo)
    commit_rules(tmp_repo)
    before = head(tmp_repo)
    res = committed.check("train@v1")
    assert res["stored"] is True and res["new_record"] is True
    assert res["version"] == committed.resolve("train@v1")["id"]
    after = head(tmp_repo)
    assert after != before
    files = run(tmp_repo, "git", "show", "--name-only", "--format=", "HEAD").stdout.split()
    assert len(files) == 1 and files[0].startswith(".dslineage/journal/") and "-check-" in files[0]
    again = committed.check("train@v1")
    assert again["stored"] is True and again["new_record"] is False and again["record"] == res["record"]
    assert head(tmp_repo) == after
    shown = committed.show("train@v1")["quality"]
    assert shown["checks"]["passed"] is res["passed"] and shown["checks"]["results"] == res["results"]
    committed.reindex()
    assert committed.show("train@v1")["quality"]["checks"]["results"] == res["results"]


def test_check_no_record_and_working_file_store_nothing(committed, tmp_repo):
    """--no-record, and checks of an uncommitted working file, leave git untouched."""
    rules(tmp_repo)
    before = head(tmp_repo)
    assert committed.check("train@v1", record=False)["stored"] is False
    bad_data(tmp_repo)
    assert committed.check("train")["stored"] is False
    assert head(tmp_repo) == before


def test_check_bare_name_matching_latest_is_that_version(committed, tmp_repo):
    """An unchanged working file is the latest version, so its results attach to that version."""
    rules(tmp_repo)
    res = committed.check("train", record=False)
    assert res["workdir"] is False and res["seq"] == 1


def test_check_without_rules_is_an_error(committed):
    """A dataset with no block in checks.yaml: one-line error saying how to add one."""
    with pytest.raises(UsageError, match="no rules in .dslineage/checks.yaml"):
        committed.check("train")


def test_commit_refuses_failing_version_and_changes_nothing(committed, tmp_repo):
    """A version failing its rules is refused: no version, HEAD, status and the file unchanged."""
    rules(tmp_repo)
    bad_data(tmp_repo)
    before = state(tmp_repo)
    with pytest.raises(ChecksFailedError, match=r"check\(s\) failed .*--no-verify"):
        committed.commit(["train"], "bad data", None)
    assert state(tmp_repo) == before
    assert [v["seq"] for v in committed.log("train")] == [1]


def test_commit_no_verify_records_failures_with_the_version(committed, tmp_repo):
    """--no-verify commits anyway; the version record carries the failing results and the flag."""
    rules(tmp_repo)
    bad_data(tmp_repo)
    [v] = committed.commit(["train"], "bad data, on purpose", None, no_verify=True)
    assert v["checks"]["passed"] is False and v["no_verify"] is True
    q = committed.show("train@v2")["quality"]
    assert q["no_verify"] is True and q["checks"]["at_commit"] is True
    assert ("max_null_fraction", "x") in {(r["rule"], r["column"]) for r in q["checks"]["results"] if not r["passed"]}


def test_commit_passing_version_records_results(committed, tmp_repo):
    """A passing version is committed with its check results; datasets without rules are not checked."""
    rules(tmp_repo, "train:\n  allowed_labels: [cat, dog, bird]\n")
    write_parquet(
        tmp_repo / "data" / "train.parquet",
        {
            "id": list(range(21)),
            "x": [i / 2 for i in range(21)],
            "label": [["cat", "dog", "bird"][i % 3] for i in range(21)],
        },
    )
    [v] = committed.commit(["train"], "one more row", None)
    assert v["checks"]["passed"] is True and v["no_verify"] is False
    assert committed.show("train@v2")["quality"]["checks"]["results"][0]["rule"] == "allowed_labels"


def test_commit_gate_catches_label_drift_against_parent(committed, tmp_repo):
    """A max_drift rule compares the new version with its parent: a big label shift is refused."""
    rules(tmp_repo, "train:\n  max_drift: {label_psi: 0.1}\n")
    write_parquet(
        tmp_repo / "data" / "train.parquet",
        {"id": list(range(20)), "x": [i / 2 for i in range(20)], "label": ["cat"] * 20},
    )
    with pytest.raises(ChecksFailedError, match="max_drift psi label"):
        committed.commit(["train"], "all cats", None)


def test_type_names_in_columns_rule():
    """Generic names match families, pyarrow names one DuckDB type, other names exactly."""
    assert type_matches("int", "INTEGER") and type_matches("integer", "BIGINT")
    assert type_matches("int64", "BIGINT") and not type_matches("int32", "BIGINT")
    assert type_matches("float", "DOUBLE") and type_matches("number", "DECIMAL(10,2)")
    assert type_matches("string", "VARCHAR") and type_matches("any", "BLOB")
    assert type_matches("decimal(10,2)", "DECIMAL(10,2)") and not type_matches("DOUBLE", "FLOAT")


# -- CLI --------------------------------------------------------------------------------------


def cli(root: Path, *args: str):
    """Run the CLI in `root` and return the result."""
    return CliRunner().invoke(app, ["-C", str(root), *args])


@pytest.mark.slow
def test_cli_check_table_json_and_exit_codes(committed, tmp_repo):
    """`check` prints a table and exits 3 on failure; --json follows the contract; 0 when passing."""
    rules(tmp_repo)
    bad_data(tmp_repo)
    r = cli(tmp_repo, "check", "train")
    assert r.exit_code == 3
    assert "FAILED" in r.stdout and "max_null_fraction" in r.stdout and "6 failed" in r.stdout
    r = cli(tmp_repo, "check", "train", "--json")
    data = json.loads(r.stdout)
    assert r.exit_code == 3 and {"dataset", "version", "passed", "results"} <= set(data)
    assert data["dataset"] == "train" and data["passed"] is False
    rules(tmp_repo, "train:\n  unique_key: true\n")
    r = cli(tmp_repo, "check", "train@v1", "--no-record")
    assert r.exit_code == 0 and "1 passed, 0 failed" in r.stdout


@pytest.mark.slow
def test_cli_commit_refusal_and_no_verify(committed, tmp_repo):
    """`commit` refuses (exit 3) with one line naming --no-verify; with it, the output says checks were skipped."""
    rules(tmp_repo)
    bad_data(tmp_repo)
    before = state(tmp_repo)
    r = cli(tmp_repo, "commit", "train", "-m", "bad")
    assert r.exit_code == 3 and r.stderr.count("\n") == 1 and "--no-verify" in r.stderr
    assert state(tmp_repo) == before
    r = cli(tmp_repo, "commit", "train", "-m", "bad", "--no-verify")
    assert r.exit_code == 0, r.stderr
    assert "--no-verify" in r.stdout + r.stderr
    r = cli(tmp_repo, "show", "train@v2")
    assert "--no-verify" in r.stdout and "FAILED" in r.stdout


@pytest.mark.slow
def test_console_entry_point_runs_check_and_audit(committed, tmp_repo):
    """Through the real entry point (`python -m dslineage`, which keeps pandas out): check and audit work."""
    import subprocess
    import sys

    rules(tmp_repo, "train:\n  unique_key: true\n  allowed_labels: [cat, dog, bird]\n")
    for args, code in ((["check", "train@v1", "--json", "--no-record"], 0), (["audit", "train@v1", "--json"], 0)):
        r = subprocess.run(
            [sys.executable, "-m", "dslineage", "-C", str(tmp_repo), *args], capture_output=True, text=True
        )
        assert r.returncode == code, r.stderr
        assert json.loads(r.stdout)["dataset"] == "train"
