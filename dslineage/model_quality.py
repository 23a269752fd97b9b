"""The records of the data-quality commands (`check`, `drift`, `audit`) and of set-up and the
annotation loop (`init`, stored `eval` results): frozen dataclasses whose field names, in order,
are the keys of their `--json` contracts (`dslineage.model`'s `Record`, `to_json`, `OPTIONAL`,
`LIBRARY_ONLY`); and the options records these commands' `Repo` methods hand to their ops
(`model_base.options`).

A sibling of `model.py` rather than part of it: with these the one module would pass ~700
lines; the quality records are read together and change with `quality/`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from dslineage.model_base import MORE, OPTIONAL, ORDER, STORED, JsonValue, Record, _jv, from_mapping


def _jdict(value: object) -> dict[str, JsonValue]:
    return {str(k): _jv(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _jdict_or_none(value: object) -> dict[str, JsonValue] | None:
    return _jdict(value) if isinstance(value, Mapping) else None


def _list_or_none(value: object) -> list[JsonValue] | None:
    return [_jv(x) for x in value] if isinstance(value, list) else None


@dataclass(frozen=True, eq=False)
class TargetRef(Record):
    """What a quality command ran on: a version (id, seq) or the working file (`workdir`)."""

    dataset: str
    id: str | None
    seq: int | None
    md5: str | None
    workdir: bool


@dataclass(frozen=True, eq=False)
class Baseline(TargetRef):
    """The version drift rules were measured against, and how it was chosen."""

    chosen: str | None


@dataclass(frozen=True, eq=False)
class RuleResult(Record):
    """One rule measured on a target: an entry of `check --json`'s `results` (`detail` only
    when there is something to say; `statistic` only for drift)."""

    rule: str
    column: str | None
    value: JsonValue
    threshold: JsonValue
    passed: bool
    detail: str | None = dataclasses.field(default=None, metadata=OPTIONAL)
    statistic: str | None = dataclasses.field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True, eq=False)
class CheckResult(Record):
    """A `check --json` result: every rule's result on one target, and whether it was stored
    (`not_stored` says why not; `record`/`new_record` name the journal record)."""

    dataset: str
    version: str | None
    seq: int | None
    md5: str | None
    workdir: bool
    parent: str | None  # the version drift was measured against
    baseline: Baseline | None
    passed: bool
    results: list[RuleResult]
    stored: bool = False
    not_stored: str | None = dataclasses.field(default=None, metadata=OPTIONAL)
    record: str | None = dataclasses.field(default=None, metadata=OPTIONAL)
    new_record: bool | None = dataclasses.field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True, eq=False)
class DriftEntry(Record):
    """One statistic of one column A → B: an entry of `drift --json`'s `columns`."""

    column: str
    statistic: str  # "js", "psi", "shift" (labels) or "psi", "ks" (numeric)
    value: float | None
    threshold: float
    drifted: bool


@dataclass(frozen=True, eq=False)
class SideRows(Record):
    """Row counts of the two sides of a comparison: `a` of the first (the older version or the
    baseline), `b` of the second (the newer version or the working file)."""

    a: int
    b: int


@dataclass(frozen=True, eq=False)
class DriftResult(Record):
    """A `drift --json` result: drift statistics of label and numeric columns A → B."""

    dataset: str
    a: TargetRef
    b: TargetRef
    rows: SideRows
    drifted: bool
    columns: list[DriftEntry]
    thresholds: str  # "rules" or "defaults"
    baseline: str | None  # how A was chosen, when it is a baseline


@dataclass(frozen=True, eq=False)
class Duplicates(Record):
    """Conflicting duplicates: rows with the same feature values and different labels."""

    on: list[str]
    groups: int
    rows: int
    duplicate_groups: int | None = dataclasses.field(default=None, metadata=OPTIONAL)
    duplicate_rows: int | None = dataclasses.field(default=None, metadata=OPTIONAL)
    examples: list[JsonValue] | None = dataclasses.field(default=None, metadata=OPTIONAL)
    note: str | None = dataclasses.field(default=None, metadata=OPTIONAL)

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Duplicates:
        """From the plain finding."""
        return from_mapping(cls, d, examples=_list_or_none(d.get("examples")))


