"""`dslineage lineage` and `dslineage impact` on the lineage graph: contracts, formats,
OpenLineage events (validated with openlineage-python's models), batches, re-runs."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from dslineage import Repo
from dslineage.core import graph as lineage_graph
from dslineage.ops import lineage_openlineage as openlineage
from tests.support.lineage import cli, prep_args, snapshot


def graph(root, *args: str) -> dict[str, Any]:
    """`lineage ARGS --json` parsed."""
    r = cli(root, "lineage", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def labels(result: dict[str, Any]) -> set[str]:
    """Node labels of a lineage result, without the id suffixes."""
    return {n["label"].split(" (")[0] for n in result["nodes"]}


def test_json_contract_directions_and_depth(pipeline):
    """Nodes carry id/kind/label, edges from/to/kind; --upstream, --downstream and --depth
    limit what is shown."""
    with Repo(pipeline) as repo:
        repo.exp_record("base")
    both = graph(pipeline, "clean@v1")
    assert all({"id", "kind", "label"} <= set(n) for n in both["nodes"])
    assert all({"from", "to", "kind"} <= set(e) for e in both["edges"])
    assert {n["kind"] for n in both["nodes"]} == {"version", "transformation", "experiment", "artifact"}
    assert labels(both) == {"raw@v1", "stage prep", "clean@v1", "exp base", "prep.py"}  # code is an input too
    upstream = {"raw@v1", "stage prep", "clean@v1", "exp base", "prep.py"}
    assert labels(graph(pipeline, "exp:base", "--upstream")) == upstream
    assert labels(graph(pipeline, "raw@v1", "--downstream", "--depth", "1")) == {"raw@v1", "stage prep", "exp base"}
    assert labels(graph(pipeline, "stage:prep", "--upstream")) == {"raw@v1", "stage prep", "prep.py"}
    kinds = {(e["kind"]) for e in both["edges"]}
    assert kinds == {"input", "output"}


def test_tree_dot_and_mermaid_show_every_node_and_edge(pipeline):
    """The text formats name every node; dot and mermaid have one line per edge."""
    result = graph(pipeline, "raw@v1")
    tree = cli(pipeline, "lineage", "raw@v1").stdout
    assert tree.splitlines()[0].startswith("raw@v1") and "-> clean@v1" in tree and "-> stage prep" in tree
    dot = cli(pipeline, "lineage", "raw@v1", "--format", "dot").stdout
    assert dot.startswith("digraph lineage {") and dot.rstrip().endswith("}")
    assert dot.count(" -> ") == len(result["edges"]) and all(n["id"] in dot for n in result["nodes"])
    mermaid = cli(pipeline, "lineage", "raw@v1", "-f", "mermaid").stdout
    assert mermaid.startswith("flowchart LR") and mermaid.count("-->") == len(result["edges"])


def _rebuild(event: dict[str, Any]) -> Any:
    """The same event built with openlineage-python's models (they validate as they build)."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import dataset_version_dataset, job_type_job, schema_dataset

    def facets(d: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=d["facets"]["version"]["datasetVersion"], producer=openlineage.PRODUCER
            )
        }
        if "schema" in d["facets"]:
            out["schema"] = schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name=f["name"], type=f["type"])
                    for f in d["facets"]["schema"]["fields"]
                ],
                producer=openlineage.PRODUCER,
            )
        return out

    jt = event["job"]["facets"]["jobType"]
    return RunEvent(
        eventType=RunState(event["eventType"]),
        eventTime=event["eventTime"],
        run=Run(runId=event["run"]["runId"], facets={}),
        job=Job(
            namespace=event["job"]["namespace"],
            name=event["job"]["name"],
            facets={
                "jobType": job_type_job.JobTypeJobFacet(
                    processingType=jt["processingType"],
                    integration=jt["integration"],
                    jobType=jt["jobType"],
                    producer=openlineage.PRODUCER,
                )
            },
        ),
        inputs=[InputDataset(namespace=d["namespace"], name=d["name"], facets=facets(d)) for d in event["inputs"]],
        outputs=[OutputDataset(namespace=d["namespace"], name=d["name"], facets=facets(d)) for d in event["outputs"]],
        producer=event["producer"],
    )


