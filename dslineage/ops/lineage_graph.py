"""The lineage graph: dataset versions, relabel batches, transformations and experiments.

Built with networkx from the index on demand (the index is a cache of the journal, so the
graph is too). Edges point from what was used to what was made:

- version → later version of the same dataset        ("parent")
- version → transformation → version                 ("input", "output")
- version → batch → version (the version carrying it) ("input", "output")
- version → experiment                                ("input")

`downstream(repo, node_id)` is the entry point other operations (e.g. `impact`) call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage import config
from dslineage.errors import CycleError, UnknownNodeError
from dslineage.store import graph as sql

if TYPE_CHECKING:
    import networkx as nx

    from dslineage.repo import Repo

PREFIXES = {"exp": "experiment", "stage": "transformation", "batch": "batch", "version": "version"}


def short(node_id: str) -> str:
    """The short form of a node id."""
    return node_id[:10]


class Lineage:
    """The whole lineage graph as plain adjacency (cheap to build for 20,000 nodes); the part
    a query reaches becomes a networkx DiGraph (`subgraph`) for ordering and cycle checks.

    `nodes[id]` holds kind, label, timestamp and dataset/seq, stage or name; `succ[a][b]` and
    `pred[b][a]` hold the edge kind.
    """

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.succ: dict[str, dict[str, str]] = {}
        self.pred: dict[str, dict[str, str]] = {}

    def __contains__(self, n: object) -> bool:
        return n in self.nodes

    def __iter__(self) -> Any:
        return iter(self.nodes)

    def add_node(self, n: str, **attrs: Any) -> None:
        """Add (or update) a node."""
        self.nodes.setdefault(n, {}).update(attrs)

    def add_edge(self, a: str, b: str, kind: str) -> None:
        """Add an edge between two known nodes (edges to unknown nodes are dropped: a record
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


def load(repo: Repo) -> Lineage:
    """The whole lineage graph, from the index (synced with the journal first)."""
    repo.index.sync()
    con = repo.index.con
    lin = Lineage()
    nodes = lin.nodes
    vrows = sql.versions(con)
    for vid, ds, seq, _, ts in vrows:
        nodes[vid] = {"kind": "version", "label": f"{ds}@v{seq}", "dataset": ds, "seq": seq, "timestamp": ts}
    sql.refresh(con)
    for nid, kind, name, ts in sql.nodes(con):
        if kind == "transformation":
            nodes[nid] = {"kind": kind, "label": f"stage {name}", "stage": name, "timestamp": ts}
        else:
            nodes[nid] = {"kind": kind, "label": f"exp {name}", "name": name, "timestamp": ts}
    for vid, _, _, parent, _ in vrows:
        if parent:
            lin.add_edge(parent, vid, "parent")
    for a, b, kind in sql.edges(con):
        lin.add_edge(a, b, kind)
    for rid, kind, ts, rec in sql.node_records(con, ("batch", "revert")):
        add_record(lin, rid, kind, ts, rec)
    for vid, bid in sql.version_batch_links(con):
        lin.add_edge(bid, vid, "output")
    return lin


def add_record(g: Lineage, rid: str, kind: str, ts: str, rec: dict[str, Any]) -> None:
    """Add one journal record (transformation, experiment, batch or revert) to `g`."""
    if kind == "transformation":
        g.add_node(rid, kind=kind, label=f"stage {rec.get('stage')}", stage=rec.get("stage"), timestamp=ts)
        for item in rec.get("inputs") or []:
            if item.get("version"):
                g.add_edge(item["version"], rid, "input")
        for item in rec.get("outputs") or []:
            if item.get("version"):
                g.add_edge(rid, item["version"], "output")
    elif kind == "experiment":
        g.add_node(rid, kind=kind, label=f"exp {rec.get('name')}", name=rec.get("name"), timestamp=ts)
        for item in rec.get("datasets") or []:
            if item.get("version"):
                g.add_edge(item["version"], rid, "input")
    else:  # relabel batches (and reverts, which are batches too; older "revert" records alike)
        what = "revert" if kind == "revert" or rec.get("op") == "revert" or rec.get("reverts") else "batch"
        g.add_node(rid, kind="batch", label=f"{what} {short(rid)}", dataset=rec.get("dataset"), timestamp=ts)
        for key in ("base_version", "parent", "base"):
            if isinstance(rec.get(key), str):
                g.add_edge(rec[key], rid, "input")
                break
        if isinstance(rec.get("version"), str):
            g.add_edge(rid, rec["version"], "output")
        if isinstance(rec.get("reverts"), str):
            g.add_edge(rec["reverts"], rid, "reverts")


def node(g: Lineage, node_id: str) -> dict[str, Any]:
    """The `{"id", "kind", "label"}` shape of one node."""
    data = g.nodes[node_id]
    return {"id": node_id, "kind": data["kind"], "label": data["label"]}


def resolve(repo: Repo, g: Lineage, text: str) -> str:
    """The node id `text` names: NAME@REF, exp:NAME, stage:NAME, batch:ID, an id prefix,
    an experiment or stage name, or a dataset name (its latest version)."""
    from dslineage.ops.refs import resolve as resolve_ref

    text = text.strip()
    prefix, sep, rest = text.partition(":")
    if sep and prefix in PREFIXES:
        found = _by_kind(g, PREFIXES[prefix], rest)
        if prefix == "version" and not found and "@" in rest:
            found = {resolve_ref(repo, rest)[1]["id"]}
        return _one(g, text, found)
    def tracked(name: str) -> bool:  # one registration file, not all of them
        return bool(name) and "/" not in name and config.dataset_file(repo.root, name).is_file()

    if "@" in text and tracked(text.partition("@")[0]):
        return resolve_ref(repo, text)[1]["id"]
    found = set()
    for kind in ("experiment", "transformation", "batch", "version"):
        found |= _by_kind(g, kind, text)
    if not found and tracked(text):
        found = {resolve_ref(repo, f"{text}@latest")[1]["id"]}
    return _one(g, text, found)


def _by_kind(g: Lineage, kind: str, text: str) -> set[str]:
    """Nodes of `kind` named `text` (newest of a name) or whose id starts with it."""
    named: list[tuple[str, str]] = []
    by_id: set[str] = set()
    low = text.lower()
    for n, d in g.nodes.items():
        if d["kind"] != kind:
            continue
        if (kind == "experiment" and d.get("name") == text) or (
            kind == "transformation" and d.get("stage") == text
        ):
            named.append((d.get("timestamp") or "", n))
        elif len(low) >= 4 and n.startswith(low):
            by_id.add(n)
    if named:
        return {max(named)[1]}
    return by_id


def _one(g: Lineage, text: str, found: set[str]) -> str:
    if not found:
        raise UnknownNodeError(
            f"unknown node {text!r}: use NAME@REF for a dataset version, exp:NAME, stage:NAME, "
            "batch:ID or an id prefix (see `dslineage log`, `dslineage exp list`)"
        )
    if len(found) > 1:
        listed = "; ".join(f"{node(g, n)['label']} ({short(n)})" for n in sorted(found))
        raise UnknownNodeError(f"ambiguous node {text!r} could be: {listed}; use a prefix or longer id")
    return next(iter(found))


def reach(
    g: Lineage, root: str, direction: str, depth: int | None, follow: Any = None
) -> set[str]:
    """Nodes within `depth` steps of `root` ("upstream", "downstream" or "both"), breadth
    first; `follow(a, b, kind)`, when given, decides whether an edge a → b is followed."""
    nodes = {root}
    for links in ([g.succ] if direction == "downstream" else [g.pred] if direction == "upstream"
                  else [g.succ, g.pred]):
        seen, frontier, steps = {root}, [root], 0
        while frontier and (depth is None or steps < depth):
            nxt = []
            for n in frontier:
                for m, kind in links.get(n, {}).items():
                    if m not in seen and (follow is None or (follow(n, m, kind) if links is g.succ
                                                             else follow(m, n, kind))):
                        seen.add(m)
                        nxt.append(m)
            frontier, steps = nxt, steps + 1
        nodes |= seen
    return nodes


def ordered(g: Lineage, nodes: set[str]) -> list[str]:
    """`nodes` in a topological order, deterministic: generation by generation (Kahn), each
    generation by time, then id — what `nx.topological_generations` gives, computed here
    without importing networkx (0.2 s of a query's start-up; writes use it for cycle checks)."""
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
    if len(order) != len(nodes):  # only a corrupted journal could hold a cycle: say where
        import networkx as nx

        cycle = nx.find_cycle(g.subgraph(nodes))
        raise CycleError(f"the lineage graph has a cycle through {cycle[0][0][:10]}: run `dslineage fsck`")
    return order


def downstream(repo: Repo, node_id: str, *, depth: int | None = None) -> list[dict[str, Any]]:
    """Every node downstream of `node_id` (not itself), in topological order, as
    `{"id", "kind", "label"}` dicts. `node_id` is a full id or any text `resolve` accepts."""
    g = load(repo)
    root = node_id if node_id in g else resolve(repo, g, node_id)
    return [node(g, n) for n in ordered(g, reach(g, root, "downstream", depth)) if n != root]


def check_acyclic(g: Lineage, new_id: str, edges: list[tuple[str, str]]) -> None:
    """Refuse (CycleError) to add `edges` (around the new node `new_id`) if they close a cycle."""
    import networkx as nx

    known = [(a, b) for a, b in edges if (a in g or a == new_id) and (b in g or b == new_id)]
    # a cycle through the new node runs from one of its outputs back to one of its inputs:
    # only what its outputs reach can take part
    around = {new_id}
    for a, b in known:
        if a == new_id:
            around |= reach(g, b, "downstream", None)
    h = g.subgraph(around)
    h.add_edges_from((a, b) for a, b in known if a in around and b in around)
    try:
        cycle = nx.find_cycle(h, source=new_id)
    except nx.NetworkXNoCycle:
        return
    labels = " -> ".join(g.nodes[a]["label"] if a in g else "(new)" for a, _ in cycle)
    raise CycleError(
        f"recording this would make the lineage graph cyclic ({labels} -> ...): an output "
        "must not feed its own inputs; write the output to a new path"
    )


def impact(repo: Repo, node_id: str, *, carried: dict[str, int] | None = None) -> dict[str, Any]:
    """Everything downstream of a node, grouped: transformations (and whether their stage
    was re-run since), derived datasets (and whether their latest version is still
    affected), experiments (and whether that experiment was recorded again since).

    `carried` (version id -> rows still carrying a batch's labels), when given, cuts the
    versions of the batch's own dataset that carry none of them: a derived dataset or
    experiment counts only if it consumed rows the batch changed. `node_id` is a full id
    or any text `resolve` accepts.
    """
    from dslineage.ops.sync import maybe_sync

    _, warning = maybe_sync(repo)
    g = load(repo)
    root = node_id if node_id in g else resolve(repo, g, node_id)
    own = g.nodes[root].get("dataset")
    cut = {n for n, c in (carried or {}).items() if c <= 0 and n != root}

    def follow(a: str, b: str, kind: str) -> bool:
        # a derived dataset's next version is a new derivation, not a consequence of the
        # last one: "parent" edges are followed only within the root's own dataset
        return b not in cut and (kind != "parent" or g.nodes[b].get("dataset") == own)

    keep = reach(g, root, "downstream", None, follow)
    order = [n for n in ordered(g, keep) if n != root]
    runs = _groups(g, "transformation", "stage")  # every run of a stage / an experiment name
    names = _groups(g, "experiment", "name")
    versions = _groups(g, "version", "dataset")
    transformations: list[dict[str, Any]] = []
    experiments: list[dict[str, Any]] = []
    derived: dict[str, list[str]] = {}
    for n in order:
        d = g.nodes[n]
        if d["kind"] == "transformation":
            same = runs[d.get("stage")]
            consumed = [node(g, p) for p in g.pred.get(n, {}) if p in keep]
            for c in consumed:
                if carried and c["id"] in carried:
                    c["rows"] = carried[c["id"]]
            transformations.append({
                **node(g, n), "stage": d.get("stage"), "timestamp": d.get("timestamp"), "consumed": consumed,
                "rerun_since": same[-1] != n and _time(g, same[-1]) > _time(g, n),
                "latest_run": same[-1], "latest_run_affected": same[-1] in keep,
            })
        elif d["kind"] == "experiment":
            same = names[d.get("name")]
            experiments.append({
                **node(g, n), "name": d.get("name"), "timestamp": d.get("timestamp"),
                "rerun_since": same[-1] != n and _time(g, same[-1]) > _time(g, n),
                "latest_run": same[-1], "latest_run_affected": same[-1] in keep,
            })
        elif d["kind"] == "version" and d.get("dataset") != own:
            derived.setdefault(d["dataset"], []).append(n)
    datasets = [
        {
            "dataset": name, "versions": [node(g, v) for v in vids],
            "latest": node(g, versions[name][-1]), "latest_affected": versions[name][-1] in keep,
        }
        for name, vids in derived.items()
    ]
    return {
        "node": node(g, root),
        "downstream": [node(g, n) for n in order],
        "transformations": transformations,
        "datasets": datasets,
        "experiments": experiments,
        "warnings": [warning] if warning else [],
    }


def _time(g: Lineage, n: str) -> str:
    return str(g.nodes[n].get("timestamp") or "")


def _groups(g: Lineage, kind: str, attr: str) -> dict[Any, list[str]]:
    """Nodes of `kind` grouped by an attribute, each group oldest first."""
    groups: dict[Any, list[str]] = {}
    for n, d in g.nodes.items():
        if d["kind"] == kind:
            groups.setdefault(d.get(attr), []).append(n)
    for ids in groups.values():
        ids.sort(key=lambda n: (_time(g, n), n))
    return groups
