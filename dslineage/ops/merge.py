"""`dslineage merge BRANCH`: a git merge with a row-level three-way merge of every dataset
that both sides changed.

Write order, inside one transaction: 1. the intent (it says a git merge starts: a rollback
undoes it); 2. `git merge --no-ff --no-commit BRANCH` with the dslineage merge driver
switched off (this command merges the datasets itself, with the version DAG's base);
3. per dataset both sides changed: the three-way merge, the merged file (new file, renamed),
`dvc add`, its change set (against ours) and the merge version's journal record; a dataset
changed on one side only takes git's result and its work file follows; 4. one git merge
commit (two parents) — the commit point; 5. sync the index. With any conflicting cell
nothing is committed: the git merge stays in progress, the conflicting datasets keep ours
and enter the merging state (`dslineage merge --conflicts/--resolve/--abort`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage import dvcio, txn
from dslineage.config import DIR_FORMAT, Dataset
from dslineage.core import common
from dslineage.errors import DirtyError, MergingError, RefError, UsageError
from dslineage.files import atomic_write_bytes
from dslineage.model_merge import MergeOptions, MergeResult
from dslineage.ops import mergestate
from dslineage.ops.merge_dag import dag_base
from dslineage.ops.merge_file import three_way, write_file
from dslineage.ops.merge_sides import MergeParents, Sides
from dslineage.ops.merge_version import RECORD_STEPS, record_merge

if TYPE_CHECKING:
    from dslineage.repo import Repo

STEPS = txn.declare("merge", "after-git-merge", *RECORD_STEPS)
DRIVER_OFF = {"merge.dslineage.driver": "false"}  # `dslineage merge` merges the rows itself


def _plan(repo: Repo, head: str, theirs: str, base: str | None) -> list[tuple[Dataset, str, dict[str, str | None]]]:
    """(dataset, "rows" | "theirs", md5s) of every dataset whose bytes theirs changed."""
    plans = []
    for ds in repo.datasets().values():
        md5 = {
            side: common.recorded_md5_at(repo, ds, rev, stage_outputs=False)
            for side, rev in (("base", base), ("ours", head), ("theirs", theirs))
        }
        if md5["ours"] is None or md5["theirs"] is None or md5["theirs"] in (md5["ours"], md5["base"]):
            continue
        if common.working_md5(repo, ds) != md5["ours"]:
            raise DirtyError(
                f"{ds.path} has uncommitted changes: commit them (`dslineage commit {ds.name} -m MSG`) "
                f"or discard them (`dslineage checkout {ds.name}@latest --force`) before merging"
            )
        plans.append((ds, "theirs" if md5["ours"] == md5["base"] else "rows", md5))
    return plans


def check_can_merge(repo: Repo) -> None:
    """Refuse to start a merge while another one (or a rebase) is in progress."""
    if repo.git.merging() or repo.git.rebasing() or mergestate.states(repo.root):
        raise MergingError(
            "a merge is already in progress: finish it (`dslineage merge --resolve NAME ...`, "
            "then `git commit`) or abandon it with `dslineage merge --abort`"
        )


def merge(repo: Repo, branch: str, opts: MergeOptions) -> MergeResult:
    """Merge git branch (or commit) `branch` into HEAD, datasets row by row; see the module doc."""
    from dslineage.ops.commit import default_author

    if not branch or branch.startswith("-"):
        raise UsageError("name the branch to merge: `dslineage merge BRANCH`")
    check_can_merge(repo)
    head = repo.git.head()
    theirs = repo.git.rev_parse(branch)
    if head is None:
        raise MergingError("this repository has no commits yet: commit something before merging")
    if theirs is None:
        raise RefError(f"unknown branch or commit {branch!r}: list branches with `git branch -a`")
    if repo.git.is_ancestor(theirs, head):
        return MergeResult.build([], [], state="merged", git_commit=None, note=f"already up to date with {branch}")
    if repo.git.run("diff", "--cached", "--name-only").strip():
        raise DirtyError("the git index has staged changes: commit or unstage them before merging")
    plans = _plan(repo, head, theirs, repo.git.merge_base(head, theirs))
    if repo.git.is_ancestor(head, theirs):  # a fast-forward: git's result, work files follow
        repo.git.run("merge", "-q", "--ff-only", theirs)
        for ds, _, _ in plans:
            dvcio.checkout(repo.root, ds.path)
        repo.index.sync(force=True)
        return MergeResult.build([], [], state="merged", git_commit=repo.git.head(), note=f"fast-forwarded to {branch}")
    who = default_author(repo, opts.author)
    msg = opts.message or f"Merge {branch} (dslineage merge)"
    with txn.begin(repo.root, repo.git, "merge") as t:
        return _merge(repo, t, branch, theirs, plans, msg, who)


def _merge(
    repo: Repo,
    t: txn.Transaction,
    branch: str,
    theirs_sha: str,
    plans: list[tuple[Dataset, str, dict[str, str | None]]],
    message: str,
    who: str,
) -> MergeResult:
    """The merge inside its transaction (steps 2-5 of the module doc): git's merge, then each
    planned dataset merged (and recorded) or stopped on conflicting cells."""
    head = repo.git.head()
    for ds, kind, md5 in plans:
        t.backup(dvcio.dvcfile_for(ds.path))
        t.backup(ds.path, md5=md5["ours"])
        if ds.format == DIR_FORMAT and kind == "theirs":  # DVC's checkout will rewrite these parts
            from dslineage.ops.dirs import backup_parts

            backup_parts(t, repo, ds, str(md5["theirs"]))
    t.mark_git_merge()
    clean = repo.git.merge_no_commit(theirs_sha, config=DRIVER_OFF)
    t.step("after-git-merge")
    dvcfiles = {dvcio.dvcfile_for(ds.path) for ds, _, _ in plans}
    other = [p for p in repo.git.unmerged() if p not in dvcfiles] if not clean else []
    if other:
        raise MergingError(
            f"git cannot merge {', '.join(other[:5])}: merge with `git merge {branch}` "
            "(the dslineage merge driver merges the datasets), resolve those files, then `git commit`"
        )
    repo.index.sync(force=True)
    merged: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    paths: list[str] = []
    con = common.row_connection(repo)
    try:
        for ds, kind, md5 in plans:
            if kind == "theirs":  # changed on their side only: git's result; the work file follows
                dvcio.checkout(repo.root, ds.path)
                continue
            parents = _parents(repo, ds, md5, head, theirs_sha, branch)
            base_md5 = parents.base["md5"] if parents.base else md5["base"]
            sides = Sides(base_md5, str(md5["ours"]), str(md5["theirs"]))
            dir_md5, outcome = None, None
            if ds.format == DIR_FORMAT:  # part by part (see ops/merge_dirs.py)
                from dslineage.ops.merge_dirs import merge_dir

                dir_md5, stuck, _ = merge_dir(repo, con, ds, sides)
            else:
                outcome = three_way(repo, con, ds, sides)
                stuck = outcome.conflicts if outcome.table is None else None
            if stuck is not None:
                conflicts.append(_stop(repo, ds, sides, parents, stuck, head=head, theirs=theirs_sha, message=message))
                continue
            new_md5 = dir_md5 if outcome is None else write_file(repo, con, ds, outcome, sides.ours)
            assert new_md5 is not None
            label_changes = outcome.label_changes if outcome is not None else None
            record, files = record_merge(
                repo, t, con, ds, parents, new_md5, message=message, author=who, label_changes=label_changes
            )
            paths += files
            ch = record["changes"]
            counts = {k: ch.get(k, 0) for k in ("added", "removed", "relabeled", "modified")}
            merged.append(
                {
                    "dataset": ds.name,
                    "version": record["id"],
                    "seq": record["seq"],
                    "parents": record["parents"],
                    "rows": counts if outcome is None else dict(outcome.counts),
                }
            )
    finally:
        con.close()
    if conflicts:
        t.stage(paths)
        return MergeResult.build(merged, conflicts, state="conflicts", git_commit=None)
    lines = [message, ""] + [f"dslineage-version: {m['dataset']}@v{m['seq']} {m['version']}" for m in merged]
    sha = t.commit(paths, "\n".join(lines).rstrip(), merge=True)
    repo.index.sync(force=True)
    return MergeResult.build(merged, [], state="merged", git_commit=sha)


def _parents(
    repo: Repo, ds: Dataset, md5: dict[str, str | None], head: str | None, theirs_sha: str, branch: str
) -> MergeParents:
    """The versions recording ours' and theirs' bytes, and their best common ancestor."""
    ours_v = common.version_with_md5(repo, ds.name, str(md5["ours"]), head)
    theirs_v = common.version_with_md5(repo, ds.name, str(md5["theirs"]), theirs_sha)
    if ours_v is None or theirs_v is None:
        side = "ours (HEAD)" if ours_v is None else branch
        raise MergingError(
            f"{ds.name} on {side} holds bytes no version records: commit it there first "
            f"(`dslineage commit {ds.name} -m MSG`)"
        )
    base_v = dag_base(repo, ds, ours_v, theirs_v) or common.version_with_md5(repo, ds.name, md5["base"], None)
    return MergeParents(ours_v, theirs_v, base_v, branch)


def _stop(
    repo: Repo,
    ds: Dataset,
    sides: Sides,
    parents: MergeParents,
    stuck: Any,
    *,
    head: str | None,
    theirs: str,
    message: str,
) -> dict[str, Any]:
    """Stop the merge of a dataset with conflicting cells `stuck`: its `.dvc` file keeps ours (git
    left conflict markers in it) and its merging state records the sides, the commits merged
    and the message; returns its entry in the result's conflicts."""
    ours_dvc = repo.git.show("HEAD", dvcio.dvcfile_for(ds.path)) or b""
    atomic_write_bytes(repo.root / dvcio.dvcfile_for(ds.path), ours_dvc)
    state = {
        "dataset": ds.name,
        "state": "conflicts",
        "started_by": "dslineage",
        "branch": parents.branch,
        "theirs_commit": theirs,
        "head": head,
        "message": message,
        "base_md5": sides.base,
        "ours_md5": sides.ours,
        "theirs_md5": sides.theirs,
        "base_version": parents.base["id"] if parents.base else None,
        "ours_version": parents.ours["id"],
        "theirs_version": parents.theirs["id"],
        "cells": stuck.num_rows,
    }
    mergestate.write(repo.root, state, stuck)
    return {"dataset": ds.name, "cells": stuck.num_rows}