@pytest.mark.slow
def test_openlineage_events_validate_and_carry_versions(pipeline):
    """NDJSON with one START and one COMPLETE per transformation and batch; rebuilt with the
    openlineage models, each serializes to exactly the same JSON; versions in the facet."""
    from openlineage.client.serde import Serde

    with Repo(pipeline) as repo:
        b = repo.relabel("raw", {"7": "zebra"}, reason="typo")
        repo.run("prep", [], **{})
    r = cli(pipeline, "lineage", "raw@v1", "--downstream", "--format", "openlineage")
    assert r.exit_code == 0, r.output
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"] * 3
    for e in events:
        assert Serde.to_dict(_rebuild(e)) == e
    with Repo(pipeline) as repo:
        raw2, clean2 = repo.resolve("raw@v2"), repo.resolve("clean@v2")
    batch = [e for e in events if e["job"]["name"] == "relabel raw"]
    assert len(batch) == 2 and batch[0]["run"]["runId"] == openlineage.run_id(b["batch"])
    assert batch[1]["outputs"][0]["facets"]["version"]["datasetVersion"] == raw2["id"]
    last = events[-1]
    assert last["job"]["name"] == "prep"
    assert {d["facets"]["version"]["datasetVersion"] for d in last["inputs"]} >= {raw2["id"]}
    assert last["outputs"][0]["facets"]["version"]["datasetVersion"] == clean2["id"]
    assert [f["name"] for f in last["outputs"][0]["facets"]["schema"]["fields"]] == ["id", "x", "label"]


@pytest.mark.slow
def test_impact_of_a_batch_follows_its_rows_and_says_what_was_rerun(pipeline):
    """impact BATCH: the derived dataset, stage run and experiment that consumed the batch's
    rows; after a revert and a re-run they are marked re-run since and no longer affected."""
    with Repo(pipeline) as repo:
        b = repo.relabel("raw", {"9": "zebra", "11": "zebra"}, reason="bad guideline")["batch"]
        repo.run("prep", [], **{})
        repo.exp_record("e1")
    r = cli(pipeline, "impact", b[:8], "--json")
    assert r.exit_code == 0, r.output
    first = json.loads(r.stdout)
    assert first["node"] == {"id": b, "kind": "batch", "label": f"batch {b[:10]}"}
    assert {"clean@v2", "exp e1", "stage prep"} <= {d["label"].split(" (")[0] for d in first["downstream"]}
    [t] = first["transformations"]
    assert t["consumed"][0]["rows"] == 2 and not t["rerun_since"] and t["latest_run_affected"]
    [e] = first["experiments"]
    assert e["name"] == "e1" and not e["rerun_since"] and e["latest_run_affected"]
    assert first["datasets"] == [
        {
            "dataset": "clean",
            "versions": [first["datasets"][0]["versions"][0]],
            "latest": first["datasets"][0]["latest"],
            "latest_affected": True,
        }
    ]
    with Repo(pipeline) as repo:
        repo.revert(b)
        repo.run("prep", [], **{})
        repo.exp_record("e1")
    after = json.loads(cli(pipeline, "impact", b[:8], "--json").stdout)
    [t] = after["transformations"]
    assert t["rerun_since"] and not t["latest_run_affected"]
    [e] = after["experiments"]
    assert e["rerun_since"] and not e["latest_run_affected"]
    assert after["datasets"][0]["latest"]["label"] == "clean@v3" and not after["datasets"][0]["latest_affected"]
    human = cli(pipeline, "impact", b[:8])
    assert human.exit_code == 0 and "re-run since" in human.stdout and "e1" in human.stdout