@dataclass(frozen=True, eq=False)
class Leakage(Record):
    """Rows of the audited target also in another one, by key and by feature content."""

    against: TargetRef
    by_key: int | None
    by_content: int | None
    key_examples: list[JsonValue] | None = dataclasses.field(default=None, metadata=OPTIONAL)
    on: list[str] = dataclasses.field(default_factory=list)
    content_examples: list[JsonValue] | None = dataclasses.field(default=None, metadata=OPTIONAL)

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Leakage:
        """From the plain finding."""
        against = d["against"]
        assert isinstance(against, Mapping)
        return from_mapping(
            cls,
            d,
            against=TargetRef.from_dict(against),
            key_examples=_list_or_none(d.get("key_examples")),
            content_examples=_list_or_none(d.get("content_examples")),
        )


@dataclass(frozen=True, eq=False)
class Imbalance(Record):
    """Class shares of the (first) label column and the largest/smallest class ratio."""

    column: str
    ratio: float | None
    shares: dict[str, float]
    classes: int
    rows: int
    by_column: dict[str, JsonValue] | None = dataclasses.field(default=None, metadata=OPTIONAL)

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Imbalance:
        """From the plain finding."""
        shares = d.get("shares")
        return from_mapping(
            cls,
            d,
            shares={str(k): float(v) for k, v in shares.items()} if isinstance(shares, Mapping) else {},
            by_column=_jdict_or_none(d.get("by_column")),
        )


@dataclass(frozen=True, eq=False)
class AuditResult(Record):
    """An `audit --json` result. `agreement` and `subgroups` stay mappings: their keys
    depend on what could be measured (see `quality.agreement`, `quality.audit.subgroups`)."""

    dataset: str
    version: str | None
    seq: int | None
    md5: str | None
    workdir: bool
    conflicting_duplicates: Duplicates
    leakage: Leakage | None
    agreement: dict[str, JsonValue] | None
    imbalance: Imbalance | None
    subgroups: dict[str, JsonValue] | None
    stored: bool = False
    record: str | None = dataclasses.field(default=None, metadata=OPTIONAL)
    new_record: bool | None = dataclasses.field(default=None, metadata=OPTIONAL)

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> AuditResult:
        """From the plain audit (after `plain_json`), with whether it was stored."""
        cd, lk, im = d["conflicting_duplicates"], d.get("leakage"), d.get("imbalance")
        assert isinstance(cd, Mapping)
        return from_mapping(
            cls,
            d,
            conflicting_duplicates=Duplicates.from_dict(cd),
            leakage=Leakage.from_dict(lk) if isinstance(lk, Mapping) else None,
            agreement=_jdict_or_none(d.get("agreement")),
            imbalance=Imbalance.from_dict(im) if isinstance(im, Mapping) else None,
            subgroups=_jdict_or_none(d.get("subgroups")),
        )


