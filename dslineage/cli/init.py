"""`dslineage init [PATH]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dslineage.cli._shared import JsonOpt, emit_json, note
from dslineage.cli.app import app


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Folder to initialize (default: here).")] = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Set up git, DVC and dslineage in PATH (each only if missing).

    Example: dslineage init my-project
    """
    from dslineage.repo import Repo

    result = Repo.init(path.resolve())
    if json_out:
        emit_json(result)
        return
    show_init(result)


def show_init(result: dict) -> None:  # type: ignore[type-arg]
    """Render the result of init."""
    done = [w for w, k in (("git", "git_initialized"), ("DVC", "dvc_initialized")) if result[k]]
    what = f" (initialized {' and '.join(done)})" if done else ""
    state = "initialized" if result["created"] else "already initialized"
    note(f"dslineage {state} in {result['root']}{what}")
