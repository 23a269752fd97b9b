"""The records of `dslineage.model_quality` built from stored mappings: a stored eval result keeps
its keys as stored, and the quality findings read back from their plain form."""

from __future__ import annotations

import json

from dslineage.model import to_json
from dslineage.model_quality import AuditResult, EvalRecord, RuleResult, TargetRef


def test_eval_record_keeps_the_stored_keys_in_stored_order() -> None:
    """Every stored key, in stored order, with its value; a key the class does not declare is kept
    where it stood and one the record lacks does not appear."""
    stored = {
        "seq": 2,
        "accuracy": 0.5,
        "kind": "eval",
        "id": "e1",
        "newer_key": {"x": [1, 2]},
        "per_class": [{"label": "cat", "f1": 0.5}],
        "ece_per_class": None,
    }
    rec = EvalRecord.from_record(stored)
    assert json.dumps(to_json(rec)) == json.dumps(stored)
    assert rec.seq == 2 and rec.accuracy == 0.5 and rec.more == {"newer_key": {"x": [1, 2]}}
    assert "timestamp" not in rec and rec.get("timestamp") is None and rec["per_class"][0]["label"] == "cat"  # type: ignore[index]


def test_eval_record_coerces_by_annotation() -> None:
    """An integer accuracy reads as a float, a missing per_group as an empty list (not in the JSON)."""
    rec = EvalRecord.from_record({"accuracy": 1, "seq": "3"})
    assert rec.accuracy == 1.0 and isinstance(rec.accuracy, float) and rec.seq == 3
    assert rec.per_group == [] and list(rec) == ["accuracy", "seq"]


def test_quality_findings_read_back_from_their_plain_form() -> None:
    """A rule result, a target and a whole audit (nested findings too) survive plain JSON and back."""
    rule = {"rule": "min_rows", "column": None, "value": 3, "threshold": 5, "passed": False, "detail": "few"}
    assert to_json(RuleResult.from_dict(rule)) == rule
    target = {"dataset": "t", "id": None, "seq": None, "md5": "m", "workdir": True}
    assert to_json(TargetRef.from_dict(target)) == target
    audit = {
        "dataset": "t",
        "version": "v",
        "seq": 1,
        "md5": "m",
        "workdir": False,
        "conflicting_duplicates": {"on": ["x"], "groups": 1, "rows": 2, "examples": [{"x": 1}]},
        "leakage": {"against": target, "by_key": 1, "by_content": None, "on": ["x"]},
        "agreement": None,
        "imbalance": {"column": "label", "ratio": 2, "shares": {"a": 0.5}, "classes": 2, "rows": 4},
        "subgroups": {"max_gap": 0.1},
        "stored": True,
        "record": "r",
        "new_record": False,
    }
    got = AuditResult.from_dict(audit)
    assert got.imbalance is not None and got.imbalance.ratio == 2.0
    assert got.leakage is not None and got.leakage.against.workdir is True
    assert to_json(got) == audit