@dataclass(frozen=True, eq=False)
class EvalRecord(Record):
    """One stored `eval` result (a journal record of kind "eval": one version scored with one
    predictions file): its keys exactly as stored, in stored order; keys this class does not
    declare are in `more`."""

    kind: str = dataclasses.field(default="eval", metadata=STORED)
    id: str = dataclasses.field(default="", metadata=STORED)
    dataset: str = dataclasses.field(default="", metadata=STORED)
    predictions_md5: str | None = dataclasses.field(default=None, metadata=STORED)
    predictions_file: str | None = dataclasses.field(default=None, metadata=STORED)
    version: str | None = dataclasses.field(default=None, metadata=STORED)
    seq: int | None = dataclasses.field(default=None, metadata=STORED)
    accuracy: float | None = dataclasses.field(default=None, metadata=STORED)
    macro_f1: float | None = dataclasses.field(default=None, metadata=STORED)
    ece: float | None = dataclasses.field(default=None, metadata=STORED)
    per_class: list[dict[str, JsonValue]] = dataclasses.field(default_factory=list, metadata=STORED)
    per_group: list[dict[str, JsonValue]] = dataclasses.field(default_factory=list, metadata=STORED)
    flips: dict[str, JsonValue] = dataclasses.field(default_factory=dict, metadata=STORED)
    # class → class-wise ECE (None: hard-label predictions)
    ece_per_class: JsonValue = dataclasses.field(default=None, metadata=STORED)
    column: str | None = dataclasses.field(default=None, metadata=STORED)
    options: dict[str, JsonValue] = dataclasses.field(default_factory=dict, metadata=STORED)
    author: str | None = dataclasses.field(default=None, metadata=STORED)
    timestamp: str | None = dataclasses.field(default=None, metadata=STORED)
    format: int | None = dataclasses.field(default=None, metadata=STORED)
    more: dict[str, JsonValue] = dataclasses.field(default_factory=dict)
    stored_keys: tuple[str, ...] = dataclasses.field(default=(), metadata=ORDER)

    @classmethod
    def from_record(cls, rec: Mapping[str, object]) -> EvalRecord:
        """From the journal record (as the index holds it)."""
        more = {k: _jv(v) for k, v in rec.items() if k not in _EVAL_KEYS}
        return from_mapping(cls, rec, more=more, stored_keys=tuple(rec))


_EVAL_KEYS = frozenset(f.name for f in dataclasses.fields(EvalRecord)) - {MORE, "stored_keys"}


@dataclass(frozen=True, kw_only=True)
class TrackOptions:
    """The settings of `Repo.track` (its keywords, documented there), read by `ops.track`."""

    name: str | None = None
    format: str | None = None
    labels_allowed: list[JsonValue] | None = None
    roles: dict[str, list[str]] | None = None
    label_pairs: list[str] | list[tuple[str, str]] | None = None


@dataclass(frozen=True, kw_only=True)
class ReviewOptions:
    """The settings of `Repo.review`, read by `ops.review`."""

    predictions: str
    method: str = "confident-learning"
    top: int | None = None
    unlabeled: bool = False
    group: str | None = None
    column: str | None = None
    output: str | None = None


@dataclass(frozen=True, kw_only=True)
class ConsensusOptions:
    """The settings of `Repo.consensus`, read by `ops.consensus`."""

    votes: str
    method: str = "majority"
    column: str | None = None
    min_agreement: float | None = None
    min_votes: int | None = None
    by: str | None = None
    reason: str | None = None
    commit: bool = True
    queue: str | None = None
    fmt: str = "auto"
    key_field: str | None = None


@dataclass(frozen=True, kw_only=True)
class EvalOptions:
    """The settings of `Repo.eval`, read by `ops.evaluate` (`fetch` by the method)."""

    predictions: str
    versions: str | None = None
    group: str | None = None
    classes: list[str] | None = None
    column: str | None = None
    record: bool = True
    fetch: bool = False


@dataclass(frozen=True, kw_only=True)
class AuditOptions:
    """The settings of `Repo.audit`, read by `quality.audit` (`fetch` by the method)."""

    against: str | None = None
    on: list[str] | None = None
    group: str | None = None
    record: bool = True
    min_group_rows: int = 10
    examples: int = 10
    fetch: bool = False


@dataclass(frozen=True, kw_only=True)
class CheckOptions:
    """The settings of `Repo.check`, read by `quality.check` (`fetch` by the method)."""

    record: bool = True
    against: str | None = None
    fetch: bool = False


@dataclass(frozen=True, kw_only=True)
class DriftOptions:
    """The settings of `Repo.drift`, read by `quality.drift` (`fetch` by the method)."""

    against: str | None = None
    fetch: bool = False
