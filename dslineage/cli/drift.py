"""`dslineage drift NAME@A [NAME@B]`: distribution shift; exit 3 when a threshold is crossed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dslineage.cli import _remote
from dslineage.cli._shared import AgainstOpt, JsonOpt, out, repo, table
from dslineage.cli.app import app
from dslineage.errors import EXIT_GATE

if TYPE_CHECKING:
    from dslineage.model_quality import DriftResult, TargetRef


@app.command()
def drift(
    a: Annotated[
        str,
        typer.Argument(
            metavar="NAME[@A]", help="NAME@REF of the reference side; bare NAME: the working file against its baseline."
        ),
    ],
    b: Annotated[
        Optional[str], typer.Argument(metavar="NAME@B", help="NAME@REF to compare (default: the working file).")
    ] = None,
    against: AgainstOpt = None,
    fetch: _remote.FetchOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Label-distribution shift (Jensen–Shannon, PSI) and numeric drift (PSI, KS); exit 3 on alert.

    Thresholds come from the dataset's `max_drift` rule in .dslineage/checks.yaml, else
    defaults (label JS 0.1, label PSI 0.2, label shift 0.02, numeric PSI 0.2, numeric KS 0.1).

    Example: dslineage drift train@v1 train@latest

    Example: dslineage drift train --against golden
    """
    r = repo()
    result = r.drift(a, b, against=against, fetch=fetch)
    if not json_out:
        show_drift(result)
    _remote.emit(r, result, json_out)
    if result.drifted:
        raise typer.Exit(EXIT_GATE)


def _side(d: TargetRef) -> str:
    return f"{d.dataset} (working file)" if d.workdir else f"{d.dataset}@v{d.seq}"


def show_drift(r: DriftResult) -> None:
    """Render drift statistics, one row per column and statistic."""
    from dslineage.quality import fmt

    n = sum(e.drifted for e in r.columns)
    title = (
        f"{_side(r.a)} ({r.rows.a} rows) → {_side(r.b)} ({r.rows.b} rows): "
        f"{n} of {len(r.columns)} over threshold ({r.thresholds})"
    )
    t = table("column", "statistic", "value", "threshold", "result", title=title)
    for e in r.columns:
        t.add_row(e.column, e.statistic, fmt(e.value), fmt(e.threshold), "DRIFTED" if e.drifted else "ok")
    out.print(t)
