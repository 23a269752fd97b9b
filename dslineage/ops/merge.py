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

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import dvcio, files, journal, txn
from dslineage.config import DIR_FORMAT, Dataset
from dslineage.core import common
from dslineage.errors import DirtyError, MergingError, RefError, UsageError
from dslineage.files import atomic_write_bytes
from dslineage.model_merge import MergeResult
from dslineage.ops import mergestate
from dslineage.store import rows

if TYPE_CHECKING:
    from dslineage.repo import Repo

RECORD_STEPS = ("after-data", "after-dvc-add", "after-journal")
STEPS = txn.declare("merge", "after-git-merge", *RECORD_STEPS)
DRIVER_OFF = {"merge.dslineage.driver": "false"}  # `dslineage merge` merges the rows itself


def dag(repo: Repo, ds: Dataset) -> dict[str, dict[str, Any]]:
    """Every version record of a dataset by id (with `parents`, `batches`)."""
    return {r["id"]: r for r in repo.index.records("version", ds.name)}


def ancestors(dag: dict[str, dict[str, Any]], vid: str) -> set[str]:
    """`vid` and every version of `dag` reachable from it along parents."""
    return set(common.ancestors(dag, vid))


def dag_base(repo: Repo, ds: Dataset, ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any] | None:
    """The best common ancestor of two versions in the version DAG (deepest first)."""
    graph = dag(repo, ds)
    common_ids = ancestors(graph, ours["id"]) & ancestors(graph, theirs["id"])
    best = [graph[v] for v in common_ids if v in graph]
    if not best:
        return None
    top = max(best, key=lambda r: (r["seq"], r["timestamp"]))
    return repo.index.version(top["id"])


def carried_batches(repo: Repo, ds: Dataset, ours_id: str, theirs_id: str) -> list[str]:
    """Edit batches of the versions on theirs' side only (their rows keep that provenance)."""
    graph = dag(repo, ds)
    mine = ancestors(graph, ours_id)
    out: list[str] = []
    for vid in sorted(ancestors(graph, theirs_id) - mine, key=lambda v: (graph.get(v, {}).get("seq", 0), v)):
        for b in graph.get(vid, {}).get("batches") or []:
            if b not in out:
                out.append(b)
    return out


def object_source(repo: Repo, ds: Dataset, md5: str, label: str) -> rows.Source:
    """A DuckDB source over the DVC cache object `md5` (fetched from the remote if missing)."""
    dvcio.fetch_objects(repo.root, [md5], {md5: f"{ds.name} {label}"})
    return rows.source(dvcio.cache_path(repo.root, md5), ds, f"{ds.name} ({label})")


def three_way(
    repo: Repo,
    con: Any,
    ds: Dataset,
    base_md5: str | None,
    ours_md5: str,
    theirs_md5: str,
    *,
    prefer: str | None = None,
    resolutions: Any = None,
) -> Any:
    """The engine's `MergeOutcome` for a dataset's three sides, read from the DVC cache."""
    from dslineage.store.merge import merge3

    base = object_source(repo, ds, base_md5, "base") if base_md5 else None
    return merge3(
        con,
        base,
        object_source(repo, ds, ours_md5, "ours"),
        object_source(repo, ds, theirs_md5, "theirs"),
        ds,
        prefer=prefer,
        resolutions=resolutions,
    )


def write_file(repo: Repo, con: Any, ds: Dataset, outcome: Any, ours_md5: str) -> str:
    """Write the merged rows as the dataset's work file (a new file, renamed; format, schema
    and codec of ours) and return its md5."""
    from dslineage.store.merge import write_merged

    target = common.working_path(repo, ds)
    tmp = target.with_name(f".{target.name}.merge-tmp")
    txn.will_change(repo.root, target, md5=ours_md5)
    txn.will_create(repo.root, tmp)
    ours_path = dvcio.cache_path(repo.root, ours_md5)

    def write(tmp: Path) -> str | None:
        if ds.format == "parquet":  # pyarrow's writer only appends: hash the bytes as they land
            return _hashed_while_written(tmp, lambda: write_merged(con, outcome, ours_path, tmp, ds))
        write_merged(con, outcome, ours_path, tmp, ds)
        return None

    md5 = files.atomic_write(target, write, tmp=tmp)
    return md5 or dvcio.file_md5(target)


