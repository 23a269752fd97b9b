"""The domain model: the records every layer passes around, as frozen dataclasses.

Each class's field names, in order, are exactly the keys of its `--json` contract
(docs/json.md), so `to_json(obj)` is the one place a result becomes JSON. Each is built in
one place from what the journal reader (the index) returns: `Version.from_record(row)`,
`StatusEntry`, `Batch.from_entry(entry)`; the results of `diff`, `history` and `blame` in their
ops modules (`DiffResult`, `History`, `Blame`). Code written against the older dict results may
still read a field by its key (`version["seq"]`) and compare a record with a dict of the
same JSON; new code reads attributes. Keys a newer journal record carries that a class does
not declare are kept in its `more` mapping and spliced into the JSON after the declared ones.

The versions, status and batches are here. The machinery (`Record`, `to_json`, field
metadata) is in `model_base.py`, the diff, history, blame and remote-read records in
`model_diff.py`, the run and experiment records in `model_exp.py`: this module re-exports
them, so `from dslineage.model import X` works for all of them. The results of the other
commands are in the `model_*` siblings by area.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from dslineage.model_base import (
    LIBRARY_ONLY,
    MORE,
    OPTIONAL,
    JsonValue,
    Record,
    _int,
    _jv,
    _loads,
    _str,
    from_mapping,
    items,
    json_default,
    to_json,
)
from dslineage.model_diff import (
    Blame,
    DiffResult,
    DiffRows,
    DiffSide,
    History,
    HistoryEntry,
    LabelShift,
    RemoteReads,
    SchemaChange,
)
from dslineage.model_exp import Experiment, ExperimentDataset, ExperimentSummary, Transformation

__all__ = [
    "LIBRARY_ONLY",
    "MORE",
    "OPTIONAL",
    "Batch",
    "Blame",
    "ClassCount",
    "Changes",
    "Column",
    "DiffResult",
    "DiffRows",
    "DiffSide",
    "Edit",
    "Experiment",
    "ExperimentDataset",
    "ExperimentSummary",
    "History",
    "HistoryEntry",
    "JsonValue",
    "LabelShift",
    "Merging",
    "Record",
    "RemoteReads",
    "RowCounts",
    "SchemaChange",
    "StatusEntry",
    "Transformation",
    "Version",
    "VersionDetail",
    "items",
    "json_default",
    "to_json",
]


@dataclass(frozen=True, eq=False)
class Changes(Record):
    """A version's row-level change counts against its first parent (`known` False: the
    parent's bytes were unavailable, the counts are None)."""

    known: bool
    added: int | None
    removed: int | None
    relabeled: int | None
    modified: int | None


@dataclass(frozen=True, eq=False)
class Version(Record):
    """One dataset version: a `log --json` entry."""

    id: str
    seq: int
    dataset: str
    md5: str
    parent: str | None
    parents: list[str]
    git_commit: str | None
    message: str
    author: str
    timestamp: str
    rows: int | None
    label_changes: int | None  # rows relabeled, None when the changes are unknown
    changes: Changes

    @classmethod
    def from_record(cls, v: Mapping[str, object]) -> Version:
        """A version from its journal record or its index row."""
        parent = _str(v.get("parent"))
        listed = v.get("parents")
        parents = [str(p) for p in listed if p] if isinstance(listed, list) else ([parent] if parent else [])
        if "changes_known" in v:  # an index row: the counts are columns
            known = bool(v.get("changes_known"))
            counts: Mapping[str, object] = v
        else:  # a journal record: the counts sit under "changes"
            nested = v.get("changes")
            counts = nested if isinstance(nested, Mapping) else {}
            known = bool(counts.get("known"))
        changes = Changes(
            known=known,
            added=_int(counts.get("added")),
            removed=_int(counts.get("removed")),
            relabeled=_int(counts.get("relabeled")),
            modified=_int(counts.get("modified")),
        )
        return Version(
            id=str(v["id"]),
            seq=int(v["seq"]),  # type: ignore[call-overload]
            dataset=str(v["dataset"]),
            md5=str(v["md5"]),
            parent=parent,
            parents=parents,
            git_commit=_str(v.get("git_commit")),
            message=str(v.get("message") or ""),
            author=str(v.get("author") or ""),
            timestamp=str(v.get("timestamp") or ""),
            rows=_int(v.get("rows")),
            label_changes=changes.relabeled if known else None,
            changes=changes,
        )


