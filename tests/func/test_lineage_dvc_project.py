"""Lineage of a real DVC project's layout (the public `example-get-started` repository):
stages prepare → featurize → train → evaluate over `data/data.xml`, `data/prepared/`,
`data/features/`, `model.pkl` and `eval/metrics.json`, run by real `dvc repro` over three
commits of `dvc.lock`, then adopted with `dslineage init` + `sync`."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from dslineage import Repo
from tests.support import run
from tests.support.lineage import cli

pytestmark = pytest.mark.slow  # the module's DVC project takes seconds to build

PREPARE = """\
import os, sys, yaml
split = yaml.safe_load(open("params.yaml"))["prepare"]["split"]
rows = [line.strip() for line in open(sys.argv[1]) if line.strip().startswith("<row")]
cut = int(len(rows) * (1 - split))
os.makedirs("data/prepared", exist_ok=True)
open("data/prepared/train.tsv", "w").write("\\n".join(rows[:cut]) + "\\n")
open("data/prepared/test.tsv", "w").write("\\n".join(rows[cut:]) + "\\n")
"""
FEATURIZE = """\
import os, pickle, sys, yaml
n = yaml.safe_load(open("params.yaml"))["featurize"]["max_features"]
os.makedirs(sys.argv[2], exist_ok=True)
for part in ("train", "test"):
    rows = open(os.path.join(sys.argv[1], part + ".tsv")).read().split()
    pickle.dump([len(r) % n for r in rows], open(os.path.join(sys.argv[2], part + ".pkl"), "wb"))
"""
TRAIN = """\
import pickle, sys, yaml
seed = yaml.safe_load(open("params.yaml"))["train"]["seed"]
xs = pickle.load(open(sys.argv[1] + "/train.pkl", "rb"))
pickle.dump({"mean": sum(xs) / max(len(xs), 1), "seed": seed}, open(sys.argv[2], "wb"))
"""
EVALUATE = """\
import json, os, pickle, sys
model = pickle.load(open(sys.argv[1], "rb"))
xs = pickle.load(open(sys.argv[2] + "/test.pkl", "rb"))
os.makedirs("eval", exist_ok=True)
json.dump({"avg_prec": round(model["mean"] / 10, 4), "n": len(xs)}, open("eval/metrics.json", "w"))
"""
PY = sys.executable
DVC_YAML = f"""\
stages:
  prepare:
    cmd: {PY} src/prepare.py data/data.xml
    deps: [data/data.xml, src/prepare.py]
    params: [prepare.split]
    outs: [data/prepared]
  featurize:
    cmd: {PY} src/featurize.py data/prepared data/features
    deps: [data/prepared, src/featurize.py]
    params: [featurize.max_features]
    outs: [data/features]
  train:
    cmd: {PY} src/train.py data/features model.pkl
    deps: [data/features, src/train.py]
    params: [train.seed]
    outs: [model.pkl]
  evaluate:
    cmd: {PY} src/evaluate.py model.pkl data/features
    deps: [data/features, model.pkl, src/evaluate.py]
    metrics:
    - eval/metrics.json:
        cache: false
"""
STAGES = ("prepare", "featurize", "train", "evaluate")


def _xml(n: int) -> str:
    rows = "".join(f'  <row Id="{i}" Body="post number {i} {"x" * (i % 7)}"/>\n' for i in range(n))
    return f'<?xml version="1.0" encoding="utf-8"?>\n<posts>\n{rows}</posts>\n'


def _params(max_features: int) -> str:
    return f"prepare:\n  split: 0.2\nfeaturize:\n  max_features: {max_features}\ntrain:\n  seed: 20170428\n"


def _repro_and_commit(root: Path, message: str) -> str:
    """`dvc repro`, commit everything; the new commit's sha."""
    run(root, "dvc", "repro", "-q")
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-q", "-m", message)
    return run(root, "git", "rev-parse", "HEAD").stdout.strip()