def _hashed_while_written(path: Path, write: Any) -> str | None:
    """Run `write()`, which creates `path` by appending only, while a second thread hashes the
    bytes it has written so far (the md5 costs no extra pass on a second core). Returns the
    md5, or None when it cannot vouch for it (the file was replaced, not what it read)."""
    import hashlib
    import os
    import threading

    path.touch()
    done = threading.Event()
    digest = hashlib.md5()
    seen: dict[str, Any] = {"bytes": 0, "ino": None, "error": None}

    def follow() -> None:
        try:
            with open(path, "rb") as fh:
                seen["ino"] = os.fstat(fh.fileno()).st_ino
                while True:
                    finished = done.is_set()  # read once more after the writer is done
                    chunk = fh.read(1 << 20)
                    if chunk:
                        digest.update(chunk)
                        seen["bytes"] += len(chunk)
                    elif finished:
                        return
                    else:
                        done.wait(0.005)
        except OSError as exc:
            seen["error"] = exc

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    try:
        write()
    finally:
        done.set()
        reader.join()
    st = os.stat(path)
    if seen["error"] is not None or st.st_ino != seen["ino"] or st.st_size != seen["bytes"]:
        return None
    return digest.hexdigest()


def record_merge(
    repo: Repo,
    t: txn.Transaction,
    con: Any,
    ds: Dataset,
    ours: dict[str, Any],
    theirs: dict[str, Any],
    base: dict[str, Any] | None,
    md5: str,
    *,
    message: str,
    author: str,
    dvc_add: bool = True,
    branch: str | None = None,
    label_changes: Any = None,
) -> tuple[dict[str, Any], list[str]]:
    """Record the merge version of a merged work file (`dvc add` unless the `.dvc` file
    already records it): parents [ours, theirs], change set against ours, theirs' batches.
    `label_changes` (the engine's `MergeOutcome.label_changes`, when only labels of ours'
    rows changed) is the change set against ours: no full diff of the merged file.
    Returns the record and the files written (for the git commit)."""
    from dslineage.ops.commit import KnownChanges, build_record

    t.step("after-data")
    paths: list[str] = []
    if dvc_add:
        dvcfile = dvcio.dvcfile_for(ds.path)
        t.backup(dvcfile, (Path(ds.path).parent / ".gitignore").as_posix())
        if ds.format == DIR_FORMAT:
            from dslineage.ops.dirs import part_hints

            out = dvcio.add(repo.root, ds.path, part_hints=part_hints(repo, ds))
        else:
            out = dvcio.add(repo.root, ds.path, md5_hint=md5)
        if out.md5 != md5:
            raise MergingError(f"{ds.path} changed while it was being merged: run the merge again")
        paths.append(dvcfile)
        ignore = Path(ds.path).parent / ".gitignore"
        if (repo.root / ignore).exists():
            paths.append(ignore.as_posix())
    t.step("after-dvc-add")
    extra = {
        "parents": [ours["id"], theirs["id"]],
        "batches": carried_batches(repo, ds, ours["id"], theirs["id"]),
        "merge": {"theirs": theirs["id"], "base": base["id"] if base else None, "branch": branch},
    }
    new = common.md5_source(repo, ds, md5, f"{ds.name} (merged)")
    known = KnownChanges(ours["md5"], label_changes) if label_changes is not None else None
    record, change_file = build_record(
        repo,
        con,
        ds,
        new,
        md5,
        ours,
        None if known else common.version_source(repo, ds, ours),
        message=message,
        author=author,
        timestamp=journal.now(),
        extra=extra,
        known=known,
    )
    jfile = journal.write(repo.root, record)
    t.step("after-journal")
    paths.append(jfile.relative_to(repo.root).as_posix())
    if change_file is not None:
        paths.append(change_file.relative_to(repo.root).as_posix())
    return record, paths


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


