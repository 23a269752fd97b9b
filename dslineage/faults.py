"""Fault injection: named points where a write command can be killed, for crash tests.

`DSLINEAGE_FAULT=OP:STEP` makes the process SIGKILL itself when operation OP reaches
step STEP. Each write command declares its steps once, as a module constant:

    STEPS = txn.declare("relabel", "after-edits", "after-journal")

`declare` is a pure function: it returns a `FaultPoints` (the steps given, a tuple, plus
the operation's full list) and registers nothing. `registry()` builds the list of every
operation's points when asked, by importing the package's modules and collecting their
`FaultPoints` constants; `tests/e2e/test_reliability_faults.py` kills a real process at each.
"""

from __future__ import annotations

import os
import signal
from functools import cache
from pathlib import Path

GIT_STEPS = ("after-git-add", "after-git-commit")

# the operation running in this process, for fault points in shared code (the index sync)
_last_op: list[str] = []


class FaultPoints(tuple[str, ...]):
    """The steps an operation declared itself (a tuple, to run inside another operation's
    declaration), with `op` and `all`: every fault point it passes through, in order."""

    op: str
    all: tuple[str, ...]

    def __new__(cls, op: str, steps: tuple[str, ...], every: tuple[str, ...]) -> FaultPoints:
        """Steps `steps` of operation `op`, whose full list of points is `every`."""
        obj = super().__new__(cls, steps)
        obj.op, obj.all = op, every
        return obj


def declare(op: str, *steps: str, git: bool = True, index: bool | None = None, intent: bool = True) -> FaultPoints:
    """The fault points of operation `op`: 'after-intent' (unless it writes no intent),
    `steps`, then (when it ends in a git commit) the commit steps and (when it then resyncs
    the index, by default when it commits) 'in-index-sync'."""
    tail = (*(GIT_STEPS if git else ()), *(("in-index-sync",) if (git if index is None else index) else ()))
    return FaultPoints(op, steps, (*(("after-intent",) if intent else ()), *steps, *tail))


@cache
def registry() -> dict[str, tuple[str, ...]]:
    """Every operation's fault points, found by importing each module of the package
    (the CLI aside: it declares none) and collecting its `FaultPoints` constants (also
    inside tuples)."""
    import importlib

    found: dict[str, tuple[str, ...]] = {}
    for name in _module_names(Path(__file__).parent, "dslineage."):
        for value in vars(importlib.import_module(name)).values():
            for points in value if isinstance(value, tuple) and not isinstance(value, FaultPoints) else [value]:
                if isinstance(points, FaultPoints):
                    found[points.op] = points.all
    return found


def _module_names(folder: Path, prefix: str) -> list[str]:
    """Dotted names of the modules below `folder`, without importing any (nor the CLI)."""
    import pkgutil

    names: list[str] = []
    for info in pkgutil.iter_modules([str(folder)], prefix):
        if info.name.startswith(("dslineage.cli", "dslineage.__main__")):
            continue
        names.append(info.name)
        if info.ispkg:
            names += _module_names(folder / info.name.rsplit(".", 1)[-1], info.name + ".")
    return names


def fault(op: str, step: str) -> None:
    """SIGKILL this process when DSLINEAGE_FAULT names `op:step` (fault injection)."""
    spec = os.environ.get("DSLINEAGE_FAULT")
    if not spec or not spec.startswith(f"{op}:"):
        return
    known = registry()
    if op in known and step not in known[op]:  # an injection test of `op` would miss it
        raise RuntimeError(f"fault step {op}:{step} is not declared with txn.declare()")
    if spec == f"{op}:{step}":
        os.kill(os.getpid(), signal.SIGKILL)


def fault_point(step: str) -> None:
    """A fault step in shared code (the index sync): named after the running operation."""
    if _last_op:
        fault(_last_op[-1], step)


def operation(op: str) -> None:
    """Name the running operation for shared fault points (for ops without an intent)."""
    _last_op[:] = [op]
