"""Docs that cannot rot: every command has help with an example and a section in the generated CLI reference,
every `dslineage ...` example in the README and docs/ parses with the real CLI, every relative link and the
mkdocs nav resolve, and the README stays a short front door whose Quickstart is what CI runs. No git, no DVC
(tests/test_docs_contracts.py runs the commands whose JSON keys docs/json.md lists)."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

import dslineage.cli

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())  # any test tier
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI_RUN = ROOT / ".ci" / "run"
README_MAX_LINES = 250


def _load_hooks() -> Any:
    """docs/hooks.py (the MkDocs hook that generates the CLI reference), imported without MkDocs."""
    spec = importlib.util.spec_from_file_location("dslineage_docs_hooks", DOCS / "hooks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HOOKS = _load_hooks()
COMMANDS = HOOKS.commands()
NAMES = [name for name, _ in COMMANDS]
REFERENCE = HOOKS.cli_reference()
PAGES = {p.relative_to(DOCS).as_posix(): p.read_text(encoding="utf-8") for p in sorted(DOCS.rglob("*.md"))}


@functools.cache
def _app() -> Any:
    """The click command of the Typer app, built once (building it takes ~40 ms)."""
    return typer.main.get_command(dslineage.cli.app)


def _section(title: str) -> str:
    """The README text under the `## title` heading, up to the next `## ` heading."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert m, f"README.md has no '## {title}' section"
    return m.group(1)


def _fenced(text: str, lang: str) -> list[str]:
    """The bodies of the ```lang fenced blocks in `text`."""
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.M | re.S)


def _examples(text: str) -> list[str]:
    """Every `dslineage ...` invocation in the bash and console blocks of `text` (pipes, `&&`, `>` split off)."""
    found: list[str] = []
    for lang in ("bash", "console"):
        for block in _fenced(text, lang):
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


def _all_examples() -> list[tuple[str, str]]:
    """(where, example) for the README, every docs/ page and the generated CLI reference."""
    found = [("README.md", ex) for ex in _examples(README)]
    for rel, text in PAGES.items():
        found += [(f"docs/{rel}", ex) for ex in _examples(text)]
    found += [("CLI reference (generated)", ex) for ex in _examples(REFERENCE)]
    return found


# -- every command is documented -------------------------------------------------------------------


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
def test_every_command_is_in_the_generated_reference(name: str) -> None:
    """The generated CLI reference has a section for each command with its usage line, options and examples."""
    m = re.search(rf"^## `dslineage {re.escape(name)}`\n(.*?)(?=^## |\Z)", REFERENCE, re.M | re.S)
    assert m, f"the generated CLI reference has no section for `dslineage {name}`"
    section = m.group(1)
    assert f"Usage: dslineage {name} " in section, f"`dslineage {name}`: no usage line in its reference section"
    assert "--help" in section, f"`dslineage {name}`: its options are missing from its reference section"
    for line in (dict(COMMANDS)[name].help or "").splitlines():
        if not line.strip().startswith("Example:"):
            continue
        ex, _ = HOOKS.split_example(line.strip()[len("Example:") :])
        assert ex in section, f"`dslineage {name}`: the example {ex!r} is missing from its reference section"


def test_reference_sections_are_exactly_the_commands() -> None:
    """The reference documents no command the CLI lacks (nothing stale survives a rename)."""
    documented = re.findall(r"^## `dslineage ([a-z -]+)`$", REFERENCE, re.M)
    assert documented == NAMES


def test_doc_headings_name_only_real_commands() -> None:
    """Every `dslineage X` heading in the README and docs/ names a registered command (none left after a rename)."""
    real = set(NAMES)
    for where, text in [("README.md", README), *((f"docs/{k}", v) for k, v in PAGES.items())]:
        for _, heading in HOOKS.headings(text):
            m = re.match(r"^`dslineage ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?(?![\w-])", heading)
            if m:
                name = f"{m.group(1)} {m.group(2)}" if f"{m.group(1)} {m.group(2)}" in real else m.group(1)
                assert name in real, f"{where} documents `dslineage {name}`, which the CLI does not have"


@pytest.mark.parametrize(("where", "example"), _all_examples())
def test_examples_parse(where: str, example: str) -> None:
    """Each `dslineage ...` example in the README and docs/ names a real command, and its arguments parse."""
    args = shlex.split(example)[1:]
    cmd: Any = _app()
    path = ["dslineage"]
    while getattr(cmd, "commands", None):  # a group: skip its own options, then descend
        while args and args[0].startswith("-"):
            opt = next((p for p in cmd.params if args[0] in p.opts), None)
            assert opt is not None, f"{where}: {example!r}: `{' '.join(path)}` has no option {args[0]}"
            args = args[1 if opt.is_flag else 2 :]
        assert args and args[0] in cmd.commands, f"{where}: {example!r}: no command `{' '.join(path[1:] + args[:1])}`"
        path.append(args[0])
        cmd, args = cmd.commands[args[0]], args[1:]
    try:
        cmd.make_context(" ".join(path), args)
    except Exception as exc:  # the CLI's own usage error, e.g. "No such option: --bogus"
        pytest.fail(f"{where}: {example!r}: {exc}")


# -- the README is a front door --------------------------------------------------------------------


def test_readme_is_short() -> None:
    """The README stays a front door (pitch, install, Quickstart, tour, links): at most 250 lines."""
    lines = README.count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines (≤ {README_MAX_LINES}): move details to docs/"


