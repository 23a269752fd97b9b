"""`dslineage diff NAME@A [NAME@B]`."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from dslineage.cli._shared import JsonOpt, abspath, emit_json, note, out, repo, table
from dslineage.cli.app import app


@app.command()
def diff(
    a: Annotated[str, typer.Argument(help="NAME@REF of the old side.")],
    b: Annotated[Optional[str], typer.Argument(help="NAME@REF of the new side (default: working file).")] = None,
    rows: Annotated[int, typer.Option("--rows", "-n", min=0, max=100_000, help="Print N changed rows.")] = 0,
    output: Annotated[
        Optional[str], typer.Option("--output", "-o", help="Write every changed row to FILE.parquet|.csv.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Compare two versions row by row: added, removed, modified, label transitions.

    Example: dslineage diff train@v1 train@latest --rows 5
    """
    result = repo().diff(a, b, rows=rows, output=abspath(output) if output else None)
    if json_out:
        emit_json(result)
        return
    show_diff(result)


def _side(d: dict[str, Any], name: str) -> str:
    return "working file" if d.get("workdir") else f"{name}@v{d['seq']} ({d['id'][:10]})"


def show_diff(r: dict[str, Any]) -> None:
    """Render a diff: counts, per-column changes, transitions, class shift, sample."""
    n = r["rows"]
    if r.get("source") == "journal" and not r.get("exact"):  # an exact fold needs no note
        note("the versions' bytes are not available here: labels and counts come from the journal's change "
             "sets (modified counts any row changed in between; `dslineage pull NAME@REF` the versions for "
             "per-column detail)")
    out.print(f"[bold]{_side(r['a'], r['dataset'])} → {_side(r['b'], r['dataset'])}[/bold]")
    out.print(
        f"  added {n['added']}  removed {n['removed']}  modified {n['modified']} "
        f"(relabeled {n['relabeled']})  unchanged {n['unchanged']}", markup=False,
    )
    if r["columns"]:
        out.print("  modified per column: " + ", ".join(f"{c} {k}" for c, k in r["columns"].items()), markup=False)
    s = r["schema"]
    for what in ("added", "removed", "retyped"):
        if s[what]:
            out.print(f"  columns {what}: {', '.join(s[what])}", markup=False)
    if r["label_transitions"]:
        t = table("column", "from", "to", "rows", title="label transitions")
        for tr in r["label_transitions"]:
            t.add_row(tr["column"], str(tr["from"]), str(tr["to"]), str(tr["count"]))
        out.print(t)
    t = table("column", "label", "A", "B", "change", title="class distribution")
    for d in r["class_distribution"]:
        delta = d["b"] - d["a"]
        t.add_row(d["column"], str(d["label"]), str(d["a"]), str(d["b"]), f"{delta:+d}" if delta else "")
    out.print(t)
    if r.get("sample"):
        cols = list(r["sample"][0])
        t = table(*cols, title="changed rows")
        for row in r["sample"]:
            t.add_row(*("" if row[c] is None else str(row[c]) for c in cols))
        out.print(t)
    if r.get("output"):
        out.print(f"  changed rows written to {r['output']}", markup=False)
