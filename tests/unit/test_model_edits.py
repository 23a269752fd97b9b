"""The typed results of relabel, revert, commit, show BATCH and merge: their JSON keys (present
only when they should be, in stored order for a batch) and their text renderers on fixed records."""

from __future__ import annotations

import json

import pytest

from dslineage.model import Edit, json_default, to_json
from dslineage.model_edits import (
    BatchDetail,
    CommitChecks,
    CommittedVersion,
    RelabelResult,
    RevertConflict,
    RevertResult,
)
from dslineage.model_merge import ConflictCell, MergeConflicts, MergeResult, SideBatch


def _relabel(**changes: object) -> RelabelResult:
    base = dict(
        dataset="t",
        column="label",
        columns=["label"],
        batch=None,
        batches=[],
        version=None,
        applied=0,
        by_column={"label": 0},
        noop=1,
        missing=0,
        missing_keys=[],
        edits_read=1,
        transitions=[],
        committed=False,
    )
    return RelabelResult(**{**base, **changes})


def test_relabel_md5_and_seq_are_keys_only_once_a_batch_was_applied() -> None:
    """Nothing applied: no md5/seq keys; applied with --no-commit: md5 and a null seq."""
    assert list(to_json(_relabel()))[-1] == "committed"
    pending = _relabel(batch="b1", batches=["b1"], applied=1, md5="m1")
    assert list(to_json(pending))[-3:] == ["committed", "md5", "seq"]
    assert json.loads(json.dumps(pending, default=json_default))["seq"] is None
    multi = _relabel(transitions_by_column={"label": [], "name": []}, md5="m", seq=2)
    assert list(to_json(multi))[-3:] == ["transitions_by_column", "md5", "seq"]


def _entry(**changes: object) -> dict[str, object]:
    """A batch's catalog entry (`ops.batches.catalog`), committed as v2 unless `changes` say otherwise."""
    entry: dict[str, object] = {
        "id": "b1",
        "dataset": "t",
        "column": "label",
        "author": "a",
        "timestamp": "T",
        "reason": None,
        "rows": 1,
        "noop": 0,
        "missing": 0,
        "op": "relabel",
        "reverts": None,
        "source_batch": None,
        "group": None,
        "columns": ["label"],
        "version": "v1",
        "seq": 2,
        "state": "committed",
        "reverted_by": None,
        "reverted": False,
    }
    return {**entry, **changes}


