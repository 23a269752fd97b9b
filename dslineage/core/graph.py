"""The lineage graph: dataset versions, relabel batches, transformations and experiments.

Edges point from what was used to what was made:

- version → later version of the same dataset        ("parent")
- version → transformation → version                 ("input", "output")
- version → batch → version (the version carrying it) ("input", "output"; a revert: "reverts")
- version → experiment                                ("input")
- version → review queue → batch reviewing it         ("ranked", "reviews"; a consensus batch → its queue: "queued")
- predictions file → review queue                     ("input")
- version → eval ← predictions file                   ("evaluated", "input")
- artifact → transformation → artifact                ("input", "output")

An artifact is a stage input or output that is not a tracked dataset's version — a file,
a directory, a model, a metrics file — named by its path and md5 (`artifact:PATH@MD5`), so
the graph holds the whole DVC pipeline whether or not its files are tracked datasets.

The graph lives in the index (`store/graph.py`: a cache of the journal). A query walks the
bare edges and loads the attributes of only the part it reaches (`around`); a write loads
it whole (`load`) and refuses an edge that closes a cycle, found with networkx
(`check_acyclic`). Its in-memory form (`Lineage`) and how index rows become one are in
`core/graph_build.py`.

`downstream(repo, node_id)` is what other operations call; `ops/impact.py` walks it for
`impact` (`graph_impact`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from dslineage import config
from dslineage.core.graph_build import Lineage, _attrs, _build, paused_gc
from dslineage.errors import CycleError, UnknownNodeError
from dslineage.journal import short
from dslineage.store import graph as graph_sql

if TYPE_CHECKING:
    from dslineage.repo import Repo

__all__ = [
    "PREFIXES",
    "Lineage",
    "add_record",
    "around",
    "check_acyclic",
    "downstream",
    "load",
    "node",
    "ordered",
    "paused_gc",
    "reach",
    "resolve",
]

PREFIXES = {
    "exp": "experiment",
    "stage": "transformation",
    "batch": "batch",
    "version": "version",
    "queue": "queue",
    "predictions": "predictions",
    "eval": "eval",
}


def _con(repo: Repo) -> Any:
    """The index's connection with the distilled graph tables in step with the journal: refreshed
    once per sync (the memo is cleared by a sync that finds new journal files, and on close)."""
    repo.index.sync()
    con = repo.index.con
    if "lineage_refreshed" not in repo.index.memo:
        graph_sql.refresh(con)
        repo.index.memo["lineage_refreshed"] = True
    return con


def load(repo: Repo) -> Lineage:
    """The whole lineage graph (for writes, which check it for cycles)."""
    con = _con(repo)
    return _build(graph_sql.node_rows(con), graph_sql.edge_rows(con))


def _walk(
    con: Any,
    root: str,
    direction: str,
    depth: int | None,
    *,
    parents_within: str | None = None,
    cut: set[str] | None = None,
) -> tuple[set[str], list[tuple[str, str, str, str | None]]]:
    """Ids within `depth` steps of `root` over the bare edges, and the edges followed-able
    (all of them but skipped "parent" edges: `store.graph.adjacency_rows`, as they came).
    `parents_within`: follow "parent" edges only between versions of that dataset; `cut`: ids
    never entered. Only the links of the directions walked are built (one dict of lists each: a
    query's cost is mostly here)."""
    rows = graph_sql.adjacency_rows(con)
    if parents_within is not None:
        rows = [r for r in rows if r[2] != "parent" or r[3] == parents_within]
    found = {root}
    for downstream in {"downstream": (True,), "upstream": (False,)}.get(direction, (True, False)):
        links: dict[str, list[str]] = defaultdict(list)
        if downstream:
            for a, b, _, _ in rows:
                links[a].append(b)
        else:
            for a, b, _, _ in rows:
                links[b].append(a)
        seen, frontier, steps = {root}, [root], 0
        while frontier and (depth is None or steps < depth):
            nxt = []
            for n in frontier:
                for m in links.get(n, ()):
                    if m not in seen and not (cut and m in cut):
                        seen.add(m)
                        nxt.append(m)
            frontier, steps = nxt, steps + 1
        found |= seen
    return found, rows


def _part(con: Any, ids: set[str], edges: list[tuple[str, str, str, str | None]]) -> Lineage:
    """The subgraph of `ids`: their attributes from the index, the edges (`_walk`'s) between them."""
    if len(ids) > 2_000:  # one scan beats a long IN list
        rows = [r for r in graph_sql.node_rows(con) if r[0] in ids]
    else:
        rows = graph_sql.node_rows(con, sorted(ids))
    return _build(rows, [(a, b, kind) for a, b, kind, _ in edges if a in ids and b in ids])


def around(repo: Repo, root: str | None, direction: str, depth: int | None) -> Lineage:
    """The part of the graph within `depth` steps of `root`, loaded alone (no root: all of it)."""
    con = _con(repo)
    if root is None:
        return _build(graph_sql.node_rows(con), graph_sql.edge_rows(con))
    return _part(con, *_walk(con, root, direction, depth))


def add_record(g: Lineage, rid: str, kind: str, ts: str, rec: dict[str, Any]) -> None:
    """Add one journal record not in the index yet (a transformation being written) to `g`."""
    if kind == "transformation":
        g.add_node(rid, **_attrs(kind, None, None, rec.get("stage"), ts))
        for item in rec.get("inputs") or []:
            if item.get("version"):
                g.add_edge(item["version"], rid, "input")
        for item in rec.get("outputs") or []:
            if item.get("version"):
                g.add_edge(rid, item["version"], "output")
    elif kind == "experiment":
        g.add_node(rid, **_attrs(kind, None, None, rec.get("name"), ts))
        for item in rec.get("datasets") or []:
            if item.get("version"):
                g.add_edge(item["version"], rid, "input")


def node(g: Lineage, node_id: str) -> dict[str, Any]:
    """The `{"id", "kind", "label"}` shape of one node."""
    data = g.nodes[node_id]
    return {"id": node_id, "kind": data["kind"], "label": data["label"]}


def resolve(repo: Repo, text: str) -> str:
    """The node id `text` names: NAME@REF, exp:NAME, stage:NAME, batch:ID, an id prefix,
    an experiment or stage name, a dataset name (its current version), or a path: a tracked
    dataset's file (its current version) or a stage input/output (its newest artifact)."""
    from dslineage.core.refs import resolve as resolve_ref

    con = _con(repo)
    text = text.strip()
    prefix, sep, rest = text.partition(":")
    if sep and prefix in PREFIXES:
        found = _by_kind(con, PREFIXES[prefix], rest)
        if prefix == "version" and not found and "@" in rest:
            found = {resolve_ref(repo, rest)[1]["id"]: "version"}
        return _one(text, found)

    def tracked(name: str) -> bool:  # one registration file, not all of them
        return bool(name) and "/" not in name and config.dataset_file(repo.root, name).is_file()

    if "@" in text and tracked(text.partition("@")[0]):
        return resolve_ref(repo, text)[1]["id"]
    found = {}
    for kind in ("experiment", "transformation", "batch", "version", "queue", "eval"):
        found.update(_by_kind(con, kind, text))
    if not found and tracked(text):
        found = {resolve_ref(repo, f"{text}@latest")[1]["id"]: "version"}
    if not found:
        found = _by_path(repo, con, text)
    return _one(text, found)


def _by_path(repo: Repo, con: Any, text: str) -> dict[str, str]:
    """{id: kind} of the node a path names: a tracked dataset's current version, else the
    newest artifact recorded at that path (`data/features/` = `data/features`)."""
    from pathlib import PurePosixPath

    from dslineage.core.refs import resolve as resolve_ref

    path = PurePosixPath(text.replace("\\", "/")).as_posix() if text else ""
    if not path or path == ".":
        return {}
    for ds in repo.datasets().values():
        if ds.path == path:
            return {resolve_ref(repo, f"{ds.name}@latest")[1]["id"]: "version"}
    runs = graph_sql.named(con, "artifact", path)
    return {max(runs, key=lambda r: (r[1] or "", r[0]))[0]: "artifact"} if runs else {}


def _by_kind(con: Any, kind: str, text: str) -> dict[str, str]:
    """{id: kind} of the nodes of `kind` named `text` (the newest of that name) or whose id
    starts with it (4 hex digits at least)."""
    if kind in ("experiment", "transformation"):
        runs = graph_sql.named(con, kind, text)
        if runs:
            return {max(runs, key=lambda r: (r[1] or "", r[0]))[0]: kind}
    low = text.lower()
    if len(low) < 4 or any(c not in "0123456789abcdef" for c in low):
        return {}
    if kind == "predictions":  # `predictions:MD5` (a prefix of the md5)
        low = graph_sql.PREDICTIONS + low
    return {nid: k for nid, k in graph_sql.with_prefix(con, low) if k == kind}


def _one(text: str, found: dict[str, str]) -> str:
    if not found:
        raise UnknownNodeError(
            f"unknown node {text!r}: use NAME@REF for a dataset version, exp:NAME, stage:NAME, "
            "batch:ID, a stage's input/output path or an id prefix (see `dslineage log`, `dslineage exp list`)"
        )
    if len(found) > 1:
        listed = "; ".join(f"{kind} {short(n)}" for n, kind in sorted(found.items()))
        raise UnknownNodeError(f"ambiguous node {text!r} could be: {listed}; use exp:, stage: or a longer id")
    return next(iter(found))


def reach(g: Lineage, root: str, direction: str, depth: int | None) -> set[str]:
    """Nodes of `g` within `depth` steps of `root` ("upstream", "downstream" or "both")."""
    nodes = {root}
    for links in {"downstream": [g.succ], "upstream": [g.pred]}.get(direction, [g.succ, g.pred]):
        seen, frontier, steps = {root}, [root], 0
        while frontier and (depth is None or steps < depth):
            nxt = []
            for n in frontier:
                for m in links.get(n, {}):
                    if m not in seen:
                        seen.add(m)
                        nxt.append(m)
            frontier, steps = nxt, steps + 1
        nodes |= seen
    return nodes


def ordered(g: Lineage, nodes: set[str]) -> list[str]:
    """`nodes` in a topological order, deterministic: generation by generation (Kahn), each
    generation by time, then id — what `nx.topological_generations` gives, computed here
    without importing networkx (0.2 s of a query's start-up)."""
    if len(nodes) == len(g.nodes):  # all of `g` (a query's own part): every predecessor counts
        indegree = {n: len(g.pred.get(n, ())) for n in nodes}
    else:
        indegree = {n: sum(1 for p in g.pred.get(n, {}) if p in nodes) for n in nodes}
    generation = [n for n, d in indegree.items() if d == 0]
    order: list[str] = []
    while generation:
        generation.sort(key=lambda n: (g.nodes[n].get("timestamp") or "", n))
        order.extend(generation)
        nxt = []
        for n in generation:
            for m in g.succ.get(n, {}):
                if m in indegree:
                    indegree[m] -= 1
                    if indegree[m] == 0:
                        nxt.append(m)
        generation = nxt
    if len(order) != len(nodes):  # only a hand-edited journal could hold a cycle: say where
        import networkx as nx

        cycle = nx.find_cycle(g.subgraph(nodes))
        raise CycleError(f"the lineage graph has a cycle through {short(cycle[0][0])}: run `dslineage fsck`")
    return order


def downstream(repo: Repo, node_id: str, *, depth: int | None = None) -> list[dict[str, Any]]:
    """Every node downstream of `node_id` (not itself), in topological order, as
    `{"id", "kind", "label"}` dicts. `node_id` is a full id or any text `resolve` accepts."""
    root = resolve(repo, node_id)
    with paused_gc():
        g = around(repo, root, "downstream", depth)
        return [node(g, n) for n in ordered(g, set(g.nodes)) if n != root]


def check_acyclic(g: Lineage, new_id: str, edges: list[tuple[str, str]]) -> None:
    """Refuse (CycleError) to add `edges` (around the new node `new_id`) if they close a cycle."""
    import networkx as nx

    known = [(a, b) for a, b in edges if (a in g or a == new_id) and (b in g or b == new_id)]
    # a cycle through the new node runs from one of its outputs back to one of its inputs:
    # only what its outputs reach can take part
    near = {new_id}
    for a, b in known:
        if a == new_id:
            near |= reach(g, b, "downstream", None)
    h = g.subgraph(near)
    h.add_edges_from((a, b) for a, b in known if a in near and b in near)
    try:
        cycle = nx.find_cycle(h, source=new_id)
    except nx.NetworkXNoCycle:
        return
    labels = " -> ".join(g.nodes[a]["label"] if a in g else "(new)" for a, _ in cycle)
    raise CycleError(
        f"recording this would make the lineage graph cyclic ({labels} -> ...): an output "
        "must not feed its own inputs; write the output to a new path"
    )
