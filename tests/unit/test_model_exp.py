"""The run, experiment, reproduction and lineage records (`dslineage.model_exp`,
`dslineage.model_lineage`): built from their stored or plain forms, their JSON keys in
contract order, optional keys only when set."""

from __future__ import annotations

import json

from dslineage.model import json_default, to_json
from dslineage.model_base import from_mapping
from dslineage.model_exp import (
    DatasetChange,
    Experiment,
    ExperimentSummary,
    StageRun,
    StageUpToDate,
    Transformation,
    VersionRef,
)
from dslineage.model_lineage import BatchImpact, GraphNode, Lineage, RunImpact

_TRANSFORMATION = {
    "format": 1,
    "kind": "transformation",
    "id": "t1",
    "timestamp": "2026-01-01T00:00:00+00:00",
    "stage": "prep",
    "cmd": "python prep.py",
    "git_commit": None,
    "code_dirty": ["prep.py"],
    "params": {"params.yaml": {"lr": 0.1}},
    "inputs": [{"path": "a", "md5": "m", "dataset": None, "version": None, "seq": None}],
    "outputs": [],
    "started": None,
    "ended": "2026-01-01T00:00:01+00:00",
    "author": "ann",
    "source": "run",
    "lock_signature": "s",
}


def test_transformation_from_its_journal_record_keeps_only_the_contract_keys_in_order() -> None:
    """A transformation record becomes a sync entry: its declared keys, in field order, nothing else."""
    t = Transformation.from_dict(_TRANSFORMATION)
    assert list(to_json(t)) == [  # type: ignore[arg-type]
        "id",
        "stage",
        "cmd",
        "git_commit",
        "source",
        "started",
        "ended",
        "inputs",
        "outputs",
        "params",
    ]
    assert t.params == {"params.yaml": {"lr": 0.1}} and t.inputs[0]["path"] == "a" and t.started is None


def test_a_stage_run_built_from_its_record_ran_and_tracked_nothing_yet() -> None:
    """`run` builds its result from the record it wrote: `ran` true, `tracked` empty, record-only keys dropped."""
    r = from_mapping(StageRun, _TRANSFORMATION, transformation="t1", git_commit="c2", code_commit=None, versions=[])
    data = to_json(r)
    assert isinstance(data, dict)
    assert list(data)[:3] == ["stage", "transformation", "cmd"] and list(data)[-2:] == ["ran", "tracked"]
    assert data["ran"] is True and data["tracked"] == [] and data["code_dirty"] == ["prep.py"]
    assert "author" not in data and "lock_signature" not in data


def test_an_up_to_date_stage_keeps_the_older_key_order() -> None:
    """The up-to-date result's keys are its own contract (ran second, git_commit last)."""
    r = StageUpToDate(
        stage="s",
        ran=False,
        transformation=None,
        cmd="c",
        inputs=[],
        outputs=[],
        tracked=[],
        versions=[],
        git_commit=None,
    )
    assert list(to_json(r)) == [  # type: ignore[arg-type]
        "stage",
        "ran",
        "transformation",
        "cmd",
        "inputs",
        "outputs",
        "tracked",
        "versions",
        "git_commit",
    ]


def test_a_dataset_change_has_transitions_or_an_error_only_when_there_are_some() -> None:
    """`label_transitions` and `error` appear only when set; `rows` is always there (null: not computed)."""
    one_sided = DatasetChange(name="d", a=None, b=VersionRef(version="v", seq=2, md5="m"), rows=None)
    assert json.loads(json.dumps(one_sided, default=json_default)) == {
        "name": "d",
        "a": None,
        "b": {"version": "v", "seq": 2, "md5": "m"},
        "rows": None,
    }
    failed = DatasetChange(name="d", a=None, b=None, rows=None, error="no cache object")
    assert list(to_json(failed)) == ["name", "a", "b", "rows", "error"]  # type: ignore[arg-type]
    counted = DatasetChange(name="d", a=None, b=None, rows={"added": 1}, label_transitions=[])
    assert list(to_json(counted)) == ["name", "a", "b", "rows", "label_transitions"]  # type: ignore[arg-type]


def test_experiment_records_count_and_read_their_datasets() -> None:
    """A summary counts the versions used; the full record reads each one, whatever the types stored."""
    rec = {
        "id": "e1",
        "name": "base",
        "timestamp": "t",
        "author": None,
        "datasets": [{"md5": "m", "name": "train", "path": "p", "seq": "3", "version": "v"}],
    }
    assert ExperimentSummary.from_record(rec).datasets == 1
    e = Experiment.from_record(rec, runs=2)
    assert e.datasets[0].seq == 3 and e.author == "" and e.runs == 2 and e.metrics == {}


def test_graph_records_from_their_plain_forms() -> None:
    """A node keeps what its kind adds under `more`; an impact entry's optional keys stay absent
    when the plain form lacks them; a batch impact with no count says 0 still in the latest."""
    node = {"id": "n", "kind": "version", "label": "d@v1", "dataset": "d", "seq": 1}
    assert GraphNode.from_dict(node).more == {"dataset": "d", "seq": 1}
    assert to_json(GraphNode.from_dict(node)) == node
    run = RunImpact.from_dict({"id": "t", "kind": "transformation", "label": "stage s", "stage": "s"})
    assert run.consumed is None and run.rerun_since is False and "name" not in to_json(run)  # type: ignore[operator]
    g = Lineage.from_dict(
        {"root": None, "direction": "both", "depth": None, "nodes": [node], "edges": [], "warnings": [], "chains": []}
    )
    assert g.events is None and "events" not in to_json(g)  # type: ignore[operator]
    b = BatchImpact.from_dict(
        {
            "batch": "b",
            "dataset": "d",
            "state": "applied",
            "versions": [
                {"dataset": "d", "version": "v", "seq": 2, "rows": 1, "timestamp": "t", "message": "m", "latest": True}
            ],
            "node": node,
        }
    )
    assert b.still_in_latest == 0 and b.versions[0].latest and b.column is None and b.reverted is False
