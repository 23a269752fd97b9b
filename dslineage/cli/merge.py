"""`dslineage merge BRANCH | --conflicts NAME | --resolve NAME | --abort` and `dslineage merge-driver`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dslineage.cli._shared import AuthorOpt, JsonOpt, abspath, emit_json, note, out, repo, short, table
from dslineage.cli.app import app
from dslineage.errors import UsageError

if TYPE_CHECKING:
    from dslineage.model_merge import MergeConflicts, MergeResult


@app.command()
def merge(
    branch: Annotated[Optional[str], typer.Argument(help="The git branch (or commit) to merge.")] = None,
    message: Annotated[Optional[str], typer.Option("-m", "--message", help="The merge commit's message.")] = None,
    conflicts: Annotated[
        Optional[str], typer.Option("--conflicts", metavar="NAME", help="List the conflicting cells of NAME.")
    ] = None,
    output: Annotated[
        Optional[str],
        typer.Option(
            "--output", "-o", metavar="FILE", help="With --conflicts: also write them to FILE (.csv or .parquet)."
        ),
    ] = None,
    resolve: Annotated[
        Optional[str], typer.Option("--resolve", metavar="NAME", help="Finish the stopped merge of NAME.")
    ] = None,
    ours: Annotated[bool, typer.Option("--ours", help="With --resolve: every conflict takes ours.")] = False,
    theirs: Annotated[bool, typer.Option("--theirs", help="With --resolve: every conflict takes theirs.")] = False,
    from_file: Annotated[
        Optional[str],
        typer.Option("--from", metavar="FILE", help="With --resolve: the chosen values (key columns, column, value)."),
    ] = None,
    abort: Annotated[bool, typer.Option("--abort", help="Abandon the merge in progress.")] = False,
    author: AuthorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Merge a git branch; datasets both sides changed are merged row by row, cell by cell.

    Each merged dataset gets a merge version with two parents (ours, theirs); every row keeps
    the edit batch, annotator and reason that set it on its branch. Cells changed differently
    on both sides stop the merge: list them with --conflicts, finish with --resolve, or --abort.

    Example: dslineage merge bob -m "merge bob's owl labels"

    Example: dslineage merge --conflicts train --output conflicts.csv

    Example: dslineage merge --resolve train --from conflicts.csv
    """
    modes = [
        m
        for m, on in (
            ("BRANCH", branch is not None),
            ("--conflicts", conflicts is not None),
            ("--resolve", resolve is not None),
            ("--abort", abort),
        )
        if on
    ]
    if len(modes) != 1:
        raise UsageError("give exactly one of BRANCH, --conflicts NAME, --resolve NAME or --abort")
    r = repo()
    if conflicts is not None:
        listed = r.merge_conflicts(conflicts, output=abspath(output) if output else None)
        if json_out:
            emit_json(listed, compact=True)
            return
        _show_conflicts(listed)
        return
    if resolve is not None:
        resolved = r.merge_resolve(
            resolve, ours=ours, theirs=theirs, from_file=abspath(from_file) if from_file else None, author=author
        )
        if json_out:
            emit_json(resolved)
            return
        out.print(
            f"{resolved.dataset}@v{resolved.seq} {short(resolved.version)}  merge of "
            f"{' + '.join(short(p) for p in resolved.parents)}",
            markup=False,
        )
        if resolved.note:
            note(resolved.note)
        return
    if abort:
        aborted = r.merge_abort()
        if json_out:
            emit_json(aborted)
            return
        note(f"merge aborted; restored: {', '.join(aborted.datasets) or 'nothing'}")
        return
    assert branch is not None
    result = r.merge(branch, message=message, author=author)
    if json_out:  # the contract: `git_commit` and `note` are for the library only
        emit_json(result)
    else:
        _show_merge(result)
    if result.state == "conflicts":
        raise typer.Exit(1)


def _show_merge(result: MergeResult) -> None:
    """Render what a merge did."""
    if result.note:
        note(result.note)
    for m in result.merged:
        c = m.rows
        out.print(
            f"{m.dataset}@v{m.seq} {short(m.version)}  merge of "
            f"{' + '.join(short(p) for p in m.parents)}  {c.get('from_ours', 0)} rows from ours, "
            f"{c.get('from_theirs', 0)} from theirs, +{c.get('added', 0)} -{c.get('removed', 0)}",
            markup=False,
        )
    for stop in result.conflicts:
        note(
            f"CONFLICT {stop.dataset}: {stop.cells} cells changed differently on both sides; list them with "
            f"`dslineage merge --conflicts {stop.dataset}`, then `dslineage merge --resolve {stop.dataset} "
            "--ours|--theirs|--from FILE` (or `dslineage merge --abort`)"
        )


def _cell(value: object) -> str:
    return "(absent)" if value is None else str(value)


def _show_conflicts(result: MergeConflicts) -> None:
    """Render the conflicting cells of a dataset."""
    t = table(
        "key",
        "column",
        "base",
        "ours",
        "theirs",
        "ours batch",
        "theirs batch",
        title=f"{len(result.conflicts)} conflicting cells in {result.dataset}",
    )
    for c in result.conflicts:
        t.add_row(
            ",".join(str(v) for v in c.key.values()),
            c.column,
            _cell(c.base),
            _cell(c.ours),
            _cell(c.theirs),
            *(f"{b.id[:10]} {b.annotator or ''}".strip() if b else "" for b in (c.ours_batch, c.theirs_batch)),
        )
    out.print(t)
    if result.output:
        note(
            f"wrote {result.output}: fill its value column, then "
            f"`dslineage merge --resolve {result.dataset} --from {result.output}`"
        )


@app.command("merge-driver")
def merge_driver(
    base: Annotated[str, typer.Argument(help="%O: the merge base's .dvc file.")],
    ours: Annotated[str, typer.Argument(help="%A: ours; receives the result.")],
    theirs: Annotated[str, typer.Argument(help="%B: theirs.")],
    path: Annotated[str, typer.Argument(help="%P: the .dvc file's path in the repository.")],
) -> None:
    """The git merge driver for datasets' .dvc files (git runs it; `dslineage init` registers it).

    Exits 0 with the merged .dvc in OURS (the merged rows in the DVC cache and the work file;
    the merge version is recorded by the next dslineage command), or 1 on conflicting cells
    (the dataset is then merging: see `dslineage merge --conflicts NAME`).

    Example: git config merge.dslineage.driver "dslineage merge-driver %O %A %B %P"
    """
    from dslineage.repo import Repo

    code = Repo.merge_driver(base, ours, theirs, path)
    sys.stdout.flush()
    raise typer.Exit(code)
