"""`dslineage checkout NAME@REF`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from dslineage.cli._shared import JsonOpt, note, render, repo
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model_ops import CheckoutResult


@app.command()
def checkout(
    ref: Annotated[str, typer.Argument(metavar="NAME@REF", help="NAME@REF to restore.")],
    force: Annotated[bool, typer.Option("--force", "-f", help="Discard uncommitted changes.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Restore a dataset's file (and its .dvc file) to a version from the DVC cache or remote.

    Example: dslineage checkout train@v2
    """
    r = repo().checkout(ref, force=force)
    render(r, json_out, show_checkout)


def show_checkout(r: CheckoutResult) -> None:
    """Render the result of checkout."""
    verb = "restored" if r.changed else "already at"
    note(f"{r.path}: {verb} {r.dataset}@v{r.seq} ({r.version[:10]})")
