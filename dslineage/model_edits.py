"""The records of the label-edit commands (`relabel`, `revert`, `show BATCH`) and of `commit`:
frozen dataclasses whose field names, in order, are the keys of their `--json` contracts (see
`dslineage.model`). Label transitions stay mappings: their `from` key is a Python keyword.

Also the options records (`RelabelOptions`, `RevertOptions`, `CherryPickOptions`, `BlameOptions`)
in which the `Repo` methods of these commands hand their arguments to their ops (see
`dslineage.model_base.options`); they are not JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from dslineage.model import Batch, Edit
from dslineage.model_base import OPTIONAL, ORDER, STORED, JsonValue, Record, _jv, from_mapping, present_with


@dataclass(frozen=True, kw_only=True)
class Attribution:
    """The options every label-edit command records with its batch: who made it (`by`; default:
    the git identity), why (`reason`) and the message of the version that carries it."""

    by: str | None = None
    reason: str | None = None
    message: str | None = None


@dataclass(frozen=True, kw_only=True)
class RelabelOptions(Attribution):
    """What `Repo.relabel` hands its op (`ops.relabel.relabel`): its arguments, as documented
    there. `source` and `extra` are not the method's: another reader of edits (the Label Studio
    export) passes what the batch records instead of the file name, and extra record keys."""

    edits: object = None  # {key: label}, ["KEY=LABEL", ...] or (key, label) pairs
    from_file: str | None = None
    column: str | None = None
    commit: bool = True
    skip_missing: bool = False
    force: bool = False  # edit a working file with uncommitted changes
    expect_old: bool = False
    ignore_columns: bool = False
    file_format: str = "edits"
    key_field: str | None = None
    from_name: str | None = None
    queue: str | None = None
    source: str | None = None
    extra: dict[str, JsonValue] | None = None


@dataclass(frozen=True, kw_only=True)
class RevertOptions(Attribution):
    """What `Repo.revert` hands its op (`ops.revert.revert`): its arguments, as documented there."""

    dry_run: bool = False
    strategy: str = "keep"
    force: bool = False  # revert over uncommitted changes of the working file


@dataclass(frozen=True, kw_only=True)
class CherryPickOptions(Attribution):
    """What `Repo.cherry_pick` hands its op (`ops.cherry_pick.cherry_pick`): its arguments, as
    documented there."""

    column: str | None = None
    force: bool = False  # apply rows in conflict too (strategy "force")
    dry_run: bool = False


@dataclass(frozen=True, kw_only=True)
class BlameOptions:
    """What `Repo.blame` hands its op (`ops.blame.blame`): its arguments, as documented there
    (`fetch` is the method's: how a version missing from the cache is read)."""

    column: str | None = None
    label: JsonValue = None
    by: str | None = None
    batch: str | None = None
    since: str | None = None
    output: str | None = None
    changed_only: bool = False
    fetch: bool = False


@dataclass(frozen=True, eq=False)
class RelabelResult(Record):
    """A `relabel --json` result. `batch`/`version` are None when nothing changed (and
    `version` with `--no-commit`); `md5` and `seq` are keys only once a batch was applied,
    `transitions_by_column` only with several label columns. Counts are rows."""

    dataset: str
    column: str  # the first label column edited
    columns: list[str]
    batch: str | None
    batches: list[str]  # one per label column edited
    version: str | None
    applied: int
    by_column: dict[str, int]
    noop: int
    missing: int
    missing_keys: list[dict[str, JsonValue]]
    edits_read: int
    transitions: list[dict[str, JsonValue]]  # {"from", "to", "count"} of the first column
    committed: bool
    transitions_by_column: dict[str, list[dict[str, JsonValue]]] | None = dataclasses.field(
        default=None, metadata=OPTIONAL
    )
    md5: str | None = dataclasses.field(default=None, metadata=OPTIONAL)  # the working file's new md5
    seq: int | None = dataclasses.field(default=None, metadata=present_with("md5"))


@dataclass(frozen=True, eq=False)
class RevertConflict(Record):
    """A row a revert did not restore (or, with `--strategy force`, overwrote): its label now,
    the label the target gave it, and the label before the target."""

    key: dict[str, JsonValue]
    column: str
    current: JsonValue
    target_label: JsonValue
    before: JsonValue


@dataclass(frozen=True, eq=False)
class RevertResult(Record):
    """A `revert --json` result (or, with `dry_run`, its plan): the target reverted, the new batch
    and version (None on a dry run or when nothing was restored), rows restored, in conflict and
    gone. `md5` (the working file's new md5) is a key only when a version was recorded."""

    reverted: str  # the batch or version id
    kind: str  # "batch" or "version"
    dataset: str
    version: str | None
    seq: int | None
    batch: str | None
    batches: list[str]
    restored: int
    conflicts: int
    conflict_keys: list[dict[str, JsonValue]]
    conflict_rows: list[RevertConflict]
    skipped: int
    skipped_keys: list[dict[str, JsonValue]]
    strategy: str  # "keep" or "force"
    dry_run: bool
    same_md5_as: str | None  # an earlier version with the same content
    by_column: dict[str, int]
    md5: str | None = dataclasses.field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True, eq=False)
