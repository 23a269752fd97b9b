"""`dslineage consensus NAME --votes FILE`."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dslineage.cli._shared import JsonOpt, abspath, emit_json, forward, note, out, repo, short, table
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.ops.consensus import ConsensusResult


@app.command()
def consensus(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    votes: Annotated[
        str,
        typer.Option(
            "--votes",
            metavar="FILE",
            help="One row per vote: key column(s), annotator, label, optional confidence and time (CSV, "
            "parquet or JSON Lines), or a Label Studio JSON export with --format label-studio.",
        ),
    ],
    method: Annotated[
        str, typer.Option("--method", help="crowd-kit aggregation: majority, dawid-skene, glad or mace.")
    ] = "majority",
    column: Annotated[
        Optional[str], typer.Option("--column", help="The label column voted on (default: the only one).")
    ] = None,
    min_agreement: Annotated[
        Optional[float],
        typer.Option("--min-agreement", help="Queue rows whose share of votes for the consensus is below X."),
    ] = None,
    min_votes: Annotated[Optional[int], typer.Option("--min-votes", help="Queue rows with fewer than N votes.")] = None,
    by: Annotated[Optional[str], typer.Option("--by", help="Who ran the consensus (default: git identity).")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (recorded with the batch).")] = None,
    no_commit: Annotated[
        bool, typer.Option("--no-commit", help="Apply and record the batch; the next `commit` carries it.")
    ] = False,
    queue: Annotated[
        Optional[str], typer.Option("--queue", help="The review queue these votes answer (id or unique prefix).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="auto (by the file's extension) or label-studio (a JSON export).")
    ] = "auto",
    key_field: Annotated[
        Optional[str],
        typer.Option("--key-field", help="With --format label-studio: the task data field holding the key."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Reconcile several annotators' votes with crowd-kit; relabel the rows whose consensus differs.

    Rows whose consensus differs from their label become one relabel batch (revertable like
    any other); rows below --min-agreement or --min-votes go to a review queue instead.
    Every vote is recorded, so `dslineage annotators` can report agreement and skill.

    Example: dslineage consensus train --votes votes.csv --method dawid-skene --min-agreement 0.6

    Example: dslineage consensus train --votes export.json --format label-studio --key-field image_id
    """
    result = repo().consensus(
        name,
        votes=abspath(votes),
        commit=not no_commit,
        **forward(locals(), "method column min_agreement min_votes by reason queue fmt key_field"),
    )
    if json_out:
        emit_json(dataclasses.asdict(result))
        return
    show_consensus(name, result)


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def show_consensus(name: str, r: ConsensusResult) -> None:
    """Render the outcome of a consensus."""
    line = (
        f"{name}: {r.rows_voted} row(s) voted ({r.method}): {r.applied} relabelled, {r.confirmed} confirmed, "
        f"{r.queued} queued for review"
    )
    if r.batch:
        line += f" → batch {short(r.batch)}" + (f", version {short(r.version)}" if r.version else " (pending)")
    out.print(line, markup=False)
    out.print(
        f"agreement: Krippendorff's alpha {_num(r.agreement.alpha)}, mean Cohen's kappa {_num(r.agreement.mean_kappa)}",
        markup=False,
    )
    t = table("annotator", "votes", "skill")
    for a in r.annotators:
        t.add_row(a.annotator, str(a.votes), _num(a.skill))
    out.print(t)
    if r.batch and not r.version:
        note(f"the batch is pending: `dslineage commit {name} -m MSG` records it in a version")
