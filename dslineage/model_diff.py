"""The records of the row-level comparisons (`diff`, `history`, `blame`) and of remote reads:
frozen dataclasses whose field names, in order, are the keys of their `--json` contracts (see
`dslineage.model`, which re-exports them).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from dslineage.model_base import JsonValue, Record


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
