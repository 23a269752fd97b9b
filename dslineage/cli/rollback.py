"""`dslineage rollback NAME --to REF -m MSG`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dslineage.cli._shared import JsonOpt, MessageOpt, note, out, render, repo, short
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model_ops import RollbackResult


@app.command()
def rollback(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    to: Annotated[str, typer.Option("--to", help="The version to return to (REF or NAME@REF).")],
    message: MessageOpt = "",
    author: Annotated[Optional[str], typer.Option("--author", help="Who (default: git identity).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Discard uncommitted changes of the file.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Record a new version identical (same md5) to an earlier one; the versions between stay.

    Example: dslineage rollback train --to v3 -m "back to the audited labels"
    """
    result = repo().rollback(name, to, message, author=author, force=force)
    render(result, json_out, show_rollback)


def show_rollback(r: RollbackResult) -> None:
    """Render a rollback."""
    if r.version is None:
        note(r.note or "nothing to do")
        return
    out.print(f"{r.dataset}@v{r.seq} {short(r.version)} = content of v{r.to_seq} (md5 {r.md5})", markup=False)
