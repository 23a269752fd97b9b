"""Finishing a stopped merge: `merge --resolve NAME` and `merge --abort` (its conflicts are
listed by `merge --conflicts NAME`, `ops/merge_conflicts.py`).

`--resolve` write order, in one transaction: the merged work file (new file, renamed),
`dvc add`, change set and journal record of the merge version (parents [ours, theirs]),
`git add` of what it wrote, the merging state removed; then, when `dslineage merge` started
the git merge and nothing else is unmerged, the git merge commit (the commit point).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import config, dvcio, journal, txn
from dslineage.config import Dataset
from dslineage.core import common
from dslineage.errors import MergingError, PathError, UsageError
from dslineage.model_merge import MergeAborted, MergeResolved, ResolveOptions
from dslineage.ops import mergestate
from dslineage.ops.merge_conflicts import stopped, stopped_sides
from dslineage.ops.merge_outcome import Merged, merged
from dslineage.ops.merge_sides import MergeParents, Sides
from dslineage.ops.merge_version import RECORD_STEPS, record_merge

if TYPE_CHECKING:
    from dslineage.repo import Repo

RESOLVE_STEPS = txn.declare("merge-resolve", *RECORD_STEPS, "after-stage")


def _resolutions(repo: Repo, ds: Dataset, path: str) -> Any:
    """A resolutions table (key columns, column, value as JSON text) from a CSV or parquet file."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    full = Path(path)
    if not full.is_file():
        raise PathError(f"{path} does not exist: pass the file of chosen values (key, column, value)")
    try:
        if full.suffix.lower() in (".parquet", ".pq"):
            table = pq.read_table(full)
        else:
            text = {c: pa.string() for c in (*ds.key, "column", "value")}  # keys exactly as written
            table = pacsv.read_csv(full, convert_options=pacsv.ConvertOptions(column_types=text))
    except (pa.ArrowInvalid, OSError) as exc:
        reason = str(exc).splitlines()[0][:100]
        raise PathError(f"{path} cannot be read ({reason}): pass a CSV or parquet file") from None
    missing = [c for c in (*ds.key, "column", "value") if c not in table.column_names]
    if missing:
        raise UsageError(
            f"{path} lacks column(s) {', '.join(missing)}: it needs the key columns, `column` and `value` "
            f"(e.g. `dslineage merge --conflicts {ds.name} --output FILE.csv`, then add a value column)"
        )
    table = table.filter(pa.array([v is not None and v != "" for v in table.column("value").to_pylist()]))
    values = []
    for v in table.column("value").to_pylist():
        if isinstance(v, str):
            try:
                json.loads(v)
                values.append(v)
                continue
            except ValueError:
                pass
        values.append(json.dumps(v))
    keys = {}
    want = pq.read_schema(mergestate.conflicts_path(repo.root, ds.name))
    for k in ds.key:  # a CSV's inferred types (e.g. "007" as 7) follow the conflicts' key types
        col = table.column(k)
        typ = want.field(k).type if k in want.names else col.type
        try:
            keys[k] = col if col.type == typ else col.cast(pa.string()).cast(typ)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise UsageError(f"{path}: key column {k} does not hold {typ} values like the dataset's") from None
    return pa.table(
        {**keys, "column": table.column("column").cast(pa.string()), "value": pa.array(values, pa.string())}
    )


