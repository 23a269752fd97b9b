"""`dslineage relabel NAME (--set KEY=LABEL ... | --from EDITS)`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dslineage.cli._shared import (
    ByOpt,
    ColumnOpt,
    ForceOpt,
    JsonOpt,
    ReasonOpt,
    abspath,
    flag,
    forward,
    note,
    option,
    out,
    render,
    repo,
    short,
    table,
)
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model_edits import RelabelResult


@app.command()
def relabel(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    set_: Annotated[
        Optional[list[str]],
        typer.Option("--set", help="KEY=LABEL, repeatable (composite keys: K1,K2=LABEL).", metavar="KEY=LABEL"),
    ] = None,
    from_: Annotated[
        Optional[str],
        typer.Option(
            "--from",
            metavar="EDITS",
            help="CSV, TSV, parquet or JSON Lines file: key column(s), the new label (named like the "
            "label column, or new_label), optional annotator, reason, confidence.",
        ),
    ] = None,
    by: ByOpt = None,
    reason: ReasonOpt = None,
    column: ColumnOpt = None,
    message: Annotated[
        Optional[str], option("-m", "--message", help="Commit message (default: describes the batch).")
    ] = None,
    no_commit: Annotated[
        bool, flag("--no-commit", "Apply and record the batch; the next `commit` carries it.")
    ] = False,
    skip_missing: Annotated[bool, flag("--skip-missing", "Skip edits whose key is not in the dataset.")] = False,
    force: ForceOpt = False,
    expect_old: Annotated[
        bool,
        typer.Option(
            "--expect-old",
            help="Require an old_LABEL (or old) column in EDITS and refuse the whole batch when any row's "
            "current label differs from it (an edits file with such a column is always checked).",
        ),
    ] = False,
    ignore_columns: Annotated[
        bool, flag("--ignore-columns", "With --column: ignore other label columns in EDITS.")
    ] = False,
    file_format: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="Format of --from: edits (default) or label-studio (a Label Studio JSON export: the "
            "label from each task's choices, annotator = completed_by; a task annotated several times "
            "takes its latest annotation by created_at).",
        ),
    ] = "edits",
    key_field: Annotated[
        Optional[str],
        typer.Option(
            "--key-field",
            help="With --format label-studio: the task data field holding the row key "
            "(default: the dataset's key column).",
        ),
    ] = None,
    from_name: Annotated[
        Optional[str],
        typer.Option(
            "--from-name",
            help="With --format label-studio: the choices control to read, when the labeling config has several.",
        ),
    ] = None,
    queue: Annotated[
        Optional[str],
        typer.Option(
            "--queue", metavar="QUEUE", help="The review queue these edits review (`review show QUEUE` counts them)."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Change labels as one recorded edit batch (who, when, why, per-row old → new) and commit it.

    Example: dslineage relabel train --set 4711=cat --set 4712=dog --reason "guideline v2"

    Example: dslineage relabel train --from review.csv --by alice --no-commit

    Example: dslineage relabel train --from replay.csv --expect-old

    Example: dslineage relabel train --from export.json --format label-studio --key-field id

    An EDITS file with several label columns (e.g. label and label_name) edits them as one
    batch; a label pair (`track --label-pair`) fills the other column of a --set edit.
    """
    result = repo().relabel(
        name,
        set_ or None,
        from_file=abspath(from_) if from_ else None,
        commit=not no_commit,
        **forward(
            locals(),
            "by reason column skip_missing force message expect_old ignore_columns "
            "file_format key_field from_name queue",
        ),
    )
    render(result, json_out, show_relabel)


def show_relabel(r: RelabelResult) -> None:
    """Render the outcome of a relabel."""
    counts = f"{r.applied} applied, {r.noop} no-op, {r.missing} missing"
    if r.batch is None:
        note(f"{r.dataset}: nothing to change ({counts})")
        return
    where = f"{r.dataset}@v{r.seq} {short(r.version)}" if r.version else "not committed yet"
    cols = r.columns or [r.column]
    if len(cols) > 1:
        per = ", ".join(f"{c} {n}" for c, n in r.by_column.items())
        counts = f"{r.applied} row(s) applied ({per}), {r.noop} no-op, {r.missing} missing"
    out.print(f"batch {short(r.batch)} on {r.dataset}.{', '.join(cols)}: {counts} → {where}", markup=False)
    for col, moves in (r.transitions_by_column or {r.column: r.transitions}).items():
        if not moves:
            continue
        t = table("from", "to", "rows", title=col if len(cols) > 1 else None)
        for tr in moves:
            t.add_row(tr["from"], tr["to"], tr["count"])
        out.print(t)
    if r.missing:
        note(f"skipped {r.missing} key(s) not in {r.dataset}")
    if not r.version:
        note(f"the batch is pending: `dslineage commit {r.dataset} -m MSG` records it in a version")
