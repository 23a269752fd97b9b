"""Finishing a stopped merge: `merge --conflicts NAME`, `merge --resolve NAME`, `merge --abort`.

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
from dslineage.model_merge import (
    ConflictCell,
    ConflictsOptions,
    MergeAborted,
    MergeConflicts,
    MergeResolved,
    ResolveOptions,
    side_batch,
)
from dslineage.ops import batches as batch_ops
from dslineage.ops import mergestate
from dslineage.ops.merge_dag import ancestors, dag
from dslineage.ops.merge_outcome import Merged, merged
from dslineage.ops.merge_sides import MergeParents, Sides
from dslineage.ops.merge_version import RECORD_STEPS, record_merge

if TYPE_CHECKING:
    from dslineage.repo import Repo

RESOLVE_STEPS = txn.declare("merge-resolve", *RECORD_STEPS, "after-stage")


def _from_index(repo: Repo, ds: Dataset) -> dict[str, Any] | None:
    """A merging state built from git's conflict stages of the dataset's `.dvc` file: for a
    merge git ran without the driver (a clone that had not registered it yet)."""
    dvcfile = dvcio.dvcfile_for(ds.path)
    if not (repo.git.merging() or repo.git.rebasing()) or dvcfile not in repo.git.unmerged():
        return None
    md5 = {}
    for stage, side in ((1, "base"), (2, "ours"), (3, "theirs")):
        data = repo.git.show(f":{stage}", dvcfile)
        out = dvcio.parse_dvcfile(data) if data else None
        md5[side] = out.md5 if out else None
    if md5["ours"] is None or md5["theirs"] is None:
        return None
    con = common.row_connection(repo)
    try:
        found = merged(repo, con, ds, Sides(md5["base"], str(md5["ours"]), str(md5["theirs"])))
        found.discard()
    finally:
        con.close()
    base = common.version_with_md5(repo, ds.name, md5["base"], None)
    state = {
        "dataset": ds.name,
        "state": "conflicts",
        "started_by": "git",
        "branch": None,
        "base_md5": md5["base"],
        "ours_md5": md5["ours"],
        "theirs_md5": md5["theirs"],
        "base_version": base["id"] if base else None,
        "cells": found.left,
    }
    mergestate.write(repo.root, state, found.conflicts)
    return state


def _state(repo: Repo, name: str) -> tuple[Dataset, dict[str, Any]]:
    ds = repo.dataset(name)
    state = mergestate.read(repo.root, ds.name) or _from_index(repo, ds)
    if state is None or state.get("state") != "conflicts":
        raise MergingError(f"{ds.name} is not in the middle of a merge: nothing to list or resolve")
    return ds, state


def _sides(repo: Repo, ds: Dataset, state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ours and theirs versions of a stopped merge (by id, else by md5)."""
    out = []
    for side in ("ours", "theirs"):
        v = repo.index.version(state[f"{side}_version"]) if state.get(f"{side}_version") else None
        v = v or common.version_with_md5(repo, ds.name, state[f"{side}_md5"], None)
        if v is None:
            raise MergingError(
                f"no version of {ds.name} records its {side} bytes ({state[f'{side}_md5']}): "
                f"commit that side first, or `dslineage merge --abort`"
            )
        out.append(v)
    return out[0], out[1]


def _side_batches(repo: Repo, ds: Dataset, version: dict[str, Any], base_id: str | None) -> list[dict[str, Any]]:
    """The batches versions on one side since the base carry (id, file, column, author, ...)."""
    graph = dag(repo, ds)
    mine = ancestors(graph, version["id"]) - (ancestors(graph, base_id) if base_id else set())
    wanted = {b for v in mine for b in (graph.get(v, {}).get("batches") or [])}
    out = []
    for rec in repo.index.records("batch", ds.name):
        path = batch_ops.edits_path(repo, rec)
        if rec["id"] in wanted and path.exists():
            out.append({**rec, "file": str(path)})
    return out


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _json_values(texts: list[str | None]) -> list[Any]:
    """Cells' JSON texts parsed in one call (None stays None): 50,000 cells in one `json.loads`."""
    if any(t is None for t in texts):
        return [_json(t) for t in texts]
    return list(json.loads("[" + ",".join(texts) + "]")) if texts else []  # type: ignore[arg-type]


def conflicts(repo: Repo, name: str, opts: ConflictsOptions) -> MergeConflicts:
    """Every conflicting cell of a stopped merge, with the batch that set each side."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dslineage.store import mergeinfo, rows

    ds, state = _state(repo, name)
    table = pq.read_table(mergestate.conflicts_path(repo.root, ds.name))
    ours_v, theirs_v = _sides(repo, ds, state)
    base_id = state.get("base_version")
    con = common.row_connection(repo)
    try:
        found = {
            side: mergeinfo.side_batches(con, table, list(ds.key), _side_batches(repo, ds, v, base_id))
            for side, v in (("ours", ours_v), ("theirs", theirs_v))
        }
    finally:
        con.close()
    cells = []
    parsed = {side: _json_values(table.column(side).to_pylist()) for side in ("base", "ours", "theirs")}
    keys = [table.column(k).to_pylist() for k in ds.key]
    for i, column in enumerate(table.column("column").to_pylist()):
        key = {k: rows.plain(kv[i]) for k, kv in zip(ds.key, keys)}
        ident = (*key.values(), column)
        cells.append(
            ConflictCell(
                key=key,
                column=column,
                base=parsed["base"][i],
                ours=parsed["ours"][i],
                theirs=parsed["theirs"][i],
                ours_batch=side_batch(found["ours"].get(ident)),
                theirs_batch=side_batch(found["theirs"].get(ident)),
            )
        )
    out_rel, output = None, opts.output
    if output:
        out_rel = config.inside(repo.root, output, cwd=repo.root)
        if not out_rel.lower().endswith((".parquet", ".csv")):
            raise UsageError(f"--output must end in .parquet or .csv, not {output!r}")
        where = ["part"] if "part" in table.column_names else []  # a directory's: the part holding the row
        flat = table.select([*ds.key, "column", "base", "ours", "theirs", *where])
        for side in ("ours", "theirs"):
            sides = [c.ours_batch if side == "ours" else c.theirs_batch for c in cells]
            for what, src in (("batch", "id"), ("annotator", "annotator")):
                values = [getattr(b, src) if b else None for b in sides]
                flat = flat.append_column(f"{side}_{what}", pa.array(values, pa.string()))
        flat = flat.append_column("value", pa.array([None] * flat.num_rows, pa.string()))
        common.write_table(repo, flat, out_rel)
    return MergeConflicts(dataset=ds.name, conflicts=cells, output=out_rel)


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
    ds, state = _state(repo, name)
    ours_v, theirs_v = _sides(repo, ds, state)
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
