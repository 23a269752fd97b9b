"""The command line: a thin Typer adapter over `dslineage.Repo` (heavy imports stay lazy).

`main` answers a bare `--version` before Typer and the command modules are imported
(they cost ~0.1 s); `app` is imported on first use.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dslineage.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    if sys.argv[1:] == ["--version"]:  # what the eager `--version` option prints, without Typer
        from dslineage import __version__

        sys.stdout.write(f"dslineage {__version__}\n")
        return
    from dslineage.cli.app import main as run

    run()


def __getattr__(name: str) -> Any:
    """Import the Typer application (every command module) lazily."""
    if name == "app":
        from dslineage.cli.app import app

        return app
    raise AttributeError(name)
