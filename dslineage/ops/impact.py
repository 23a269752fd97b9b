"""`dslineage impact BATCH`: where a batch's labels went — which later versions still carry
them and how many rows (and, via the lineage graph, what was derived from those versions).

`impact()` returns plain data built from small pieces that can be extended separately:
`carried()` (versions of the batch's own dataset) and `downstream()` (derived datasets and
experiments; the lineage graph of issue #4 fills it in).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage.ops import batches as batch_ops

if TYPE_CHECKING:
    from dslineage.config import Dataset
    from dslineage.repo import Repo


def later_versions(repo: Repo, dataset: str, start: str) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Versions descending from `start` (itself included), oldest first, and for each the
    versions on its path back to `start` (excluding `start`)."""
    import networkx as nx

    versions = {v["id"]: v for v in repo.index.versions(dataset)}
    g = nx.DiGraph()
    g.add_nodes_from(versions)
    g.add_edges_from((v["parent"], vid) for vid, v in versions.items() if v.get("parent") in versions)
    if start not in g:
        return [], {}
    later = [start, *nx.descendants(g, start)]
    paths = {vid: [p for p in nx.shortest_path(g, start, vid) if p != start] for vid in later}
    ordered = sorted((versions[v] for v in later), key=lambda v: (v["seq"], v["timestamp"]))
    return ordered, paths


def carried(repo: Repo, ds: Dataset, batch: dict[str, Any], start: str) -> list[dict[str, Any]]:
    """For each version from the batch's onward: how many of the batch's rows keep its label."""
    import pyarrow as pa

    from dslineage.store import labels
    from dslineage.store.index import changes_table

    later, paths = later_versions(repo, ds.name, start)
    if not later:
        return []
    pairs = [(vid, a) for vid, path in paths.items() for a in path]
    repo.index.sync()
    con = repo.index.con.cursor()
    try:
        con.register("_dsl_paths", pa.table({
            "version": pa.array([p[0] for p in pairs], pa.string()),
            "ancestor": pa.array([p[1] for p in pairs], pa.string()),
        }))
        table = changes_table(ds.name) if labels.table_exists(con, f"changes/{ds.name}") else None
        lost = labels.impact(
            con, table, str(batch_ops.edits_path(repo, batch)), len(ds.key), ds.labels.index(batch["column"])
        ) if pairs else {}
    finally:
        con.close()
    head = max(later, key=lambda v: (v["seq"], v["timestamp"]))["id"]
    return [
        {
            "dataset": ds.name, "version": v["id"], "seq": v["seq"], "rows": batch["rows"] - lost.get(v["id"], 0),
            "timestamp": v["timestamp"], "message": v["message"], "latest": v["id"] == head,
        }
        for v in later
    ]


def downstream(repo: Repo, batch_id: str, versions: list[dict[str, Any]]) -> dict[str, Any]:
    """What the lineage graph says used the batch's rows: transformations (re-run since?),
    derived datasets (latest version still affected?) and experiments (recorded again since?).
    Versions of the batch's dataset that carry none of its labels are cut off."""
    from dslineage.ops import lineage_graph

    graph = lineage_graph.impact(repo, batch_id, carried={v["version"]: v["rows"] for v in versions})
    return {k: graph[k] for k in ("node", "downstream", "transformations", "datasets", "experiments")}


def impact(repo: Repo, batch_id: str) -> dict[str, Any]:
    """The later versions that still carry a batch's labels, with row counts, and what used them.

    Any other lineage node (NAME@REF, exp:NAME, stage:NAME, an id prefix) gets the graph's
    answer alone: everything downstream of it.
    """
    if not batch_ops.matches(repo, batch_id.removeprefix("batch:")):
        from dslineage.ops import lineage_graph

        return lineage_graph.impact(repo, batch_id)
    entry = batch_ops.find(repo, batch_id.removeprefix("batch:"))
    rec = batch_ops.record(repo, entry["id"])
    ds = repo.dataset(rec["dataset"])
    result: dict[str, Any] = {
        "batch": rec["id"], "dataset": ds.name, "column": rec["column"], "rows": rec["rows"],
        "state": entry["state"], "reverted": entry["reverted"], "reverted_by": entry["reverted_by"],
        "version": entry["version"], "seq": entry["seq"], "versions": [], "still_in_latest": 0,
        "node": {"id": rec["id"], "kind": "batch", "label": f"batch {rec['id'][:10]}"},
        "downstream": [], "transformations": [], "datasets": [], "experiments": [],
    }
    if entry["version"] is None:
        return result
    versions = carried(repo, ds, rec, entry["version"])
    result["versions"] = versions
    result["still_in_latest"] = next((v["rows"] for v in versions if v["latest"]), 0)
    result.update(downstream(repo, rec["id"], versions))
    return result