def build(root: Path) -> list[str]:
    """The get-started layout with three `dvc repro` commits (data, params, data again)."""
    run(root, "git", "init", "-q")
    run(root, "dvc", "init", "-q")
    (root / "src").mkdir()
    for name, text in (("prepare", PREPARE), ("featurize", FEATURIZE), ("train", TRAIN), ("evaluate", EVALUATE)):
        (root / "src" / f"{name}.py").write_text(text)
    (root / "data").mkdir()
    (root / "data" / "data.xml").write_text(_xml(40))
    (root / "params.yaml").write_text(_params(100))
    (root / "dvc.yaml").write_text(DVC_YAML)
    run(root, "dvc", "add", "-q", "data/data.xml")
    commits = [_repro_and_commit(root, "pipeline, first run")]
    (root / "params.yaml").write_text(_params(7))
    commits.append(_repro_and_commit(root, "fewer features"))
    (root / "data" / "data.xml.tmp").write_text(_xml(60))
    (root / "data" / "data.xml.tmp").replace(root / "data" / "data.xml")
    run(root, "dvc", "add", "-q", "data/data.xml")
    commits.append(_repro_and_commit(root, "more data"))
    Repo.init(root)
    return commits


@pytest.fixture(scope="module")
def project_template(module_env: Path) -> tuple[Path, list[str]]:
    """Built once per module: the DVC project after three runs and `dslineage init`."""
    root = module_env / "get-started"
    root.mkdir()
    return root, build(root)


@pytest.fixture
def project(project_template: tuple[Path, list[str]], tmp_path: Path) -> tuple[Path, list[str]]:
    """A fresh copy of the DVC project and the shas of its three pipeline commits."""
    root = tmp_path / "get-started"
    shutil.copytree(project_template[0], root, symlinks=True)
    return root, project_template[1]


