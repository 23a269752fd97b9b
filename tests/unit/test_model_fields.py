"""How a record's fields reach the JSON: always, only when set (`OPTIONAL`), or never (`LIBRARY_ONLY`)."""

from __future__ import annotations

import json

from dslineage.model import json_default, to_json
from dslineage.model_ops import CherryPickResult, ConflictRow, FsckProblem, MissingObject, PushResult
from dslineage.model_quality import CheckResult, RuleResult


def test_optional_keys_appear_only_when_set_and_in_field_order() -> None:
    """A rule result without detail has no `detail` key; with one, it sits after `passed`."""
    bare = RuleResult(rule="columns", column="id", value="BIGINT", threshold="int64", passed=True)
    assert list(to_json(bare)) == ["rule", "column", "value", "threshold", "passed"]
    drift = RuleResult(
        rule="max_drift", column="x", value=0.3, threshold=0.2, passed=False, detail="psi vs v1", statistic="psi"
    )
    assert list(to_json(drift)) == ["rule", "column", "value", "threshold", "passed", "detail", "statistic"]
    stored = CheckResult(
        dataset="t",
        version="v",
        seq=1,
        md5="m",
        workdir=False,
        parent=None,
        baseline=None,
        passed=True,
        results=[bare],
        stored=True,
        record="r",
        new_record=False,
    )
    assert list(to_json(stored))[-4:] == ["results", "stored", "record", "new_record"]
    assert "not_stored" not in stored and stored.get("not_stored") is None


def test_library_only_fields_stay_out_of_the_json_but_are_readable() -> None:
    """`push`'s missing objects and cherry-pick's plan are for the library and the renderer only."""
    gone = MissingObject(dataset="t", version="v", seq=1, md5="m", label="t@v1 (v)")
    push = PushResult(remote="s", versions=2, objects_pushed=1, objects_present=0, missing=[gone])
    text = json.dumps(push, default=json_default)
    assert json.loads(text) == {"remote": "s", "versions": 2, "objects_pushed": 1, "objects_present": 0}
    assert push["missing"] == [gone] and push.missing[0].label == "t@v1 (v)"
    row = ConflictRow(key={"id": 1}, column="label", current="cat", expected="dog", new="bird")
    pick = CherryPickResult(
        batch=None,
        source_batch="b",
        version=None,
        applied=0,
        conflicts=1,
        conflict_keys=[{"id": 1}],
        dataset="t",
        dry_run=True,
        conflict_rows=[row],
    )
    assert list(to_json(pick)) == ["batch", "source_batch", "version", "applied", "conflicts", "conflict_keys"]
    assert pick["conflict_rows"] == [row] and "dry_run" in pick and pick.keys()[-1] == "found_in"


def test_a_repair_names_its_action_a_problem_does_not() -> None:
    """fsck's problems and repairs share one record; only a repair has `action`."""
    problem = FsckProblem(check="leftover", severity="warning", path="x", message="m", fix="f", repairable=True)
    assert "action" not in to_json(problem)
    assert to_json(FsckProblem(**{**to_json(problem), "action": "repaired"}))["action"] == "repaired"
