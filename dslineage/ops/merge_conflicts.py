"""`dslineage merge --conflicts NAME`: the conflicting cells of a stopped merge, each side's value
with the edit batch that set it; and reading a stopped merge (its merging state, or one built
from git's conflict stages for a merge git made without the driver) for `--resolve` too.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dslineage import config, dvcio
from dslineage.config import Dataset
from dslineage.core import common
from dslineage.errors import MergingError, UsageError
from dslineage.model_merge import ConflictCell, ConflictsOptions, MergeConflicts, side_batch
from dslineage.ops import batches as batch_ops
from dslineage.ops import mergestate
from dslineage.ops.merge_dag import ancestors, dag
from dslineage.ops.merge_outcome import merged
from dslineage.ops.merge_sides import Sides

if TYPE_CHECKING:
    from dslineage.repo import Repo


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


def stopped(repo: Repo, name: str) -> tuple[Dataset, dict[str, Any]]:
    """The dataset `name` and its stopped merge's state (read, or built from git's conflict
    stages); a MergingError when it is not in the middle of a merge."""
    ds = repo.dataset(name)
    state = mergestate.read(repo.root, ds.name) or _from_index(repo, ds)
    if state is None or state.get("state") != "conflicts":
        raise MergingError(f"{ds.name} is not in the middle of a merge: nothing to list or resolve")
    return ds, state


def stopped_sides(repo: Repo, ds: Dataset, state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
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

    ds, state = stopped(repo, name)
    table = pq.read_table(mergestate.conflicts_path(repo.root, ds.name))
    ours_v, theirs_v = stopped_sides(repo, ds, state)
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