def resolve(repo: Repo, name: str, opts: ResolveOptions) -> MergeResolved:
    """Finish a stopped merge of one dataset with ours, theirs or chosen values per cell."""
    from dslineage.ops.commit import default_author

    from_file = opts.from_file
    if sum([opts.ours, opts.theirs, from_file is not None]) != 1:
        raise UsageError("choose how to resolve: exactly one of --ours, --theirs or --from FILE")
    ds, state = stopped(repo, name)
    ours_v, theirs_v = stopped_sides(repo, ds, state)
    base_v = repo.index.version(state["base_version"]) if state.get("base_version") else None
    resolutions = _resolutions(repo, ds, from_file) if from_file is not None else None
    prefer = "ours" if opts.ours else "theirs" if opts.theirs else None
    who = default_author(repo, opts.author)
    message = state.get("message") or f"Merge {state.get('branch') or 'theirs'} into {ds.name}"
    con = common.row_connection(repo)
    done: Merged | None = None
    try:
        done = merged(repo, con, ds, Sides.of(state, prefer=prefer, resolutions=resolutions))
        if done.left:
            raise MergingError(
                f"{done.left} conflicting cells of {ds.name} have no value in "
                f"{from_file}: add them (list them with `dslineage merge --conflicts {ds.name}`)"
            )
        with txn.begin(repo.root, repo.git, "merge-resolve") as t:
            t.backup(ds.path, md5=state["ours_md5"])
            t.backup(dvcio.dvcfile_for(ds.path))
            md5 = done.write()
            label_changes = done.label_changes if ours_v["md5"] == state["ours_md5"] else None
            parents = MergeParents(ours_v, theirs_v, base_v, state.get("branch"))
            record, paths = record_merge(
                repo, t, con, ds, parents, md5, message=message, author=who, label_changes=label_changes
            )
            t.stage(paths)
            t.step("after-stage")
            mergestate.remove(repo.root, ds.name)
            left = [n for n, s in mergestate.states(repo.root).items() if s.get("state") == "conflicts"]
            sha = None
            if state.get("started_by") == "dslineage" and not left and not repo.git.unmerged():
                versions = mergestate_versions(repo, state)
                lines = [message, ""] + [f"dslineage-version: {d}@v{s} {i}" for d, s, i in versions]
                sha = t.commit(paths, "\n".join(lines).rstrip(), merge=True)
    finally:
        if done is not None:
            done.discard()
        con.close()
    repo.index.sync(force=True)
    assert done is not None
    note = None
    if sha is None:
        if left:
            note = "resolved; still conflicting: " + ", ".join(left)
        elif repo.git.rebasing():
            note = "resolved and staged: continue the rebase with `git rebase --continue`"
        elif repo.git.merging():
            note = "resolved and staged: conclude the merge with `git commit`"
        else:
            note = "resolved and staged: commit it with `git commit`"
    return MergeResolved(
        dataset=ds.name,
        version=record["id"],
        seq=record["seq"],
        parents=record["parents"],
        rows=dict(done.counts),
        git_commit=sha,
        note=note,
    )


def mergestate_versions(repo: Repo, state: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(dataset, seq, id) of the merge versions staged for the merge commit (journal files
    staged since HEAD), for the commit message trailers."""
    out = []
    for rel in repo.git.staged_changes("HEAD"):
        if rel.startswith(config.JOURNAL_DIR) and rel.endswith(".json") and "-version-" in rel:
            rec = journal.read(repo.root / rel)
            if rec.get("parents") and len(rec["parents"]) == 2:
                out.append((rec["dataset"], rec["seq"], rec["id"]))
    return out


def abort(repo: Repo) -> MergeAborted:
    """Abandon the merge in progress: git's merge undone, work files and `.dvc` files back to
    HEAD, the merging states removed."""
    states = mergestate.states(repo.root)
    if repo.git.rebasing():
        raise MergingError(
            "a git rebase is in progress: abandon it with `git rebase --abort` "
            "(the next dslineage command then forgets the merging state)"
        )
    if not states and not repo.git.merging():
        raise MergingError("no merge is in progress: nothing to abort")
    head = repo.git.head()
    restored = []
    with txn.begin(repo.root, repo.git, "merge-abort") as t:
        datasets = repo.datasets()
        touched = set(repo.git.staged_changes(head)) if head and repo.git.merging() else set()
        for ds in datasets.values():
            dvcfile = dvcio.dvcfile_for(ds.path)
            if ds.name in states or dvcfile in touched:
                t.backup(dvcfile)
                restored.append(ds)
        repo.git.undo_merge(head)
        for ds in restored:
            t.backup(ds.path, md5=common.working_md5(repo, ds))
            if (repo.root / dvcio.dvcfile_for(ds.path)).exists():
                dvcio.checkout(repo.root, ds.path)
        for name in states:
            mergestate.remove(repo.root, name)
    repo.index.sync(force=True)
    return MergeAborted(aborted=True, datasets=sorted(ds.name for ds in restored))
