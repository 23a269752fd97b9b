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
(`check_acyclic`).

`downstream(repo, node_id)` is what other operations call; `ops/impact.py` walks it for
`impact` (`graph_impact`).
"""

from __future__ import annotations

import contextlib
import gc
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dslineage import config
from dslineage.errors import CycleError, UnknownNodeError
from dslineage.journal import short
from dslineage.store import graph as graph_sql

if TYPE_CHECKING:
    import networkx as nx

    from dslineage.repo import Repo

PREFIXES = {"exp": "experiment", "stage": "transformation", "batch": "batch", "version": "version", "queue": "queue",
            "predictions": "predictions", "eval": "eval"}


class Lineage:
    """A lineage (sub)graph as plain adjacency; `subgraph()` gives networkx's view of a part.

    `nodes[id]` holds kind, label, timestamp and dataset/seq, stage or name; `succ[a][b]` and
    `pred[b][a]` hold the edge kind.
    """

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.succ: dict[str, dict[str, str]] = {}
        self.pred: dict[str, dict[str, str]] = {}

    def __contains__(self, n: object) -> bool:
        return n in self.nodes

    def add_node(self, n: str, **attrs: Any) -> None:
        """Add (or update) a node."""
        self.nodes.setdefault(n, {}).update(attrs)

    def add_edge(self, a: str, b: str, kind: str) -> None:
        """Add an edge between two known nodes (an edge to an unknown node is dropped: a record
        may name versions this branch does not have)."""
        if a in self.nodes and b in self.nodes:
            self.succ.setdefault(a, {})[b] = kind
            self.pred.setdefault(b, {})[a] = kind

    def edges(self, nodes: set[str]) -> list[tuple[str, str, str]]:
        """(from, to, kind) of the edges between `nodes`."""
        return [(a, b, k) for a in nodes for b, k in self.succ.get(a, {}).items() if b in nodes]

    def subgraph(self, nodes: set[str]) -> nx.DiGraph:
        """A networkx DiGraph of `nodes` and the edges between them (edge attribute `kind`)."""
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from(nodes)
        g.add_edges_from((a, b, {"kind": k}) for a, b, k in self.edges(nodes))
        return g


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a query builds its graph: ~100,000
    dicts, lists and tuples (no cycles among them) at 10,000 versions set off dozens of
    collections that each walk every live object, ~40% of the query's CPU. Reference counting
    still frees everything; collections resume when this ends."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _attrs(kind: str, dataset: str | None, seq: int | None, name: str | None, ts: str) -> dict[str, Any]:
    if kind == "version":
        return {"kind": kind, "label": f"{dataset}@v{seq}", "dataset": dataset, "seq": seq, "timestamp": ts}
    if kind == "transformation":
        return {"kind": kind, "label": f"stage {name}", "stage": name, "timestamp": ts}
    if kind == "experiment":
        return {"kind": kind, "label": f"exp {name}", "name": name, "timestamp": ts}
    if kind in ("queue", "eval"):
        return {"kind": kind, "label": name or kind, "dataset": dataset, "timestamp": ts}
    return {"kind": "batch", "label": name or "batch", "dataset": dataset, "timestamp": ts}


def artifact(node_id: str, path: str, kind: str | None, ts: str) -> dict[str, Any]:
    """The attributes of an artifact node (`kind`: file, directory or metrics)."""
    return {"kind": "artifact", "label": path, "path": path, "md5": node_id.rpartition("@")[2],
            "type": kind or "file", "timestamp": ts}


def predictions(node_id: str, name: str | None, dataset: str | None, ts: str) -> dict[str, Any]:
    """The attributes of a predictions node (`predictions:MD5`): labelled with the file's
    recorded name, or its short md5 when the record predates that field."""
    md5 = node_id.partition(":")[2]
    return {"kind": "predictions", "label": f"predictions {name or md5[:10]}", "md5": md5,
            **({"path": name} if name else {}), "dataset": dataset, "timestamp": ts}


def _first(attrs: dict[str, Any]) -> tuple[bool, str, str]:
    return ("path" not in attrs, attrs.get("timestamp") or "", attrs["label"])


def _build(nodes: list[graph_sql.NodeRow], edges: list[tuple[str, str, str]]) -> Lineage:
    lin = Lineage()
    for nid, kind, dataset, seq, name, ts in nodes:
        if kind == "artifact":
            lin.nodes[nid] = artifact(nid, name or "", dataset, ts)
            continue
        if kind == "predictions":  # one file, several records: the first use that names it
            attrs = predictions(nid, name, dataset, ts)
            old = lin.nodes.get(nid)
            if old is None or _first(attrs) < _first(old):
                lin.nodes[nid] = attrs
            continue
        lin.nodes[nid] = _attrs(kind, dataset, seq, name, ts)
        if kind == "batch":
            lin.nodes[nid]["label"] = f"{name} {short(nid)}"
    known, succ, pred = lin.nodes, lin.succ, lin.pred
    for a, b, kind in edges:  # Lineage.add_edge, inlined: a query adds ~15,000 of them
        if a in known and b in known:
            (succ.get(a) or succ.setdefault(a, {}))[b] = kind
            (pred.get(b) or pred.setdefault(b, {}))[a] = kind
    return lin


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
    con: Any, root: str, direction: str, depth: int | None, *,
    parents_within: str | None = None, cut: set[str] | None = None,
) -> tuple[set[str], list[tuple[str, str, str]]]:
    """Ids within `depth` steps of `root` over the bare edges, and the edges followed-able
    (all of them but skipped "parent" edges). `parents_within`: follow "parent" edges only
    between versions of that dataset; `cut`: ids never entered. Only the links of the
    directions walked are built (one dict of lists each: a query's cost is mostly here)."""
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
    return found, [(a, b, kind) for a, b, kind, _ in rows]


def _part(con: Any, ids: set[str], edges: list[tuple[str, str, str]]) -> Lineage:
    """The subgraph of `ids`: their attributes from the index, the edges between them."""
    if len(ids) > 2_000:  # one scan beats a long IN list
        rows = [r for r in graph_sql.node_rows(con) if r[0] in ids]
    else:
        rows = graph_sql.node_rows(con, sorted(ids))
    return _build(rows, [e for e in edges if e[0] in ids and e[1] in ids])


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
