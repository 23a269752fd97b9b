"""`python -m dslineage` and the `dslineage` console script: run the command line.

A bare `--version` is answered here, before Typer and the command modules are imported
(~0.1 s); everything else goes to `dslineage.cli.main`.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Console-script entry point."""
    if sys.argv[1:] == ["--version"]:  # what the eager `--version` option prints
        from dslineage import __version__

        sys.stdout.write(f"dslineage {__version__}\n")
        return
    from dslineage.cli import main as run

    run()


if __name__ == "__main__":
    main()
