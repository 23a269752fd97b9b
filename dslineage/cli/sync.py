"""`dslineage sync`: record dvc.lock stage states as transformations."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dslineage.cli._shared import JsonOpt, emit_json, note, out, repo, short
from dslineage.cli.app import app
from dslineage.cli.run import show_io


@app.command()
def sync(
    author: Annotated[Optional[str], typer.Option("--author", help="Who records (default: git identity).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Record dvc.lock stage states (from your own `dvc repro` / `dvc exp run`) as transformations.

    Idempotent: running it twice records nothing new.

    Example: dvc repro && dslineage sync
    """
    result = repo().sync(author=author)
    if json_out:
        emit_json(result)
        return
    if not result["transformations"]:
        note("nothing new in dvc.lock: every stage state is recorded")
        return
    for t in result["transformations"]:
        out.print(f"stage {t['stage']} → transformation {short(t['id'])}", markup=False)
        show_io(t)
