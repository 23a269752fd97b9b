"""`python -m dslineage` and the `dslineage` console script: run the command line.

A bare `--version` and the top-level help (`-h`, `--help`, or no arguments at all) are answered
here, before Typer, Rich and the command modules are imported (`dslineage._commands` holds the
listing); everything else goes to `dslineage.cli.main`, which imports only the command it runs.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Console-script entry point."""
    argv = sys.argv[1:]
    if argv == ["--version"]:  # what the eager `--version` option prints
        from dslineage import __version__

        sys.stdout.write(f"dslineage {__version__}\n")
        return
    if argv in ([], ["-h"], ["--help"]):  # what the Typer app prints (a test compares them)
        from dslineage._commands import listing

        sys.stdout.write(listing())
        sys.stdout.flush()
        if not argv:  # like `git`: the help, but a usage error
            raise SystemExit(2)
        return
    from dslineage.cli import main as run

    run()


if __name__ == "__main__":
    main()