@dataclass(frozen=True, eq=False)
class Column(Record):
    """One column of a version's schema (DuckDB type name)."""

    name: str
    type: str


@dataclass(frozen=True, eq=False)
class ClassCount(Record):
    """Rows holding one label value."""

    count: int
    label: JsonValue


@dataclass(frozen=True, eq=False)
class VersionDetail(Version):
    """One version in detail: a `show NAME@REF --json` result."""

    path: str
    schema: list[Column] | None
    class_distribution: dict[str, list[ClassCount]] | None
    tags: list[str]
    quality: dict[str, JsonValue] | None

    @classmethod
    def build(
        cls, v: Mapping[str, object], *, path: str, tags: list[str], quality: dict[str, JsonValue] | None
    ) -> VersionDetail:
        """A version row with its schema and class distribution parsed, plus path, tags, quality."""
        schema = _loads(v.get("schema")) if v.get("schema") else None
        dist = _loads(v.get("label_distribution")) if v.get("label_distribution") else None
        base = Version.from_record(v)
        return cls(
            **{f.name: getattr(base, f.name) for f in dataclasses.fields(Version)},
            path=path,
            schema=[Column(name=str(c["name"]), type=str(c["type"])) for c in schema if isinstance(c, dict)]
            if isinstance(schema, list)
            else None,
            class_distribution={str(col): _counts(entries) for col, entries in dist.items()}
            if isinstance(dist, dict)
            else None,
            tags=list(tags),
            quality=quality,
        )


def _counts(entries: JsonValue) -> list[ClassCount]:
    """A label column's stored distribution (`[{"count", "label"}]`) as `ClassCount`s."""
    if not isinstance(entries, list):
        return []
    return [
        ClassCount(count=int(d["count"]), label=d["label"])  # type: ignore[arg-type]
        for d in entries
        if isinstance(d, dict)
    ]


@dataclass(frozen=True, eq=False)
class RowCounts(Record):
    """Uncommitted row changes of a working file against its current version."""

    added: int
    removed: int
    modified: int


@dataclass(frozen=True, eq=False)
class Merging(Record):
    """A dataset's stopped merge: conflicting cells and the branch merged."""

    cells: int | None
    branch: str | None


@dataclass(frozen=True, eq=False)
class StatusEntry(Record):
    """One tracked dataset's state: a `status --json` entry."""

    dataset: str
    path: str
    version: int | None  # seq of the current version
    dirty: bool
    missing: bool
    rows: RowCounts
    worktree_version: int | None  # seq of another version the work file holds
    note: str | None
    merging: Merging | None


@dataclass(frozen=True, eq=False)
class Batch(Record):
    """One edit batch with its state: a `batches --json` entry."""

    id: str
    dataset: str
    column: str | None
    author: str
    timestamp: str
    reason: str | None
    rows: int | None
    noop: int | None
    missing: int | None
    op: str | None
    reverts: str | None
    source_batch: str | None
    group: str | None
    columns: list[str | None]
    version: str | None  # the version that carries it
    seq: int | None
    state: str  # "committed", "pending" or "discarded"
    reverted_by: str | None
    reverted: bool
    more: dict[str, JsonValue] = dataclasses.field(default_factory=dict)  # keys of newer records

    @classmethod
    def from_entry(cls, e: Mapping[str, object]) -> Batch:
        """A batch from its catalog entry (`ops.batches.catalog`)."""
        cols = e.get("columns")
        return from_mapping(
            cls,
            e,
            columns=[_str(c) for c in cols] if isinstance(cols, list) else [],
            more={k: _jv(v) for k, v in e.items() if k not in _BATCH_KEYS},
        )


@dataclass(frozen=True, eq=False)
class Edit(Record):
    """One row's label edit in a batch: an entry of `show BATCH --json`'s `edits`."""

    key: dict[str, JsonValue]  # key column → value
    old: JsonValue
    new: JsonValue
    annotator: str | None
    reason: str | None
    confidence: float | None
    more: dict[str, JsonValue] = dataclasses.field(default_factory=dict)  # e.g. a consensus row's votes


_BATCH_KEYS = frozenset(f.name for f in dataclasses.fields(Batch)) - {MORE}
