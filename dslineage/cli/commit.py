"""`dslineage commit [NAME ...] -m MSG`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dslineage.cli._shared import AuthorOpt, JsonOpt, MessageOpt, flag, note, out, render, repo, short
from dslineage.cli.app import app


@app.command()
def commit(
    names: Annotated[Optional[list[str]], typer.Argument(help="Datasets (default: all).")] = None,
    message: MessageOpt = "",
    author: AuthorOpt = None,
    no_verify: Annotated[bool, flag("--no-verify", "Commit even if the checks in .dslineage/checks.yaml fail "
                                    "(recorded with the version).")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Record a new version of each dataset whose file changed (DVC stores the bytes).

    Datasets with rules in .dslineage/checks.yaml are checked first; a failing version is
    refused unless --no-verify.

    Example: dslineage commit train -m "fix 120 cat/dog labels"
    """
    versions = repo().commit(names or [], message, author, no_verify=no_verify)
    render(versions, json_out, show_commit)


def show_commit(versions: list) -> None:  # type: ignore[type-arg]
    """Render the versions a commit recorded."""
    if not versions:
        note("nothing changed: every tracked dataset matches its latest version")
        return
    from dslineage.model import Version

    for v in versions:
        version = Version.from_record(v)
        added, removed, relabeled, modified = (
            n or 0 for n in (version.changes.added, version.changes.removed, version.changes.relabeled,
                             version.changes.modified))  # unknown changes count as none
        out.print(
            f"{version.dataset}@v{version.seq} {short(version.id)}  {version.rows} rows  "
            f"+{added} -{removed} ~{relabeled + modified} ({relabeled} relabeled)",
            markup=False,
        )
        checks = v.get("checks")
        if checks:
            failed = [r for r in checks["results"] if not r["passed"]]
            if not failed:
                note(f"  checks: all {len(checks['results'])} passed")
            else:
                note(f"  checks: {len(failed)} of {len(checks['results'])} FAILED, committed anyway (--no-verify)")
