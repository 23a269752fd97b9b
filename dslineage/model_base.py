"""The machinery of the domain model (`dslineage.model` and its `model_*` siblings): the
`Record` base class of its frozen dataclasses, how a field reaches the JSON (field metadata
`OPTIONAL`, `LIBRARY_ONLY`, `present_with`, `STORED`/`ORDER`), and `to_json`/`json_default`,
the one place a result becomes JSON. `dslineage.model` re-exports all of it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Self, TypeVar, Union

# A JSON value: what a journal record's free-form parts (params, quality results) hold.
JsonValue = Union[str, int, float, bool, None, list["JsonValue"], dict[str, "JsonValue"]]


MORE = "more"  # a record's keys its class does not declare (JSON: after the declared ones)
# Field metadata: how a field reaches the JSON (default: always, as its name).
OPTIONAL = {"json": "omit-none"}  # a key the JSON has only when the value is not None
LIBRARY_ONLY = {"json": "never"}  # for library callers and renderers; not part of `--json`
# A record that mirrors a stored journal record: the JSON starts with the keys of its `ORDER`
# field (a tuple: the stored record's keys, in its order), then the other keys in field order;
# a `STORED` field is a key only when the stored record has it.
ORDER = {"json": "order"}
STORED = {"json": "stored"}


def present_with(other: str) -> dict[str, str]:
    """Field metadata: a key the JSON has only when field `other` is not None (whatever its own
    value: e.g. a relabel's `seq` is there, maybe null, once a batch was applied)."""
    return {"json": "with", "with": other}


OptionsT = TypeVar("OptionsT")


def options(cls: type[OptionsT], given: Mapping[str, object]) -> OptionsT:
    """A command's options record (a frozen dataclass of the op's settings) from the arguments a
    `Repo` method was called with: `options(RelabelOptions, locals())` as the method's first
    statement. The method's signature is the one public, documented list of a command's keywords;
    the op receives one typed record instead of repeating that list. Fields the method does not
    name (settings only other ops pass, e.g. a relabel's `source`) keep their defaults;
    `tests/unit/test_repo_options.py` checks that every such method's keywords are fields of its
    record with the same defaults."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in given.items() if k in names})


_ORDER_FIELDS: dict[type, str | None] = {}


def _order_field(cls: type) -> str | None:
    """The name of a record class's `ORDER` field, if it has one (looked up once per class)."""
    try:
        return _ORDER_FIELDS[cls]
    except KeyError:
        found = next((f.name for f in dataclasses.fields(cls) if f.metadata.get("json") == "order"), None)
        _ORDER_FIELDS[cls] = found
        return found


def items(obj: object, *, library: bool = False) -> Iterator[tuple[str, object]]:
    """A record's JSON keys and values in contract order: its fields, with the mapping of a
    `more` field (keys a journal record carries that the class does not declare, e.g. a batch's
    `queue` or a consensus edit's votes) spliced in where it stands, so no key is lost.
    `OPTIONAL` fields holding None are left out; `LIBRARY_ONLY` fields too, unless `library`;
    a record with an `ORDER` field lists the keys it names first."""
    order_name = _order_field(type(obj))
    if order_name is None:
        yield from _walk(obj, library, None)
        return
    order: tuple[str, ...] = getattr(obj, order_name)
    pairs = dict(_walk(obj, library, frozenset(order)))
    for key in order:
        if key in pairs:
            yield key, pairs.pop(key)
    yield from pairs.items()


def _walk(obj: object, library: bool, stored: frozenset[str] | None) -> Iterator[tuple[str, object]]:
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        how = f.metadata.get("json")
        if how is not None and (
            (how == "never" and not library)
            or (how == "omit-none" and value is None)
            or how == "order"
            or (how == "with" and getattr(obj, f.metadata["with"]) is None)
            or (how == "stored" and (stored is None or f.name not in stored))
        ):
            continue
        if f.name == MORE and isinstance(value, Mapping):
            yield from value.items()
        else:
            yield f.name, value


class Record:
    """Base of the model's dataclasses: read-only access by JSON key for callers written
    against the dict results (`v["seq"]`, `v.get("note")`, `"seq" in v`)."""

    def __getitem__(self, key: str) -> object:
        for k, value in items(self, library=True):
            if k == key:
                return value
        raise KeyError(key)

    def get(self, key: str, default: object = None) -> object:
        """The value of key `key`, or `default` when there is no such key."""
        for k, value in items(self, library=True):
            if k == key:
                return value
        return default

    def __contains__(self, key: object) -> bool:
        return key in self._keys()

    def keys(self) -> list[str]:
        """The field names, in JSON contract order (then any `LIBRARY_ONLY` ones where they stand)."""
        return self._keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __eq__(self, other: object) -> bool:
        """Equal to a record or a mapping with the same JSON (a dict-era caller's expectation)."""
        if isinstance(other, Record | Mapping):
            return to_json(self) == to_json(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(json.dumps(to_json(self), sort_keys=True, default=str))

    def _keys(self) -> list[str]:
        return [k for k, _ in items(self, library=True)]

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Self:
        """This record from its plain (stored) form, each field read by its annotation
        (`from_mapping`); a record whose fields need more than that overrides it."""
        return from_mapping(cls, d)


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def _jv(value: object) -> JsonValue:
    """A value that is plain JSON already (a parsed record's, a graph attribute), typed as such."""
    return value  # type: ignore[return-value]


def _dict_list(value: object) -> list[dict[str, JsonValue]]:
    """A list of JSON objects (anything else in it, or not a list: left out / empty)."""
    return [_json_dict(x) for x in value] if isinstance(value, list) else []


def _json_dict(value: object) -> dict[str, JsonValue]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def _str_list(value: object) -> list[str]:
    return [str(x) for x in value] if isinstance(value, list) else []


def _loads(value: object) -> JsonValue:
    """A JSON column of the index (text) or an already parsed value."""
    if isinstance(value, str):
        parsed: JsonValue = json.loads(value)
        return parsed
    return value  # type: ignore[return-value]


def to_json(obj: object) -> JsonValue:
    """A result as JSON data: dataclasses (nested too) become dicts in field order, tuples
    lists; anything else is left as it is (dicts of older results pass through)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: to_json(v) for k, v in items(obj)}
    if isinstance(obj, list | tuple):
        return [to_json(x) for x in obj]
    if isinstance(obj, Mapping):
        return {k: to_json(x) for k, x in obj.items()}
    return obj  # type: ignore[return-value]


def json_default(obj: object) -> object:
    """The `default` hook of `json.dumps` for results: a model record becomes its fields in
    order (the encoder recurses into them); anything else unknown becomes its text. Plain
    data costs nothing extra: the encoder asks only for what it cannot encode itself."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dict(items(obj))
    return str(obj)


RecordT = TypeVar("RecordT")

# How `from_mapping` reads a field of each annotation from a stored mapping (a journal record, an
# index row, a catalog entry): the one place these coercions are written.
_READERS: dict[str, Callable[[object], object]] = {
    "str": lambda v: "" if v is None else str(v),
    "str | None": _str,
    "int": lambda v: int(v),  # type: ignore[call-overload]
    "int | None": _int,
    "float | None": lambda v: None if v is None else float(v),  # type: ignore[arg-type]
    "bool": bool,
    "bool | None": lambda v: None if v is None else bool(v),
    "list[str]": _str_list,
    "dict[str, JsonValue]": _json_dict,
    "list[dict[str, JsonValue]]": _dict_list,
    "JsonValue": _jv,
}


def from_mapping(cls: type[RecordT], rec: Mapping[str, object], **given: object) -> RecordT:
    """A record of class `cls` from a stored mapping: each field not in `given` is read from
    `rec` under its own name and coerced by its annotation (`str` → text, "" when missing;
    `str | None`, `int | None` → the value or None; `list[str]`, `dict[str, JsonValue]`, … → that
    shape, empty when missing). A field with a default that `rec` lacks keeps the default; any
    other field whose annotation has no reader must be in `given` (a nested record, a derived
    value) — a TypeError names it otherwise."""
    values: dict[str, object] = dict(given)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in values:
            continue
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        if has_default and f.name not in rec:
            continue
        reader = _READERS.get(str(f.type))
        if reader is None:
            raise TypeError(f"{cls.__name__}.{f.name} ({f.type}) has no reader: pass it to from_mapping")
        values[f.name] = reader(rec.get(f.name))
    return cls(**values)
