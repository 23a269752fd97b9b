"""`dslineage pull NAME@REF [-r REMOTE]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from dslineage.cli._shared import JsonOpt, RemoteOpt, note, render, repo, short
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model_ops import PullResult


@app.command()
def pull(
    ref: Annotated[str, typer.Argument(help="NAME@REF: the version to fetch (bare NAME: the current one).")],
    remote: RemoteOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Fetch exactly one version's DVC cache object from a DVC remote into the local cache.

    Nothing else is fetched and the work tree is not touched: `dslineage checkout NAME@REF`
    then restores the file from the cache.

    Example: dslineage pull train@v1 -r storage
    """
    result = repo().pull(ref, remote=remote)
    render(result, json_out, show_pull)


def show_pull(r: PullResult) -> None:
    """Render what a pull did (stderr)."""
    what = f"{r.dataset}@v{r.seq} ({short(r.version)})"
    if r.fetched:
        note(f"fetched {what} from {r.remote!r} into the DVC cache")
    else:
        note(f"{what} is already in the DVC cache")