def test_impact_of_any_node_lists_everything_downstream(pipeline):
    """impact NAME@REF (not a batch): everything downstream, grouped, via the same command."""
    with Repo(pipeline) as repo:
        repo.exp_record("base")
        down = lineage_graph.downstream(repo, "raw@v1")
    r = cli(pipeline, "impact", "raw@v1", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["node"]["label"] == "raw@v1"
    assert [d["id"] for d in out["downstream"]] == [d["id"] for d in down]
    assert [d["dataset"] for d in out["datasets"]] == ["clean"] and out["experiments"][0]["name"] == "base"


def test_unknown_and_ambiguous_nodes_are_one_line_errors(pipeline):
    """Unknown node: one line naming the accepted forms; nothing changes."""
    before = snapshot(pipeline)
    for args in (["lineage", "nope"], ["lineage", "raw@v9"], ["lineage", "exp:none"], ["impact", "stage:zzz"]):
        r = cli(pipeline, *args)
        assert r.exit_code == 1, (args, r.output)
        assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
    assert "use NAME@REF for a dataset version" in cli(pipeline, "lineage", "nope").stderr
    r = cli(pipeline, "lineage", "raw@v1", "--upstream", "--downstream")
    assert r.exit_code == 2 and "exclude each other" in r.stderr
    assert snapshot(pipeline) == before


def test_lineage_after_reindex_is_identical(pipeline):
    """The graph comes from the index, a cache: after reindex the answer is the same."""
    with Repo(pipeline) as repo:
        repo.exp_record("base")
    before = graph(pipeline, "raw@v1")
    assert cli(pipeline, "reindex").exit_code == 0
    assert graph(pipeline, "raw@v1") == before


def test_run_arguments_are_the_stage_definition(pipeline):
    """`prep_args` matches what dvc.yaml holds (the other tests rely on re-running it bare)."""
    import yaml

    spec = yaml.safe_load((pipeline / "dvc.yaml").read_text())["stages"]["prep"]
    assert spec["deps"] == prep_args()["deps"] and spec["outs"] == prep_args()["outs"]
    assert spec["cmd"].startswith(sys.executable)


def test_graph_follows_a_branch_switch(pipeline):
    """An experiment recorded on a branch leaves the graph when its journal record leaves the
    work tree (branch switch), and comes back with it."""
    from tests.support import run

    main = run(pipeline, "git", "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    run(pipeline, "git", "checkout", "-q", "-b", "side")
    with Repo(pipeline) as repo:
        repo.exp_record("side-exp")
    assert "exp side-exp" in labels(graph(pipeline, "raw@v1"))
    run(pipeline, "git", "checkout", "-q", main)
    assert "exp side-exp" not in labels(graph(pipeline, "raw@v1"))
    run(pipeline, "git", "checkout", "-q", "side")
    assert "exp side-exp" in labels(graph(pipeline, "raw@v1"))


def test_synthetic_grid_closures_match_brute_force(tmp_path):
    """On the benchmark's generator (datasets × versions, stage s{i}: d{i-1}@vj → d{i}@vj),
    upstream and downstream closures are exactly the grid rectangles they must be."""
    from benchmarks.lineage import generate

    root = tmp_path / "grid"
    made = generate(root, 5, 6)
    assert made == {"versions": 30, "transformations": 24, "records": 54}
    up = graph(root, "d2@v3", "--upstream")
    want_up = {f"d{i}@v{j}" for i in range(3) for j in range(1, 4)} | {"stage s1", "stage s2"}
    assert labels(up) == want_up and len(up["nodes"]) == 9 + 2 * 3
    down = graph(root, "d2@v3", "--downstream")
    assert labels(down) == {f"d{i}@v{j}" for i in range(2, 5) for j in range(3, 7)} | {"stage s3", "stage s4"}
    assert len(down["nodes"]) == 12 + 2 * 4
    assert labels(graph(root, "d2@v3", "--downstream", "--depth", "1")) == {"d2@v3", "d2@v4", "stage s3"}
    ids = [n["id"] for n in down["nodes"]]
    assert all(ids.index(e["from"]) < ids.index(e["to"]) for e in down["edges"])  # topological order


def test_paused_gc_restores_the_collector_state() -> None:
    """A query pauses the cyclic collector and turns it back on after, even on an error; a
    collector the caller had turned off stays off."""
    import gc

    from dslineage.core.graph import paused_gc

    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
