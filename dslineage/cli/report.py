"""`dslineage report [NAME ...] [--versions A..B] [-o FILE] [--format html|vega|json] [--chart NAME]`."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from dslineage.cli._shared import JsonOpt, emit_json, flag, note, option, repo
from dslineage.cli.app import app

_CHART_HELP = (
    "Write one chart (timeline, distribution, transitions, shift, "
    "batches, annotators, quality, eval, recall, lineage) to -o FILE.svg|.png|.json."
)


@app.command()
def report(
    names: Annotated[Optional[list[str]], typer.Argument(help="Datasets (default: every tracked one).")] = None,
    versions: Annotated[
        Optional[str], typer.Option("--versions", help="A..B to compare (default: first..latest), e.g. v1..v3.")
    ] = None,
    output: Annotated[
        Optional[str],
        option("-o", "--output", help="File to write (default: report.html; with --format vega: stdout)."),
    ] = None,
    fmt: Annotated[
        str, option("--format", "-f", help="html (the page), vega (Vega-Lite specs as JSON) or json (the data model).")
    ] = "html",
    chart: Annotated[Optional[str], option("--chart", help=_CHART_HELP)] = None,
    open_: Annotated[bool, flag("--open", "Open the written page in a web browser.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Write one self-contained HTML report of datasets' versions, labels, batches, quality and lineage.

    Charts are Vega-Lite (Altair) rendered ahead of time to inline SVG: the page needs no network.

    Example: dslineage report cifar10 --versions v1..v3 -o report.html

    Example: dslineage report cifar10 --chart transitions --versions v1..v2 -o transitions.png
    """
    r = repo()
    if json_out and output is None and chart is None and fmt != "vega":
        emit_json(dataclasses.asdict(r.report(names or [], versions=versions)))
        return
    if output is None and (fmt in ("vega", "json") or chart is not None):
        text = r.report_vega(names or [], versions=versions, chart=chart) if fmt == "vega" or chart else None
        if text is None:
            emit_json(dataclasses.asdict(r.report(names or [], versions=versions)))
        else:
            sys.stdout.write(text + "\n")
        return
    written = r.report_write(names or [], output=output or "report.html", versions=versions, fmt=fmt, chart=chart)
    if json_out:
        emit_json(dataclasses.asdict(written))
        return
    for text in written.notes.values():
        note(text)
    what = f"chart {written.charts[0]}" if written.format == "chart" else f"{written.format} report"
    note(f"wrote {what} to {written.output} ({written.bytes / 1024:,.0f} KB, {len(written.charts)} charts)")
    if open_:
        import webbrowser

        webbrowser.open(Path(written.output).resolve().as_uri())
