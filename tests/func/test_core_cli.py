"""The command line end to end (typer's CliRunner): JSON contracts, exit codes, stdout vs stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.support import cli_json, invoke, md5, run, write_parquet

DIFF_KEYS = {"a", "b", "rows", "columns", "label_transitions", "class_distribution", "schema"}
LOG_KEYS = {
    "id",
    "seq",
    "dataset",
    "md5",
    "parent",
    "git_commit",
    "message",
    "author",
    "timestamp",
    "rows",
    "label_changes",
}
EVENT_KEYS = {"version", "seq", "change", "labels", "author", "timestamp", "message"}


@pytest.fixture
def cli_repo(tmp_path: Path) -> Path:
    """A repo made by `dslineage init` + `track` through the CLI, with `train` committed as v1."""
    root = tmp_path / "proj"
    r = cli_json(None, "init", str(root))
    assert r["root"] == str(root) and r["git_initialized"] and r["dvc_initialized"] and r["created"]
    assert cli_json(None, "init", str(root))["created"] is False  # idempotent
    write_parquet(
        root / "data" / "train.parquet",
        {"id": [1, 2, 3, 4], "x": [1.0, 2.0, 3.0, 4.0], "label": ["cat", "dog", "cat", "dog"]},
    )
    t = cli_json(root, "track", "data/train.parquet", "--key", "id", "--label", "label")
    assert t["dataset"] == "train"
    [v1] = cli_json(root, "commit", "-m", "first")
    assert v1["seq"] == 1
    return root


def _edit(root: Path) -> None:
    """Relabel 2 (dog → cat), edit x of 3, remove 4, add 5."""
    write_parquet(
        root / "data" / "train.parquet",
        {"id": [1, 2, 3, 5], "x": [1.0, 2.0, 9.0, 5.0], "label": ["cat", "cat", "cat", "bird"]},
    )


@pytest.mark.slow
def test_json_contracts(cli_repo):
    """status, commit, log, show, diff and history --json print plain JSON with the issue's keys."""
    root = cli_repo
    [s] = cli_json(root, "status")
    assert s == {**s, "dataset": "train", "dirty": False, "rows": {"added": 0, "removed": 0, "modified": 0}}
    _edit(root)
    [s] = cli_json(root, "status")
    assert s["dirty"] is True and s["rows"] == {"added": 1, "removed": 1, "modified": 2}
    d = cli_json(root, "diff", "train@v1")
    assert DIFF_KEYS <= set(d) and d["b"]["id"] is None and d["b"]["md5"] == md5(root / "data" / "train.parquet")
    assert {"id", "seq", "md5"} <= set(d["a"]) and set(d["rows"]) >= {"added", "removed", "modified", "unchanged"}
    assert set(d["schema"]) == {"added", "removed", "retyped"}
    assert all(set(t) == {"column", "from", "to", "count"} for t in d["label_transitions"])
    assert all(set(c) == {"column", "label", "a", "b"} for c in d["class_distribution"])
    [v2] = cli_json(root, "commit", "train", "-m", "edit", "--author", "Ann <ann@example.com>")
    assert v2["seq"] == 2 and v2["author"] == "Ann <ann@example.com>"
    log = cli_json(root, "log")
    assert [e["seq"] for e in log] == [2, 1] and all(LOG_KEYS <= set(e) for e in log)
    assert log[0]["label_changes"] == 1 and log[0]["git_commit"] == run(root, "git", "rev-parse", "HEAD").stdout.strip()
    shown = cli_json(root, "show", "train@latest~1")
    assert shown["id"] == log[1]["id"] and shown["schema"] and shown["class_distribution"]
    d = cli_json(root, "diff", "train@v1", "train@v2")
    assert d["rows"] == {"added": 1, "removed": 1, "modified": 2, "relabeled": 1, "unchanged": 1}
    assert d["a"]["seq"] == 1 and d["b"]["seq"] == 2
    h = cli_json(root, "history", "train", "2")
    assert set(h) >= {"dataset", "key", "events"} and h["key"] == {"id": 2}
    assert all(EVENT_KEYS <= set(e) for e in h["events"])
    assert [(e["change"], e["labels"]) for e in h["events"]] == [
        ("added", {"label": "dog"}),
        ("relabeled", {"label": "cat"}),
    ]
    assert cli_json(root, "history", "train", "--key-value", "id=2") == h
    assert [e["change"] for e in cli_json(root, "history", "train", "4")["events"]] == ["added", "removed"]
    assert [e["change"] for e in cli_json(root, "history", "train", "3")["events"]] == ["added", "modified"]


