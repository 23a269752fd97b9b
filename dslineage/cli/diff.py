"""`dslineage diff NAME@A [NAME@B]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from dslineage.cli import _remote
from dslineage.cli._shared import JsonOpt, abspath, note, out, repo, table
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model import DiffResult, DiffSide


@app.command()
def diff(
    a: Annotated[str, typer.Argument(metavar="NAME@A", help="NAME@REF of the old side.")],
    b: Annotated[
        Optional[str], typer.Argument(metavar="NAME@B", help="NAME@REF of the new side (default: working file).")
    ] = None,
    rows: Annotated[int, typer.Option("--rows", "-n", min=0, max=100_000, help="Print N changed rows.")] = 0,
    output: Annotated[
        Optional[str], typer.Option("--output", "-o", help="Write every changed row to FILE.parquet|.csv.")
    ] = None,
    fetch: _remote.FetchOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Compare two versions row by row: added, removed, modified, label transitions.

    Example: dslineage diff train@v1 train@latest --rows 5
    """
    r = repo()
    result = r.diff(a, b, rows=rows, output=abspath(output) if output else None, fetch=fetch)
    if not json_out:
        show_diff(result)
    _remote.emit(r, result, json_out)


def _side(d: DiffSide, name: str) -> str:
    return "working file" if d.more.get("workdir") else f"{name}@v{d.seq} ({(d.id or '')[:10]})"


def show_diff(r: DiffResult) -> None:
    """Render a diff: counts, per-column changes, transitions, class shift, sample."""
    n = r.rows
    if r.more.get("source") == "journal" and not r.more.get("exact"):  # an exact fold needs no note
        note(
            "the versions' bytes are not available here: labels and counts come from the journal's change "
            "sets (modified counts any row changed in between; `dslineage pull NAME@REF` the versions for "
            "per-column detail)"
        )
    out.print(f"[bold]{_side(r.a, r.dataset)} → {_side(r.b, r.dataset)}[/bold]")
    out.print(
        f"  added {n.added}  removed {n.removed}  modified {n.modified} "
        f"(relabeled {n.relabeled})  unchanged {n.unchanged}",
        markup=False,
    )
    if r.columns:
        out.print("  modified per column: " + ", ".join(f"{c} {k}" for c, k in r.columns.items()), markup=False)
    s = r.schema
    for what, names in (("added", s.added), ("removed", s.removed), ("retyped", s.retyped)):
        if names:
            out.print(f"  columns {what}: {', '.join(names)}", markup=False)
    if r.label_transitions:
        t = table("column", "from", "to", "rows", title="label transitions")
        for tr in r.label_transitions:
            t.add_row(str(tr["column"]), str(tr["from"]), str(tr["to"]), str(tr["count"]))
        out.print(t)
    t = table("column", "label", "A", "B", "change", title="class distribution")
    for d in r.class_distribution:
        delta = d.b - d.a
        t.add_row(d.column, str(d.label), str(d.a), str(d.b), f"{delta:+d}" if delta else "")
    out.print(t)
    sample: Any = r.more.get("sample")
    if sample:
        show_changed_rows(sample)
    if r.more.get("output"):
        out.print(f"  changed rows written to {r.more['output']}", markup=False)


def _cell(value: Any) -> str:
    return "∅" if value is None else str(value)


def show_changed_rows(sample: list[dict[str, Any]]) -> None:
    """The sample of changed rows: the key, the change and only the columns that changed, each
    cell `old → new` (an added row shows its new values, a removed row its old ones)."""
    first = list(sample[0])
    keys = first[: first.index("change")]
    names = list(dict.fromkeys(c.split(".", 1)[1] for c in first if c.startswith(("old.", "new."))))
    both = [c for c in names if f"old.{c}" in first and f"new.{c}" in first]
    edited = [row for row in sample if row["change"] not in ("added", "removed")]
    changed = [c for c in names if c not in both or any(row[f"old.{c}"] != row[f"new.{c}"] for row in edited)]
    t = table(*keys, "change", *(changed if edited else names), title="changed rows")
    for row in sample:
        cells = []
        for c in changed if edited else names:
            old, new = row.get(f"old.{c}"), row.get(f"new.{c}")
            if row["change"] == "added":
                cells.append("" if f"new.{c}" not in row else _cell(new))
            elif row["change"] == "removed":
                cells.append("" if f"old.{c}" not in row else _cell(old))
            elif f"old.{c}" in row and f"new.{c}" in row:
                cells.append(f"{_cell(old)} → {_cell(new)}" if old != new else "")
            else:
                cells.append(_cell(old if f"old.{c}" in row else new))
        t.add_row(*(_cell(row[k]) for k in keys), row["change"], *cells)
    out.print(t)
