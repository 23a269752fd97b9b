"""What users install: the built wheel holds the package and none of the benchmark pipeline's code
(`benchmarks/` beside `dvc.yaml` imports pandas, polars and doltlite, which users do not have)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the e2e tier: `pytest -m "not slow"` leaves it out

ROOT = Path(__file__).resolve().parents[2]
# not sources: the built wheel must not depend on what a previous build or a venv left in the tree
SKIP = {
    ".git",
    "bench",
    "build",
    "dist",
    ".venv",
    ".venv-lint",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".dvc",
    ".dslineage",
}


def _ignore(folder: str, names: list[str]) -> set[str]:
    """Generated and tool folders, egg-info included, anywhere in the copied tree."""
    return {n for n in names if n in SKIP or n.endswith(".egg-info")}


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Every file name in a wheel built by pip from a clean copy of the sources (no stale build/)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=_ignore)
    assert (src / "benchmarks" / "__main__.py").is_file()  # the benchmarks are there to be left out
    out = tmp / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheels = list(out.glob("dslineage-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as zf:
        return zf.namelist()


def test_wheel_holds_the_package(wheel_names: list[str]) -> None:
    """The CLI, the library entry point and the bundled data are in the wheel."""
    for name in (
        "dslineage/cli/app.py",
        "dslineage/__init__.py",
        "dslineage/repo.py",
        "dslineage/py.typed",
        "dslineage/data/pets.csv",
        "dslineage/repo_edits.py",
    ):
        assert name in wheel_names, name


def test_wheel_holds_no_benchmark_code(wheel_names: list[str]) -> None:
    """No `benchmarks/` package and no `bench` module anywhere in the wheel."""
    assert [n for n in wheel_names if any("bench" in part.lower() for part in Path(n).parts)] == []
    tops = {n.split("/")[0] for n in wheel_names}
    assert tops == {"dslineage", next(t for t in tops if t.endswith(".dist-info"))}
