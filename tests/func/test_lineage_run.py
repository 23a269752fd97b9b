"""`dslineage run` and `dslineage sync`: DVC stages recorded as transformations (real git + DVC)."""

from __future__ import annotations

import json
import sys

import pytest

from dslineage import Repo
from tests.support import head, run, write_parquet
from tests.support.lineage import cli, raw_data, snapshot, transformations


@pytest.mark.slow
def test_run_records_a_transformation_and_tracks_the_output(pipeline):
    """A run writes the stage, records stage/cmd/code commit/params/input and output versions
    in one commit, and the parquet output becomes a dataset with the input's key."""
    [t] = transformations(pipeline)
    assert t["stage"] == "prep" and "prep.py" in t["cmd"] and t["source"] == "run"
    assert t["params"] == {"params.yaml": {"thr": 2}}
    assert t["started"] <= t["ended"] and t["author"] == "Test Author <author@example.com>"
    code = run(pipeline, "git", "log", "-1", "--format=%H", "--", "prep.py").stdout.strip()
    assert t["git_commit"] == run(pipeline, "git", "rev-parse", "HEAD~1").stdout.strip()
    assert run(pipeline, "git", "merge-base", "--is-ancestor", code, t["git_commit"], check=False).returncode == 0
    with Repo(pipeline) as repo:
        raw, clean = repo.resolve("raw@v1"), repo.resolve("clean@v1")
        assert repo.dataset("clean").key == ["id"] and repo.dataset("clean").labels == ["label"]
        assert clean["rows"] == 15 and clean["git_commit"] == head(pipeline)
    by_path = {i["path"]: i for i in t["inputs"]}
    assert by_path["data/raw.parquet"]["version"] == raw["id"]
    assert by_path["prep.py"]["dataset"] is None and len(by_path["prep.py"]["md5"]) == 32
    assert [(o["path"], o["version"]) for o in t["outputs"]] == [("data/clean.parquet", clean["id"])]
    changed = run(pipeline, "git", "show", "--name-only", "--format=", "HEAD").stdout.split()
    assert {"dvc.yaml", "dvc.lock", "data/.gitignore", ".dslineage/datasets/clean.yaml"} <= set(changed)
    assert run(pipeline, "git", "status", "--porcelain").stdout == ""
    assert "up to date" in run(pipeline, "dvc", "status").stdout
    assert "didn't change" in run(pipeline, "dvc", "repro").stdout


