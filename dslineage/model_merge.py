"""The records of `merge` (a branch, `--conflicts`, `--resolve`, `--abort`): frozen dataclasses
whose field names, in order, are the keys of their `--json` contracts (see `dslineage.model`;
`LIBRARY_ONLY` fields are for library callers and renderers and stay out of the JSON); and the
options records the team commands' `Repo` methods hand to their ops (merge, push, pull).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dslineage.model_base import LIBRARY_ONLY, JsonValue, Record, from_mapping


@dataclass(frozen=True, eq=False)
class MergedDataset(Record):
    """A dataset a merge merged row by row: its merge version and where the rows came from."""

    dataset: str
    version: str
    parents: list[str]  # [ours, theirs]
    rows: dict[str, int]  # from_ours, from_theirs, added, removed (a directory: its change counts)
    seq: int = dataclasses.field(default=0, metadata=LIBRARY_ONLY)


@dataclass(frozen=True, eq=False)
class MergeConflict(Record):
    """A dataset whose merge stopped on conflicting cells."""

    dataset: str
    cells: int  # how many cells changed differently on both sides


@dataclass(frozen=True, eq=False)
class MergeResult(Record):
    """A `merge BRANCH --json` result (`state` "merged" or "conflicts"). `git_commit` (None while
    conflicts stop it, or when already up to date) and `note` (up to date, fast-forwarded) are
    for library callers and the renderer."""

    merged: list[MergedDataset]
    conflicts: list[MergeConflict]
    state: str
    git_commit: str | None = dataclasses.field(default=None, metadata=LIBRARY_ONLY)
    note: str | None = dataclasses.field(default=None, metadata=LIBRARY_ONLY)

    @classmethod
    def build(
        cls,
        merged: Sequence[Mapping[str, object]],
        conflicts: Sequence[Mapping[str, object]],
        *,
        state: str,
        git_commit: str | None,
        note: str | None = None,
    ) -> MergeResult:
        """A result from the merged datasets and conflicts as the merge gathered them."""
        return cls(
            merged=[from_mapping(MergedDataset, m, rows=_counts(m["rows"])) for m in merged],
            conflicts=[from_mapping(MergeConflict, c) for c in conflicts],
            state=state,
            git_commit=git_commit,
            note=note,
        )


def _counts(value: object) -> dict[str, int]:
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


@dataclass(frozen=True, eq=False)
class SideBatch(Record):
    """The edit batch that set one side's value of a conflicting cell."""

    id: str
    annotator: str | None
    reason: str | None


@dataclass(frozen=True, eq=False)
class ConflictCell(Record):
    """One conflicting cell (`column` "*row*": a row removed on one side, changed on the other);
    a side's value is None when the row is absent there."""

    key: dict[str, JsonValue]
    column: str
    base: JsonValue
    ours: JsonValue
    theirs: JsonValue
    ours_batch: SideBatch | None
    theirs_batch: SideBatch | None


def side_batch(found: Mapping[str, object] | None) -> SideBatch | None:
    """A side's batch as `store.mergeinfo.side_batches` found it (None: no batch set it)."""
    if found is None:
        return None
    return from_mapping(SideBatch, found)


@dataclass(frozen=True, eq=False)
class MergeConflicts(Record):
    """A `merge --conflicts NAME --json` result; `output` (the file they were also written to) is
    for the renderer."""

    dataset: str
    conflicts: list[ConflictCell]
    output: str | None = dataclasses.field(default=None, metadata=LIBRARY_ONLY)


@dataclass(frozen=True, eq=False)
class MergeResolved(Record):
    """A `merge --resolve NAME --json` result: the merge version recorded (`git_commit` None when
    the commit is left to the user; `note` then says what to do)."""

    dataset: str
    version: str
    seq: int
    parents: list[str]
    rows: dict[str, int]
    git_commit: str | None
    note: str | None


@dataclass(frozen=True, eq=False)
class MergeAborted(Record):
    """A `merge --abort --json` result: the datasets whose files were put back."""

    aborted: bool
    datasets: list[str]


@dataclass(frozen=True, kw_only=True)
class MergeOptions:
    """The options of `Repo.merge` (`merge BRANCH`): the merge commit's message (default "Merge
    BRANCH (dslineage merge)") and the merge versions' author (default: git's user)."""

    message: str | None = None
    author: str | None = None


@dataclass(frozen=True, kw_only=True)
class ConflictsOptions:
    """The options of `Repo.merge_conflicts` (`merge --conflicts NAME`): a file (.csv or
    .parquet) to write the conflicting cells to as well."""

    output: str | None = None


@dataclass(frozen=True, kw_only=True)
class ResolveOptions:
    """The options of `Repo.merge_resolve` (`merge --resolve NAME`): exactly one of `ours`,
    `theirs` (every conflicting cell takes that side) or `from_file` (the chosen value per cell),
    and the merge version's author."""

    ours: bool = False
    theirs: bool = False
    from_file: str | None = None
    author: str | None = None


@dataclass(frozen=True, kw_only=True)
class RemoteOptions:
    """The options of `Repo.push` and `Repo.pull`: the DVC remote (default: the repository's)."""

    remote: str | None = None
