"""The lineage graph in memory: plain adjacency (`Lineage`), node attributes by kind, and how
the index's node and edge rows become one (`_build`); networkx's view of a part on demand.

`core/graph.py` loads, walks, names and orders it.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dslineage.journal import short

if TYPE_CHECKING:
    import networkx as nx

    from dslineage.store.graph import NodeRow


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
    return {
        "kind": "artifact",
        "label": path,
        "path": path,
        "md5": node_id.rpartition("@")[2],
        "type": kind or "file",
        "timestamp": ts,
    }


def predictions(node_id: str, name: str | None, dataset: str | None, ts: str) -> dict[str, Any]:
    """The attributes of a predictions node (`predictions:MD5`): labelled with the file's
    recorded name, or its short md5 when the record predates that field."""
    md5 = node_id.partition(":")[2]
    return {
        "kind": "predictions",
        "label": f"predictions {name or md5[:10]}",
        "md5": md5,
        **({"path": name} if name else {}),
        "dataset": dataset,
        "timestamp": ts,
    }


def _first(attrs: dict[str, Any]) -> tuple[bool, str, str]:
    return ("path" not in attrs, attrs.get("timestamp") or "", attrs["label"])


def _build(nodes: list[NodeRow], edges: list[tuple[str, str, str]]) -> Lineage:
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
