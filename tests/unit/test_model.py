"""The domain model (`dslineage.model`): built once from records, serialised once, typed."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dslineage.model import Batch, Changes, Edit, Experiment, StatusEntry, Version, VersionDetail, json_default, to_json

_RECORD = {  # a version as the journal stores it (changes nested)
    "kind": "version",
    "id": "a" * 40,
    "dataset": "train",
    "seq": 2,
    "md5": "b" * 32,
    "parent": "c" * 40,
    "parents": ["c" * 40],
    "message": "second",
    "author": "Ann <ann@example.com>",
    "timestamp": "2026-01-01T00:00:00.000000+00:00",
    "rows": 7,
    "git_commit": "d" * 40,
    "changes": {"known": True, "added": 1, "removed": 0, "relabeled": 2, "modified": 3},
}
_ROW = {  # the same version as the index returns it (counts as columns, JSON as text)
    **{k: v for k, v in _RECORD.items() if k not in ("kind", "changes")},
    "added": 1,
    "removed": 0,
    "relabeled": 2,
    "modified": 3,
    "changes_known": True,
    "schema": '[{"name": "id", "type": "BIGINT"}]',
    "label_distribution": '{"label": [{"count": 4, "label": "cat"}, {"count": 3, "label": null}]}',
}


def test_version_from_journal_record_and_index_row_agree() -> None:
    """A version read from its journal record equals the one read from its index row."""
    assert Version.from_record(_RECORD) == Version.from_record(_ROW)
    v = Version.from_record(_ROW)
    assert (v.seq, v.label_changes, v.changes.modified) == (2, 2, 3)


def test_unknown_changes_have_no_label_changes() -> None:
    """A version whose parent's bytes were unavailable reports label_changes None, not 0."""
    v = Version.from_record({**_RECORD, "changes": {"known": False}})
    assert v.label_changes is None and v.changes == Changes(False, None, None, None, None)


def test_old_record_with_parent_only_lists_it_as_parents() -> None:
    """A record written before merges existed (no `parents`) lists its `parent`."""
    old = {k: v for k, v in _RECORD.items() if k != "parents"}
    assert Version.from_record(old).parents == ["c" * 40]


def test_to_json_keeps_field_order_and_nests() -> None:
    """JSON keys are the fields in declaration order, nested records become objects."""
    data = to_json(VersionDetail.build(_ROW, path="data/train.parquet", tags=["gold"], quality=None))
    assert isinstance(data, dict)
    assert list(data)[:3] == ["id", "seq", "dataset"]
    assert list(data)[-5:] == ["path", "schema", "class_distribution", "tags", "quality"]
    assert data["class_distribution"] == {"label": [{"count": 4, "label": "cat"}, {"count": 3, "label": None}]}
    assert data["changes"] == {"known": True, "added": 1, "removed": 0, "relabeled": 2, "modified": 3}


def test_json_default_matches_to_json() -> None:
    """json.dumps through the default hook prints exactly what to_json gives."""
    v = Version.from_record(_RECORD)
    assert json.dumps([v], default=json_default) == json.dumps(to_json([v]))


def test_records_are_frozen() -> None:
    """Model records cannot be changed after they are built."""
    v = Version.from_record(_RECORD)
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.seq = 3  # type: ignore[misc]


def test_key_access_and_dict_equality_for_older_callers() -> None:
    """A record reads by JSON key and equals a dict of the same JSON; unknown keys raise."""
    v = Version.from_record(_RECORD)
    assert v["seq"] == 2 and v.get("nope", "x") == "x" and "md5" in v
    assert v == json.loads(json.dumps(to_json(v)))
    assert v != {**json.loads(json.dumps(to_json(v))), "seq": 3}
    with pytest.raises(KeyError):
        v["nope"]


