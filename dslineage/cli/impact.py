"""`dslineage impact NODE`: a batch's carried labels, and everything downstream of any node."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from dslineage.cli._shared import JsonOpt, note, out, render, repo, short, table, when
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model_lineage import BatchImpact, Downstream


@app.command()
def impact(
    batch: Annotated[
        str, typer.Argument(help="Batch id prefix, or any lineage node: NAME@REF, exp:NAME, stage:NAME, id prefix.")
    ],
    json_out: JsonOpt = False,
) -> None:
    """Show which later versions still carry a batch's labels, and what used them downstream.

    For any node: the transformations, derived datasets and experiments downstream of it, and
    whether each has been re-run since.

    Example: dslineage impact 3f9a2c1d
    """
    result = repo().impact(batch)
    render(result, json_out, show_impact)


def show_impact(r: BatchImpact | Downstream) -> None:
    """Render a batch's impact (or a node's downstream)."""
    from dslineage.model_lineage import Downstream

    if isinstance(r, Downstream):
        show_downstream(r)
        return
    if r.version is None:
        note(f"batch {short(r.batch)} is {r.state}: no version carries it yet")
        return
    t = table(
        "version",
        "id",
        "time (UTC)",
        "rows with the batch's labels",
        "message",
        title=f"batch {short(r.batch)}: {r.rows} row(s) of {r.dataset}.{r.column}",
    )
    for v in r.versions:
        t.add_row(
            f"v{v.seq}" + (" (latest)" if v.latest else ""), short(v.version), when(v.timestamp), v.rows, v.message
        )
    out.print(t)
    show_downstream(r)


def show_downstream(r: BatchImpact | Downstream) -> None:
    """Render the lineage graph's part: transformations, derived datasets, experiments."""
    from dslineage.model_lineage import Downstream

    for w in (r.warnings or []) if isinstance(r, Downstream) else []:
        note(f"warning: {w}")
    out.print(f"downstream of {r.node.label}: {len(r.downstream)} node(s)", markup=False)
    if r.transformations:
        t = table(
            "transformation",
            "id",
            "time (UTC)",
            "consumed",
            "re-run since",
            "latest run affected",
            title="transformations",
        )
        for x in r.transformations:
            used = ", ".join(
                c.label + (f" ({c.more['rows']} rows)" if "rows" in c.more else "") for c in x.consumed or []
            )
            t.add_row(
                x.label,
                short(x.id),
                when(x.timestamp),
                used,
                "yes" if x.rerun_since else "no",
                "yes" if x.latest_run_affected else "no",
            )
        out.print(t)
    if r.datasets:
        t = table("dataset", "affected versions", "latest", "latest affected", title="derived datasets")
        for d in r.datasets:
            t.add_row(
                d.dataset, ", ".join(v.label for v in d.versions), d.latest.label, "yes" if d.latest_affected else "no"
            )
        out.print(t)
    if r.experiments:
        t = table("experiment", "id", "time (UTC)", "re-run since", "latest run affected", title="experiments")
        for e in r.experiments:
            t.add_row(
                e.name,
                short(e.id),
                when(e.timestamp),
                "yes" if e.rerun_since else "no",
                "yes" if e.latest_run_affected else "no",
            )
        out.print(t)
