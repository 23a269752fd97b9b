"""`dslineage cherry-pick BATCH`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dslineage.cli._shared import JsonOpt, emit_json, repo, short
from dslineage.cli.app import app
from dslineage.cli.revert import show_outcome

if TYPE_CHECKING:
    from dslineage.model_ops import CherryPickResult


@app.command("cherry-pick")
def cherry_pick(
    batch: Annotated[
        str,
        typer.Argument(
            help="A batch id prefix: of this branch (e.g. a reverted batch) "
            "or of any git branch, tag or remote-tracking ref."
        ),
    ],
    column: Annotated[
        Optional[str], typer.Option("--column", help="Label column to apply it to (default: the batch's own).")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force/--keep",
            help="--keep (default): rows whose label is no longer the batch's old "
            "label keep it and are listed as conflicts; --force: overwrite them.",
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan; change nothing.")] = False,
    by: Annotated[Optional[str], typer.Option("--by", help="Who applies it (default: git identity).")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (recorded with the new batch).")] = None,
    message: Annotated[Optional[str], typer.Option("-m", "--message", help="Commit message.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Apply another branch's (or an earlier, reverted) edit batch as a new batch that links to it.

    Rows keep the original's annotator, reason and confidence; changed rows are conflicts.

    Example: dslineage cherry-pick 3f9a2c1d --dry-run

    Example: dslineage cherry-pick 3f9a2c1d --force --reason "bob's fixes, needed on alice"
    """
    result = repo().cherry_pick(
        batch, column=column, force=force, dry_run=dry_run, by=by, reason=reason, message=message
    )
    if json_out:
        emit_json(result)  # the plan's details are LIBRARY_ONLY: not in the JSON
        return
    show_cherry_pick(result)


def show_cherry_pick(r: CherryPickResult) -> None:
    """Render a cherry-pick (or its plan)."""
    head = "would apply" if r.dry_run else "applied"
    line = (
        f"batch {short(r.source_batch)} ({r.found_in[:16]}): {head} {r.applied} row(s) to "
        f"{r.dataset}.{r.column}; {r.conflicts} conflict(s) ({r.strategy}); "
        f"{r.settled} already set; {r.skipped} skipped (gone)"
    )
    if r.version:
        line += f" → batch {short(r.batch or '')}, {r.dataset}@v{r.seq} {short(r.version)}"
    skipped = f"skipped {r.skipped} row(s) no longer in {r.dataset}" if r.skipped else None
    nothing = "nothing changed: no row still has the batch's old label"
    show_outcome(r, line, ("expected=batch's old", "new=batch's new"), nothing, skipped)
