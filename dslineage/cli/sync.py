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
    all_commits: Annotated[
        bool, typer.Option("--all-commits", help="Also record the past runs in dvc.lock's git history.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Record dvc.lock stage states (from your own `dvc repro` / `dvc exp run`) as transformations.

    Idempotent: running it twice records nothing new. With --all-commits, every stage state
    of dvc.lock in the branch's history becomes a transformation carrying its git commit.

    Example: dvc repro && dslineage sync
    """
    result = repo().sync(author=author, all_commits=all_commits)
    if json_out:
        emit_json(result)
        return
    if not result.transformations:
        note("nothing new in dvc.lock: every stage state is recorded")
        return
    for t in result.transformations:
        at = f" (git {short(t.git_commit)})" if t.git_commit else ""
        out.print(f"stage {t.stage} → transformation {short(t.id)}{at}", markup=False)
        show_io(t.inputs, t.outputs)
