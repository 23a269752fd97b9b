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


def load(repo: Repo) -> nx.DiGraph:
    """The whole lineage graph, from the index (synced with the journal first)."""
    import networkx as nx

    repo.index.sync()
    con = repo.index.con
    g = nx.DiGraph()
    vrows = sql.versions(con)
    g.add_nodes_from(
        (vid, {"kind": "version", "label": f"{ds}@v{seq}", "dataset": ds, "seq": seq, "timestamp": ts})
        for vid, ds, seq, _, ts in vrows
    )
    g.add_edges_from(((parent, vid) for vid, _, _, parent, _ in vrows if parent), kind="parent")
    sql.refresh(con)
    g.add_nodes_from(
        (nid, {"kind": kind, "label": f"stage {name}", "stage": name, "timestamp": ts}
         if kind == "transformation" else {"kind": kind, "label": f"exp {name}", "name": name, "timestamp": ts})
        for nid, kind, name, ts in sql.nodes(con)
    )
    known = set(g)
    edges = sql.edges(con)
    for kind in ("input", "output"):
        g.add_edges_from(((a, b) for a, b, k in edges if k == kind and a in known and b in known), kind=kind)
    for rid, kind, ts, rec in sql.node_records(con, ("batch", "revert")):
        add_record(g, rid, kind, ts, rec)
    for vid, bid in sql.version_batch_links(con):
        if vid in g and bid in g:
            g.add_edge(bid, vid, kind="output")
    return g


def add_record(g: nx.DiGraph, rid: str, kind: str, ts: str, rec: dict[str, Any]) -> None:
    """Add one journal record (transformation, experiment, batch or revert) to `g`."""
    if kind == "transformation":
        g.add_node(rid, kind=kind, label=f"stage {rec.get('stage')}", stage=rec.get("stage"), timestamp=ts)
        for item in rec.get("inputs") or []:
            if item.get("version"):
                g.add_edge(item["version"], rid, kind="input")
        for item in rec.get("outputs") or []:
            if item.get("version"):
                g.add_edge(rid, item["version"], kind="output")
    elif kind == "experiment":
        g.add_node(rid, kind=kind, label=f"exp {rec.get('name')}", name=rec.get("name"), timestamp=ts)
        for item in rec.get("datasets") or []:
            if item.get("version"):
                g.add_edge(item["version"], rid, kind="input")
    else:  # relabel batches (and reverts, which are batches too; older "revert" records alike)
        what = "revert" if kind == "revert" or rec.get("op") == "revert" or rec.get("reverts") else "batch"
        g.add_node(rid, kind="batch", label=f"{what} {short(rid)}", dataset=rec.get("dataset"), timestamp=ts)
        for key in ("base_version", "parent", "base"):
            if isinstance(rec.get(key), str):
                g.add_edge(rec[key], rid, kind="input")
                break
        if isinstance(rec.get("version"), str):
            g.add_edge(rid, rec["version"], kind="output")
        reverted = rec.get("reverts")
        if isinstance(reverted, str) and reverted in g:
            g.add_edge(reverted, rid, kind="reverts")
    # edges may name versions this branch does not have: keep only known endpoints typed
    for n in list(g.predecessors(rid)) + list(g.successors(rid)):
        if "kind" not in g.nodes[n]:
            g.remove_node(n)


def node(g: nx.DiGraph, node_id: str) -> dict[str, Any]:
    """The `{"id", "kind", "label"}` shape of one node."""
    data = g.nodes[node_id]
    return {"id": node_id, "kind": data["kind"], "label": data["label"]}


def resolve(repo: Repo, g: nx.DiGraph, text: str) -> str:
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


def _by_kind(g: nx.DiGraph, kind: str, text: str) -> set[str]:
    """Nodes of `kind` named `text` (newest of a name) or whose id starts with it."""
    named: list[tuple[str, str]] = []
    by_id: set[str] = set()
    low = text.lower()
    for n, d in g.nodes(data=True):
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


