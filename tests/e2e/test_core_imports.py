"""Heavy libraries are imported lazily: the CLI starts fast and `python -m dslineage` works."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

HEAVY = (
    "dvc",
    "duckdb",
    "pyarrow",
    "networkx",
    "pandas",
    "git",
    "scipy",
    "numpy",
    "krippendorff",
    "s3fs",
    "fsspec",
    "botocore",
)


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_heavy_module():
    """`import dslineage.cli` with every command module registered loads none of dvc, duckdb, pyarrow, ..."""
    code = (
        "import sys, dslineage.cli\nassert len(dslineage.cli.app.registered_commands) > 30\n"
        "assert 'dslineage.cli.report' in sys.modules and 'dslineage.cli.exp' in sys.modules"
    )
    loaded = _loaded_after(code)
    assert "typer" in loaded and "dslineage" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def _modules_after_running(argv: list[str], cwd: str | None = None) -> set[str]:
    """Every module (full dotted names) loaded by the console script run in-process with `argv`."""
    code = (
        f"import os, sys\nos.chdir({cwd or '.'!r})\nsys.argv = ['dslineage', *{argv!r}]\n"
        "from dslineage.__main__ import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
        "import json\nprint(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_top_level_help_loads_neither_typer_nor_rich():
    """`dslineage --help`, `-h` and no arguments are answered from the command table: no Typer, Rich,
    pydantic or command module is imported."""
    for argv in (["--help"], ["-h"], []):
        loaded = _modules_after_running(argv)
        top = {m.split(".")[0] for m in loaded}
        assert top.isdisjoint({"typer", "click", "rich", "pydantic", *HEAVY}), (argv, sorted(top))
        assert not any(m.startswith("dslineage.cli") for m in loaded), argv


def test_a_command_imports_only_its_own_command_module(committed):
    """`dslineage log NAME` imports the `log` command module and no other one."""
    loaded = _modules_after_running(["log", "train"], str(committed.root))
    commands = {m for m in loaded if m.startswith("dslineage.cli.") and not m.startswith("dslineage.cli._")}
    assert commands == {"dslineage.cli.app", "dslineage.cli.log"}, sorted(commands)


def test_importing_the_package_and_repo_stays_light():
    """`import dslineage` is cheap; `dslineage.Repo` itself still defers DVC, DuckDB and pyarrow."""
    assert _loaded_after("import dslineage").isdisjoint(HEAVY)
    loaded = _loaded_after("import dslineage\ndslineage.Repo")
    assert loaded.isdisjoint({"dvc", "duckdb", "pyarrow", "networkx", "pandas"}), loaded


def test_python_dash_m_help():
    """`python -m dslineage --help` lists the core commands and exits 0."""
    out = subprocess.run([sys.executable, "-m", "dslineage", "--help"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for cmd in (
        "init",
        "track",
        "commit",
        "log",
        "show",
        "diff",
        "history",
        "checkout",
        "status",
        "tag",
        "reindex",
        "demo",
    ):
        assert cmd in out.stdout


def test_version_fast_path_matches_the_option(tmp_path):
    """A bare `--version` (answered before Typer loads) prints what the eager option prints."""
    fast = subprocess.run([sys.executable, "-m", "dslineage", "--version"], capture_output=True, text=True)
    slow = subprocess.run([sys.executable, "-m", "dslineage", "--debug", "--version"], capture_output=True, text=True)
    assert fast.returncode == slow.returncode == 0
    assert fast.stdout == slow.stdout and fast.stdout.startswith("dslineage ")
    assert _loaded_after(
        "import sys\nsys.argv = ['dslineage', '--version']\nimport dslineage.__main__\ndslineage.__main__.main()"
    ).isdisjoint({"typer", "rich"})


def test_a_read_command_loads_neither_pydantic_nor_gitpython(committed):
    """`log` on a small repository needs neither pydantic (Typer >= 0.29) nor GitPython."""
    code = (
        f"import os, sys\nos.chdir({str(committed.root)!r})\nsys.argv = ['dslineage', 'log', 'train']\n"
        "from dslineage.__main__ import main\ntry:\n    main()\nexcept SystemExit:\n    pass"
    )
    loaded = _loaded_after(code)
    assert loaded & {"duckdb", "_duckdb"}  # the command ran
    assert loaded.isdisjoint({"pydantic", "git"}), sorted(loaded & {"pydantic", "git"})


def test_a_read_command_opens_the_index_without_the_duckdb_package(committed):
    """`log` and `history` use DuckDB's compiled module alone where it ships apart (duckdb >= 1.5): the
    package's import (importlib.metadata, to read its own version) is not paid."""
    if importlib.util.find_spec("_duckdb") is None:
        pytest.skip("this duckdb keeps its compiled module inside the package (duckdb < 1.5)")
    for argv in (["log", "train"], ["history", "train", "1"]):
        code = (
            f"import os, sys\nos.chdir({str(committed.root)!r})\nsys.argv = ['dslineage', *{argv!r}]\n"
            "from dslineage.__main__ import main\ntry:\n    main()\nexcept SystemExit:\n    pass"
        )
        loaded = _loaded_after(code)
        assert "_duckdb" in loaded and "duckdb" not in loaded, argv


def test_a_json_command_does_not_import_rich(committed):
    """`log --json` prints through no Rich console, so Rich is never imported; the table form still
    prints through one."""
    loaded = _modules_after_running(["log", "train", "--json"], str(committed.root))
    assert "dslineage.cli.log" in loaded  # the command ran
    assert not any(m == "rich" or m.startswith("rich.") for m in loaded), sorted(m for m in loaded if "rich" in m)
    assert "rich.console" in _modules_after_running(["log", "train"], str(committed.root))
