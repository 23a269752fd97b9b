"""Errors, help and references read like git's: one-line usage errors, help without type noise,
metavars that say what to type, and a strict NAME@REF grammar (issue 11, item 5)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

import dslineage.cli
from dslineage import Repo
from dslineage.errors import RefError
from tests.support import invoke, new_repo, snapshot_state, write_parquet


def _commands(cmd: Any = None, path: tuple[str, ...] = ()) -> list[str]:
    """Every registered command path ("diff", "exp", "exp show"), groups and sub-commands included."""
    cmd = cmd or typer.main.get_command(dslineage.cli.app)
    found: list[str] = []
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        found.append(" ".join((*path, name)))
        found += _commands(sub, (*path, name))
    return found


NAMES = ["", *_commands()]  # "" is the root: `dslineage --help`

# type names click/Typer print after options and arguments; none says what to type
NOISE = re.compile(r"<(str|int|float|bool|path|list|text)\b[^>]*>|\b(TEXT|INTEGER|BOOLEAN|FLOAT)\b|RANGE|x<=|<=x|\{")


def _help(name: str) -> str:
    result = invoke(None, *name.split(), "--help")
    assert result.exit_code == 0, (name, result.stderr)
    return str(result.stdout)


@pytest.mark.parametrize("name", NAMES)
def test_help_has_no_type_noise(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--help` of every command shows no `<str>`/`<int range>`/`<bool>`/TEXT/INTEGER or `{arg}` noise."""
    for width in ("80", "120"):
        monkeypatch.setenv("COLUMNS", width)
        text = _help(name)
        assert not NOISE.search(text), f"`dslineage {name} --help` at {width} columns shows type noise:\n{text}"


@pytest.mark.parametrize("name", NAMES)
def test_usage_line_names_what_to_type(name: str) -> None:
    """The usage line's arguments are upper-case metavars (NAME@REF, KEY), never the Python names."""
    text = _help(name)
    usage = next(ln for ln in text.splitlines() if ln.strip().startswith("Usage:"))
    pieces = usage.split("[OPTIONS]", 1)[1].split() if "[OPTIONS]" in usage else []
    for piece in pieces:
        assert re.fullmatch(r"\[?[A-Z][A-Z0-9@_.=,:\[\]-]*\]?(\.\.\.)?", piece), (
            f"`dslineage {name}` usage shows {piece!r}: give the argument a metavar ({usage.strip()!r})"
        )


@pytest.mark.parametrize("name", NAMES)
def test_flags_take_no_value_and_options_show_one(name: str) -> None:
    """A flag (--json, --help) shows no value after it; every option that takes a value shows a metavar."""
    cmd: Any = typer.main.get_command(dslineage.cli.app)
    for part in name.split():
        cmd = cmd.commands[part]
    text = _help(name).split("\nOptions:", 1)[1]
    for param in cmd.params:
        if param.param_type_name != "option" or getattr(param, "hidden", False):
            continue
        longest = max(param.opts, key=len)
        line = next((ln for ln in text.splitlines() if re.match(rf"\s+(-\S+, )*{re.escape(longest)}\b", ln)), None)
        assert line is not None, f"`dslineage {name} --help` does not list {longest}"
        after = line.split(longest, 1)[1]
        if param.is_flag:
            assert re.match(r"( / --[\w-]+)?(\s{2,}\S|\s*$)", after), f"flag {longest} shows a value: {line!r}"
        else:
            assert re.match(r" [A-Z][A-Z0-9@_.=,:\[\]-]*(\.\.\.)?(\s{2,}|$)", after), (
                f"option {longest} of `dslineage {name}` shows no metavar: {line!r}"
            )


def test_diff_usage_line() -> None:
    """`dslineage diff --help` starts with the git-like usage line the issue asks for."""
    assert "Usage: dslineage diff [OPTIONS] NAME@A [NAME@B]" in _help("diff")


