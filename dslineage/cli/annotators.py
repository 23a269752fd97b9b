"""`dslineage annotators NAME`."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dslineage.cli._shared import JsonOpt, emit_json, note, out, repo, table
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.ops.annotators import AnnotatorsResult


@app.command()
def annotators(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    since: Annotated[
        Optional[str], typer.Option("--since", help="Only consensus rounds recorded after version REF.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Per annotator: votes, consensus rounds, agreement with the consensus and skill; and
    Krippendorff's alpha over every recorded vote (rounds whose batch was reverted are left out).

    Example: dslineage annotators train --since v3
    """
    r = repo()
    result = r.annotators(name, since=since)
    if json_out:
        emit_json(dataclasses.asdict(result))
        return
    show_annotators(result, r.annotator_rounds_left_out(name, since=since))


def show_annotators(r: AnnotatorsResult, left_out: int) -> None:
    """Render the annotator figures."""
    if not r.annotators:
        note(f"{r.dataset}: no recorded votes (record some with `dslineage consensus {r.dataset} --votes FILE`)")
    else:
        t = table("annotator", "votes", "batches", "agrees with consensus", "skill")
        for a in r.annotators:
            t.add_row(
                a.annotator,
                str(a.votes),
                str(a.batches),
                f"{a.agreement_with_consensus:.3f}",
                "-" if a.skill is None else f"{a.skill:.3f}",
            )
        out.print(t)
        alpha = "-" if r.alpha is None else f"{r.alpha:.3f}"
        out.print(f"Krippendorff's alpha over all recorded votes: {alpha}", markup=False)
    note(f"rounds whose batch was reverted are left out ({left_out} left out)")
