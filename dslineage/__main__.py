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
    if not argv or _only_help(argv):  # what the Typer app prints (a test compares them)
        from dslineage._commands import listing

        sys.stdout.write(listing())
        sys.stdout.flush()
        if not argv:  # like `git`: the help, but a usage error
            raise SystemExit(2)
        return
    import gc

    # Start-up builds ~150,000 objects (Typer, Rich, the command line) and no garbage: the
    # cyclic collector would walk them over and over (~5-8% of a small command's CPU). Off
    # while importing, then those objects are frozen out of every later collection.
    gc.disable()
    try:
        from dslineage.cli import main as run
    finally:
        gc.freeze()
        gc.enable()
    run()


def _only_help(argv: list[str]) -> bool:
    """`-h` or `--help` alone, after global options only (`-C PATH`, `--debug`, `--wait-for-lock N`):
    the eager help option exits before the others are used or checked."""
    i = 0
    while i < len(argv) - 1 and argv[i] in ("-C", "--wait-for-lock", "--debug"):
        i += 1 if argv[i] == "--debug" else 2
    return argv[i:] in (["-h"], ["--help"])


if __name__ == "__main__":
    main()
