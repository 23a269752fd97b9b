"""`dslineage blame NAME[@REF]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from dslineage.cli import _remote
from dslineage.cli._shared import JsonOpt, abspath, flag, forward, note, option, out, repo, short, table, when, who
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model import Blame


@app.command()
def blame(
    ref: Annotated[str, typer.Argument(metavar="NAME[@REF]", help="NAME or NAME@REF (default: the latest version).")],
    label: Annotated[Optional[str], typer.Option("--label", help="Only rows whose label is L.")] = None,
    by: Annotated[Optional[str], typer.Option("--by", help="Only labels set by WHO (substring).")] = None,
    batch: Annotated[Optional[str], typer.Option("--batch", help="Only labels set by this batch (id prefix).")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only labels set after version REF.")] = None,
    column: Annotated[Optional[str], typer.Option("--column", help="Label column (when several).")] = None,
    output: Annotated[
        Optional[str],
        option("--output", help="Write all the listed rows (not only --rows N) to FILE (.parquet or .csv)."),
    ] = None,
    rows: Annotated[
        Optional[int], option("--rows", min=0, metavar="N", help="Rows to print (default 20; with --json all).")
    ] = None,
    all_rows: Annotated[
        bool, flag("--all", "Every row (default: the rows whose label changed since the first version).")
    ] = False,
    fetch: _remote.FetchOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Show who set each row's current label: version, batch, author, time; counts per author and batch.

    Example: dslineage blame train --by alice

    Example: dslineage blame train@v7 --label cat --output cat-blame.parquet
    """
    from dslineage.ops.blame import rows_json

    r = repo()
    result = r.blame(
        ref,
        output=abspath(output) if output else None,
        changed_only=not all_rows,
        **forward(locals(), "column label by batch since fetch"),
    )
    if json_out:
        _remote.emit(
            r,
            {
                "dataset": result.dataset,
                "version": result.version,
                "seq": result.seq,
                "column": result.column,
                "total": result.total,
                "rows": rows_json(result, rows),
                "by_author": result.by_author,
                "by_batch": result.by_batch,
                "by_version": result.by_version,
                "output": result.output,
            },
            True,
        )
        return
    show_blame(result, rows_json(result, 20 if rows is None else rows))
    _remote.emit(r, None, False)


def _batch_cell(row: dict[str, Any]) -> str:
    """The batch that set the label; a revert that restored it says so."""
    text = short(row["batch"]) if row["batch"] else ""
    if row.get("restored_by"):
        text = f"{text} (restored by {short(row['restored_by'])})".strip()
    return text


def show_blame(r: Blame, rows: list[dict[str, Any]]) -> None:
    """Render blame: a sample of rows, then the summaries."""
    which = f" changed since v{r.since_seq}" if r.since_seq is not None else ""
    t = table(
        *r.key,
        r.column,
        "version",
        "batch",
        "author",
        "time (UTC)",
        "reason",
        title=f"{r.dataset}@v{r.seq}: {r.total} row(s){which}",
        rigid=(r.column,),
        drop=("time (UTC)",),
    )
    for row in rows:
        t.add_row(
            *row["key"].values(),
            row["label"],
            f"v{row['seq']} {short(row['version'])}",
            _batch_cell(row),
            who(row["author"]),
            when(row["timestamp"]),
            row["reason"] or "",
        )
    out.print(t)
    if r.total > len(rows):
        note(f"showing {len(rows)} of {r.total} rows (--rows N, --output FILE or --json for more)")
    s = table("author", "rows", title="by author")
    for k, n in r.by_author.items():
        s.add_row(k, n)
    out.print(s)
    if r.by_batch:
        b = table("batch", "rows", title="by batch")
        for k, n in r.by_batch.items():
            b.add_row(short(k), n)
        out.print(b)
    if r.output:
        note(f"wrote {r.total} rows to {r.output}")
