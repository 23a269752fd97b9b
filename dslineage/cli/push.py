"""`dslineage push [NAME ...] [-r REMOTE]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dslineage.cli._shared import JsonOpt, RemoteOpt, emit_json, note, repo
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model_ops import PushResult


@app.command()
def push(
    names: Annotated[Optional[list[str]], typer.Argument(help="Datasets (default: all).")] = None,
    remote: RemoteOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Push the DVC cache objects of EVERY version of the datasets to a DVC remote.

    `dvc push` sends only what the work tree's .dvc files record; this sends every version,
    so a teammate's clone can check out, diff or blame any of them. Objects already on the
    remote are skipped. Versions whose object is neither here nor on the remote are listed
    on stderr (push them from a machine that has them); that is not an error.

    Example: dslineage push train -r storage
    """
    result = repo().push(names or None, remote=remote)
    for m in result.missing:
        note(
            f"warning: {m.label}: DVC cache object {m.md5} is neither in the local cache nor on "
            f"the remote {result.remote!r}: push it from a machine that has it"
        )
    if json_out:
        emit_json(result)  # `missing` is LIBRARY_ONLY: the JSON has the counts
        return
    show_push(result)


def show_push(r: PushResult) -> None:
    """Render the counts of a push (stderr)."""
    note(
        f"pushed {r.objects_pushed} object(s) to {r.remote!r}, {r.objects_present} already there "
        f"({r.versions} version(s)" + (f", {len(r.missing)} missing everywhere)" if r.missing else ")")
    )
