"""Recording a merge version: a merged work file's `dvc add`, its change set against ours and
its journal record (parents [ours, theirs], theirs' edit batches carried over), inside the
transaction of the command that merged it (`merge`, `merge --resolve`, or the record of a
merge the git merge driver made)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage import journal, txn
from dslineage.config import Dataset
from dslineage.core import common
from dslineage.errors import MergingError
from dslineage.ops.merge_dag import carried_batches
from dslineage.ops.merge_sides import MergeParents

if TYPE_CHECKING:
    from dslineage.repo import Repo

RECORD_STEPS = ("after-data", "after-dvc-add", "after-journal")


def record_merge(
    repo: Repo,
    t: txn.Transaction,
    con: Any,
    ds: Dataset,
    sides: MergeParents,
    md5: str,
    *,
    message: str,
    author: str,
    dvc_add: bool = True,
    label_changes: Any = None,
) -> tuple[dict[str, Any], list[str]]:
    """Record the merge version of a merged work file (`dvc add` unless the `.dvc` file
    already records it): parents [ours, theirs], change set against ours, theirs' batches.
    `label_changes` (the engine's `MergeOutcome.label_changes`, when only labels of ours'
    rows changed) is the change set against ours: no full diff of the merged file.
    Returns the record and the files written (for the git commit)."""
    from dslineage.ops.commit import KnownChanges, build_record, dvc_add_version, journal_version

    t.step("after-data")
    paths: list[str] = []
    if dvc_add:
        stale = MergingError(f"{ds.path} changed while it was being merged: run the merge again")
        paths += dvc_add_version(repo, t, ds, md5, hint=md5, stale=stale)
    t.step("after-dvc-add")
    ours, theirs, base = sides.ours, sides.theirs, sides.base
    extra = {
        "parents": [ours["id"], theirs["id"]],
        "batches": carried_batches(repo, ds, ours["id"], theirs["id"]),
        "merge": {"theirs": theirs["id"], "base": base["id"] if base else None, "branch": sides.branch},
    }
    known = KnownChanges(ours["md5"], label_changes) if label_changes is not None else None
    record, change_file = build_record(
        repo,
        con,
        ds,
        common.md5_source(repo, ds, md5, f"{ds.name} (merged)"),
        md5,
        ours,
        None if known else common.version_source(repo, ds, ours),
        message=message,
        author=author,
        timestamp=journal.now(),
        extra=extra,
        known=known,
    )
    assert record is not None  # (an md5 given)
    return record, paths + journal_version(repo, t, record, change_file)
