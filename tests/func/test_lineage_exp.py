"""`dslineage exp record|list|show|diff` on a real pipeline repository."""

from __future__ import annotations

import json

import pytest

from dslineage import Repo
from tests.support import head, run, write_parquet
from tests.support.lineage import cli, raw_data, snapshot


@pytest.mark.slow
def test_record_defaults_to_every_dataset_as_it_is_now(pipeline):
    """exp record: each tracked dataset at its current version, params.yaml, metrics, the code
    commit and the dvc.lock stages with their transformation; committed to git."""
    (pipeline / "metrics.json").write_text('{"acc": 0.81, "loss": {"val": 0.4}}')
    code = head(pipeline)
    r = cli(pipeline, "exp", "record", "base", "--metrics", str(pipeline / "metrics.json"), "--json")
    assert r.exit_code == 0, r.output
    e = json.loads(r.stdout)
    assert {(d["name"], d["seq"]) for d in e["datasets"]} == {("raw", 1), ("clean", 1)}
    assert e["params"] == {"thr": 2} and e["metrics"] == {"acc": 0.81, "loss": {"val": 0.4}}
    assert e["git_commit"] == code and e["recorded_commit"] == head(pipeline)
    with Repo(pipeline) as repo:
        [t] = repo.index.records("transformation")
    assert e["pipeline"]["prep"]["transformation"] == t["id"]
    assert e["pipeline"]["prep"]["outs"] == {"data/clean.parquet": t["outputs"][0]["md5"]}
    assert run(pipeline, "git", "status", "--porcelain").stdout.strip() == "?? metrics.json"


def test_list_show_and_a_second_run_of_the_same_name(pipeline):
    """Recording a name again is a new run: list shows both, show gives the newest and counts runs."""
    with Repo(pipeline) as repo:
        first = repo.exp_record("base")
        second = repo.exp_record("base", data=["raw@v1"], message="only raw")
        assert [e["id"] for e in repo.exp_list()] == [second["id"], first["id"]]
        shown = repo.exp_show("base")
        assert shown["id"] == second["id"] and shown["runs"] == 2 and len(shown["datasets"]) == 1
        assert repo.exp_show(first["id"][:8])["id"] == first["id"]
    r = cli(pipeline, "exp", "list")
    assert r.exit_code == 0 and r.stdout.count("base") == 2


def test_diff_names_datasets_params_and_metrics_that_differ(pipeline):
    """exp diff: the relabeled dataset with row-level counts, the changed param and metric."""
    (pipeline / "m.json").write_text('{"acc": 0.8}')
    with Repo(pipeline) as repo:
        repo.exp_record("a", metrics=str(pipeline / "m.json"))
        write_parquet(pipeline / "data" / "raw.parquet", raw_data(relabel={0: "zebra", 1: "zebra"}))
        repo.commit(["raw"], "two relabels", None)
    (pipeline / "params.yaml").write_text("thr: 2\nseed: 7\n")
    (pipeline / "m.json").write_text('{"acc": 0.9}')
    r = cli(
        pipeline,
        "exp",
        "record",
        "b",
        "--metrics",
        str(pipeline / "m.json"),
        "--data",
        "raw@v2",
        "--data",
        "clean@v1",
        "--json",
    )
    assert r.exit_code == 0, r.output
    r = cli(pipeline, "exp", "diff", "a", "b", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    [ds] = d["datasets"]
    assert ds["name"] == "raw" and (ds["a"]["seq"], ds["b"]["seq"]) == (1, 2)
    assert ds["rows"]["relabeled"] == 2 and ds["rows"]["added"] == 0
    assert d["params"] == [{"key": "seed", "a": None, "b": 7}]
    assert d["metrics"] == [{"key": "acc", "a": 0.8, "b": 0.9}]
    human = cli(pipeline, "exp", "diff", "a", "b")
    assert human.exit_code == 0 and "raw" in human.stdout and "acc" in human.stdout


def test_unknown_experiment_and_dirty_data_are_one_line_errors(pipeline):
    """Unknown experiment names the known ones; a dirty dataset without --data is refused;
    nothing changes either way."""
    before = snapshot(pipeline)
    r = cli(pipeline, "exp", "show", "nope")
    assert r.exit_code == 1 and r.stderr.startswith("error: unknown experiment 'nope'")
    write_parquet(pipeline / "data" / "raw.parquet", raw_data(relabel={3: "zebra"}))
    before = snapshot(pipeline)
    r = cli(pipeline, "exp", "record", "dirty")
    assert r.exit_code == 1 and "has uncommitted changes" in r.stderr and "--data NAME@REF" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert snapshot(pipeline) == before
