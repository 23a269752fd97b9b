"""`dslineage lineage [NODE]`: the subgraph around a node (or the whole graph), and its renderings.

Formats: `tree` (indented text), `json` (`{"nodes", "edges"}`), `dot` (Graphviz), `mermaid`
(a flowchart), and `openlineage` — NDJSON RunEvents (`ops/lineage_openlineage.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage import journal
from dslineage.core import graph as lg
from dslineage.errors import UsageError
from dslineage.model import to_json
from dslineage.model_lineage import Chain, GraphNode, Lineage, LineageOptions
from dslineage.ops import lineage_view as view
from dslineage.ops.lineage_openlineage import openlineage_events
from dslineage.ops.sync import maybe_sync

if TYPE_CHECKING:
    from dslineage.repo import Repo

FORMATS = ("tree", "json", "dot", "mermaid", "openlineage")
DIRECTIONS = ("both", "upstream", "downstream")
_NODE_KEYS = ("dataset", "seq", "stage", "name", "timestamp", "path", "md5", "type")
_CORE = frozenset(("id", "kind", "label"))  # a node's own fields; the rest is its `more`


def lineage(repo: Repo, node: str | None, opts: LineageOptions) -> Lineage:
    """Nodes and edges within `depth` steps of `node` (upstream, downstream or both), or the
    whole graph when `node` is None; `chains` lists the straight runs of versions the text
    formats collapse (none with `expand`); with `openlineage`, also the OpenLineage
    RunEvents of its transformations and batches."""
    direction, depth = opts.direction, opts.depth
    if direction not in DIRECTIONS:
        raise UsageError(f"unknown direction {direction!r}: use one of {', '.join(DIRECTIONS)}")
    if depth is not None and depth < 0:
        raise UsageError("--depth must be 0 or more")
    if node is None and (direction != "both" or depth is not None):
        raise UsageError("--upstream, --downstream and --depth need a NODE: name one, or omit them for the whole graph")
    _, warning = maybe_sync(repo)
    root = lg.resolve(repo, node) if node is not None else None
    with lg.paused_gc():
        return _lineage(
            repo,
            root,
            direction,
            depth,
            warning,
            openlineage=opts.openlineage,
            namespace=opts.namespace,
            expand=opts.expand,
        )


def _lineage(
    repo: Repo,
    root: str | None,
    direction: str,
    depth: int | None,
    warning: str | None,
    *,
    openlineage: bool,
    namespace: str | None,
    expand: bool,
) -> Lineage:
    g = lg.around(repo, root, direction, depth)
    order = lg.ordered(g, set(g.nodes))
    attrs = g.nodes
    nodes: list[dict[str, Any]] = []
    for n in order:
        data = attrs[n]
        entry = {"id": n, "kind": data["kind"], "label": data["label"]}  # lg.node, then the attributes set
        entry.update((k, v) for k in _NODE_KEYS if (v := data.get(k)) is not None)
        nodes.append(entry)
    view.describe_batches(repo, nodes)
    position = {n: i for i, n in enumerate(order)}
    edges: list[dict[str, Any]] = []  # by (position of from, position of to): each node's successors sorted
    for a in order:
        succ = g.succ.get(a)
        if succ:
            pairs = succ.items() if len(succ) == 1 else sorted(succ.items(), key=lambda e: position[e[0]])
            edges.extend({"from": a, "to": b, "kind": k} for b, k in pairs)
    result: dict[str, Any] = {
        "root": root,
        "direction": direction if root is not None else "both",
        "depth": depth,
        "nodes": nodes,
        "edges": edges,
        "warnings": [warning] if warning else [],
    }
    result["chains"] = [] if expand else view.chains(result)
    if openlineage:
        result["events"] = openlineage_events(repo, result, namespace)
        return Lineage.from_dict(result)
    # what `Lineage.from_dict(result)` builds, without its per-value checks: ~10,000 nodes and
    # ~15,000 edges at 10,000 versions (the edges are its `{"from", "to", "kind"}` as they are)
    return Lineage(
        root=root,
        direction=result["direction"],
        depth=depth,
        nodes=[
            GraphNode(id=e["id"], kind=e["kind"], label=e["label"], more={k: v for k, v in e.items() if k not in _CORE})
            for e in nodes
        ],
        edges=edges,
        warnings=result["warnings"],
        chains=[Chain.from_dict(c) for c in result["chains"]],
    )


# -- text renderings -------------------------------------------------------------------


def plain(result: Lineage) -> dict[str, Any]:
    """A `lineage()` result as the plain `{"nodes", "edges", "chains", ...}` the renderings walk."""
    data = to_json(result)
    assert isinstance(data, dict)
    return data


def render(result: Lineage, fmt: str) -> str:
    """`tree`, `dot` or `mermaid` text of a `lineage()` result."""
    data = plain(result)
    if fmt == "dot":
        return to_dot(data)
    if fmt == "mermaid":
        return to_mermaid(data)
    if fmt == "tree":
        return to_tree(data)
    raise UsageError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


def _label(n: dict[str, Any]) -> str:
    if n["kind"] == "transformation":
        return f"{n['label']} ({journal.short(n['id'])})"
    if n["kind"] == "artifact" and n.get("type") == "directory":
        return f"{n['label']}/"
    return str(n["label"])


def _tag(n: dict[str, Any]) -> str:
    if n["kind"] == "predictions":
        return f"predictions {str(n.get('md5') or '')[:10]}"
    if n["kind"] == "artifact":
        return f"{n.get('type') or 'file'} {str(n.get('md5') or '')[:10]}"
    if n["kind"] == "transformation" and n.get("timestamp"):
        return f"transformation, {str(n['timestamp'])[:16].replace('T', ' ')}"
    return "versions" if n["kind"] == "chain" else str(n["kind"])


def _graph_label(n: dict[str, Any]) -> str:
    """A node's label in dot and mermaid: an artifact's or a predictions file's with its short
    md5 (paths repeat)."""
    if n["kind"] == "artifact" or (n["kind"] == "predictions" and n.get("path")):
        return f"{_label(n)} ({str(n.get('md5') or '')[:10]})"
    return _label(n)


def _line(n: dict[str, Any]) -> str:
    return f"{_label(n)}  [{_tag(n)}]"


_ACTIVITIES = ("transformation", "experiment", "batch", "chain", "queue", "eval")


def to_tree(result: dict[str, Any]) -> str:
    """Indented trees: what the root came from (upstream) and what came from it (downstream),
    in headed sections when both are shown; straight chains of versions on one line. With
    no root: each stage, experiment, batch, chain, review queue and eval with what it read and made."""
    nodes, edges = view.units(result)
    by_id = {n["id"]: n for n in nodes}
    down: dict[str, list[str]] = {}
    up: dict[str, list[str]] = {}
    for e in edges:
        down.setdefault(e["from"], []).append(e["to"])
        up.setdefault(e["to"], []).append(e["from"])
    root = result["root"]
    if root is None:
        return _whole(nodes, by_id, up, down)
    lines = [_line(by_id[root])]

    def walk(n: str, links: dict[str, list[str]], arrow: str, prefix: str, seen: set[str]) -> None:
        kids = links.get(n, [])
        for i, k in enumerate(kids):
            last = i == len(kids) - 1
            again = k in seen
            lines.append(
                f"{prefix}{'└── ' if last else '├── '}{arrow} {_line(by_id[k])}" + ("  (shown above)" if again else "")
            )
            if not again:
                seen.add(k)
                walk(k, links, arrow, prefix + ("    " if last else "│   "), seen)

    both = result["direction"] == "both"
    for direction, links, arrow, heading in (
        ("upstream", up, "<-", "Upstream (what it came from):"),
        ("downstream", down, "->", "Downstream (what came from it):"),
    ):
        if result["direction"] not in ("both", direction):
            continue
        if both:
            lines.append(heading)
            if not links.get(root):
                lines.append("    (nothing)")
        walk(root, links, arrow, "", {root})
    return "\n".join(lines) + "\n"


def _whole(
    nodes: list[dict[str, Any]], by_id: dict[str, dict[str, Any]], up: dict[str, list[str]], down: dict[str, list[str]]
) -> str:
    """The whole graph, activity by activity (like `dvc dag`, with the files between)."""
    lines: list[str] = []
    shown: set[str] = set()
    for n in nodes:
        if n["kind"] not in _ACTIVITIES:
            continue
        lines.append(_line(n))
        for arrow, links in (("<-", up), ("->", down)):
            for m in links.get(n["id"], []):
                lines.append(f"    {arrow} {_line(by_id[m])}")
                shown.add(m)
        shown.add(n["id"])
    for n in nodes:  # versions linked only by "parent" edges, and lone nodes
        if n["id"] in shown:
            continue
        lines.append(_line(n))
        for m in up.get(n["id"], []):
            lines.append(f"    <- {_line(by_id[m])}")
    return "\n".join(lines) + ("\n" if lines else "(no lineage recorded yet)\n")


def _quote_dot(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_DOT_SHAPES = {
    "version": "ellipse",
    "transformation": "box",
    "batch": "note",
    "experiment": "doubleoctagon",
    "artifact": "cylinder",
    "chain": "box3d",
    "queue": "tab",
    "predictions": "component",
    "eval": "hexagon",
}


def to_dot(result: dict[str, Any]) -> str:
    """Graphviz `digraph` text (straight chains of versions as one node)."""
    nodes, edges = view.units(result)
    lines = ["digraph lineage {", "  rankdir=LR;"]
    for n in nodes:
        extra = ", style=bold" if n["id"] == result["root"] else ""
        shape = {"directory": "folder", "metrics": "tab"}.get(n.get("type") or "") or _DOT_SHAPES[n["kind"]]
        lines.append(f"  {_quote_dot(n['id'])} [label={_quote_dot(_graph_label(n))}, shape={shape}{extra}];")
    for e in edges:
        lines.append(f"  {_quote_dot(e['from'])} -> {_quote_dot(e['to'])} [label={_quote_dot(e['kind'] or '')}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


_MERMAID_SHAPES = {
    "version": ('(["', '"])'),
    "transformation": ('["', '"]'),
    "batch": ('[/"', '"/]'),
    "experiment": ('{{"', '"}}'),
    "artifact": ('[("', '")]'),
    "chain": ('[["', '"]]'),
    "queue": ('[\\"', '"\\]'),
    "predictions": ('>"', '"]'),
    "eval": ('[/"', '"\\]'),
}


def to_mermaid(result: dict[str, Any]) -> str:
    """A Mermaid `flowchart LR` (node ids n0, n1, ...; labels escaped; chains as one node)."""
    nodes, edges = view.units(result)
    ids = {n["id"]: f"n{i}" for i, n in enumerate(nodes)}
    lines = ["flowchart LR"]
    for n in nodes:
        left, right = _MERMAID_SHAPES[n["kind"]]
        text = _graph_label(n).replace('"', "#quot;")
        lines.append(f"  {ids[n['id']]}{left}{text}{right}")
    for e in edges:
        lines.append(f"  {ids[e['from']]} -->|{e['kind']}| {ids[e['to']]}")
    return "\n".join(lines) + "\n"
