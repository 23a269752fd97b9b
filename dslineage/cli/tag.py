"""`dslineage tag NAME@REF TAG`."""

from __future__ import annotations

from typing import Annotated

import typer

from dslineage.cli._shared import JsonOpt, emit_json, note, repo
from dslineage.cli.app import app


@app.command()
def tag(
    ref: Annotated[str, typer.Argument(metavar="NAME@REF", help="NAME@REF to name.")],
    name: Annotated[str, typer.Argument(metavar="TAG", help="Tag, usable afterwards as NAME@TAG.")],
    json_out: JsonOpt = False,
) -> None:
    """Name a version (e.g. the one a paper used), then refer to it as NAME@TAG.

    Example: dslineage tag train@v3 paper-2026
    """
    r = repo().tag(ref, name)
    if json_out:
        emit_json(r)
        return
    note(f"{'tagged' if r.created else 'already tagged'} {r.dataset}@v{r.seq} as {r.tag}")
