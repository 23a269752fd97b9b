"""The domain model: the records every layer passes around, as frozen dataclasses.

Each class's field names, in order, are exactly the keys of its `--json` contract
(docs/json.md), so `to_json(obj)` is the one place a result becomes JSON. Each is built in
one place from what the journal reader (the index) returns: `Version.from_record(row)`,
`StatusEntry`, `Batch.from_entry(entry)`; the results of `diff`, `history` and `blame` in their
ops modules (`DiffResult`, `History`, `Blame`). Code written against the older dict results may
still read a field by its key (`version["seq"]`) and compare a record with a dict of the
same JSON; new code reads attributes. Keys a newer journal record carries that a class does
not declare are kept in its `more` mapping and spliced into the JSON after the declared ones.

One module on purpose (a little over 500 lines): the whole model is read in one place.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Union

# A JSON value: what a journal record's free-form parts (params, quality results) hold.
JsonValue = Union[str, int, float, bool, None, list["JsonValue"], dict[str, "JsonValue"]]


MORE = "more"  # a record's keys its class does not declare (JSON: after the declared ones)
# Field metadata: how a field reaches the JSON (default: always, as its name).
OPTIONAL = {"json": "omit-none"}  # a key the JSON has only when the value is not None
LIBRARY_ONLY = {"json": "never"}  # for library callers and renderers; not part of `--json`


def items(obj: object, *, library: bool = False) -> Iterator[tuple[str, object]]:
    """A record's JSON keys and values in contract order: its fields, with the mapping of a
    `more` field (keys a journal record carries that the class does not declare, e.g. a batch's
    `queue` or a consensus edit's votes) spliced in where it stands, so no key is lost.
    `OPTIONAL` fields holding None are left out; `LIBRARY_ONLY` fields too, unless `library`."""
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        how = f.metadata.get("json")
        if how is not None and ((how == "never" and not library) or (how == "omit-none" and value is None)):
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


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def _jv(value: object) -> JsonValue:
    """A value that is plain JSON already (a parsed record's, a graph attribute), typed as such."""
    return value  # type: ignore[return-value]


def _loads(value: object) -> JsonValue:
    """A JSON column of the index (text) or an already parsed value."""
    if isinstance(value, str):
        parsed: JsonValue = json.loads(value)
        return parsed
    return value  # type: ignore[return-value]


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
            known=known, added=_int(counts.get("added")), removed=_int(counts.get("removed")),
            relabeled=_int(counts.get("relabeled")), modified=_int(counts.get("modified")),
        )
        return Version(
            id=str(v["id"]), seq=int(v["seq"]), dataset=str(v["dataset"]),  # type: ignore[call-overload]
            md5=str(v["md5"]), parent=parent, parents=parents, git_commit=_str(v.get("git_commit")),
            message=str(v.get("message") or ""), author=str(v.get("author") or ""),
            timestamp=str(v.get("timestamp") or ""), rows=_int(v.get("rows")),
            label_changes=changes.relabeled if known else None, changes=changes,
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
            **{f.name: getattr(base, f.name) for f in dataclasses.fields(Version)}, path=path,
            schema=[Column(name=str(c["name"]), type=str(c["type"])) for c in schema if isinstance(c, dict)]
            if isinstance(schema, list) else None,
            class_distribution={str(col): _counts(entries) for col, entries in dist.items()}
            if isinstance(dist, dict) else None,
            tags=list(tags), quality=quality,
        )


def _counts(entries: JsonValue) -> list[ClassCount]:
    """A label column's stored distribution (`[{"count", "label"}]`) as `ClassCount`s."""
    if not isinstance(entries, list):
        return []
    return [ClassCount(count=int(d["count"]), label=d["label"])  # type: ignore[arg-type]
            for d in entries if isinstance(d, dict)]


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
        return cls(
            id=str(e["id"]), dataset=str(e["dataset"]), column=_str(e.get("column")),
            author=str(e.get("author") or ""), timestamp=str(e.get("timestamp") or ""),
            reason=_str(e.get("reason")), rows=_int(e.get("rows")), noop=_int(e.get("noop")),
            missing=_int(e.get("missing")), op=_str(e.get("op")), reverts=_str(e.get("reverts")),
            source_batch=_str(e.get("source_batch")), group=_str(e.get("group")),
            columns=[_str(c) for c in cols] if isinstance(cols, list) else [],
            version=_str(e.get("version")), seq=_int(e.get("seq")), state=str(e["state"]),
            reverted_by=_str(e.get("reverted_by")), reverted=bool(e.get("reverted")),
            more={k: v for k, v in e.items() if k not in _BATCH_KEYS},  # type: ignore[misc]
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


@dataclass(frozen=True, eq=False)
class Transformation(Record):
    """A recorded pipeline stage run: an entry of `sync --json`'s `transformations`."""

    id: str
    stage: str
    cmd: str | None
    git_commit: str | None
    source: str | None  # "run", "sync" or "sync-history"
    started: str | None
    ended: str | None
    inputs: list[dict[str, JsonValue]]  # {"path", "md5", "dataset", "version", "seq"}
    outputs: list[dict[str, JsonValue]]  # the same, plus "metrics": true on a metrics file
    params: dict[str, JsonValue]

    @classmethod
    def from_record(cls, rec: Mapping[str, object]) -> Transformation:
        """A transformation from its journal record."""
        return cls(
            id=str(rec["id"]), stage=str(rec.get("stage")), cmd=_str(rec.get("cmd")),
            git_commit=_str(rec.get("git_commit")), source=_str(rec.get("source")),
            started=_str(rec.get("started")), ended=_str(rec.get("ended")),
            inputs=_dict_list(rec.get("inputs")), outputs=_dict_list(rec.get("outputs")),
            params=_json_dict(rec.get("params")),
        )


def _dict_list(value: object) -> list[dict[str, JsonValue]]:
    return [_json_dict(x) for x in value] if isinstance(value, list) else []


def _json_dict(value: object) -> dict[str, JsonValue]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def _str_list(value: object) -> list[str]:
    return [str(x) for x in value] if isinstance(value, list) else []


@dataclass(frozen=True, eq=False)
class ExperimentSummary(Record):
    """One experiment run in the list: an `exp list --json` entry."""

    id: str
    name: str
    timestamp: str
    author: str
    message: str | None
    git_commit: str | None
    code_dirty: list[str]
    datasets: int  # how many dataset versions it used
    metrics: dict[str, JsonValue]

    @classmethod
    def from_record(cls, rec: Mapping[str, object]) -> ExperimentSummary:
        """A summary of an experiment journal record."""
        used = rec.get("datasets")
        return cls(
            id=str(rec["id"]), name=str(rec.get("name")), timestamp=str(rec.get("timestamp") or ""),
            author=str(rec.get("author") or ""), message=_str(rec.get("message")),
            git_commit=_str(rec.get("git_commit")), code_dirty=_str_list(rec.get("code_dirty")),
            datasets=len(used) if isinstance(used, list) else 0, metrics=_json_dict(rec.get("metrics")),
        )


@dataclass(frozen=True, eq=False)
class ExperimentDataset(Record):
    """A dataset version an experiment used (keys in the journal's sorted order)."""

    md5: str
    name: str
    path: str
    seq: int
    version: str


@dataclass(frozen=True, eq=False)
class Experiment(Record):
    """One experiment run in full: an `exp show --json` result (the journal record's keys in
    their stored, sorted order, then `runs`)."""

    author: str
    code_dirty: list[str]
    datasets: list[ExperimentDataset]
    dvc_lock: str | None  # id of the dvc.lock state recorded with it
    git_commit: str | None
    id: str
    message: str | None
    metrics: dict[str, JsonValue]
    metrics_file: str | None
    name: str
    params: dict[str, JsonValue]
    params_file: str | None
    pipeline: dict[str, JsonValue]
    timestamp: str
    runs: int  # how many runs its name has

    @classmethod
    def from_record(cls, rec: Mapping[str, object], *, runs: int) -> Experiment:
        """An experiment from its journal record."""
        used = rec.get("datasets")
        return cls(
            author=str(rec.get("author") or ""), code_dirty=_str_list(rec.get("code_dirty")),
            datasets=[ExperimentDataset(md5=str(d["md5"]), name=str(d["name"]), path=str(d["path"]),
                                        seq=int(d["seq"]), version=str(d["version"]))
                      for d in (used if isinstance(used, list) else []) if isinstance(d, dict)],
            dvc_lock=_str(rec.get("dvc_lock")), git_commit=_str(rec.get("git_commit")), id=str(rec["id"]),
            message=_str(rec.get("message")), metrics=_json_dict(rec.get("metrics")),
            metrics_file=_str(rec.get("metrics_file")), name=str(rec.get("name")),
            params=_json_dict(rec.get("params")), params_file=_str(rec.get("params_file")),
            pipeline=_json_dict(rec.get("pipeline")), timestamp=str(rec.get("timestamp") or ""), runs=runs,
        )


@dataclass(frozen=True, eq=False)
class DiffSide(Record):
    """One side of a diff: the version compared (id and seq None for the working file)."""

    id: str | None
    seq: int | None
    md5: str | None
    more: dict[str, JsonValue] = dataclasses.field(default_factory=dict)  # "workdir": true for the file


@dataclass(frozen=True, eq=False)
class DiffRows(Record):
    """Row counts of a diff A → B (`modified` includes the relabeled rows)."""

    added: int
    removed: int
    modified: int
    relabeled: int
    unchanged: int


@dataclass(frozen=True, eq=False)
class LabelShift(Record):
    """Rows holding one label in A and in B: a `class_distribution` entry of a diff."""

    column: str
    label: JsonValue
    a: int
    b: int


@dataclass(frozen=True, eq=False)
class SchemaChange(Record):
    """Columns added, removed and retyped A → B."""

    added: list[str]
    removed: list[str]
    retyped: list[str]


@dataclass(frozen=True, eq=False)
class DiffResult(Record):
    """A `diff --json` result. The byte scan and the fold of change sets share these keys;
    what only one path emits (`source`, `exact`, `sample`, `output`) is kept in `more`, in the
    order it was added. `label_transitions` entries stay mappings: their `from` key is a
    Python keyword."""

    dataset: str
    a: DiffSide
    b: DiffSide
    rows: DiffRows
    columns: dict[str, int]  # label or feature column → rows changed in it
    label_transitions: list[dict[str, JsonValue]]  # {"column", "from", "to", "count"}
    class_distribution: list[LabelShift]
    schema: SchemaChange
    more: dict[str, JsonValue] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class HistoryEntry(Record):
    """One event of a row's label timeline: an entry of `history --json`'s `events`."""

    version: str
    seq: int
    change: str  # "added", "relabeled", "modified" or "removed"
    labels: dict[str, JsonValue]  # label column → value after the event (before, when removed)
    author: str
    timestamp: str
    message: str
    more: dict[str, JsonValue] = dataclasses.field(default_factory=dict)  # from, batch, annotator, ...


@dataclass(frozen=True, eq=False)
class History(Record):
    """A row's label timeline, oldest event first: a `history --json` result."""

    dataset: str
    key: dict[str, JsonValue]  # key column → value
    events: list[HistoryEntry]


@dataclass(frozen=True, eq=False)
class Blame(Record):
    """Who set each row's current label: the rows as an Arrow table under `table` plus the
    summary counts. Not JSON itself: `blame --json` prints the summary with the table's rows."""

    dataset: str
    version: str
    seq: int
    column: str
    key: list[str]  # the key columns
    table: object  # pyarrow.Table: key columns, label, version, seq, batch, author, ...
    total: int
    by_author: dict[str, int]
    by_batch: dict[str, int]
    by_version: dict[str, int]
    output: str | None  # the file the table was written to
    since_seq: int | None  # only labels set after this version


@dataclass(frozen=True, eq=False)
class RemoteReads(Record):
    """What a command read straight from an S3 DVC remote (the `remote` key of `--json`, present
    only when it read remotely): objects read, bytes received, and those objects' total size."""

    name: str  # the DVC remote
    objects: int
    bytes_read: int
    object_bytes: int


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


_BATCH_KEYS = frozenset(f.name for f in dataclasses.fields(Batch)) - {MORE}