def test_batch_status_edit_experiment_fields_are_the_contract_keys() -> None:
    """Each record's field names, in order, are its JSON contract's keys (`more`: what newer
    records add, spliced in after them)."""
    assert [f.name for f in dataclasses.fields(Batch)] == [
        "id",
        "dataset",
        "column",
        "author",
        "timestamp",
        "reason",
        "rows",
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
        "more",
    ]
    assert [f.name for f in dataclasses.fields(StatusEntry)] == [
        "dataset",
        "path",
        "version",
        "dirty",
        "missing",
        "rows",
        "worktree_version",
        "note",
        "merging",
    ]
    assert [f.name for f in dataclasses.fields(Edit)] == [
        "key",
        "old",
        "new",
        "annotator",
        "reason",
        "confidence",
        "more",
    ]
    assert [f.name for f in dataclasses.fields(Experiment)][-1] == "runs"


def test_keys_a_newer_record_adds_are_kept_after_the_declared_ones() -> None:
    """A catalog entry's undeclared key (a batch's `queue`) survives into the record and its JSON, last."""
    entry = {"id": "b1", "dataset": "d", "author": "a", "timestamp": "t", "state": "committed", "queue": "q1"}
    batch = Batch.from_entry(entry)
    assert batch["queue"] == "q1" and batch.get("queue") == "q1" and "queue" in batch
    data = json.loads(json.dumps(batch, default=json_default))
    assert list(data)[-1] == "queue" and "more" not in data and to_json(batch) == data
    edit = Edit(
        key={"id": 1}, old="a", new="b", annotator=None, reason=None, confidence=None, more={"votes": {"w1": "b"}}
    )
    assert to_json(edit)["votes"] == {"w1": "b"} and list(to_json(edit))[-1] == "votes"  # type: ignore[index]


_DIFF = {  # a diff as the fold path emits it: the common keys, then the path's own
    "dataset": "train",
    "a": {"id": "a" * 40, "seq": 1, "md5": "b" * 32},
    "b": {"id": None, "seq": None, "md5": "c" * 32, "workdir": True},
    "rows": {"added": 1, "removed": 0, "modified": 2, "relabeled": 1, "unchanged": 5},
    "columns": {"label": 1, "x": 1},
    "label_transitions": [{"column": "label", "from": "dog", "to": "cat", "count": 1}],
    "class_distribution": [{"column": "label", "label": "cat", "a": 2, "b": 3}],
    "schema": {"added": ["note"], "removed": [], "retyped": []},
    "source": "journal",
    "exact": True,
    "sample": [{"id": 4, "change": "added"}],
    "output": "out.csv",
}


def test_diff_result_keeps_every_key_in_order() -> None:
    """A diff built from either path's dict prints the same JSON, keys in the same order."""
    from dslineage.ops.diff import _record

    d = _record(_DIFF)
    assert json.dumps(d, default=json_default) == json.dumps(_DIFF)
    assert d.b.more == {"workdir": True} and d.rows.unchanged == 5 and d.class_distribution[0].b == 3
    assert list(d.more) == ["source", "exact", "sample", "output"] and d["exact"] is True
    plain = {k: v for k, v in _DIFF.items() if k not in ("source", "exact", "sample", "output")}
    assert to_json(_record(plain)) == plain and _record(plain).more == {}


def test_history_event_keeps_provenance_keys_after_the_common_ones() -> None:
    """A relabel event's `from`, batch and annotator stay in `more`, in their order, in the JSON."""
    from dslineage.ops.history import _record

    event = {
        "version": "a" * 40,
        "seq": 2,
        "change": "relabeled",
        "labels": {"label": "cat"},
        "author": "Ann",
        "timestamp": "2026-01-01T00:00:00",
        "message": "fix",
        "from": {"label": "dog"},
        "batch": "e" * 40,
        "annotator": "bob",
        "reason": "typo",
        "batches": [],
        "confidence": None,
    }
    h = _record({"dataset": "train", "key": {"id": 4}, "events": [event]})
    assert json.dumps(h, default=json_default) == json.dumps({"dataset": "train", "key": {"id": 4}, "events": [event]})
    assert h.events[0].more["from"] == {"label": "dog"} and h.events[0]["annotator"] == "bob"
