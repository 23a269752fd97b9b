"""`dslineage status [-q]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dslineage.cli._shared import JsonOpt, note, out, render, repo, table
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model import StatusEntry


@app.command()
def status(
    names: Annotated[Optional[list[str]], typer.Argument(help="Datasets (default: all).")] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing; exit 1 if anything is uncommitted.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Show tracked datasets with uncommitted changes, counted row by row.

    Example: dslineage status
    """
    r = repo()
    entries = r.status(names or [], counts=not quiet)
    if r.driver_was_missing:
        note(
            "warning: this clone lacked the dslineage git merge driver that .gitattributes names; "
            "it is now registered in .git/config"
        )
    if quiet:
        raise typer.Exit(1 if any(e.dirty for e in entries) else 0)
    render(entries, json_out, show_status)


def show_status(entries: list[StatusEntry]) -> None:
    """Render dataset states as a table."""
    t = table("dataset", "path", "version", "state", "added", "removed", "modified")
    for e in entries:
        state = "missing" if e.missing else ("modified" if e.dirty else "clean")
        if e.version is None:
            state = "not committed yet"
        if e.merging:
            state = f"merging ({e.merging.cells} conflicts)"
        r = e.rows
        t.add_row(
            e.dataset,
            e.path,
            f"v{e.version}" if e.version else "-",
            state,
            *(str(n) if e.dirty else "" for n in (r.added, r.removed, r.modified)),
        )
    out.print(t)
    for e in entries:
        if e.note:
            out.print(f"{e.dataset}: {e.note}")
        if e.merging:
            note(
                f"{e.dataset}: merge stopped on {e.merging.cells} conflicting cells: list them with "
                f"`dslineage merge --conflicts {e.dataset}`, finish with `dslineage merge --resolve "
                f"{e.dataset} --ours|--theirs|--from FILE` or `dslineage merge --abort`"
            )
