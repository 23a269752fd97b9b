"""`cli._shared.forward`: a command's same-named options handed to its `Repo` method."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import dslineage.cli
from dslineage.cli._shared import forward
from dslineage.repo import Repo

CLI = Path(dslineage.cli.__file__).parent


def test_forward_picks_the_named_parameters() -> None:
    """Only the names listed (space-separated, in any spacing) are passed, with their values."""
    params = {"by": "alice", "reason": None, "json_out": True, "force": False}
    assert forward(params, " by  reason\nforce ") == {"by": "alice", "reason": None, "force": False}


def test_forward_refuses_a_name_the_command_lacks() -> None:
    """A listed name that is not a parameter of the command fails instead of passing a default."""
    with pytest.raises(KeyError):
        forward({"by": "alice"}, "by reason")


def _forward_calls() -> list[tuple[str, str, set[str], list[str]]]:
    """(module, Repo method, the command's parameters, the names forwarded) for each use in the CLI."""
    found = []
    for path in sorted(CLI.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            params = {a.arg for a in (*fn.args.args, *fn.args.kwonlyargs)}
            for call in ast.walk(fn):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
                    continue
                for kw in call.keywords:
                    inner = kw.value
                    if kw.arg is None and isinstance(inner, ast.Call) and getattr(inner.func, "id", "") == "forward":
                        names = ast.literal_eval(inner.args[1])
                        found.append((path.name, call.func.attr, params, names.split()))
    return found


def test_every_forwarded_name_is_a_command_parameter_and_a_method_keyword() -> None:
    """Each `forward(locals(), "...")` in the CLI names parameters of its command that its `Repo`
    method takes as keywords (what a `name=name` line per option let mypy check)."""
    calls = _forward_calls()
    assert {module for module, *_ in calls} >= {"audit.py", "blame.py", "consensus.py", "relabel.py"}
    for module, method, params, names in calls:
        keywords = set(inspect.signature(getattr(Repo, method)).parameters)
        assert set(names) <= params, (module, set(names) - params)
        assert set(names) <= keywords, (module, method, set(names) - keywords)
        assert len(names) == len(set(names)), (module, names)