@pytest.mark.slow
def test_run_again_is_up_to_date_and_force_runs_again(pipeline):
    """Running an unchanged stage records nothing; --force re-runs it: a new transformation,
    the same output version (same bytes)."""
    before = snapshot(pipeline)
    r = cli(pipeline, "run", "-n", "prep", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["transformation"] is None
    assert snapshot(pipeline) == before
    r = cli(pipeline, "run", "-n", "prep", "--force", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    ts = transformations(pipeline)
    assert len(ts) == 2 and out["transformation"] == ts[-1]["id"] and out["versions"] == []
    assert ts[0]["outputs"][0]["version"] == ts[1]["outputs"][0]["version"]


def test_failing_command_passes_its_status_and_leaves_nothing(pipeline):
    """A command that half-writes its output then exits 3: exit status 3, one line, and
    dvc.yaml, dvc.lock, the old output bytes, HEAD and the journal are as before."""
    before = snapshot(pipeline)
    r = cli(
        pipeline,
        "run",
        "-n",
        "prep",
        "-d",
        "data/raw.parquet",
        "-o",
        "data/clean.parquet",
        "--",
        sys.executable,
        "-c",
        "open('data/clean.parquet','w').write('partial'); raise SystemExit(3)",
    )
    assert r.exit_code == 3, r.output
    assert r.stderr.startswith("error: the command of stage 'prep' failed with exit status 3")
    assert len(r.stderr.strip().splitlines()) == 1
    assert snapshot(pipeline) == before


def test_new_stage_failing_leaves_no_stage_and_no_output(pipeline):
    """A failing new stage leaves no dvc.yaml entry, no .gitignore line and no output file."""
    before = snapshot(pipeline)
    r = cli(
        pipeline,
        "run",
        "-n",
        "broken",
        "-d",
        "data/clean.parquet",
        "-o",
        "data/out.csv",
        "--",
        "sh",
        "-c",
        "echo id,label > data/out.csv; exit 7",
    )
    assert r.exit_code == 7
    assert not (pipeline / "data" / "out.csv").exists()
    assert snapshot(pipeline) == before


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["-n", "nope"], "unknown stage 'nope' in dvc.yaml"),
        (
            ["-n", "x", "-d", "data/raw.parquet", "-o", "data/raw.parquet", "--", "true"],
            "data/raw.parquet is both an input (-d) and an output (-o)",
        ),
        (["-n", "bad/name", "--", "true"], "invalid stage name"),
        (["-n", "x", "-o", "../outside.csv", "--", "true"], "outside the repository"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(pipeline, args, expect):
    """Unknown stage, output that is an input, bad name, path outside: one line, nothing changed."""
    before = snapshot(pipeline)
    r = cli(pipeline, "run", *args)
    assert r.exit_code in (1, 2), r.output
    assert expect in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert snapshot(pipeline) == before


def test_dirty_input_is_refused_before_running(pipeline):
    """An input dataset with uncommitted changes is refused: the run could not name its version."""
    write_parquet(pipeline / "data" / "raw.parquet", raw_data(relabel={0: "zebra"}))
    before = snapshot(pipeline)
    r = cli(pipeline, "run", "-n", "prep", "--force")
    assert r.exit_code == 1 and "has uncommitted changes: commit them with `dslineage commit raw" in r.stderr
    assert snapshot(pipeline) == before


def test_explicit_key_that_does_not_hold_rolls_everything_back(pipeline):
    """--key naming a non-unique column of the output: the error says so and the run is undone."""
    before = snapshot(pipeline)
    r = cli(
        pipeline,
        "run",
        "-n",
        "dup",
        "-d",
        "data/clean.parquet",
        "-o",
        "data/dup.csv",
        "--key",
        "label",
        "--label",
        "label",
        "--",
        "sh",
        "-c",
        "printf 'id,label\\n1,a\\n2,a\\n' > data/dup.csv",
    )
    assert r.exit_code == 1 and "label" in r.stderr, r.output
    assert not (pipeline / "data" / "dup.csv").exists()
    assert not (pipeline / ".dslineage" / "datasets" / "dup.yaml").exists()
    assert snapshot(pipeline) == before


@pytest.mark.slow
def test_sync_records_an_outside_repro_once(pipeline):
    """After a plain `dvc repro` with new params, sync records one transformation and the new
    output version; a second sync records nothing; lineage picks up a later repro by itself."""
    (pipeline / "params.yaml").write_text("thr: 5\n")
    assert run(pipeline, "dvc", "repro").returncode == 0
    r = cli(pipeline, "sync", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    [t] = out["transformations"]
    assert t["params"] == {"params.yaml": {"thr": 5}} and t["source"] == "sync"
    [v] = out["versions"]
    assert (v["dataset"], v["seq"], v["rows"]) == ("clean", 2, 9)
    assert t["outputs"][0]["version"] == v["id"]
    assert "dvc.lock" in run(pipeline, "git", "show", "--name-only", "--format=", "HEAD").stdout
    again = cli(pipeline, "sync", "--json")
    assert json.loads(again.stdout)["transformations"] == [] and len(transformations(pipeline)) == 2
    (pipeline / "params.yaml").write_text("thr: 7\n")
    assert run(pipeline, "dvc", "repro").returncode == 0
    r = cli(pipeline, "lineage", "raw@v1", "--downstream", "--json")
    labels = {n["label"] for n in json.loads(r.stdout)["nodes"]}
    assert "clean@v3" in labels and len(transformations(pipeline)) == 3


def test_a_write_that_would_close_a_cycle_is_refused(pipeline):
    """With `prep` gone from dvc.yaml, a stage turning clean back into raw's exact bytes would
    make raw@v1 its own ancestor: refused, and nothing is recorded or left changed."""
    import yaml

    spec = yaml.safe_load((pipeline / "dvc.yaml").read_text())
    del spec["stages"]["prep"]
    (pipeline / "dvc.yaml").write_text(yaml.safe_dump(spec) if spec["stages"] else "stages: {}\n")
    (pipeline / "dvc.lock").unlink()
    (pipeline / "data" / "raw.parquet.dvc").unlink()
    (pipeline / "keep.parquet").write_bytes((pipeline / "data" / "raw.parquet").read_bytes())
    run(pipeline, "git", "add", "-A")
    run(pipeline, "git", "commit", "-q", "-m", "raw becomes a stage output")
    before = snapshot(pipeline)
    r = cli(
        pipeline,
        "run",
        "-n",
        "back",
        "-d",
        "data/clean.parquet",
        "-o",
        "data/raw.parquet",
        "--",
        "cp",
        "keep.parquet",
        "data/raw.parquet",
    )
    assert r.exit_code == 1, r.output
    assert "lineage graph cyclic" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert snapshot(pipeline) == before


@pytest.mark.slow
def test_checkout_of_a_stage_output_restores_bytes_without_a_dvc_file(pipeline):
    """A dataset made by a DVC stage has no .dvc file: checking out an older version restores
    its bytes only (no stray .dvc file that would make DVC refuse every later `dvc add`)."""
    write_parquet(pipeline / "data" / "raw.parquet", raw_data(relabel={10: "fox"}))
    with Repo(pipeline) as repo:
        repo.commit(["raw"], "raw v2", None)
        repo.run(
            "prep",
            [sys.executable, "prep.py"],
            deps=["data/raw.parquet", "prep.py"],
            outs=["data/clean.parquet"],
            params=["thr"],
        )
        assert repo.resolve("clean@latest")["seq"] == 2
        result = repo.checkout("clean@v1")
        assert result["changed"] and result["seq"] == 1
        assert repo.status(["clean"])[0]["rows"]["modified"] == 1
    assert not (pipeline / "data" / "clean.parquet.dvc").exists()
    write_parquet(pipeline / "data" / "raw.parquet", raw_data(relabel={10: "fox", 11: "owl"}))
    with Repo(pipeline) as repo:
        [v3] = repo.commit(["raw"], "raw v3", None)  # dvc add of another dataset still works
        assert v3["seq"] == 3
        assert repo.checkout("clean@latest")["changed"]
