"""`dslineage impact BATCH`: where a batch's labels went — which later versions still carry
them and how many rows (and, via the lineage graph, what was derived from those versions).

`impact()` returns a typed record (`model_lineage.BatchImpact`, or `Downstream` for any other
node) built from pieces that can be extended separately: `carried()` (versions of the batch's
own dataset, plain data) and `downstream()` (derived datasets and experiments, from the lineage
graph: `graph_impact`, which builds its records directly: ~5,000 nodes downstream at 10,000
versions).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Container
from typing import TYPE_CHECKING, Any

from dslineage import journal
from dslineage.core import graph as lg
from dslineage.model_base import _str
from dslineage.model_lineage import BatchImpact, DerivedDataset, Downstream, GraphNode, RunImpact
from dslineage.ops import batches as batch_ops
from dslineage.store import graph as graph_sql

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

    from dslineage.store import edit_batch, label_history
    from dslineage.store.index import changes_table

    later, paths = later_versions(repo, ds.name, start)
    if not later:
        return []
    pairs = [(vid, a) for vid, path in paths.items() for a in path]
    repo.index.sync()
    con = repo.index.con.cursor()
    try:
        con.register(
            "_dsl_paths",
            pa.table(
                {
                    "version": pa.array([p[0] for p in pairs], pa.string()),
                    "ancestor": pa.array([p[1] for p in pairs], pa.string()),
                }
            ),
        )
        table = changes_table(ds.name) if edit_batch.table_exists(con, f"changes/{ds.name}") else None
        lost = (
            label_history.impact(
                con, table, str(batch_ops.edits_path(repo, batch)), len(ds.key), ds.labels.index(batch["column"])
            )
            if pairs
            else {}
        )
    finally:
        con.close()
    head = max(later, key=lambda v: (v["seq"], v["timestamp"]))["id"]
    return [
        {
            "dataset": ds.name,
            "version": v["id"],
            "seq": v["seq"],
            "rows": batch["rows"] - lost.get(v["id"], 0),
            "timestamp": v["timestamp"],
            "message": v["message"],
            "latest": v["id"] == head,
        }
        for v in later
    ]


def downstream(repo: Repo, batch_id: str, versions: list[dict[str, Any]]) -> Downstream:
    """What the lineage graph says used the batch's rows: transformations (re-run since?),
    derived datasets (latest version still affected?) and experiments (recorded again since?).
    Versions of the batch's dataset that carry none of its labels are cut off."""
    return graph_impact(repo, batch_id, carried={v["version"]: v["rows"] for v in versions})


def impact(repo: Repo, batch_id: str) -> BatchImpact | Downstream:
    """The later versions that still carry a batch's labels, with row counts, and what used them.

    Any other lineage node (NAME@REF, exp:NAME, stage:NAME, an id prefix) gets the graph's
    answer alone: everything downstream of it.
    """
    if not batch_ops.matches(repo, batch_id.removeprefix("batch:")):
        return graph_impact(repo, batch_id)
    entry = batch_ops.find(repo, batch_id.removeprefix("batch:"))
    rec = batch_ops.record(repo, entry["id"])
    ds = repo.dataset(rec["dataset"])
    result: dict[str, Any] = {
        "batch": rec["id"],
        "dataset": ds.name,
        "column": rec["column"],
        "rows": rec["rows"],
        "state": entry["state"],
        "reverted": entry["reverted"],
        "reverted_by": entry["reverted_by"],
        "version": entry["version"],
        "seq": entry["seq"],
        "versions": [],
        "still_in_latest": 0,
        "node": {"id": rec["id"], "kind": "batch", "label": f"batch {journal.short(rec['id'])}"},
        "downstream": [],
        "transformations": [],
        "datasets": [],
        "experiments": [],
    }
    if entry["version"] is None:
        return BatchImpact.from_dict(result)
    versions = carried(repo, ds, rec, entry["version"])
    result["versions"] = versions
    result["still_in_latest"] = next((v["rows"] for v in versions if v["latest"]), 0)
    graph = downstream(repo, rec["id"], versions)
    return dataclasses.replace(
        BatchImpact.from_dict(result),
        node=graph.node,
        downstream=graph.downstream,
        transformations=graph.transformations,
        datasets=graph.datasets,
        experiments=graph.experiments,
    )