@pytest.mark.slow
def test_commit_nothing_changed_exit_0(cli_repo):
    """commit with nothing changed says so on stderr, prints nothing on stdout, exits 0."""
    head = run(cli_repo, "git", "rev-parse", "HEAD").stdout
    result = invoke(cli_repo, "commit", "-m", "again")
    assert result.exit_code == 0 and result.stdout == "" and "nothing changed" in result.stderr
    assert cli_json(cli_repo, "commit", "-m", "again") == []
    assert run(cli_repo, "git", "rev-parse", "HEAD").stdout == head


@pytest.mark.slow
def test_status_quiet_exit_codes(cli_repo):
    """status -q prints nothing and exits 1 exactly when something is uncommitted."""
    clean = invoke(cli_repo, "status", "-q")
    assert (clean.exit_code, clean.stdout, clean.stderr) == (0, "", "")
    _edit(cli_repo)
    dirty = invoke(cli_repo, "status", "--quiet")
    assert (dirty.exit_code, dirty.stdout, dirty.stderr) == (1, "", "")
    invoke(cli_repo, "commit", "-m", "edit")
    assert invoke(cli_repo, "status", "-q").exit_code == 0
    (cli_repo / "data" / "train.parquet").unlink()
    assert invoke(cli_repo, "status", "-q").exit_code == 1
    assert cli_json(cli_repo, "status")[0]["missing"] is True


@pytest.mark.slow
def test_checkout_tag_reindex(cli_repo):
    """checkout, tag and reindex work through the CLI and report on stderr."""
    v1_md5 = md5(cli_repo / "data" / "train.parquet")
    _edit(cli_repo)
    invoke(cli_repo, "commit", "-m", "edit")
    r = invoke(cli_repo, "tag", "train@v1", "baseline")
    assert r.exit_code == 0 and "tagged train@v1 as baseline" in r.stderr and r.stdout == ""
    c = cli_json(cli_repo, "checkout", "train@baseline")
    assert c["seq"] == 1 and c["changed"] is True and md5(cli_repo / "data" / "train.parquet") == v1_md5
    r = invoke(cli_repo, "checkout", "train@latest")
    assert r.exit_code == 0 and "restored train@v2" in r.stderr
    r = invoke(cli_repo, "reindex")
    assert r.exit_code == 0 and "2 versions" in r.stderr


@pytest.mark.slow
def test_human_output_goes_to_stdout_messages_to_stderr(cli_repo):
    """Tables (log, show, diff --rows, history, status) on stdout; notes on stderr."""
    _edit(cli_repo)
    st = invoke(cli_repo, "status")
    assert st.exit_code == 0 and "train" in st.stdout and "modified" in st.stdout
    invoke(cli_repo, "commit", "-m", "edit labels")
    log = invoke(cli_repo, "log", "train")
    assert log.exit_code == 0 and "train@v2" in log.stdout and "edit labels" in log.stdout and log.stderr == ""
    show = invoke(cli_repo, "show", "train@v2")
    assert show.exit_code == 0 and "schema" in show.stdout and "class distribution" in show.stdout
    diff = invoke(cli_repo, "diff", "train@v1", "train@v2", "--rows", "3")
    assert diff.exit_code == 0 and "label transitions" in diff.stdout and "changed rows" in diff.stdout
    assert "dog → cat" in diff.stdout and "old.label" not in diff.stdout  # changed columns as old → new
    hist = invoke(cli_repo, "history", "train", "2")
    assert hist.exit_code == 0 and "relabeled" in hist.stdout and "dog → cat" in hist.stdout


