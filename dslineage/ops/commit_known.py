"""A commit's record from a change set its caller knows exactly (`KnownChanges`: a relabel of a
clean file, a merge that changed only labels): O(rows changed) instead of a diff of the dataset.
Split from `ops.commit`, which builds every record and uses this when the change set applies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import files, journal, txn
from dslineage.config import Dataset
from dslineage.store import rowdiff, rows

if TYPE_CHECKING:
    from dslineage.repo import Repo


@dataclass(frozen=True)
class KnownChanges:
    """A change set the caller knows exactly (a relabel of a clean file, a merge that changed
    only labels): only the labels of existing rows changed, applied to the bytes with md5
    `base_md5`. It spares the commit a full diff and profile scans: O(rows changed) instead
    of O(dataset)."""

    base_md5: str
    table: Any  # pyarrow: k0.., o0.., n0.. — one row per relabeled row, o{i}/n{i} per label column


def usable(known: KnownChanges | None, ds: Dataset, parent: dict[str, Any] | None) -> bool:
    """Whether `known` describes exactly the change from `parent`'s bytes (and the parent's
    record has what the fast record copies: rows, schema, label distribution)."""
    return (
        known is not None
        and parent is not None
        and parent["md5"] == known.base_md5
        and len(ds.labels) >= 1
        and all(f"{s}{i}" in known.table.column_names for i in range(len(ds.labels)) for s in "on")
        and parent.get("rows") is not None
        and bool(parent.get("schema"))
        and bool(parent.get("label_distribution"))
    )


def _as_obj(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _moved_distribution(
    parent_dist: list[dict[str, Any]], moves: list[tuple[Any, Any, int]]
) -> tuple[list[dict[str, Any]], int]:
    """A label column's distribution after `moves` (old, new, rows), and the rows it changed."""
    counts = {json.dumps(d["label"]): d["count"] for d in parent_dist}
    values = {json.dumps(d["label"]): d["label"] for d in parent_dist}
    changed = 0
    for old, new, n in moves:
        a, b = json.dumps(rows.plain(old)), json.dumps(rows.plain(new))
        if a == b:
            continue
        changed += n
        counts[a] = counts.get(a, 0) - n
        counts[b] = counts.get(b, 0) + n
        values[b] = rows.plain(new)
    dist = [{"label": values[k], "count": n} for k, n in counts.items() if n]
    dist.sort(key=lambda d: (-d["count"], d["label"] is None, str(d["label"])))
    return dist, changed


def known_record(
    repo: Repo, con: Any, ds: Dataset, known: KnownChanges, parent: dict[str, Any], vid: str
) -> tuple[dict[str, Any], Path, list[dict[str, Any]], dict[str, Any]]:
    """(changes, change set file, schema, label distribution) from a known relabel."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parent_dist = _as_obj(parent["label_distribution"])
    dists: dict[str, Any] = {}
    per_column: dict[str, int] = {}
    for i, label in enumerate(ds.labels):
        grouped = known.table.group_by([f"o{i}", f"n{i}"]).aggregate([([], "count_all")]).to_pylist()
        moves = [(g[f"o{i}"], g[f"n{i}"], g["count_all"]) for g in grouped]
        dists[label], per_column[label] = _moved_distribution(parent_dist.get(label, []), moves)
    n = known.table.num_rows
    k_cols = [c for c in known.table.column_names if c.startswith("k")]
    order = k_cols + [f"o{j}" for j in range(len(ds.labels))] + [f"n{j}" for j in range(len(ds.labels))]
    table = known.table.select(order).append_column("change", pa.array(["relabeled"] * n, pa.string()))
    if "d" not in table.column_names:  # only labels changed: no other column's digest to keep
        table = table.append_column("d", pa.array([[]] * n, rowdiff.digest_arrow_type()))
    keys = [c for c in table.column_names if c.startswith("k")]
    table = table.sort_by([(k, "ascending") for k in keys])
    name = journal.changes_name(vid)
    change_file = journal.folder(repo.root) / name
    change_file.parent.mkdir(parents=True, exist_ok=True)
    txn.will_create(repo.root, change_file)
    files.atomic_write(change_file, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    con.register("_known_chg", table)
    try:
        transitions = rowdiff.label_transitions(con, list(ds.labels), "_known_chg")
    finally:
        con.unregister("_known_chg")
    changes = {
        "known": True,
        "file": name,
        "keys": list(ds.key),
        "labels": list(ds.labels),
        "added": 0,
        "removed": 0,
        "relabeled": n,
        "modified": 0,
        "columns": {c: k for c, k in per_column.items() if k},
        "digests": True,
        "transitions": transitions,
    }
    return changes, change_file, _as_obj(parent["schema"]), dists