def _one(g: nx.DiGraph, text: str, found: set[str]) -> str:
    if not found:
        raise UnknownNodeError(
            f"unknown node {text!r}: use NAME@REF for a dataset version, exp:NAME, stage:NAME, "
            "batch:ID or an id prefix (see `dslineage log`, `dslineage exp list`)"
        )
    if len(found) > 1:
        listed = "; ".join(f"{node(g, n)['label']} ({short(n)})" for n in sorted(found))
        raise UnknownNodeError(f"ambiguous node {text!r} could be: {listed}; use a prefix or longer id")
    return next(iter(found))


def reach(g: nx.DiGraph, root: str, direction: str, depth: int | None) -> set[str]:
    """Nodes within `depth` steps of `root` ("upstream", "downstream" or "both")."""
    import networkx as nx

    nodes = {root}
    if direction in ("downstream", "both"):
        nodes |= set(nx.single_source_shortest_path_length(g, root, cutoff=depth))
    if direction in ("upstream", "both"):
        nodes |= set(nx.single_source_shortest_path_length(g.reverse(copy=False), root, cutoff=depth))
    return nodes


def ordered(g: nx.DiGraph, nodes: set[str]) -> list[str]:
    """`nodes` in a topological order of the graph, deterministic (ties by time, then id)."""
    import networkx as nx

    sub = g.subgraph(nodes)
    order: list[str] = []
    for generation in nx.topological_generations(sub):  # deterministic: each generation by time, id
        order.extend(sorted(generation, key=lambda n: (g.nodes[n].get("timestamp") or "", n)))
    return order


def downstream(repo: Repo, node_id: str, *, depth: int | None = None) -> list[dict[str, Any]]:
    """Every node downstream of `node_id` (not itself), in topological order, as
    `{"id", "kind", "label"}` dicts. `node_id` is a full id or any text `resolve` accepts."""
    g = load(repo)
    root = node_id if node_id in g else resolve(repo, g, node_id)
    return [node(g, n) for n in ordered(g, reach(g, root, "downstream", depth)) if n != root]


def check_acyclic(g: nx.DiGraph, new_id: str, edges: list[tuple[str, str]]) -> None:
    """Refuse (CycleError) to add `edges` (around the new node `new_id`) if they close a cycle."""
    import networkx as nx

    known = [(a, b) for a, b in edges if a in g or a == new_id]
    known = [(a, b) for a, b in known if b in g or b == new_id]
    h = g.copy()
    h.add_node(new_id, kind="new", label="(new)")
    h.add_edges_from(known)
    try:
        cycle = nx.find_cycle(h, source=new_id)
    except nx.NetworkXNoCycle:
        return
    labels = " -> ".join(h.nodes[a].get("label", short(a)) for a, _ in cycle)
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
    # a derived dataset's next version is a new derivation, not a consequence of the last one:
    # follow "parent" edges only within the root's own dataset
    h = g.edge_subgraph(
        (a, b) for a, b, d in g.edges(data=True) if d.get("kind") != "parent" or g.nodes[b].get("dataset") == own
    ).copy()
    h.add_nodes_from(g)
    if carried is not None:
        h.remove_nodes_from([n for n, c in carried.items() if n in h and c <= 0 and n != root])
    keep = reach(h, root, "downstream", None)
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
            consumed = [node(g, p) for p in g.predecessors(n) if p in keep]
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


def _time(g: nx.DiGraph, n: str) -> str:
    return str(g.nodes[n].get("timestamp") or "")


def _groups(g: nx.DiGraph, kind: str, attr: str) -> dict[Any, list[str]]:
    """Nodes of `kind` grouped by an attribute, each group oldest first."""
    groups: dict[Any, list[str]] = {}
    for n, d in g.nodes(data=True):
        if d["kind"] == kind:
            groups.setdefault(d.get(attr), []).append(n)
    for ids in groups.values():
        ids.sort(key=lambda n: (_time(g, n), n))
    return groups