@pytest.mark.slow
def test_diff_output_path_is_relative_to_cwd(cli_repo):
    """--output FILE is taken relative to where the command runs (-C here) and reported."""
    _edit(cli_repo)
    result = invoke(cli_repo, "diff", "train@v1", "--output", "reports/changes.parquet", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["output"] == "reports/changes.parquet"
    table = pq.read_table(cli_repo / "reports" / "changes.parquet")
    assert sorted(table.column("id").to_pylist()) == [2, 3, 4, 5]


@pytest.mark.slow
def test_global_options(cli_repo, tmp_path):
    """-C runs elsewhere like git -C; --version and -h work without a repository."""
    version = invoke(None, "--version")
    assert version.exit_code == 0 and version.stdout.startswith("dslineage ")
    helped = invoke(None, "-h")
    assert helped.exit_code == 0 and "diff" in helped.stdout and "history" in helped.stdout
    for cmd in ("init", "track", "commit", "log", "show", "diff", "history", "checkout", "status", "tag", "reindex"):
        assert invoke(None, cmd, "--help").exit_code == 0
    sub = cli_repo / "data"
    assert [e["seq"] for e in cli_json(sub, "log")] == [1]  # found from a subfolder, like git
    missing = invoke(tmp_path / "nowhere", "log")
    assert missing.exit_code == 1 and missing.stderr.startswith("error: cannot change to")


@pytest.mark.slow
def test_lean_app_for_one_command_says_what_the_whole_app_says(tmp_path):
    """The console script registers only the named command: help, usage errors and global options
    read exactly as with every command registered; the top-level help lists every command without
    building their parameters; `--version` first, no command or a typo get the whole app."""
    import typer
    from typer.testing import CliRunner

    from dslineage.cli.app import _lean, _listed, app

    names = [c.name or typer.main.get_command_name(c.callback.__name__) for c in app.registered_commands]
    names += [g.name for g in app.registered_groups]
    assert len(names) > 20 and "exp" in names
    for i, name in enumerate(names):
        for extra in (["--help"], ["--bogus-option"])[: 2 if i < 3 else 1]:
            args = ["-C", str(tmp_path), "--wait-for-lock", "1", name, *extra]
            lean = _lean(args)
            assert lean is not app and [c.callback for c in lean.registered_commands] != [
                c.callback for c in app.registered_commands
            ]
            full, part = CliRunner().invoke(app, args), CliRunner().invoke(lean, args)
            assert (part.output, part.exit_code) == (full.output, full.exit_code), (name, extra)
    for args in (["--version", "log"], ["logg"], ["--debug"]):
        assert _lean(args) is app, args
    for args in ([], ["--help"], ["-C", str(tmp_path), "-h", "log"]):  # the listing: no parameters built
        lean = _lean(args)
        assert lean is not app and {c.callback for c in lean.registered_commands} == {_listed}
        full, part = CliRunner().invoke(app, args), CliRunner().invoke(lean, args)
        assert (part.output, part.exit_code) == (full.output, full.exit_code) and "relabel" in part.output


@pytest.mark.slow
def test_fast_top_level_help_is_the_apps_help() -> None:
    """The console script's own `--help` (from the command table, without Typer) prints exactly what
    the whole Typer app prints, at every terminal width; bare `dslineage` prints it and exits 2."""
    import os
    import subprocess
    import sys

    for width in (20, 50, 79, 80, 100, 250):
        env = {**os.environ, "COLUMNS": str(width)}
        whole_app = "import sys; from dslineage.cli.app import app; app(['--help'], prog_name='dslineage')"
        fast, full = (
            subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env)
            for args in (["-m", "dslineage", "--help"], ["-c", whole_app])
        )
        assert fast.returncode == full.returncode == 0 and "relabel" in full.stdout
        assert fast.stdout == full.stdout, width
    bare = subprocess.run([sys.executable, "-m", "dslineage"], capture_output=True, text=True)
    assert bare.returncode == 2 and bare.stdout == fast.stdout
    from dslineage.__main__ import _only_help

    assert _only_help(["-C", "x", "--debug", "--wait-for-lock", "-1", "-h"]) and _only_help(["--help"])
    assert not _only_help(["-C", "--help"]) and not _only_help(["log", "--help"]) and not _only_help(["--help", "log"])


def test_command_table_is_up_to_date() -> None:
    """`dslineage/_commands.py` lists every command as the app defines it now (regenerate with
    `python -m dslineage.cli._table`)."""
    from dslineage import _commands
    from dslineage.cli import _table

    assert Path(_commands.__file__).read_text(encoding="utf-8") == _table.source(), (
        "the command table is stale: run `python -m dslineage.cli._table`"
    )
    assert [c for c, _, _ in _commands.COMMANDS].count("exp") == 1 and _commands.module_of("show") == "log"