def graph(root: Path, *args: str) -> dict[str, Any]:
    """`lineage ARGS --json` parsed."""
    r = cli(root, "lineage", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _by_label(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["label"]: n for n in result["nodes"]}


def _connected(result: dict[str, Any], a: str, b: str) -> bool:
    """Whether an edge runs from the node labelled `a` to the node labelled `b`."""
    ids = {n["id"]: n["label"] for n in result["nodes"]}
    return any(ids[e["from"]] == a and ids[e["to"]] == b for e in result["edges"])


def test_whole_graph_draws_the_pipeline(project):
    """`lineage` with no argument draws every stage with its inputs and outputs as nodes
    (with md5), connected prepare → featurize → train → evaluate, like `dvc dag`."""
    root, _ = project
    result = graph(root)
    assert result["root"] is None
    stages = {n["stage"] for n in result["nodes"] if n["kind"] == "transformation"}
    assert stages == set(STAGES)
    artifacts = {n["path"]: n for n in result["nodes"] if n["kind"] == "artifact"}
    assert {"data/data.xml", "data/prepared", "data/features", "model.pkl", "eval/metrics.json"} <= set(artifacts)
    assert artifacts["data/prepared"]["md5"].endswith(".dir") and artifacts["data/prepared"]["type"] == "directory"
    assert artifacts["eval/metrics.json"]["type"] == "metrics" and len(artifacts["model.pkl"]["md5"]) == 32
    for a, b in (
        ("data/data.xml", "stage prepare"),
        ("stage prepare", "data/prepared"),
        ("data/prepared", "stage featurize"),
        ("stage featurize", "data/features"),
        ("data/features", "stage train"),
        ("stage train", "model.pkl"),
        ("model.pkl", "stage evaluate"),
        ("data/features", "stage evaluate"),
        ("stage evaluate", "eval/metrics.json"),
    ):
        assert _connected(result, a, b), (a, b)
    text = cli(root, "lineage").stdout
    assert all(f"stage {s}" in text for s in STAGES) and "data/features" in text
    dot = cli(root, "lineage", "-f", "dot").stdout
    assert dot.count(" -> ") == len(result["edges"]) and "shape=folder" in dot and "model.pkl (" in dot
    mermaid = cli(root, "lineage", "-f", "mermaid").stdout
    assert '[("eval/metrics.json (' in mermaid
    r = cli(root, "lineage", "--downstream")
    assert r.exit_code == 2 and "need a NODE" in r.stderr


def test_openlineage_events_name_every_file(project):
    """The OpenLineage events of `stage:train` carry its untracked inputs and outputs by
    path, with their md5 as the dataset version; `impact` follows artifacts too."""
    root, _ = project
    r = cli(root, "lineage", "stage:train", "--upstream", "--depth", "1", "-f", "openlineage")
    assert r.exit_code == 0, r.output
    [start, _end] = [json.loads(line) for line in r.stdout.splitlines()]
    names = {d["name"]: d["facets"]["version"]["datasetVersion"] for d in start["inputs"] + start["outputs"]}
    assert set(names) == {"data/features", "src/train.py", "model.pkl"}
    assert names["model.pkl"].startswith("md5:") and names["data/features"].endswith(".dir")
    impact = cli(root, "impact", "data/features", "--json")
    assert impact.exit_code == 0, impact.output
    assert {t["stage"] for t in json.loads(impact.stdout)["transformations"]} == {"train", "evaluate"}


def test_stage_train_has_edges(project):
    """`lineage stage:train` shows train's inputs and outputs, and what came before and after."""
    root, _ = project
    result = graph(root, "stage:train")
    assert result["edges"]
    labels = set(_by_label(result))
    assert {"stage prepare", "stage featurize", "data/features", "model.pkl", "stage evaluate"} <= labels
    text = cli(root, "lineage", "stage:train").stdout
    assert "Upstream" in text and "Downstream" in text and "model.pkl" in text


def test_a_path_names_a_node(project):
    """`lineage data/features` (or `data/features/`) and `lineage eval/metrics.json` name the
    newest node of that path; an unknown path is still an error."""
    root, _ = project
    features = graph(root, "data/features")
    root_node = _by_label(features)["data/features"]
    assert features["root"] == root_node["id"] and root_node["kind"] == "artifact"
    assert graph(root, "data/features/")["root"] == features["root"]
    assert _connected(features, "stage featurize", "data/features")
    assert _connected(features, "data/features", "stage train")
    metrics = graph(root, "eval/metrics.json", "--upstream")
    assert _by_label(metrics)["eval/metrics.json"]["type"] == "metrics"
    assert "stage evaluate" in _by_label(metrics)
    r = cli(root, "lineage", "data/nothing")
    assert r.exit_code != 0 and "unknown node" in r.stderr


def test_sync_all_commits_records_the_earlier_runs(project):
    """`sync --all-commits` turns each past `dvc.lock` state into a transformation carrying
    its git commit; a second run records nothing."""
    root, commits = project
    with Repo(root) as repo:
        repo.sync()
        now = repo.index.records("transformation")
    assert {t["stage"] for t in now} == set(STAGES) and len(now) == 4
    r = cli(root, "sync", "--all-commits", "--json")
    assert r.exit_code == 0, r.output
    added = json.loads(r.stdout)["transformations"]
    # commit 1: four stages; commit 2: featurize, train, evaluate changed (prepare did not)
    assert sorted((t["stage"], t["git_commit"]) for t in added) == sorted(
        [(s, commits[0]) for s in STAGES] + [(s, commits[1]) for s in STAGES[1:]]
    )
    again = cli(root, "sync", "--all-commits", "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["transformations"] == []
    with Repo(root) as repo:
        assert len(repo.index.records("transformation")) == 11
    trains = [n for n in graph(root)["nodes"] if n.get("stage") == "train"]
    assert len(trains) == 3
