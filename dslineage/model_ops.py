"""The records of the housekeeping and sharing commands (`track`, `checkout`, `rollback`,
`reindex`, `fsck`, `tag`, `push`, `pull`, `cherry-pick`): frozen dataclasses whose field
names, in order, are the keys of their `--json` contracts (see `dslineage.model`;
`LIBRARY_ONLY` fields are for library callers and renderers and stay out of the JSON).

A sibling of `model.py` rather than part of it, so that each module stays one sitting long.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from dslineage.model_base import LIBRARY_ONLY, OPTIONAL, JsonValue, Record


@dataclass(frozen=True, eq=False)
class InitResult(Record):
    """An `init --json` result: what was set up in `root` (`created`: dslineage's metadata was new;
    `git_commit`: the commit that recorded the set-up, or None when nothing changed)."""

    root: str
    git_initialized: bool
    dvc_initialized: bool
    created: bool
    git_commit: str | None
    merge_driver: bool


@dataclass(frozen=True, eq=False)
class TrackResult(Record):
    """A `track --json` result: the registration, and the versions imported from earlier `.dvc`
    history (`missing_objects`: md5s of those whose DVC cache object is missing)."""

    dataset: str
    path: str
    format: str
    key: list[str]
    labels: list[str]
    roles: dict[str, list[str]]  # "features", "predictions", "groups", "ignore" → columns
    label_pairs: list[list[str]]
    imported_versions: list[dict[str, JsonValue]]  # the journal records written
    missing_objects: list[str]


@dataclass(frozen=True, eq=False)
class CheckoutResult(Record):
    """A `checkout --json` result: the version the working file now holds (`changed` False:
    it held those bytes already)."""

    dataset: str
    version: str
    seq: int
    md5: str
    path: str
    changed: bool


@dataclass(frozen=True, kw_only=True)
class RollbackOptions:
    """What `Repo.rollback` hands its op (`ops.rollback.rollback`): its arguments, as documented
    there."""

    to: str
    message: str
    author: str | None = None
    force: bool = False


@dataclass(frozen=True, eq=False)
class RollbackResult(Record):
    """A `rollback --json` result: the version returned to (`to`) and the new version with its
    content (`version`/`seq` None when nothing was recorded; `note` then says why, if known)."""

    dataset: str
    to: str
    to_seq: int
    md5: str
    version: str | None
    seq: int | None
    note: str | None = dataclasses.field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True, eq=False)
class ReindexResult(Record):
    """A `reindex --json` result: the journal records and versions in the rebuilt index."""

    records: int
    versions: int


@dataclass(frozen=True, eq=False)
class FsckProblem(Record):
    """One inconsistency fsck found (or, with `action`, one it repaired) and how to fix it."""

    check: str  # "txn", "git", "journal", "dvc", "index", "remote", ...
    severity: str  # "error", "warning" (or "info" for a repair)
    path: str | None
    message: str
    fix: str
    repairable: bool
    action: str | None = dataclasses.field(default=None, metadata=OPTIONAL)  # "repaired" or "rebuilt"


@dataclass(frozen=True, eq=False)
class UnreachableRemote(Record):
    """A DVC remote `fsck --remote` could not ask, and why."""

    remote: str
    error: str


@dataclass(frozen=True, eq=False)
class RemoteVersion(Record):
    """A version whose DVC object is on no remote (`local`: it is in this cache)."""

    dataset: str
    version: str
    seq: int | None
    md5: str
    local: bool


@dataclass(frozen=True, eq=False)
class RemoteReport(Record):
    """What `fsck --remote` found: the remotes asked, those that did not answer, and the
    versions on none of them."""

    remotes: list[str]
    unreachable: list[UnreachableRemote]
    versions: list[RemoteVersion]


@dataclass(frozen=True, eq=False)
class FsckResult(Record):
    """An `fsck --json` result: the problems left, the repairs made, and what was checked."""

    ok: bool
    deep: bool
    errors: int
    warnings: int
    problems: list[FsckProblem]
    repaired: list[FsckProblem]
    checked: dict[str, int]  # what → how many were checked
    remote: RemoteReport | None


@dataclass(frozen=True, eq=False)
class TagResult(Record):
    """A `tag --json` result (`created` False: the tag already named this version)."""

    dataset: str
    tag: str
    version: str
    seq: int
    created: bool


@dataclass(frozen=True, eq=False)
class MissingObject(Record):
    """A version whose DVC object is neither in the local cache nor on the remote."""

    dataset: str
    version: str
    seq: int
    md5: str
    label: str  # `train@v3 (3f9a2c1d4e5f)`


@dataclass(frozen=True, eq=False)
class PushResult(Record):
    """A `push --json` result: objects sent and already there (`missing` is for the stderr
    warnings, not part of the JSON)."""

    remote: str | None
    versions: int
    objects_pushed: int
    objects_present: int
    missing: list[MissingObject] = dataclasses.field(default_factory=list, metadata=LIBRARY_ONLY)


@dataclass(frozen=True, eq=False)
class PullResult(Record):
    """A `pull --json` result (`fetched` False: the object was in the local cache already)."""

    dataset: str
    version: str
    seq: int
    md5: str
    remote: str | None
    fetched: bool


@dataclass(frozen=True, eq=False)
class ConflictRow(Record):
    """A row whose label is neither the batch's old nor its new label."""

    key: dict[str, JsonValue]
    column: str
    current: JsonValue
    expected: JsonValue  # the batch's old label
    new: JsonValue  # the batch's new label


@dataclass(frozen=True, eq=False)
class CherryPickResult(Record):
    """A `cherry-pick --json` result: the new batch and version (None on a dry run or when
    nothing applied), rows applied and in conflict. The rest is for the renderer and library
    callers: the plan's details."""

    batch: str | None
    source_batch: str
    version: str | None
    applied: int
    conflicts: int
    conflict_keys: list[dict[str, JsonValue]]
    dataset: str = dataclasses.field(default="", metadata=LIBRARY_ONLY)
    column: str = dataclasses.field(default="", metadata=LIBRARY_ONLY)
    seq: int | None = dataclasses.field(default=None, metadata=LIBRARY_ONLY)
    dry_run: bool = dataclasses.field(default=False, metadata=LIBRARY_ONLY)
    strategy: str = dataclasses.field(default="keep", metadata=LIBRARY_ONLY)  # "keep" or "force"
    settled: int = dataclasses.field(default=0, metadata=LIBRARY_ONLY)  # rows that had the new label already
    skipped: int = dataclasses.field(default=0, metadata=LIBRARY_ONLY)  # rows no longer in the dataset
    skipped_keys: list[dict[str, JsonValue]] = dataclasses.field(default_factory=list, metadata=LIBRARY_ONLY)
    conflict_rows: list[ConflictRow] = dataclasses.field(default_factory=list, metadata=LIBRARY_ONLY)
    found_in: str = dataclasses.field(default="journal", metadata=LIBRARY_ONLY)  # or "git SHA"
