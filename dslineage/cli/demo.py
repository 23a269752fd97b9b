"""`dslineage demo`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from dslineage.cli._shared import emit_json, out
from dslineage.cli.app import app


@app.command()
def demo(
    directory: Annotated[
        Optional[Path], typer.Option("--dir", help="Empty folder for the demo repo (default: a temp folder).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print each step's result as JSON.")] = False,
) -> None:
    """Walk through commit, label edits, diff, history and checkout on a sample dataset.

    Example: dslineage demo
    """
    from dslineage.ops.demo import demo as run

    def emit(title: str, result: Any) -> None:
        out.rule(f"[bold]dslineage {title}")
        if json_out:
            emit_json(result)
        else:
            _render(title, result)

    result = run(directory, emit)
    out.print(f"\nThe demo repository is at {result['root']} — try `dslineage -C {result['root']} log`.", markup=False)


def _render(title: str, result: Any) -> None:
    """Show a step with the renderer of the command it demonstrates."""
    from dslineage.cli import checkout, commit, diff, history, init, log, status, track

    renderers: dict[str, Callable[[Any], None]] = {
        "init": init.show_init, "track": track.show_track, "commit": commit.show_commit,
        "status": status.show_status, "diff": diff.show_diff, "history": history.show_history,
        "log": log.show_log, "checkout": checkout.show_checkout,
    }
    verb = title.split()[0]
    if verb in renderers:
        renderers[verb](result)
    else:
        out.print(str(result), markup=False)