def merge(repo: Repo, branch: str, *, message: str | None = None, author: str | None = None) -> MergeResult:
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
    who = default_author(repo, author)
    msg = message or f"Merge {branch} (dslineage merge)"
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
    merged, conflicts, paths = [], [], []
    con = common.row_connection(repo)
    try:
        for ds, kind, md5 in plans:
            if kind == "theirs":  # changed on their side only: git's result; the work file follows
                dvcio.checkout(repo.root, ds.path)
                continue
            ours_md5, theirs_md5 = str(md5["ours"]), str(md5["theirs"])
            ours_v = common.version_with_md5(repo, ds.name, ours_md5, head)
            theirs_v = common.version_with_md5(repo, ds.name, theirs_md5, theirs_sha)
            if ours_v is None or theirs_v is None:
                side = "ours (HEAD)" if ours_v is None else branch
                raise MergingError(
                    f"{ds.name} on {side} holds bytes no version records: commit it there first "
                    f"(`dslineage commit {ds.name} -m MSG`)"
                )
            base_v = dag_base(repo, ds, ours_v, theirs_v) or common.version_with_md5(repo, ds.name, md5["base"], None)
            base_md5 = base_v["md5"] if base_v else md5["base"]
            dir_md5, outcome = None, None
            if ds.format == DIR_FORMAT:  # part by part (see ops/merge_dirs.py)
                from dslineage.ops.merge_dirs import merge_dir

                dir_md5, stuck, _ = merge_dir(repo, con, ds, base_md5, ours_md5, theirs_md5)
            else:
                outcome = three_way(repo, con, ds, base_md5, ours_md5, theirs_md5)
                stuck = outcome.conflicts if outcome.table is None else None
            if stuck is not None:
                ours_dvc = repo.git.show("HEAD", dvcio.dvcfile_for(ds.path)) or b""
                atomic_write_bytes(repo.root / dvcio.dvcfile_for(ds.path), ours_dvc)  # git left markers
                state = {
                    "dataset": ds.name,
                    "state": "conflicts",
                    "started_by": "dslineage",
                    "branch": branch,
                    "theirs_commit": theirs_sha,
                    "head": head,
                    "message": message,
                    "base_md5": base_md5,
                    "ours_md5": ours_md5,
                    "theirs_md5": theirs_md5,
                    "base_version": base_v["id"] if base_v else None,
                    "ours_version": ours_v["id"],
                    "theirs_version": theirs_v["id"],
                    "cells": stuck.num_rows,
                }
                mergestate.write(repo.root, state, stuck)
                conflicts.append({"dataset": ds.name, "cells": stuck.num_rows})
                continue
            if dir_md5 is not None:
                record, files = record_merge(
                    repo, t, con, ds, ours_v, theirs_v, base_v, dir_md5, message=message, author=who, branch=branch
                )
                paths += files
                ch = record["changes"]
                merged.append(
                    {
                        "dataset": ds.name,
                        "version": record["id"],
                        "seq": record["seq"],
                        "parents": record["parents"],
                        "rows": {k: ch.get(k, 0) for k in ("added", "removed", "relabeled", "modified")},
                    }
                )
                continue
            assert outcome is not None
            new_md5 = write_file(repo, con, ds, outcome, ours_md5)
            record, files = record_merge(
                repo,
                t,
                con,
                ds,
                ours_v,
                theirs_v,
                base_v,
                new_md5,
                message=message,
                author=who,
                branch=branch,
                label_changes=outcome.label_changes,
            )
            paths += files
            merged.append(
                {
                    "dataset": ds.name,
                    "version": record["id"],
                    "seq": record["seq"],
                    "parents": record["parents"],
                    "rows": dict(outcome.counts),
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
