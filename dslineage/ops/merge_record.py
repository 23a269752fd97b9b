"""Recording the merge versions of merges the git merge driver completed.

The driver cannot commit (it runs inside git, which holds its index lock), so it leaves a
note in `.dslineage/merge/`; the next dslineage command, once git has finished the merge or
rebase, records each note's merge version (parents [ours, theirs], change set against ours,
theirs' batches) in a commit of its own. Notes the work tree no longer matches (an aborted
merge) are dropped, and a work file the driver merged goes back to HEAD's bytes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from dslineage import dvcio, journal, txn
from dslineage.config import Dataset
from dslineage.core import common
from dslineage.ops import mergestate
from dslineage.ops.merge_dag import dag_base
from dslineage.ops.merge_sides import MergeParents
from dslineage.ops.merge_version import record_merge

if TYPE_CHECKING:
    from dslineage.repo import Repo

log = logging.getLogger("dslineage")


def record_pending(repo: Repo) -> list[dict[str, Any]]:
    """Record the merge versions of merges the git merge driver completed (its notes), once
    git has finished the merge or rebase; notes the work tree no longer matches are dropped."""
    states = mergestate.states(repo.root)
    if not states or repo.git.merging() or repo.git.rebasing():
        return []
    for name, state in states.items():
        if state.get("state") == "conflicts":  # git's merge or rebase was ended without us
            log.warning("dslineage: forgetting the stopped merge of %s: git is no longer merging", name)
            mergestate.remove(repo.root, name)
    notes = {n: s for n, s in states.items() if s.get("state") == "merged"}

    done = []
    for name, note in notes.items():
        try:
            ds = repo.dataset(name)
        except Exception:
            mergestate.remove(repo.root, name)
            continue
        head_md5 = common.recorded_md5_at(repo, ds, "HEAD", stage_outputs=False)
        if head_md5 == note["merged_md5"]:
            for step in note.get("earlier", []):  # merges a multi-commit rebase built on, in order
                mine, yours = (
                    common.version_with_md5(repo, ds.name, step[f"{s}_md5"], None) for s in ("ours", "theirs")
                )
                if mine and yours and common.version_with_md5(repo, ds.name, step["merged_md5"], None) is None:
                    done.append(_record_note(repo, ds, step, mine, yours, last=False))
        ours_v = common.version_with_md5(repo, ds.name, note["ours_md5"], None)
        theirs_v = common.version_with_md5(repo, ds.name, note["theirs_md5"], None)
        if (
            head_md5 != note["merged_md5"]
            or common.version_with_md5(repo, ds.name, head_md5, None) is not None
            or ours_v is None
            or theirs_v is None
        ):
            mergestate.remove(repo.root, name)  # aborted, redone, or already recorded
            if head_md5 == note["ours_md5"] and common.working_md5(repo, ds) == note["merged_md5"]:
                dvcio.checkout(repo.root, ds.path)  # `git merge --abort`: the work file goes back too
            continue
        done.append(_record_note(repo, ds, note, ours_v, theirs_v))
    return done


def _record_note(
    repo: Repo,
    ds: Dataset,
    note: dict[str, Any],
    ours_v: dict[str, Any],
    theirs_v: dict[str, Any],
    *,
    last: bool = True,
) -> dict[str, Any]:
    from dslineage.ops.commit import default_author

    parents = MergeParents(ours_v, theirs_v, dag_base(repo, ds, ours_v, theirs_v), note.get("branch"))
    message = f"Record the merge version of {ds.name} (merged by the dslineage git merge driver)"
    md5, who = note["merged_md5"], default_author(repo, None)
    con = common.row_connection(repo)
    try:
        with txn.begin(repo.root, repo.git, "merge-record") as t:
            record, paths = record_merge(repo, t, con, ds, parents, md5, message=message, author=who, dvc_add=False)
            if last:
                mergestate.remove(repo.root, ds.name)
            t.commit(paths, f"{message}\n\ndslineage-version: {ds.name}@v{record['seq']} {record['id']}")
    finally:
        con.close()
    repo.index.sync(force=True)
    log.warning(
        "dslineage: recorded merge version %s@v%s (parents %s, %s)",
        ds.name,
        record["seq"],
        journal.short(ours_v["id"]),
        journal.short(theirs_v["id"]),
    )
    return record
