"""`dslineage commit [NAME ...] -m MSG`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dslineage.cli._shared import AuthorOpt, JsonOpt, MessageOpt, flag, note, out, render, repo, short
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model_edits import CommittedVersion


@app.command()
def commit(
    names: Annotated[Optional[list[str]], typer.Argument(help="Datasets (default: all).")] = None,
    message: MessageOpt = "",
    author: AuthorOpt = None,
    no_verify: Annotated[
        bool,
        flag("--no-verify", "Commit even if the checks in .dslineage/checks.yaml fail (recorded with the version)."),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Record a new version of each dataset whose file changed (DVC stores the bytes).

    Datasets with rules in .dslineage/checks.yaml are checked first; a failing version is
    refused unless --no-verify.

    Example: dslineage commit train -m "fix 120 cat/dog labels"
    """
    versions = repo().commit(names or [], message, author, no_verify=no_verify)
    render(versions, json_out, show_commit)


def show_commit(versions: list[CommittedVersion]) -> None:
    """Render the versions a commit recorded."""
    if not versions:
        note("nothing changed: every tracked dataset matches its latest version")
        return
    for v in versions:
        added, removed, relabeled, modified = (
            n or 0 for n in (v.added, v.removed, v.relabeled, v.modified)
        )  # unknown changes count as none
        out.print(
            f"{v.dataset}@v{v.seq} {short(v.id)}  {v.rows} rows  "
            f"+{added} -{removed} ~{relabeled + modified} ({relabeled} relabeled)",
            markup=False,
        )
        if v.checks:
            results = v.checks.results
            failed = [r for r in results if not r["passed"]]
            if not failed:
                note(f"  checks: all {len(results)} passed")
            else:
                note(f"  checks: {len(failed)} of {len(results)} FAILED, committed anyway (--no-verify)")
