"""The data model of `dslineage report`: frozen dataclasses whose field names are the JSON keys
(`report --json` prints `dataclasses.asdict` of a `Report`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_TIMELINE = 400  # versions drawn one by one; more are aggregated into this many bins
MAX_DIST_VERSIONS = 60  # versions in the class-distribution chart (evenly sampled beyond)
MAX_CLASSES = 9  # classes drawn in their own colour; the rest are "other"
MAX_HEATMAP = 30  # classes in the transition heatmap; more switch it to the top confused pairs
TOP_PAIRS = 25
MAX_CHANGED_ROWS = 1000  # rows in the searchable table of changed rows


@dataclass(frozen=True)
class OfVersion:
    """A figure of one version, by its `seq` (the first key of every per-version point below)."""

    seq: int


@dataclass(frozen=True)
class VersionPoint(OfVersion):
    """One version (or a bin of versions when the timeline aggregates) on the timeline."""

    seq_end: int
    id: str
    timestamp: str
    author: str
    message: str
    rows: int | None
    added: int | None
    removed: int | None
    relabeled: int | None
    tags: list[str]
    batches: list[str]
    reverted_batches: int


@dataclass(frozen=True)
class ClassCount(OfVersion):
    """Rows of one class in one version."""

    label: str
    count: int


@dataclass(frozen=True)
class Transition:
    """Rows whose label went from `from_label` to `to_label` between A and B."""

    from_label: str
    to_label: str
    count: int


@dataclass(frozen=True)
class ClassShift:
    """Rows of one class in A and in B."""

    label: str
    a: int
    b: int
    delta: int


@dataclass(frozen=True)
class Batch:
    """An edit batch with its state and who made it."""

    id: str
    seq: int | None
    column: str
    author: str
    reason: str
    rows: int
    state: str
    reverted: bool
    reverted_by: str | None
    reverts: str | None
    timestamp: str
    annotators: dict[str, int]


@dataclass(frozen=True)
class Annotator:
    """Rows an annotator edited, and how many of them a revert undid."""

    name: str
    rows: int
    batches: int
    reverted_rows: int


@dataclass(frozen=True)
class ChangedRow:
    """One edited row: key, old and new label, and where the edit came from."""

    key: str
    old: str
    new: str
    batch: str
    annotator: str
    reason: str
    seq: int | None
    reverted: bool


@dataclass(frozen=True)
class QualityPoint(OfVersion):
    """One stored quality figure of a version, with its threshold (None: no threshold)."""

    source: str  # check, drift or audit
    metric: str
    value: float
    threshold: float | None
    passed: bool | None
    bound: str  # "max", "min" or ""


@dataclass(frozen=True)
class EvalPoint(OfVersion):
    """One eval figure of a version: a summary metric or one class's recall."""

    metric: str
    value: float


@dataclass(frozen=True)
class LineageNode:
    """A node of the collapsed lineage graph, placed in a column (left to right) and a lane."""

    id: str
    kind: str
    label: str
    column: int
    lane: int


@dataclass(frozen=True)
class LineageEdge:
    """An edge of the collapsed lineage graph."""

    source: str
    target: str
    kind: str


@dataclass(frozen=True)
class DatasetReport:
    """Everything the report shows about one dataset."""

    name: str
    label_column: str | None
    a: dict[str, Any] | None  # {"seq", "id"} of A, None with one version
    b: dict[str, Any] | None
    versions_total: int
    timeline: list[VersionPoint]
    distribution: list[ClassCount]
    transitions: list[Transition]
    shift: list[ClassShift]
    batches: list[Batch]
    annotators: list[Annotator]
    agreement: dict[str, Any] | None
    changed_rows: list[ChangedRow]
    changed_total: int
    quality: list[QualityPoint]
    evals: list[EvalPoint]
    notes: dict[str, str] = field(default_factory=dict)  # section → what it cannot show or cut


@dataclass(frozen=True)
class Report:
    """The whole report: datasets, the lineage graph and what it was made from."""

    title: str
    generated: str
    repository: str
    datasets: list[DatasetReport]
    lineage_nodes: list[LineageNode]
    lineage_edges: list[LineageEdge]
    notes: dict[str, str] = field(default_factory=dict)
