"""The fault-injection registry is explicit: `declare` registers nothing, `registry()` collects."""

from __future__ import annotations

import pytest

from dslineage import faults, txn


def test_declare_returns_the_points_and_registers_nothing() -> None:
    """declare() gives the op's own steps (a tuple) and its full list, and leaves the registry alone."""
    before = dict(faults.registry())
    points = txn.declare("made-up-op", "after-x", git=False)
    assert tuple(points) == ("after-x",)
    assert (points.op, points.all) == ("made-up-op", ("after-intent", "after-x"))
    assert "made-up-op" not in faults.registry() and faults.registry() == before
    assert not hasattr(txn, "REGISTRY")


def test_registry_collects_every_write_command() -> None:
    """registry() finds the points each write command declares, shared steps included."""
    found = faults.registry()
    assert found["relabel"][:3] == ("after-intent", "after-data", "after-batch")
    assert "after-dvc-add" in found["rollback"]  # declared through commit's SNAPSHOT_STEPS
    assert {"check", "audit", "commit", "merge", "sync", "checkout"} <= set(found)
    assert found["checkout"][-1] == "after-dvc-checkout"  # git=False: no commit steps


def test_an_undeclared_step_of_the_injected_op_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """With DSLINEAGE_FAULT naming an op, passing a step it never declared raises."""
    monkeypatch.setenv("DSLINEAGE_FAULT", "relabel:after-data")
    with pytest.raises(RuntimeError, match="not declared"):
        faults.fault("relabel", "no-such-step")
    faults.fault("commit", "no-such-step")  # another op's fault points are not checked
