"""Shared by the lineage tests: a pipeline repository (a tracked `raw` dataset and a `prep`
stage raw → clean run through `dslineage run`), built once per session and copied per test,
plus small helpers. Registered as fixtures in tests/func/conftest.py."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dslineage import Repo
from dslineage.cli import app
from tests.support import env
from tests.support.repos import head, run, write_parquet

PREP = """\
import os, sys
import pyarrow.parquet as pq, pyarrow.compute as pc, pyarrow as pa
import yaml
thr = yaml.safe_load(open("params.yaml"))["thr"]
t = pq.read_table("data/raw.parquet")
t = t.filter(pc.greater(t["x"], thr))
shift = int(os.environ.get("DSL_TEST_SHIFT", "0"))
labels = [("shifted" if i < shift else lab) for i, lab in zip(t["id"].to_pylist(), t["label"].to_pylist())]
t = t.set_column(t.schema.get_field_index("label"), "label", pa.array(labels))
pq.write_table(t, "data/clean.parquet.tmp")
os.replace("data/clean.parquet.tmp", "data/clean.parquet")
print("prep wrote", t.num_rows, "rows")
"""


def raw_data(n: int = 20, relabel: dict[int, str] | None = None) -> dict[str, list[Any]]:
    """The `raw` dataset: ids 0..n-1, x = id/2, labels cat/dog/bird (some replaced)."""
    labels = [["cat", "dog", "bird"][i % 3] for i in range(n)]
    for i, lab in (relabel or {}).items():
        labels[i] = lab
    return {"id": list(range(n)), "x": [i / 2 for i in range(n)], "label": labels}


def prep_args() -> dict[str, Any]:
    """The `prep` stage as `Repo.run` keyword arguments (command run by this interpreter)."""
    return {"deps": ["data/raw.parquet", "prep.py"], "outs": ["data/clean.parquet"], "params": ["thr"]}


def build(root: Path) -> None:
    """init, track and commit `raw`, commit prep.py + params.yaml, run the `prep` stage."""
    Repo.init(root)
    write_parquet(root / "data" / "raw.parquet", raw_data())
    (root / "prep.py").write_text(PREP)
    (root / "params.yaml").write_text("thr: 2\n")
    run(root, "git", "add", "prep.py", "params.yaml")
    run(root, "git", "commit", "-q", "-m", "code")
    with Repo(root) as repo:
        repo.track("data/raw.parquet", ["id"], ["label"])
        repo.commit(["raw"], "raw v1", None)
        repo.run("prep", [sys.executable, "prep.py"], **prep_args())


@pytest.fixture(scope="session")
def pipeline_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: the pipeline repository every `pipeline` test starts from (a copy)."""
    root = tmp_path_factory.mktemp("template") / "repo"
    root.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        env.isolate(mp, tmp_path_factory.mktemp("template-home"))
        build(root)
    return root


@pytest.fixture
def pipeline(pipeline_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the pipeline repository (raw@v1 → prep → clean@v1)."""
    root = tmp_path / "repo"
    shutil.copytree(pipeline_template, root, symlinks=True)
    return root


def cli(root: Path, *args: str) -> Any:
    """Run the CLI in `root` (through -C)."""
    return CliRunner().invoke(app, ["-C", str(root), *args])


def snapshot(root: Path) -> dict[str, Any]:
    """What must not change on bad input: HEAD, pipeline files, data and the journal."""
    files = ["dvc.yaml", "dvc.lock", "data/clean.parquet", "data/raw.parquet", "data/.gitignore"]
    return {
        "head": head(root),
        "files": {f: (root / f).read_bytes() if (root / f).exists() else None for f in files},
        "journal": sorted(p.name for p in (root / ".dslineage" / "journal").iterdir()),
        "status": run(root, "git", "status", "--porcelain").stdout,
    }


def transformations(root: Path) -> list[dict[str, Any]]:
    """Transformation records in the journal, oldest first."""
    with Repo(root) as repo:
        return repo.index.records("transformation")