def test_help_keeps_examples_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    """Example lines stay whole lines at 80 columns (not re-wrapped into the paragraph before)."""
    monkeypatch.setenv("COLUMNS", "80")
    lines = [ln.strip() for ln in _help("diff").splitlines()]
    assert "Example: dslineage diff train@v1 train@latest --rows 5" in lines


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("diff", "--rows", "-5", "t@v1"), "error: --rows must be ≥ 0"),
        (("diff", "--rows", "500000", "t@v1"), "error: --rows must be ≤ 100000"),
        (("diff", "--rows", "abc", "t@v1"), "error: --rows must be a whole number"),
        (("--wait-for-lock", "-1", "log"), "error: --wait-for-lock must be ≥ 0"),
    ],
)
def test_bad_values_are_one_line(args: tuple[str, ...], expected: str) -> None:
    """A bad option value: exactly one line on stderr, exit 2 (usage), nothing on stdout."""
    result = invoke(None, *args)
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert result.stderr == expected + "\n"
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("history",), ["missing", "NAME", "dslineage history"]),
        (("exp", "show"), ["missing", "EXPERIMENT", "dslineage exp show"]),
        (("bogus",), ["no such command", "bogus"]),
        (("diff", "--bogus", "t@v1"), ["no such option", "--bogus"]),
        (("log", "a", "b"), ["unexpected", "b"]),
        (("--bogus", "log"), ["no such option", "--bogus"]),
        (("diff", "t@v1", "--output"), ["--output", "needs"]),
    ],
)
def test_usage_errors_are_one_line(args: tuple[str, ...], words: list[str]) -> None:
    """Missing arguments, unknown commands/options, extra arguments: one `error:` line, exit 2, no box."""
    result = invoke(None, *args)
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    err = result.stderr
    assert err.startswith("error: ") and err.count("\n") == 1, repr(err)
    assert "╭" not in err and "Usage:" not in err and "Traceback" not in err
    for word in words:
        assert word.lower() in err.lower(), (word, err)


# -- the reference grammar -------------------------------------------------------------------

GRAMMAR = ("NAME@vN", "NAME@latest[~N]", "NAME@TAG", "NAME@<id prefix>", "NAME@<git rev>[~N]")


@pytest.fixture(scope="module")
def refs_repo(module_env: Path) -> Path:
    """`train` with v1 and v2."""
    root = new_repo(module_env / "grammar")
    path = root / "data" / "train.parquet"
    with Repo(root) as repo:
        for seq in (1, 2):
            write_parquet(path, {"id": [1, 2, 3], "label": ["a", "b", "c" * seq]})
            if seq == 1:
                repo.track(str(path), ["id"], ["label"])
            repo.commit(["train"], f"version {seq}", None)
    return root


@pytest.mark.parametrize(
    "ref", ["train@@", "train@", "@v1", "train@v", "train@latest~x", "train@v1~x", "train@@v1", "train@ v1", "@"]
)
def test_malformed_refs_state_the_grammar(refs_repo: Path, ref: str) -> None:
    """A malformed reference is a one-line RefError stating the grammar (never the latest version)."""
    with Repo(refs_repo) as repo, pytest.raises(RefError) as err:
        repo.resolve(ref)
    msg = str(err.value)
    assert "\n" not in msg and repr(ref) in msg
    for form in GRAMMAR:
        assert form in msg, (form, msg)


@pytest.mark.parametrize("cmd", [("show",), ("diff",), ("blame",), ("checkout",)])
def test_malformed_ref_through_the_cli(refs_repo: Path, cmd: tuple[str, ...]) -> None:
    """`show ds@@` and friends: one error line naming the grammar, exit 1, nothing changed."""
    before = snapshot_state(refs_repo)
    result = invoke(refs_repo, *cmd, "train@@")
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "NAME@vN" in result.stderr and result.stdout == ""
    assert snapshot_state(refs_repo) == before


@pytest.mark.parametrize(
    ("ref", "seq"),
    [
        ("train@v1", 1),
        ("train@latest", 2),
        ("train@latest~", 1),
        ("train@latest~1", 1),
        ("train@HEAD~1", 1),
        ("train", 2),
        ("train@main", 2),
        ("train@v2~1", 1),
    ],
)
def test_well_formed_refs_still_resolve(refs_repo: Path, ref: str, seq: int) -> None:
    """The grammar keeps every documented form: vN, latest[~N], bare NAME, git revs with ~N."""
    with Repo(refs_repo) as repo:
        assert repo.resolve(ref)["seq"] == seq
