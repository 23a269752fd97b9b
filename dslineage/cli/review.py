"""`dslineage review NAME --predictions FILE`, `review list [NAME]`, `review show QUEUE`."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Optional

import typer

from dslineage.cli._shared import JsonOpt, abspath, emit_json, fields, forward, note, out, repo, short, table, when, who
from dslineage.cli.app import app
from dslineage.errors import UsageError


@app.command()
def review(
    target: Annotated[
        str,
        typer.Argument(
            metavar="NAME[@REF]", help="Dataset to rank (default version: latest); or `list` [NAME], or `show` QUEUE."
        ),
    ],
    queue_ref: Annotated[
        Optional[str],
        typer.Argument(
            metavar="QUEUE", help="`review list NAME`: one dataset's queues; `review show QUEUE`: the queue."
        ),
    ] = None,
    predictions: Annotated[
        Optional[str],
        typer.Option(
            "--predictions",
            "-p",
            metavar="FILE",
            help="Model predictions: key + one probability column per class (named after the label values, "
            "optionally p_VALUE), or key + predicted label + `confidence` (.csv, .parquet, .jsonl).",
        ),
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="confident-learning (likely label errors, cleanlab), or margin | entropy | "
            "least-confidence (active learning).",
        ),
    ] = "confident-learning",
    top: Annotated[
        Optional[int],
        typer.Option(
            "--top",
            min=1,
            help="Keep the first N rows (per subgroup with --group); default: every row cleanlab "
            "flags, 1000 for active learning.",
        ),
    ] = None,
    unlabeled: Annotated[bool, typer.Option("--unlabeled", help="Rank the rows whose label is null.")] = False,
    group: Annotated[
        Optional[str], typer.Option("--group", help="Take the top N of each value of this column.")
    ] = None,
    column: Annotated[Optional[str], typer.Option("--column", help="The label column (several label columns).")] = None,
    output: Annotated[
        Optional[str],
        typer.Option(
            "-o",
            "--output",
            metavar="FILE",
            help="Also write the queue: .csv, .parquet, or .json (Label Studio tasks "
            "with the suggestions as pre-annotations).",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Rows shown (text output).")] = 20,
    json_out: JsonOpt = False,
) -> None:
    """Rank rows for review with a model's predictions; record the queue; list and show queues.

    `review show QUEUE` says how many queued rows later batches made with `--queue QUEUE`
    reviewed, confirmed and changed (the queue's precision).

    Example: dslineage review cifar --predictions pred_probs.csv --top 100 -o queue.json

    Example: dslineage review show 3f2a9c
    """
    if target == "list":
        entries = repo().queues(queue_ref)
        if json_out:
            emit_json([dataclasses.asdict(e) for e in entries])
            return
        show_queues([dataclasses.asdict(e) for e in entries])
        return
    if target == "show":
        if not queue_ref:
            raise UsageError("name the queue: `dslineage review show QUEUE` (ids: `dslineage review list`)")
        detail = dataclasses.asdict(repo().queue(queue_ref, limit=limit))
        if json_out:
            emit_json(detail)
            return
        show_queue(detail)
        return
    if queue_ref is not None:
        raise UsageError(f"unexpected argument {queue_ref!r}: `dslineage review NAME --predictions FILE`")
    if not predictions:
        raise UsageError("pass the model's predictions: `dslineage review NAME --predictions FILE`")
    result = repo().review(
        target,
        predictions=abspath(predictions),
        output=abspath(output) if output else None,
        **forward(locals(), "method top unlabeled group column"),
    )
    data = dataclasses.asdict(result)
    if json_out:
        emit_json(data)
        return
    show_ranked(data, limit)
    note(
        f"queue {short(result.queue)} recorded ({len(result.rows)} rows, {result.method})"
        + (f"; written to {output}" if output else "")
    )


def _key(key: dict[str, Any]) -> str:
    return ", ".join(str(v) for v in key.values())


def show_ranked(r: dict[str, Any], limit: int) -> None:
    """The first `limit` rows of a new queue."""
    t = table("rank", "key", "label", "suggested", "score", title=f"queue {short(r['queue'])} ({r['method']})")
    for row in r["rows"][:limit]:
        t.add_row(row["rank"], _key(row["key"]), row["label"], row["suggested"], f"{row['score']:.4g}")
    out.print(t)
    if len(r["rows"]) > limit:
        out.print(f"... {len(r['rows']) - limit} more (--limit, --json or -o FILE)", markup=False)


def show_queues(entries: list[dict[str, Any]]) -> None:
    """Queues as a table, oldest first."""
    t = table("queue", "version", "time (UTC)", "by", "source", "method", "rows")
    for e in entries:
        t.add_row(
            short(e["id"]),
            f"{e['dataset']}@v{e['seq']}",
            when(e["timestamp"]),
            who(e["author"]),
            e["source"],
            e["method"],
            e["rows"],
        )
    out.print(t)


def show_queue(d: dict[str, Any]) -> None:
    """One queue: where it came from, its review outcome, its first rows."""
    qd = d["queue"]
    out.print(f"[bold]queue {qd['id']}[/bold]", highlight=False)
    precision = "-" if d["precision"] is None else f"{d['precision']:.1%}"
    out.print(
        fields(
            [
                ("dataset", f"{qd['dataset']}@v{qd['seq']} {short(qd['version'])}"),
                ("source", qd["source"]),
                ("method", qd["method"]),
                ("predictions", qd["predictions_md5"] or "-"),
                ("by", qd["author"]),
                ("time", qd["timestamp"]),
                ("rows", qd["rows"]),
                (
                    "reviewed",
                    f"{d['reviewed']} (confirmed {d['confirmed']}, changed {d['changed']}, "
                    f"{d['changed_as_suggested']} as suggested) by {len(d['batches'])} batch(es)",
                ),
                ("precision", f"{precision} of reviewed rows changed"),
            ],
            label_width=11,
        )
    )
    if d["top"]:
        keys = [c for c in d["top"][0] if c not in ("label", "suggested", "score", "rank")]
        t = table("rank", *keys, "label", "suggested", "score")
        for row in d["top"]:
            t.add_row(row["rank"], *(row[k] for k in keys), row["label"], row["suggested"], f"{row['score']:.4g}")
        out.print(t)
