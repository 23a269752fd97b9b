"""`dslineage init [PATH]`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dslineage.cli._shared import JsonOpt, note, render
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model_ops import InitResult


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Folder to initialize (default: here).")] = Path("."),
    no_merge_driver: Annotated[
        bool,
        typer.Option(
            "--no-merge-driver",
            help="Remove the git merge driver for datasets' .dvc files "
            "(.gitattributes lines and the .git/config entry).",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Set up git, DVC and dslineage in PATH (each only if missing).

    Also registers the dslineage git merge driver, so that `git merge`, `git pull` and
    `git pull --rebase` merge tracked datasets row by row (run again to add it to an
    existing repository; --no-merge-driver removes it).

    Example: dslineage init my-project
    """
    from dslineage.repo import Repo

    result = Repo.init(path.resolve(), merge_driver=not no_merge_driver)
    render(result, json_out, show_init)


def show_init(result: InitResult) -> None:
    """Render the result of init."""
    done = [w for w, flag in (("git", result.git_initialized), ("DVC", result.dvc_initialized)) if flag]
    what = f" (initialized {' and '.join(done)})" if done else ""
    state = "initialized" if result.created else "already initialized"
    note(f"dslineage {state} in {result.root}{what}")
    if result.merge_driver:
        note("git merge driver registered: git merge, git pull and git pull --rebase merge datasets row by row")
    else:
        note("git merge driver removed (.gitattributes lines and the .git/config entry)")
