"""`dslineage demo [--keep DIR]`."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from dslineage.cli._shared import emit_json, note, out, short
from dslineage.cli.app import app


@app.command()
def demo(
    keep: Annotated[
        Optional[Path],
        typer.Option(
            "--keep",
            "--dir",
            metavar="DIR",
            help="Build the demo repository in DIR (empty or new) and leave it there to explore "
            "(default: a temporary folder, removed at the end).",
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print each step's result as JSON.")] = False,
) -> None:
    """Walk through the four jobs on a 240-row sample: commit a version, diff labels between
    versions, reproduce an experiment's exact data, roll back a bad relabel batch.

    Each step prints its command (`$ dslineage ...`) and then that command's output.

    Example: dslineage demo

    Example: dslineage demo --keep /tmp/pets-demo
    """
    from dslineage.demo import demo as run

    started = time.monotonic()

    def job(title: str, what: str) -> None:
        out.print()
        out.rule(f"[bold]{title}", align="left")
        out.print(f"[dim]{what}[/dim]", highlight=False)

    def emit(command: str, result: Any) -> None:
        out.print(
            f"\n$ {command}" if command.startswith("dvc ") else f"\n$ dslineage {command}",
            markup=False,
            highlight=False,
        )
        if json_out:
            emit_json(result)
        else:
            _render(command, result)

    result = run(keep, emit, job)
    seconds = time.monotonic() - started
    out.print()
    if keep is not None:
        out.print(
            f"The demo repository is kept at {result['root']} — explore it, e.g. "
            f"`dslineage -C {result['root']} log pets` or `... lineage pets@latest`.",
            markup=False,
        )
    else:
        shutil.rmtree(result["root"], ignore_errors=True)
        out.print(
            "The demo repository was temporary and is removed; `dslineage demo --keep DIR` leaves it for exploring.",
            markup=False,
        )
    note(f"demo finished in {seconds:.1f} s")


def _show_exp(r: dict[str, Any]) -> None:
    out.print(f"experiment {r['name']} recorded as {short(r['id'])} at code {short(r['git_commit'])}", markup=False)
    for d in r["datasets"]:
        out.print(f"  {d['name']}@v{d['seq']}  {short(d['version'])}", markup=False)


def _render(command: str, result: Any) -> None:
    """Show a step with the renderer of the command it demonstrates."""
    from dslineage.cli import (
        batches,
        checkout,
        commit,
        diff,
        history,
        init,
        log,
        relabel,
        reproduce,
        revert,
        run,
        status,
        track,
    )

    renderers: dict[str, Callable[[Any], None]] = {
        "init": init.show_init,
        "track": track.show_track,
        "commit": commit.show_commit,
        "status": status.show_status,
        "diff": diff.show_diff,
        "history": history.show_history,
        "log": log.show_log,
        "checkout": checkout.show_checkout,
        "run": run.show_run,
        "exp": _show_exp,
        "relabel": relabel.show_relabel,
        "reproduce": reproduce.show_reproduce,
        "revert": revert.show_revert,
        "batches": batches.show_batches,
    }
    verb = command.split()[0]
    if verb in renderers:
        renderers[verb](result)
    else:
        out.print(str(result), markup=False)
