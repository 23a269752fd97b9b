"""What `lineage` draws: straight chains of versions collapsed into one node, batch nodes
described, and the collapsed graph ("units") every text format renders.

A *chain* is a run of at least two versions V1..Vk of one dataset after a base version P,
each the only child version of the one before, with nothing else attached in between but
the relabel batches that made them: `cifar v1 → v5 (4 versions, 3 batches)`. The root of
a query is never inside a chain. Works on a `lineage()` result (plain `nodes`/`edges`), so
JSON, tree, dot and mermaid show the same model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage.journal import short
from dslineage.store import graph as graph_sql

if TYPE_CHECKING:
    from dslineage.repo import Repo

CHAIN = "chain:"


def describe_batches(repo: Repo, nodes: list[dict[str, Any]]) -> None:
    """Give each batch node its columns, author, reason, row count and reverted state, and a
    label that says them (in place)."""
    batches = {n["id"]: n for n in nodes if n["kind"] == "batch"}
    if not batches:
        return
    con = repo.index.con
    records = {r["id"]: r for r in graph_sql.records(con, sorted(batches))}
    reverted = graph_sql.reverted(con, sorted(batches))
    for bid, n in batches.items():
        rec = records.get(bid) or {}
        columns = rec.get("columns") or ([rec["column"]] if rec.get("column") else [])
        n.update(
            columns=list(columns),
            author=rec.get("author"),
            reason=rec.get("reason") or "",
            rows=rec.get("rows"),
            reverted=bid in reverted,
        )
        what = "revert" if n["label"].startswith("revert") else "batch"
        parts = [f"{what} {short(bid)}"]
        if columns:
            parts.append(", ".join(columns))
        if n["author"]:
            parts.append(f"by {n['author']}")
        text = " ".join(parts)
        if n["rows"] is not None:
            text += f", {n['rows']} row{'s' if n['rows'] != 1 else ''}"
        if n["reason"]:
            text += f', "{n["reason"]}"'
        if n["reverted"]:
            text += ", reverted"
        n["label"] = text


def chains(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The straight chains of versions in a `lineage()` result (nodes in topological order)."""
    by_id = {n["id"]: n for n in result["nodes"]}
    succ: dict[str, dict[str, str]] = {}
    pred: dict[str, dict[str, str]] = {}
    for e in result["edges"]:
        succ.setdefault(e["from"], {})[e["to"]] = e["kind"]
        pred.setdefault(e["to"], {})[e["from"]] = e["kind"]
    root = result.get("root")

    def kind(n: str) -> str:
        return str(by_id[n]["kind"])

    def kids(n: str) -> list[str]:
        return [m for m, k in succ.get(n, {}).items() if k == "parent"]

    def between(a: str, b: str) -> list[str]:
        """Batches made on `a` and carried by `b` (and linked to nothing else but batches)."""
        return [
            x
            for x in succ.get(a, {})
            if kind(x) == "batch"
            and b in succ.get(x, {})
            and all(p == a or kind(p) == "batch" for p in pred.get(x, {}))
            and all(s == b or kind(s) == "batch" for s in succ.get(x, {}))
        ]

    def straight(a: str, b: str) -> bool:  # b came from a alone
        made = set(between(a, b))
        return all(p == a or p in made for p in pred.get(b, {})) and pred.get(b, {}).get(a) == "parent"

    def pure(a: str, b: str) -> bool:  # a led to b alone (an eval of a made nothing)
        made = set(between(a, b))
        return all(s == b or s in made or kind(s) == "eval" for s in succ.get(a, {}))

    used: set[str] = set()
    found = []
    for n in result["nodes"]:
        base = n["id"]
        if n["kind"] != "version":
            continue
        for first in kids(base):
            if first in used or first == root or not straight(base, first):
                continue
            members, cur = [first], first
            while len(kids(cur)) == 1:
                nxt = kids(cur)[0]
                if nxt == root or nxt in used or not pure(cur, nxt) or not straight(cur, nxt):
                    break
                members.append(nxt)
                cur = nxt
            if len(members) < 2:
                continue
            batches = [x for a, b in zip([base, *members], members) for x in between(a, b)]
            used.update(members)
            first_seq, last_seq = by_id[base].get("seq"), by_id[members[-1]].get("seq")
            dataset = by_id[base].get("dataset")
            found.append(
                {
                    "id": CHAIN + members[0],
                    "kind": "chain",
                    "dataset": dataset,
                    "base": base,
                    "versions": members,
                    "batches": batches,
                    "label": f"{dataset} v{first_seq} → v{last_seq} ({len(members)} versions, {len(batches)} batches)",
                }
            )
    return found


def units(result: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The collapsed graph: (nodes, edges) with each chain standing for its versions and
    batches; duplicate edges merged, and a "parent" edge dropped where a batch shows the step."""
    unit: dict[str, str] = {}
    for c in result.get("chains") or []:
        for member in (*c["versions"], *c["batches"]):
            unit[member] = c["id"]
    by_id = {n["id"]: n for n in result["nodes"]}
    nodes: list[dict[str, Any]] = []
    placed: set[str] = set()
    chain_of = {c["id"]: c for c in result.get("chains") or []}
    for n in result["nodes"]:
        u = unit.get(n["id"], n["id"])
        if u not in placed:
            placed.add(u)
            nodes.append(chain_of[u] if u in chain_of else n)
    ins: dict[str, list[str]] = {}
    outs: dict[str, list[str]] = {}
    for e in result["edges"]:
        if by_id[e["to"]]["kind"] == "batch":
            ins.setdefault(e["to"], []).append(e["from"])
        if by_id[e["from"]]["kind"] == "batch":
            outs.setdefault(e["from"], []).append(e["to"])
    via_batch = {(a, b) for x, sources in ins.items() for a in sources for b in outs.get(x, ())}
    edges: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for e in result["edges"]:
        a, b = unit.get(e["from"], e["from"]), unit.get(e["to"], e["to"])
        if a == b or (a, b) in seen or (e["kind"] == "parent" and (e["from"], e["to"]) in via_batch):
            continue
        seen.add((a, b))
        edges.append({"from": a, "to": b, "kind": e["kind"]})
    return nodes, edges