def test_batch_detail_keeps_the_stored_record_order_then_the_catalog_keys() -> None:
    """Record keys (and unknown ones like `queue`) in stored order, `edits` where the record had its
    file name, then the catalog keys the record lacks; `format` is dropped."""
    record = {
        "author": "a",
        "dataset": "t",
        "edits": "x.edits.parquet",
        "format": 1,
        "id": "b1",
        "keys": ["id"],
        "kind": "batch",
        "queue": "q1",
        "rows": 1,
        "source": "--set",
        "zeta": True,
    }
    entry = _entry()
    edit = Edit(key={"id": 1}, old="a", new="b", annotator=None, reason=None, confidence=None)
    b = BatchDetail.build(record, entry, [edit])
    keys = list(to_json(b))
    assert keys[:10] == ["author", "dataset", "edits", "id", "keys", "kind", "queue", "rows", "source", "zeta"]
    assert "format" not in keys and "base_md5" not in keys and "stored_keys" not in keys
    assert keys[10:] == [
        "column",
        "timestamp",
        "reason",
        "noop",
        "missing",
        "op",
        "reverts",
        "source_batch",
        "group",
        "columns",
        "version",
        "seq",
        "state",
        "reverted_by",
        "reverted",
    ]
    assert b["keys"] == ["id"] and b.edits == [edit] and b.source == "--set"


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide terminal, so rendered lines are not wrapped."""
    monkeypatch.setenv("COLUMNS", "200")


def test_renderers_read_the_records(wide: None, capsys: pytest.CaptureFixture[str]) -> None:
    """relabel, revert, commit, show BATCH and merge render from attributes (no dict access)."""
    from dslineage.cli import app

    assert app.registered_commands  # the whole app first: a command module imported alone registers out of order
    from dslineage.cli.batches import show_batch
    from dslineage.cli.commit import show_commit
    from dslineage.cli.merge import _show_conflicts, _show_merge
    from dslineage.cli.relabel import show_relabel
    from dslineage.cli.revert import show_revert

    show_relabel(
        _relabel(
            batch="b" * 40,
            batches=["b" * 40],
            applied=1,
            version="v" * 40,
            seq=3,
            md5="m",
            transitions=[{"from": "cat", "to": "dog", "count": 1}],
            committed=True,
        )
    )
    conflict = RevertConflict(key={"id": 4}, column="label", current="owl", target_label="dog", before="cat")
    show_revert(
        RevertResult(
            reverted="r" * 40,
            kind="batch",
            dataset="t",
            version=None,
            seq=None,
            batch=None,
            batches=[],
            restored=0,
            conflicts=1,
            conflict_keys=[{"id": 4}],
            conflict_rows=[conflict],
            skipped=0,
            skipped_keys=[],
            strategy="keep",
            dry_run=True,
            same_md5_as=None,
            by_column={},
        )
    )
    checks = CommitChecks(passed=False, results=[{"rule": "unique_key", "passed": False}], parent=None, md5="m")
    show_commit(
        [
            CommittedVersion(
                id="c" * 40,
                dataset="t",
                seq=2,
                md5="m",
                parent=None,
                parents=[],
                path="d.parquet",
                message="x",
                author="a",
                timestamp="T",
                rows=7,
                schema=None,
                label_distribution=None,
                added=1,
                removed=None,
                relabeled=2,
                modified=0,
                changes_known=True,
                changes_file=None,
                git_commit=None,
                checks=checks,
                no_verify=True,
            )
        ]
    )
    record = {"author": "a", "dataset": "t", "id": "b1", "kind": "batch"}
    entry = _entry(reason="why", group="g" * 40, columns=["label", "name"], version=None, seq=None, state="pending")
    show_batch(
        BatchDetail.build(
            record, entry, [Edit(key={"id": 9}, old="cat", new="fox", annotator="ann", reason=None, confidence=0.5)]
        )
    )
    _show_merge(
        MergeResult.build(
            [
                {
                    "dataset": "t",
                    "version": "m" * 40,
                    "seq": 5,
                    "parents": ["o" * 40, "h" * 40],
                    "rows": {"from_ours": 3, "from_theirs": 4, "added": 1, "removed": 0},
                }
            ],
            [{"dataset": "u", "cells": 2}],
            state="conflicts",
            git_commit=None,
        )
    )
    cell = ConflictCell(
        key={"id": 7},
        column="label",
        base="cat",
        ours="dog",
        theirs=None,
        ours_batch=SideBatch(id="s" * 40, annotator="bob", reason=None),
        theirs_batch=None,
    )
    _show_conflicts(MergeConflicts(dataset="t", conflicts=[cell], output="c.csv"))
    text = capsys.readouterr()
    assert "batch bbbbbbbb" in text.out and "t@v3" in text.out and "cat" in text.out and "dog" in text.out
    assert "would restore 0 row(s); 1 conflict(s) (keep)" in text.out and "owl" in text.out
    assert "t@v2 cccccccc" in text.out and "+1 -0 ~2 (2 relabeled)" in text.out
    assert "checks: 1 of 1 FAILED" in text.err
    assert "batch b1" in text.out and "9" in text.out and "fox" in text.out and "with label, name" in text.out
    assert "3 rows from ours, 4 from theirs, +1 -0" in text.out and "CONFLICT u: 2 cells" in text.err
    assert "(absent)" in text.out and "ssssssssss bob" in text.out and "wrote c.csv" in text.err
