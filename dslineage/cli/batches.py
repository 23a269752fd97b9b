"""`dslineage batches [NAME]` (and the batch view of `dslineage show BATCH`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dslineage.cli._shared import JsonOpt, emit_json, fields, note, out, render, repo, short, table, when, who
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model import Batch
    from dslineage.model_edits import BatchDetail


@app.command()
def batches(
    name: Annotated[Optional[str], typer.Argument(help="Dataset (default: all).")] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete discarded batches' files (never committed; edits gone).")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """List edit batches: id, who, when, reason, rows changed, version, reverted or not.

    A batch applied with `relabel --no-commit` is pending until `commit` records it, and
    discarded once its edits left the working file (e.g. `checkout --force`); `--prune`
    deletes discarded batches' record and edits and logs them in .git/dslineage/pruned.jsonl.

    Example: dslineage batches train

    Example: dslineage batches --prune
    """
    if prune:
        result = repo().prune_batches(name)
        if json_out:
            emit_json(result)
            return
        for e in result.pruned:
            note(
                f"pruned discarded batch {short(e.id)} of {e.dataset} ({e.rows} row(s) of "
                f"{e.column}, by {e.author}): deleted {', '.join(e.files)}"
            )
        note(f"{len(result.pruned)} discarded batch(es) pruned" + (f"; logged in {result.log}" if result.log else ""))
        return
    entries = repo().batches(name)
    render(entries, json_out, show_batches)


def _state(state: str, reverted_by: str | None, source_batch: str | None, reverts: str | None) -> str:
    if state != "committed":
        return state
    if reverted_by:
        return f"reverted by {short(reverted_by)}"
    if source_batch:
        return f"picks {short(source_batch)}"
    return f"reverts {short(reverts)}" if reverts else "committed"


def show_batches(entries: list[Batch]) -> None:
    """Render batches as a table, newest last."""
    # the label column each batch edited, when the batches edit more than one
    several = len({e.column for e in entries}) > 1
    t = table(
        "batch",
        "version",
        *(["column"] if several else []),
        "time (UTC)",
        "by",
        "rows",
        "no-op",
        "state",
        "reason",
        rigid=("state",),
        drop=("no-op", "time (UTC)"),
    )
    for e in entries:
        version = f"{e.dataset}@v{e.seq}" if e.seq else f"{e.dataset} (-)"
        t.add_row(
            short(e.id),
            version,
            *([e.column or ""] if several else []),
            when(e.timestamp),
            who(e.author),
            e.rows,
            e.noop,
            _state(e.state, e.reverted_by, e.source_batch, e.reverts),
            e.reason or "",
        )
    out.print(t)


def show_batch(b: BatchDetail, limit: int = 50) -> None:
    """Render one batch and (the first `limit` of) its edits."""
    out.print(f"[bold]batch {b.id}[/bold]", highlight=False)
    version = f"{b.dataset}@v{b.seq} {short(b.version)}" if b.version else "-"
    state = _state(b.state, b.reverted_by, b.source_batch, b.reverts)
    out.print(
        fields(
            [
                ("dataset", f"{b.dataset} (column {b.column})"),
                ("version", version),
                ("state", state),
                ("by", b.author),
                ("time", b.timestamp),
                ("reason", b.reason or "-"),
                ("rows", f"{b.rows} changed, {b.noop} no-op, {b.missing} missing"),
                *(
                    (("together", f"with {', '.join(str(c) for c in b.columns)} (group {short(b.group)})"),)
                    if b.group
                    else ()
                ),
            ],
            label_width=8,
        )
    )
    edits = b.edits
    t = table("key", "old", "new", "annotator", "reason", "confidence", title=f"edits ({len(edits)})")
    for e in edits[:limit]:
        t.add_row(",".join(str(v) for v in e.key.values()), e.old, e.new, e.annotator, e.reason, e.confidence)
    out.print(t)
    if len(edits) > limit:
        out.print(f"  ... {len(edits) - limit} more (use --json for all)", markup=False)
