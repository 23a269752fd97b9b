"""`dslineage commit [NAME ...] -m MSG`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dslineage.cli._shared import JsonOpt, MessageOpt, emit_json, note, out, repo, short
from dslineage.cli.app import app


@app.command()
def commit(
    names: Annotated[Optional[list[str]], typer.Argument(help="Datasets (default: all).")] = None,
    message: MessageOpt = "",
    author: Annotated[
        Optional[str], typer.Option("--author", help="Who made the change (default: git identity).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Record a new version of each dataset whose file changed (DVC stores the bytes).

    Example: dslineage commit train -m "fix 120 cat/dog labels"
    """
    versions = repo().commit(names or [], message, author)
    if json_out:
        emit_json(versions)
        return
    show_commit(versions)


def show_commit(versions: list) -> None:  # type: ignore[type-arg]
    """Render the versions a commit recorded."""
    if not versions:
        note("nothing changed: every tracked dataset matches its latest version")
        return
    for v in versions:
        out.print(
            f"{v['dataset']}@v{v['seq']} {short(v['id'])}  {v['rows']} rows  "
            f"+{v.get('added') or 0} -{v.get('removed') or 0} "
            f"~{(v.get('relabeled') or 0) + (v.get('modified') or 0)} "
            f"({v.get('relabeled') or 0} relabeled)",
            markup=False,
        )
