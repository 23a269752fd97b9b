"""Docs that cannot rot: every command has help with an example and a README heading, the README's
command examples parse with the real CLI, and the Quickstart is what CI runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main

import dslineage.cli

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI_RUN = ROOT / ".ci" / "run"


def _commands(cmd: Any = None, path: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    """Every registered command as ("exp record", command), groups and their sub-commands included."""
    cmd = cmd or typer.main.get_command(dslineage.cli.app)
    found: list[tuple[str, Any]] = []
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        found.append((" ".join((*path, name)), sub))
        found += _commands(sub, (*path, name))
    return found


COMMANDS = _commands()
NAMES = [name for name, _ in COMMANDS]


def _section(title: str) -> str:
    """The README text under the `## title` heading, up to the next `## ` heading."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert m, f"README.md has no '## {title}' section"
    return m.group(1)


def _fenced(text: str, lang: str) -> list[str]:
    """The bodies of the ```lang fenced blocks in `text`."""
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.M | re.S)


def _examples() -> list[str]:
    """Every `dslineage ...` invocation in the README's bash and console blocks (pipes, `&&`, `>` split off)."""
    found: list[str] = []
    for lang in ("bash", "console"):
        for block in _fenced(README, lang):
            for line in block.splitlines():
                if lang == "console":
                    if not line.startswith("$ "):
                        continue  # program output, not a command
                    line = line[2:]
                for part in re.split(r"\|\||&&|\||;|>", line.split(" #")[0]):
                    part = part.strip()
                    if part.startswith("dslineage "):
                        found.append(part)
    return found


def test_command_list_includes_exp_subcommands() -> None:
    """The walk of the Typer app finds the core verbs and the `exp` sub-commands (so the checks below see them)."""
    assert {"init", "diff", "relabel", "lineage", "check", "exp", "exp record", "exp diff"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_command_has_help_and_an_example(name: str) -> None:
    """Each command's help is non-empty and has an `Example:` line that runs that very command."""
    help_text = (dict(COMMANDS)[name].help or "").strip()
    assert help_text, f"`dslineage {name}` has no help text: give its function a docstring"
    examples = [ln.strip() for ln in help_text.splitlines() if ln.strip().startswith("Example:")]
    assert any(f"dslineage {name}" in ex for ex in examples), (
        f"`dslineage {name} --help` has no 'Example: ... dslineage {name} ...' line: add one to its docstring"
    )


@pytest.mark.parametrize("name", NAMES)
def test_every_command_has_a_readme_heading(name: str) -> None:
    """Each command (`exp` sub-commands too) heads its own entry in the README's command reference."""
    heading = re.compile(rf"^#{{3,4}} `dslineage {re.escape(name)}(?![\w-])", re.M)
    assert heading.search(_section("Commands")), (
        f"README.md '## Commands' has no '### `dslineage {name} ...`' heading: document the command there"
    )


def test_readme_headings_name_only_real_commands() -> None:
    """Every `dslineage X` heading in the command reference names a registered command (none left after a rename)."""
    real = set(NAMES)
    for m in re.finditer(r"^#{3,4} `dslineage ([a-z-]+)(?: ([a-z-]+))?", _section("Commands"), re.M):
        name = f"{m.group(1)} {m.group(2)}" if f"{m.group(1)} {m.group(2)}" in real else m.group(1)
        assert name in real, f"README.md documents `dslineage {name}`, which the CLI does not have"


@pytest.mark.parametrize("example", _examples())
def test_readme_examples_parse(example: str) -> None:
    """Each `dslineage ...` example in the README names a real command, and its options and arguments parse."""
    args = shlex.split(example)[1:]
    cmd: Any = typer.main.get_command(dslineage.cli.app)
    path = ["dslineage"]
    while getattr(cmd, "commands", None):  # a group: skip its own options, then descend
        while args and args[0].startswith("-"):
            opt = next((p for p in cmd.params if args[0] in p.opts), None)
            assert opt is not None, f"{example!r}: `{' '.join(path)}` has no option {args[0]}"
            args = args[1 if opt.is_flag else 2:]
        assert args and args[0] in cmd.commands, f"{example!r}: no command `{' '.join(path[1:] + args[:1])}`"
        path.append(args[0])
        cmd, args = cmd.commands[args[0]], args[1:]
    try:
        cmd.make_context(" ".join(path), args)
    except Exception as exc:  # the CLI's own usage error, e.g. "No such option: --bogus"
        pytest.fail(f"{example!r}: {exc}")


def test_quickstart_is_two_commands_and_the_second_is_ci() -> None:
    """The Quickstart has exactly two fenced bash commands, and the second is exactly the last line of .ci/run."""
    blocks = [b.strip() for b in _fenced(_section("Quickstart"), "bash")]
    assert len(blocks) == 2, f"Quickstart has {len(blocks)} bash blocks, not 2"
    assert all(b and "\n" not in b for b in blocks), "each Quickstart block must be one command line"
    last = [ln for ln in CI_RUN.read_text(encoding="utf-8").splitlines() if ln.strip()][-1]
    assert blocks[1] == last.strip(), "the Quickstart's second command must be exactly the last line of .ci/run"


def test_readme_links_point_at_headings() -> None:
    """Every `(#anchor)` link in the README (the table of contents included) matches a heading's GitHub anchor."""
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", README, re.M):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    for link in re.findall(r"\]\(#([^)]+)\)", README):
        assert link in anchors, f"README.md links to #{link}, but no heading has that anchor"
