"""`dslineage fsck [--deep] [--repair]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from dslineage.cli._shared import JsonOpt, emit_json, note, out, repo
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model_ops import FsckResult


@app.command()
def fsck(
    deep: Annotated[
        bool, typer.Option("--deep", help="Also re-hash every DVC cache object and run `git fsck`.")
    ] = False,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair", help="Finish or roll back an interrupted command, delete leftovers, rebuild the index."
        ),
    ] = False,
    remote: Annotated[
        bool, typer.Option("--remote", help="Also list the versions whose DVC object is on no DVC remote (asks them).")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Check git, .dvc files, the DVC cache, the journal and the index against each other.

    Exits 1 when errors remain. With --remote, each configured DVC remote is asked which
    versions' objects it holds; a version on none is a warning when its object is in the
    local cache (`dslineage push` sends it) and an error when it is not.

    Example: dslineage fsck --deep --repair

    Example: dslineage fsck --remote --json
    """
    result = repo().fsck(deep=deep, repair=repair, remote=remote)
    if json_out:
        emit_json(result)
    else:
        show_fsck(result)
    if not result.ok:
        raise typer.Exit(1)


def show_fsck(result: FsckResult) -> None:
    """Render the repairs, then each remaining problem with its fix, then a summary (stderr)."""
    for r in result.repaired:
        out.print(f"repaired  [{r.check}] {r.message}", markup=False)
    for p in result.problems:
        out.print(f"{p.severity:<8}  [{p.check}] {p.message}", markup=False)
        out.print(f"          fix: {p.fix}", markup=False)
    checked = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in result.checked.items())
    note(
        f"fsck: {result.errors} error(s), {result.warnings} warning(s)"
        + (f", {len(result.repaired)} repair(s)" if result.repaired else "")
        + f" — checked {checked}"
    )