class BatchDetail(Batch):
    """One edit batch in full: a `show BATCH --json` result. The batch's stored journal record
    (its keys in stored order, `edits` now the per-row edits) and then its `batches` entry's
    keys the record lacks (version, state, revert status). Keys of the record this class does
    not declare (the key columns `keys`, a revert's conflicts, a queue link, a consensus' votes)
    are in `more` (`keys` would hide `Record.keys()`)."""

    kind: str = "batch"
    edits: list[Edit] = dataclasses.field(default_factory=list)
    source: str | None = dataclasses.field(default=None, metadata=STORED)  # "--set", a file name, a target
    transitions: list[dict[str, JsonValue]] = dataclasses.field(default_factory=list, metadata=STORED)
    base_version: str | None = dataclasses.field(default=None, metadata=STORED)
    base_md5: str | None = dataclasses.field(default=None, metadata=STORED)
    result_md5: str | None = dataclasses.field(default=None, metadata=STORED)
    missing_keys: list[JsonValue] = dataclasses.field(default_factory=list, metadata=STORED)
    stored_keys: tuple[str, ...] = dataclasses.field(default=(), metadata=ORDER)

    @classmethod
    def build(cls, record: Mapping[str, object], entry: Mapping[str, object], edits: list[Edit]) -> BatchDetail:
        """A batch from its journal record (minus `format`), its catalog entry and its edits."""
        stored = {k: v for k, v in record.items() if k != "format"}
        base = dataclasses.replace(
            Batch.from_entry({**stored, **entry}), more={k: _jv(v) for k, v in stored.items() if k not in _DETAIL_KEYS}
        )
        missing = stored.get("missing_keys")
        return from_mapping(
            cls,
            stored,
            **{f.name: getattr(base, f.name) for f in dataclasses.fields(Batch)},
            kind="batch",
            edits=edits,
            missing_keys=[_jv(k) for k in missing] if isinstance(missing, list) else [],
            stored_keys=tuple(stored),
        )


# what `more` leaves out: the declared keys (`edits` there is the record's file name)
_DETAIL_KEYS = frozenset(f.name for f in dataclasses.fields(BatchDetail))


@dataclass(frozen=True, eq=False)
class CommitChecks(Record):
    """The quality gate's verdict on a committed version (stored in its record)."""

    passed: bool
    results: list[dict[str, JsonValue]]  # the rule results, as `check --json` lists them
    parent: str | None  # the drift baseline
    md5: str


@dataclass(frozen=True, eq=False)
class CommittedVersion(Record):
    """A version a commit recorded, as the index holds it: a `commit --json` entry. Datasets with
    rules also carry `checks` and `no_verify`."""

    id: str
    dataset: str
    seq: int
    md5: str
    parent: str | None
    parents: list[str]
    path: str
    message: str
    author: str
    timestamp: str
    rows: int | None
    schema: str | None  # JSON text: [{"name", "type"}]
    label_distribution: str | None  # JSON text: {COLUMN: [{"count", "label"}]}
    added: int | None
    removed: int | None
    relabeled: int | None
    modified: int | None
    changes_known: bool
    changes_file: str | None
    git_commit: str | None
    checks: CommitChecks | None = dataclasses.field(default=None, metadata=OPTIONAL)
    no_verify: bool | None = dataclasses.field(default=None, metadata=OPTIONAL)

    @classmethod
    def build(cls, row: Mapping[str, object], gate: Mapping[str, object] | None) -> CommittedVersion:
        """A version from its index row and the quality gate's `{"checks", "no_verify"}` (None:
        the dataset has no rules)."""
        return from_mapping(
            cls,
            row,
            checks=_checks(gate.get("checks")) if gate else None,
            no_verify=bool(gate.get("no_verify")) if gate else None,
        )


def _checks(value: object) -> CommitChecks | None:
    """The gate's `checks` mapping as a record."""
    if not isinstance(value, Mapping):
        return None
    return from_mapping(CommitChecks, value)


@dataclass(frozen=True, eq=False)
class PrunedBatch(Record):
    """A discarded batch `batches --prune` deleted: its line in the prune log (the batch's own
    keys after when and by what it was pruned, and the files deleted)."""

    pruned_at: str
    by: str
    files: list[str]
    id: str
    dataset: str
    column: str | None
    author: str | None
    reason: str | None
    rows: int | None
    timestamp: str | None
    base_version: str | None


@dataclass(frozen=True, eq=False)
class PruneResult(Record):
    """A `batches --prune --json` result (`log`: the prune log, None when nothing was pruned)."""

    pruned: list[PrunedBatch]
    log: str | None
