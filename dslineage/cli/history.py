"""`dslineage history NAME KEY`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from dslineage.cli import _remote
from dslineage.cli._shared import JsonOpt, out, repo, short, table, when, who
from dslineage.cli.app import app
from dslineage.errors import UsageError

if TYPE_CHECKING:
    from dslineage.model import History


@app.command()
def history(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    key: Annotated[Optional[str], typer.Argument(help="Key value; composite keys as K1,K2.")] = None,
    key_value: Annotated[
        Optional[list[str]], typer.Option("--key-value", help="COL=VALUE for each key column.")
    ] = None,
    fetch: _remote.FetchOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Show the label timeline of one row: added, relabeled, modified, removed.

    Example: dslineage history train 4711
    """
    if key_value:
        pairs = [kv.split("=", 1) for kv in key_value]
        if any(len(p) != 2 for p in pairs):
            raise UsageError("--key-value takes COL=VALUE")
        wanted: str | dict[str, str] = {k: v for k, v in pairs}
    elif key is not None:
        wanted = key
    else:
        raise UsageError("give the row's key: dslineage history NAME KEY (or --key-value COL=VALUE)")
    r = repo()
    result = r.history(name, wanted, fetch=fetch)
    if not json_out:
        show_history(result)
    _remote.emit(r, result, json_out)


def _labels(d: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items()) if len(d) > 1 else str(next(iter(d.values()), ""))


def show_history(r: History) -> None:
    """Render a row's label timeline: one line per event; a batch's id, annotator and reason in
    their own columns."""
    key = ", ".join(f"{k}={v}" for k, v in r.key.items())
    t = table(
        "version",
        "change",
        "label",
        "time (UTC)",
        "author",
        "batch",
        "annotator",
        "reason",
        "message",
        title=f"{r.dataset} [{key}]",
        flex=("message", "reason", "author", "annotator"),
        optional=("batch", "annotator", "reason", "message"),
        rigid=("label",),
        drop=("time (UTC)", "message", "author"),
    )
    for e in r.events:
        label = _labels(e.labels)
        before = e.more.get("from")
        if isinstance(before, dict) and before:
            label = f"{_labels(before)} → {label}"
        batch = e.more.get("batch")
        reason = str(e.more.get("reason") or "") if batch else ""
        message = "" if reason and e.message.endswith(reason) else e.message  # relabel's own message
        t.add_row(
            f"v{e.seq}",
            e.change,
            label,
            when(e.timestamp),
            who(e.author),
            short(str(batch)) if batch else "",
            str(e.more.get("annotator") or "") if batch else "",
            reason,
            message,
        )
    out.print(t)
