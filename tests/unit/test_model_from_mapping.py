"""`model_base.from_mapping`: one reader per annotation turns a stored mapping into a record."""

from __future__ import annotations

import dataclasses

import pytest

from dslineage.model_base import JsonValue, Record, from_mapping


@dataclasses.dataclass(frozen=True, eq=False)
class _Rec(Record):
    id: str
    note: str | None
    rows: int | None
    seq: int
    ok: bool
    tags: list[str]
    params: dict[str, JsonValue]
    inputs: list[dict[str, JsonValue]]
    label: str = "x"


def test_fields_are_read_by_their_annotation() -> None:
    rec = {"id": 7, "rows": "12", "seq": "3", "ok": 1, "tags": ["a", 2], "params": {"p": 1}, "inputs": [{"a": 1}, 5]}
    got = from_mapping(_Rec, rec)
    assert got == _Rec("7", None, 12, 3, True, ["a", "2"], {"p": 1}, [{"a": 1}, {}], "x")
    assert got.label == "x"  # missing with a default: the default


def test_missing_and_malformed_values_get_the_empty_shape() -> None:
    got = from_mapping(_Rec, {"seq": 1, "tags": "not a list", "params": [1]})
    assert (got.id, got.note, got.rows, got.ok, got.tags, got.params, got.inputs) == ("", None, None, False, [], {}, [])


def test_given_values_win_and_unknown_annotations_must_be_given() -> None:
    assert from_mapping(_Rec, {"seq": 1, "label": "y"}, id="given").id == "given"

    @dataclasses.dataclass(frozen=True)
    class Nested:
        child: _Rec

    with pytest.raises(TypeError, match="Nested.child"):
        from_mapping(Nested, {})
    assert from_mapping(Nested, {}, child=from_mapping(_Rec, {"seq": 2})).child.seq == 2
