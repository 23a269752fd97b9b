"""`dslineage revert BATCH_OR_VERSION`."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dslineage.cli._shared import JsonOpt, conflict_table, note, out, render, repo, short
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model_edits import RevertResult
    from dslineage.model_ops import CherryPickResult


@app.command()
def revert(
    target: Annotated[str, typer.Argument(help="A batch id prefix, a version id prefix, or NAME@REF.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan; change nothing.")] = False,
    strategy: Annotated[
        str,
        typer.Option(
            "--strategy",
            help="keep: rows relabeled since keep their label (listed as conflicts); force: set them back too.",
        ),
    ] = "keep",
    by: Annotated[Optional[str], typer.Option("--by", help="Who reverts (default: git identity).")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (recorded with the revert).")] = None,
    message: Annotated[Optional[str], typer.Option("-m", "--message", help="Commit message.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Revert even though the working file has uncommitted changes.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Undo exactly the label changes of one batch (or version), keeping every later change.

    Example: dslineage revert 3f9a2c1d --dry-run

    Example: dslineage revert train@v5 --strategy force -m "v5 used the old guideline"
    """
    result = repo().revert(
        target, dry_run=dry_run, strategy=strategy, by=by, reason=reason, message=message, force=force
    )
    render(result, json_out, show_revert)


def show_revert(r: RevertResult) -> None:
    """Render a revert (or its plan)."""
    what = f"{r.kind} {short(r.reverted)}"
    head = "would restore" if r.dry_run else "restored"
    line = f"{what}: {head} {r.restored} row(s); {r.conflicts} conflict(s) ({r.strategy}); "
    line += f"{r.skipped} skipped (gone)"
    if r.version:
        line += f" → {r.dataset}@v{r.seq} {short(r.version)}"
    same = f"the content is identical to version {short(r.same_md5_as)}: same md5" if r.same_md5_as else None
    nothing = "nothing changed: no row still has the label the target gave it"
    show_outcome(r, line, ("target_label=set by target", "before=before"), nothing, same)


def show_outcome(
    r: RevertResult | CherryPickResult, line: str, expected: tuple[str, str], nothing: str, *notes: str | None
) -> None:
    """A label-edit command's outcome (revert, cherry-pick): its one line, the table of its first
    50 conflicting rows (`expected`: as `conflict_table` takes it), its notes (None: none) and, when
    it changed nothing, why (`nothing`)."""
    out.print(line, markup=False)
    if r.conflict_rows:
        out.print(conflict_table([dataclasses.asdict(c) for c in r.conflict_rows[:50]], expected))
    for text in notes:
        if text:
            note(text)
    if not r.dry_run and not r.version:
        note(nothing)