def graph_impact(repo: Repo, node_id: str, *, carried: dict[str, int] | None = None) -> Downstream:
    """Everything downstream of a node, grouped: transformations (and whether their stage
    was re-run since), derived datasets (and whether their latest version is still
    affected), experiments (and whether that experiment was recorded again since).

    A derived dataset's next version is a new derivation, not a consequence of its last one:
    "parent" edges are followed only within the node's own dataset. `carried` (version id ->
    rows still carrying a batch's labels), when given, cuts the versions of the batch's
    dataset that carry none: a derived dataset or experiment counts only if it consumed rows
    the batch changed. `node_id` is a full id or any text `resolve` accepts.
    """
    from dslineage.ops.sync import maybe_sync

    _, warning = maybe_sync(repo)
    root = lg.resolve(repo, node_id)
    con = lg._con(repo)
    row = graph_sql.node_rows(con, [root])[0]
    own = row[2] if row[1] != "artifact" else None  # the root's dataset (a version's or a batch's)
    cut = {n for n, c in (carried or {}).items() if c <= 0 and n != root}
    with lg.paused_gc():
        return _graph_impact(con, root, own, cut, carried, warning)


def _node(g: lg.Lineage, n: str, more: dict[str, Any] | None = None) -> GraphNode:
    """The record of `lg.node(g, n)` (built directly: ~5,000 of them at 10,000 versions)."""
    data = g.nodes[n]
    return GraphNode(id=n, kind=data["kind"], label=data["label"], more=more or {})


def _graph_impact(
    con: Any, root: str, own: str | None, cut: set[str], carried: dict[str, int] | None, warning: str | None
) -> Downstream:
    keep, edges = lg._walk(con, root, "downstream", None, parents_within=own or "", cut=cut)
    g = lg._part(con, keep, edges)
    order = [n for n in lg.ordered(g, set(g.nodes)) if n != root]
    attrs = g.nodes
    runs = _groups(con, "transformation", {attrs[n].get("stage") for n in order})
    names = _groups(con, "experiment", {attrs[n].get("name") for n in order})
    versions = _groups(con, "version", {attrs[n].get("dataset") for n in order})
    nodes = {n: _node(g, n) for n in order}
    transformations: list[RunImpact] = []
    experiments: list[RunImpact] = []
    derived: dict[str, list[str]] = {}
    for n in order:
        d = attrs[n]
        if d["kind"] == "transformation":
            consumed = [
                _node(g, p, {"rows": carried[p]} if carried and p in carried else None) for p in g.pred.get(n, {})
            ]
            transformations.append(_run(n, d, runs[d["stage"]], keep, stage=_str(d["stage"]), consumed=consumed))
        elif d["kind"] == "experiment":
            experiments.append(_run(n, d, names[d["name"]], keep, name=_str(d["name"])))
        elif d["kind"] == "version" and d.get("dataset") != own:
            derived.setdefault(d["dataset"], []).append(n)
    latest = {name: versions[name][-1][1] for name in derived}
    latest_nodes = lg._build(graph_sql.node_rows(con, sorted(latest.values())), [])
    datasets = [
        DerivedDataset(
            dataset=str(name),
            versions=[nodes[v] for v in vids],
            latest=_node(latest_nodes, latest[name]),
            latest_affected=latest[name] in keep,
        )
        for name, vids in derived.items()
    ]
    return Downstream(
        node=_node(g, root),
        downstream=list(nodes.values()),
        transformations=transformations,
        datasets=datasets,
        experiments=experiments,
        warnings=[warning] if warning else [],
    )


def _run(n: str, d: Any, same: list[tuple[str, str]], keep: Container[str], **more: Any) -> RunImpact:
    """The record of run `n` (node attributes `d`) of a stage or experiment whose runs are `same`
    (`_groups`), `keep` the nodes downstream; `more`: its `stage` and `consumed`, or `name`."""
    latest = same[-1][1]
    return RunImpact(
        id=n,
        kind=d["kind"],
        label=d["label"],
        timestamp=_str(d["timestamp"]),
        rerun_since=latest != n and same[-1][0] > d["timestamp"],
        latest_run=latest,
        latest_run_affected=latest in keep,
        **more,
    )


def _groups(con: Any, kind: str, names: set[Any]) -> dict[str, list[tuple[str, str]]]:
    """name -> [(timestamp, id)] of every node of `kind` with that name, oldest first."""
    out: dict[str, list[tuple[str, str]]] = {}
    for name, nid, ts in graph_sql.groups(con, kind, sorted(n for n in names if n)):
        out.setdefault(name, []).append((ts or "", nid))
    for items in out.values():
        items.sort()
    return out
