"""`dslineage impact BATCH`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from dslineage.cli._shared import JsonOpt, emit_json, note, out, repo, short, table, when
from dslineage.cli.app import app


@app.command()
def impact(
    batch: Annotated[str, typer.Argument(help="Batch id prefix.")],
    json_out: JsonOpt = False,
) -> None:
    """Show which later versions still carry a batch's labels, and how many rows.

    Example: dslineage impact 3f9a2c1d
    """
    result = repo().impact(batch)
    if json_out:
        emit_json(result)
        return
    show_impact(result)


def show_impact(r: dict[str, Any]) -> None:
    """Render a batch's impact."""
    if r["version"] is None:
        note(f"batch {short(r['batch'])} is {r['state']}: no version carries it yet")
        return
    t = table("version", "id", "time (UTC)", "rows with the batch's labels", "message",
              title=f"batch {short(r['batch'])}: {r['rows']} row(s) of {r['dataset']}.{r['column']}")
    for v in r["versions"]:
        t.add_row(f"v{v['seq']}" + (" (latest)" if v["latest"] else ""), short(v["version"]),
                  when(v["timestamp"]), v["rows"], v["message"])
    out.print(t)
    for d in r["downstream"]:
        out.print(f"  used by {d.get('kind', 'node')} {d.get('name') or d.get('id')}", markup=False)