def test_quickstart_is_two_commands_and_the_second_is_ci() -> None:
    """The Quickstart has exactly two fenced bash commands, and the second is exactly the last line of .ci/run."""
    blocks = [b.strip() for b in _fenced(_section("Quickstart"), "bash")]
    assert len(blocks) == 2, f"Quickstart has {len(blocks)} bash blocks, not 2"
    assert all(b and "\n" not in b for b in blocks), "each Quickstart block must be one command line"
    last = [ln for ln in CI_RUN.read_text(encoding="utf-8").splitlines() if ln.strip()][-1]
    assert blocks[1] == last.strip(), "the Quickstart's second command must be exactly the last line of .ci/run"


def _github_anchor(heading: str) -> str:
    """The anchor GitHub gives a README heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _links(text: str) -> list[str]:
    """The targets of the Markdown links in `text` outside fenced code blocks and code spans."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    text = re.sub(r"``.*?``|`[^`\n]*`", "", text)
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_readme_links_resolve() -> None:
    """Every README link to a heading (`#anchor`) matches a heading's GitHub anchor, every relative link a file."""
    anchors = {_github_anchor(h) for _, h in HOOKS.headings(README)}
    for link in _links(README):
        if re.match(r"^[a-z]+:", link):
            continue  # https:, mailto:
        path, _, anchor = link.partition("#")
        if not path:
            assert anchor in anchors, f"README.md links to #{anchor}, but no heading has that anchor"
            continue
        target = ROOT / path
        assert target.exists(), f"README.md links to {path}, which does not exist"
        if anchor:
            assert anchor in {_github_anchor(h) for _, h in HOOKS.headings(target.read_text(encoding="utf-8"))}, (
                f"README.md links to {link}, but {path} has no heading with that anchor"
            )


def _mkdocs_anchors(text: str) -> set[str]:
    """The anchors MkDocs gives the headings of a page (a repeated heading gets `_1`, `_2`, ...)."""
    seen: dict[str, int] = {}
    for _, heading in HOOKS.headings(text):
        slug = HOOKS.slugify(heading)
        seen[slug] = seen.get(slug, -1) + 1
        if seen[slug]:
            seen[f"{slug}_{seen[slug]}"] = 0
    return set(seen)


def _page_text(rel: str) -> str:
    """A docs page as the site shows it (the CLI reference with its generated part)."""
    text = PAGES[rel]
    return text.replace(HOOKS.CLI_MARKER, REFERENCE) if HOOKS.CLI_MARKER in text else text


@pytest.mark.parametrize("rel", sorted(PAGES))
def test_docs_links_resolve(rel: str) -> None:
    """Every relative link of a docs page (the generated reference included) names a page and one of its headings."""
    text = _page_text(rel)
    for link in _links(text):
        if re.match(r"^[a-z]+:", link):
            continue
        path, _, anchor = link.partition("#")
        target = os.path.normpath(os.path.join(os.path.dirname(rel), path)) if path else rel
        if not target.endswith(".md"):  # an image or another file the site copies as it is
            assert (DOCS / target).is_file(), f"docs/{rel} links to {link}: no file docs/{target}"
            continue
        assert target in PAGES, f"docs/{rel} links to {link}: no page docs/{target}"
        if anchor:
            assert anchor in _mkdocs_anchors(_page_text(target)), (
                f"docs/{rel} links to {link}, but docs/{target} has no heading with that anchor"
            )


def _nav_files(nav: Any) -> list[str]:
    """The page files named in the mkdocs.yml nav (nested sections included)."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [f for item in nav for f in _nav_files(item)]
    if isinstance(nav, dict):
        return [f for value in nav.values() for f in _nav_files(value)]
    return []


def test_mkdocs_nav_resolves_and_lists_every_page() -> None:
    """Every mkdocs.yml nav entry is a page in docs/, and every page in docs/ is in the nav."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = _nav_files(config["nav"])
    missing = [f for f in nav if f not in PAGES]
    assert not missing, f"mkdocs.yml's nav names pages that do not exist in docs/: {missing}"
    assert sorted(set(nav)) == sorted(PAGES), f"pages in docs/ not in the nav: {sorted(set(PAGES) - set(nav))}"
    assert (DOCS / "hooks.py").exists() and "docs/hooks.py" in config["hooks"]


def test_generated_pages_have_their_markers() -> None:
    """The CLI reference and the performance page carry the markers the hook fills, and the hook fills them."""
    assert HOOKS.CLI_MARKER in PAGES["cli.md"]
    assert HOOKS.BENCH_MARKER in PAGES["performance.md"]
    filled = HOOKS.on_page_markdown(PAGES["performance.md"], page=None)
    results = json.loads((ROOT / "bench" / "results.json").read_text(encoding="utf-8"))
    assert HOOKS.BENCH_MARKER not in filled and results["targets"][0]["target"] in filled


def test_readme_performance_table_is_the_committed_run() -> None:
    """The README's Performance table is what the report stage writes from bench/results.json (a rerun of
    the benchmark pipeline rewrites both): every issue-15 target, its figure and met / not met."""
    from benchmarks.render import README_BEGIN, README_END, fill_readme, readme_table

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    results = json.loads((ROOT / "bench" / "results.json").read_text(encoding="utf-8"))
    assert README_BEGIN in readme and README_END in readme
    assert fill_readme(readme, results) == readme, "README.md's table is stale: run `python -m benchmarks report`"
    table = readme_table(results)
    assert "commit CLI" in table and "relabel of 50,000 labels" in table and "committed-version diff" in table
