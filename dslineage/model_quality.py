"""The records of the data-quality commands (`check`, `drift`, `audit`): frozen dataclasses
whose field names, in order, are the keys of their `--json` contracts (`dslineage.model`'s
`Record`, `to_json`, `OPTIONAL`, `LIBRARY_ONLY`).

A sibling of `model.py` rather than part of it: with these the one module would pass ~700
lines; the quality records are read together and change with `quality/`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from dslineage.model_base import OPTIONAL, JsonValue, Record, _int, _jv, _str


def _jdict(value: object) -> dict[str, JsonValue]:
    return {str(k): _jv(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _jdict_or_none(value: object) -> dict[str, JsonValue] | None:
    return _jdict(value) if isinstance(value, Mapping) else None


@dataclass(frozen=True, eq=False)
class TargetRef(Record):
    """What a quality command ran on: a version (id, seq) or the working file (`workdir`)."""

    dataset: str
    id: str | None
    seq: int | None
    md5: str | None
    workdir: bool

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> TargetRef:
        """A target from its plain description (`quality.results.Target.describe`)."""
        return cls(
            dataset=str(d["dataset"]),
            id=_str(d.get("id")),
            seq=_int(d.get("seq")),
            md5=_str(d.get("md5")),
            workdir=bool(d.get("workdir")),
        )


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

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> RuleResult:
        """A rule result from its plain form (as stored in the journal)."""
        return cls(
            rule=str(d["rule"]),
            column=_str(d.get("column")),
            value=_jv(d.get("value")),
            threshold=_jv(d.get("threshold")),
            passed=bool(d.get("passed")),
            detail=_str(d.get("detail")),
            statistic=_str(d.get("statistic")),
        )


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
    """Row counts of the two sides of a comparison."""

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
        ex = d.get("examples")
        on = d.get("on")
        return cls(
            on=[str(c) for c in on] if isinstance(on, list) else [],
            groups=int(d["groups"]),  # type: ignore[call-overload]
            rows=int(d["rows"]),  # type: ignore[call-overload]
            duplicate_groups=_int(d.get("duplicate_groups")),
            duplicate_rows=_int(d.get("duplicate_rows")),
            examples=[_jv(x) for x in ex] if isinstance(ex, list) else None,
            note=_str(d.get("note")),
        )


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
        ke, ce, on = d.get("key_examples"), d.get("content_examples"), d.get("on")
        return cls(
            against=TargetRef.from_dict(against),
            by_key=_int(d.get("by_key")),
            by_content=_int(d.get("by_content")),
            key_examples=list(ke) if isinstance(ke, list) else None,
            on=[str(c) for c in on] if isinstance(on, list) else [],
            content_examples=list(ce) if isinstance(ce, list) else None,
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
        ratio = d.get("ratio")
        return cls(
            column=str(d["column"]),
            ratio=float(ratio) if isinstance(ratio, int | float) else None,
            shares={str(k): float(v) for k, v in shares.items()} if isinstance(shares, Mapping) else {},
            classes=int(d["classes"]),  # type: ignore[call-overload]
            rows=int(d["rows"]),  # type: ignore[call-overload]
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
        return cls(
            dataset=str(d["dataset"]),
            version=_str(d.get("version")),
            seq=_int(d.get("seq")),
            md5=_str(d.get("md5")),
            workdir=bool(d.get("workdir")),
            conflicting_duplicates=Duplicates.from_dict(cd),
            leakage=Leakage.from_dict(lk) if isinstance(lk, Mapping) else None,
            agreement=_jdict_or_none(d.get("agreement")),
            imbalance=Imbalance.from_dict(im) if isinstance(im, Mapping) else None,
            subgroups=_jdict_or_none(d.get("subgroups")),
            stored=bool(d.get("stored")),
            record=_str(d.get("record")),
            new_record=None if d.get("new_record") is None else bool(d["new_record"]),
        )
