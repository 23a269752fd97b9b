"""The CLI's indented JSON writer (`dslineage.cli._json`) writes exactly what `json.dumps` writes."""

from __future__ import annotations

import dataclasses
import json
import math
import random

import pytest

from dslineage.cli import _json
from dslineage.model import json_default


@dataclasses.dataclass(frozen=True)
class _Rec:
    """A record the writer hands to `default` (as `--json` does with `dslineage.model` records)."""

    name: str
    values: list[float]


@pytest.mark.parametrize("seed", range(40))
def test_indented_json_is_byte_identical_to_json_dumps(seed: int) -> None:
    """On random nested data (every scalar kind, non-str keys, tuples, records through `default`),
    the fast writer's text equals `json.dumps(..., indent=2, ensure_ascii=False, default=...)`."""
    rng = random.Random(seed)
    for _ in range(20):
        data = _random(rng)
        assert _json.dumps(data, json_default) == json.dumps(data, indent=2, ensure_ascii=False, default=json_default)


def test_odd_keys_and_unknown_objects_as_json_has_them() -> None:
    """A key json cannot write raises TypeError, as in json; an unknown object goes through `default`."""
    with pytest.raises(TypeError):
        json.dumps({(1, 2): 3}, indent=2, default=json_default)
    with pytest.raises(TypeError):
        _json.dumps({(1, 2): 3}, json_default)
    thing = object()
    assert _json.dumps({"x": [thing]}, json_default) == json.dumps({"x": [thing]}, indent=2, default=json_default)


@dataclasses.dataclass(frozen=True)
class _Node:
    """A record with the model's field metadata: `more` spliced in, an omitted-when-None field."""

    id: str
    more: dict[str, object] = dataclasses.field(default_factory=dict)
    note: str | None = dataclasses.field(default=None, metadata={"json": "omit-none"})
    secret: str = dataclasses.field(default="x", metadata={"json": "never"})


_SCALARS = [
    None,
    True,
    False,
    0,
    -7,
    2**70,
    1.5,
    -0.0,
    1e300,
    math.inf,
    -math.inf,
    math.nan,
    "",
    "é ünï",
    'a"b\\c\n\t',
    "\u2028\x00",
    "😀",
    3.141592653589793,
]
# no float, no int past 64 bits: what orjson writes itself
_FLOAT_FREE = [
    None,
    True,
    False,
    0,
    -7,
    2**63 - 1,
    -(2**63),
    "",
    "é ünï",
    'a"b\\c\n\t\r\b\f',
    "\x7f\x1f\x00",
    "\u2028\u2029",
    "😀",
    "→ v2",
]


def _random(rng: random.Random, depth: int = 0, *, float_free: bool = False) -> object:
    """A random JSON-able value: nested dicts and lists, odd keys, odd strings and (unless
    `float_free`) floats; records of both kinds (`_Rec`, and `_Node` with `more` and omitted fields)."""
    scalars = _FLOAT_FREE if float_free else _SCALARS
    pick = rng.random()
    if depth > 3 or pick < 0.4:
        return rng.choice(scalars)
    if pick < 0.6:
        return [_random(rng, depth + 1, float_free=float_free) for _ in range(rng.randrange(0, 4))]
    if pick < 0.65:
        return tuple(_random(rng, depth + 1, float_free=float_free) for _ in range(rng.randrange(0, 3)))
    if pick < 0.7 and not float_free:
        return _Rec(name=str(rng.random()), values=[rng.random(), math.nan])
    if pick < 0.75:
        more = {
            rng.choice(["seq", "id", "ключ"]): _random(rng, depth + 1, float_free=float_free)
            for _ in range(rng.randrange(0, 3))
        }
        return _Node(id=rng.choice(["a", "é", "→ v2"]), more=more, note=rng.choice([None, "n"]))
    keys = ["id", "kind", "", "ключ", "a b", "\n"] + ([] if float_free else [3, 2.5, True, False, None])
    return {rng.choice(keys): _random(rng, depth + 1, float_free=float_free) for _ in range(rng.randrange(0, 5))}


@pytest.mark.parametrize("seed", range(30))
def test_float_free_data_is_written_by_orjson_byte_identically(seed: int) -> None:
    """Data without floats (records included) is written by orjson, and its text equals `json.dumps`'s."""
    rng = random.Random(seed)
    for _ in range(20):
        data = _random(rng, float_free=True)
        expected = json.dumps(data, indent=2, ensure_ascii=False, default=json_default)
        assert _json._orjson(data) == expected
        assert _json.dumps(data, json_default) == expected


def test_what_orjson_would_write_differently_takes_the_python_writer() -> None:
    """A float, a non-str key, an int past 64 bits, a lone surrogate, a str subclass or an unknown
    object is left to the Python writer (same text as `json.dumps`)."""

    class Text(str):
        """A str subclass."""

    odd = [
        {"x": 1e-05},
        {"x": math.nan},
        {3: "a"},
        [2**64],
        ["\ud800"],
        [Text("t")],
        [object()],
        _Node(id="a", more={"f": 0.5}),
    ]
    for data in odd:
        assert _json._orjson(data) is None
        assert _json.dumps(data, json_default) == json.dumps(data, indent=2, ensure_ascii=False, default=json_default)


def test_records_with_stored_order_and_linked_keys_keep_their_json() -> None:
    """Records whose keys depend on other fields (a batch's stored key order and stored-only keys,
    a relabel's `seq` present with `md5`) are written by the fast path exactly as `json.dumps` does."""
    from dslineage.model import Batch
    from dslineage.model_edits import BatchDetail, RelabelResult

    batch = Batch.from_entry({"id": "b1", "dataset": "pets", "column": "label", "rows": 2, "state": "pending"})
    detail = BatchDetail(
        **{f.name: getattr(batch, f.name) for f in dataclasses.fields(Batch)},
        source="--set",
        base_md5="m0",
        stored_keys=("source", "id", "dataset", "base_md5"),
    )
    fields = {f.name for f in dataclasses.fields(RelabelResult)}
    base = {
        "dataset": "pets",
        "column": "label",
        "columns": ["label"],
        "batch": None,
        "batches": [],
        "version": None,
        "applied": 0,
        "by_column": {"label": 0},
        "noop": 1,
        "missing": 0,
        "missing_keys": [],
        "edits_read": 1,
        "transitions": [],
        "committed": False,
    }
    relabels = [
        RelabelResult(**{k: v for k, v in base.items() if k in fields}),
        RelabelResult(**{k: v for k, v in base.items() if k in fields}, md5="m1", seq=None),
    ]
    for data in (detail, *relabels, [detail, relabels[1]]):
        expected = json.dumps(data, indent=2, ensure_ascii=False, default=json_default)
        assert _json.dumps(data, json_default) == expected
    assert list(json.loads(_json.dumps(detail, json_default)))[:4] == ["source", "id", "dataset", "base_md5"]
    assert "seq" not in json.loads(_json.dumps(relabels[0], json_default))
    assert json.loads(_json.dumps(relabels[1], json_default))["seq"] is None
