"""Readable lineage: straight chains of versions collapsed (`--expand` to see them all),
batch nodes labelled with column, author, reason, rows and reverted state, headed upstream
and downstream sections, metrics files (`run -M`) as nodes read into experiments."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from dslineage import Repo
from tests.support import write_parquet
from tests.support.lineage import cli


def graph(root: Path, *args: str) -> dict[str, Any]:
    """`lineage ARGS --json` parsed."""
    r = cli(root, "lineage", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.fixture
def chain(tmp_repo: Path) -> dict[str, Any]:
    """A dataset `cifar` with five versions in a straight line: v2, v3, v5 from relabel
    batches (alice, bob, carol), v4 from a plain commit; bob's batch reverted in v6 only
    when a test asks."""
    path = tmp_repo / "data" / "cifar.parquet"
    labels = [["cat", "dog", "bird"][i % 3] for i in range(30)]
    write_parquet(path, {"id": list(range(30)), "label": labels})
    with Repo(tmp_repo) as repo:
        repo.track("data/cifar.parquet", ["id"], ["label"])
        repo.commit(["cifar"], "v1", None)
        a = repo.relabel("cifar", {1: "cat", 2: "cat"}, by="alice", reason="crowd fix")
        b = repo.relabel("cifar", {4: "bird"}, by="bob", reason="second look")
        write_parquet(path, {"id": list(range(31)), "label": [*repo_labels(path), "dog"]})
        repo.commit(["cifar"], "one more row", None)
        c = repo.relabel("cifar", {7: "bird", 8: "cat", 9: "dog"}, by="carol", reason="audit")
    return {"root": tmp_repo, "batches": [a["batch"], b["batch"], c["batch"]]}


def repo_labels(path: Path) -> list[str]:
    """The label column of a parquet file."""
    import pyarrow.parquet as pq

    return pq.read_table(path)["label"].to_pylist()


@pytest.mark.slow
def test_a_straight_chain_of_versions_is_collapsed(chain):
    """`lineage cifar@v1 --downstream`: five versions in a line read as one line
    `cifar v1 → v5 (4 versions, 3 batches)`, not a deep tree with "(shown above)" lines."""
    root = chain["root"]
    r = cli(root, "lineage", "cifar@v1", "--downstream")
    assert r.exit_code == 0, r.output
    text = r.stdout
    assert "cifar v1 → v5 (4 versions, 3 batches)" in text
    assert "shown above" not in text
    depth = max(len(re.match(r"^[ │├└─]*", line).group(0)) for line in text.splitlines())
    assert depth <= 8 and len(text.splitlines()) <= 5, text
    result = graph(root, "cifar@v1", "--downstream")
    [group] = result["chains"]
    assert (group["dataset"], group["label"], len(group["versions"]), len(group["batches"])) == (
        "cifar",
        "cifar v1 → v5 (4 versions, 3 batches)",
        4,
        3,
    )
    assert {n["id"] for n in result["nodes"]} >= set(group["versions"])  # nodes stay complete
    dot = cli(root, "lineage", "cifar@v1", "--downstream", "-f", "dot").stdout
    assert "cifar v1 → v5" in dot and dot.count(" -> ") == 1
    mermaid = cli(root, "lineage", "cifar@v1", "--downstream", "-f", "mermaid").stdout
    assert "cifar v1 → v5" in mermaid and mermaid.count("-->") == 1


@pytest.mark.slow
def test_expand_shows_every_version(chain):
    """`--expand` draws each version and batch of the chain."""
    root = chain["root"]
    text = cli(root, "lineage", "cifar@v1", "--downstream", "--expand").stdout
    assert all(f"cifar@v{i}" in text for i in range(1, 6)) and "→ v5 (" not in text
    assert graph(root, "cifar@v1", "--downstream", "--expand")["chains"] == []


@pytest.mark.slow
def test_batch_nodes_say_column_author_reason_rows_and_reverted(chain):
    """A batch node's label names its column, author, reason and rows; a reverted batch says so."""
    root = chain["root"]
    with Repo(root) as repo:
        repo.revert(chain["batches"][1], reason="bob was wrong")
    result = graph(root, "cifar@v1", "--downstream", "--expand")
    batches = {n["id"]: n for n in result["nodes"] if n["kind"] == "batch"}
    alice = batches[chain["batches"][0]]
    assert ("label", "alice", "crowd fix", 2, False) == (
        alice["columns"][0],
        alice["author"],
        alice["reason"],
        alice["rows"],
        alice["reverted"],
    )
    assert "alice" in alice["label"] and "crowd fix" in alice["label"] and "2 rows" in alice["label"]
    bob = batches[chain["batches"][1]]
    assert bob["reverted"] and "reverted" in bob["label"]
    text = cli(root, "lineage", "cifar@v1", "--downstream", "--expand").stdout
    assert "carol" in text and "audit" in text and "3 rows" in text


def test_both_directions_have_headed_sections(pipeline):
    """Upstream and downstream are separate sections, each with a heading."""
    with Repo(pipeline) as repo:
        repo.exp_record("base")
    text = cli(pipeline, "lineage", "stage:prep").stdout
    lines = text.splitlines()
    up = next(i for i, line in enumerate(lines) if line.startswith("Upstream"))
    down = next(i for i, line in enumerate(lines) if line.startswith("Downstream"))
    assert up < down
    assert any("raw@v1" in line for line in lines[up:down])
    assert any("clean@v1" in line for line in lines[down:]) and not any("clean@v1" in line for line in lines[up:down])
    only_down = cli(pipeline, "lineage", "stage:prep", "--downstream").stdout
    assert "Upstream" not in only_down and "raw@v1" not in only_down


def test_run_metrics_file_is_a_node_and_read_into_experiments(pipeline):
    """`run -M FILE` declares a metrics output (as `dvc stage add -M`): it is a node of kind
    artifact/metrics, and `exp record` reads it without --metrics."""
    code = "import json; json.dump({'acc': 0.75}, open('metrics.json', 'w'))"
    r = cli(
        pipeline,
        "run",
        "-n",
        "evaluate",
        "-d",
        "data/clean.parquet",
        "-M",
        "metrics.json",
        "--",
        sys.executable,
        "-c",
        code,
    )
    assert r.exit_code == 0, r.output
    assert "metrics.json" in (pipeline / "dvc.yaml").read_text()
    node = next(n for n in graph(pipeline, "metrics.json")["nodes"] if n.get("path") == "metrics.json")
    assert node["kind"] == "artifact" and node["type"] == "metrics"
    with Repo(pipeline) as repo:
        rec = repo.exp_record("with-metrics")
    assert rec["metrics"] == {"acc": 0.75} and rec["metrics_file"] == "metrics.json"
