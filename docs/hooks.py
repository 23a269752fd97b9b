"""MkDocs hooks (mkdocs.yml `hooks:`): the pages that are generated at build time.

* `cli.md` — the CLI reference, generated from the Typer app (`dslineage.cli.app`): one section per
  command and sub-command (every command registered on the app, so a new command appears by itself)
  with its help text, its `Example:` lines and the usage, arguments and options exactly as
  `dslineage CMD --help` prints them, plus a link to the guide section that explains it.
* `performance.md` — the benchmark tables, rendered from `bench/results.json` (what `dvc repro` of the
  benchmark pipeline writes) by `benchmarks.report.markdown`.

The page text stays hand-written; the hook replaces a marker comment in it. The functions that build
the text need neither MkDocs nor Markdown, so `tests/unit/test_docs.py` checks the very text the site shows.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CLI_MARKER = "<!-- generated: cli-reference -->"
BENCH_MARKER = "<!-- generated: bench-results -->"
WIDTH = 100  # columns of the help text shown in the reference


def commands() -> list[tuple[str, Any]]:
    """Every command of the Typer app as ("exp record", click command), groups and sub-commands included,
    sorted by name; hidden commands left out."""
    import typer.main

    import dslineage.cli

    def walk(cmd: Any, path: tuple[str, ...]) -> list[tuple[str, Any]]:
        found: list[tuple[str, Any]] = []
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            if getattr(sub, "hidden", False):
                continue
            found.append((" ".join((*path, name)), sub))
            found += walk(sub, (*path, name))
        return found

    return walk(typer.main.get_command(dslineage.cli.app), ())


def root_command() -> Any:
    """The `dslineage` group itself (its global options)."""
    import typer.main

    import dslineage.cli

    return typer.main.get_command(dslineage.cli.app)


def slugify(text: str) -> str:
    """The anchor MkDocs (Python-Markdown's `toc`) gives a heading: ASCII, lower case, words joined by '-'."""
    text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def headings(text: str) -> list[tuple[int, str]]:
    """(level, text) of each Markdown heading outside fenced code blocks."""
    found, fence = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and (m := re.match(r"^(#{1,6}) (.+?)\s*$", line)):
            found.append((len(m.group(1)), m.group(2)))
    return found


def guide_sections() -> dict[str, str]:
    """Command name → "page.md#anchor" of the first hand-written heading that documents it (`dslineage NAME ...`)."""
    names = {name for name, _ in commands()}
    found: dict[str, str] = {}
    for page in sorted(DOCS.rglob("*.md")):
        rel = page.relative_to(DOCS).as_posix()
        if rel == "cli.md":
            continue
        for _, text in headings(page.read_text(encoding="utf-8")):
            m = re.match(r"^`dslineage ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?(?![\w-])", text)
            if not m:
                continue
            name = f"{m.group(1)} {m.group(2)}" if f"{m.group(1)} {m.group(2)}" in names else m.group(1)
            found.setdefault(name, f"{rel}#{slugify(text)}")
    return found


def split_example(line: str) -> tuple[str, str]:
    """An `Example:` line's command and its trailing "  (comment)", if any."""
    m = re.match(r"^(.*?)\s{2,}\((.*)\)$", line.strip())
    return (m.group(1), m.group(2)) if m else (line.strip(), "")


def _example(line: str) -> str:
    """An example line for a bash block: its "(comment)" becomes a shell comment."""
    command, comment = split_example(line)
    return f"{command}  # {comment}" if comment else command


def _prose(help_text: str) -> list[str]:
    """A command's docstring as Markdown: its paragraphs, then its `Example:` lines as one bash block."""
    out: list[str] = []
    examples: list[str] = []
    for para in inspect.cleandoc(help_text).split("\n\n"):
        lines = [ln.strip() for ln in para.replace("\b", "").splitlines() if ln.strip()]
        prose = []
        for ln in lines:
            if ln.startswith("Example:"):
                examples.append(_example(ln[len("Example:") :]))
            elif ln.startswith("$ "):
                examples.append(_example(ln[2:]))
            else:
                prose.append(ln)
        if prose:
            out += [" ".join(prose), ""]
    if examples:
        out += ["Example:", "", "```bash", *examples, "```", ""]
    return out


def help_text(cmd: Any, name: str) -> str:
    """What `dslineage NAME --help` prints for the usage, arguments and options (the prose left out)."""
    import typer

    bare = copy.copy(cmd)
    bare.help = None
    ctx = typer.Context(
        bare,
        info_name=f"dslineage {name}".strip(),
        terminal_width=WIDTH,
        max_content_width=WIDTH,
        **root_command().context_settings,
    )
    return str(bare.get_help(ctx)).rstrip()


def render_command(name: str, cmd: Any, guide: str | None = None, *, link_prefix: str = "") -> str:
    """One command's section of the reference: heading, help prose, examples, usage and options, guide link."""
    out = [f"## `dslineage {name}`", ""]
    out += _prose(cmd.help or "")
    out += ["```text", help_text(cmd, name), "```", ""]
    if guide:
        out += [f"More in the guide: [`dslineage {name}`]({link_prefix}{guide}).", ""]
    return "\n".join(out)


def cli_reference() -> str:
    """The whole generated CLI reference: the global options, an index of commands, one section per command."""
    cmds = commands()
    guide = guide_sections()
    out = [
        "## Global options",
        "",
        "```text",
        help_text(root_command(), "").split("\nCommands:")[0].rstrip(),
        "```",
        "",
        "## All commands",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    for name, cmd in cmds:
        first = " ".join(inspect.cleandoc(cmd.help or "").split("\n\n")[0].split()).replace("|", "\\|")
        out.append(f"| [`{name}`](#{slugify(f'dslineage {name}')}) | {first} |")
    out.append("")
    for name, cmd in cmds:
        out.append(render_command(name, cmd, guide.get(name)))
    return "\n".join(out)


def bench_results(path: Path | None = None) -> str:
    """The benchmark tables of `bench/results.json` as Markdown (the pipeline's own renderer)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # benchmarks/ is beside dvc.yaml, not installed
    from benchmarks.report import markdown

    results = json.loads((path or ROOT / "bench" / "results.json").read_text(encoding="utf-8"))
    return markdown(results)


# -- the MkDocs hook ---------------------------------------------------------------------------------


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Fill the generated parts of `cli.md` and `performance.md`."""
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    if BENCH_MARKER in markdown:
        markdown = markdown.replace(BENCH_MARKER, bench_results())
    return markdown
