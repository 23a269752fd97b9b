"""`dslineage report`: what the journal recorded about a dataset beyond its versions: stored
quality figures (checks, drift, audits), eval results, and the collapsed lineage graph laid out
in columns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage.ops import report_model as m

if TYPE_CHECKING:
    from dslineage.repo import Repo


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def _stored_quality(repo: Repo, name: str) -> dict[str, dict[str, Any]]:
    """Version id → its newest stored results `{"checks", "audit"}` (as `quality.results.for_version`
    gives them, read in one pass: a long history has a record per version)."""
    out: dict[str, dict[str, Any]] = {}
    for rec in repo.index.records("version", name):
        if rec.get("checks"):
            out.setdefault(rec["id"], {})["checks"] = rec["checks"]
    for kind, key in (("check", "checks"), ("audit", "audit")):
        for rec in repo.index.records(kind, name):  # oldest first: the newest wins
            if rec.get("version"):
                out.setdefault(rec["version"], {})[key] = rec
    return out


def quality(repo: Repo, name: str, versions: list[dict[str, Any]]) -> list[m.QualityPoint]:
    """The stored check, drift and audit figures of every version that has them."""
    out: list[m.QualityPoint] = []
    stored = _stored_quality(repo, name)
    for v in versions:
        q = stored.get(v["id"])
        if not q:
            continue
        for r in (q.get("checks") or {}).get("results") or []:
            value, threshold = _num(r.get("value")), _num(r.get("threshold"))
            if value is None:
                continue
            rule = str(r["rule"])
            metric = (
                rule
                + (f" {r['statistic']}" if r.get("statistic") else "")
                + (f" ({r['column']})" if r.get("column") else "")
            )
            out.append(
                m.QualityPoint(
                    seq=v["seq"],
                    source="drift" if rule == "max_drift" else "check",
                    metric=metric,
                    value=value,
                    threshold=threshold,
                    passed=bool(r.get("passed")),
                    bound="max" if rule.startswith("max") else "min" if rule.startswith("min") else "",
                )
            )
        audit = q.get("audit") or {}
        for metric, value in (
            ("imbalance ratio", (audit.get("imbalance") or {}).get("ratio")),
            ("conflicting duplicate rows", (audit.get("conflicting_duplicates") or {}).get("rows")),
            ("Krippendorff's alpha", (audit.get("agreement") or {}).get("krippendorff_alpha")),
            ("largest subgroup gap", (audit.get("subgroups") or {}).get("max_gap")),
        ):
            number = _num(value)
            if number is not None:
                out.append(
                    m.QualityPoint(
                        seq=v["seq"], source="audit", metric=metric, value=number, threshold=None, passed=None, bound=""
                    )
                )
    return out


def evals(repo: Repo, name: str, versions: list[dict[str, Any]], notes: dict[str, str]) -> list[m.EvalPoint]:
    """Eval records: `Repo.eval_results` where it exists, else the journal's "eval" records."""
    reader = getattr(repo, "eval_results", None)
    records = reader(name) if callable(reader) else repo.index.records("eval", name)
    seq_of = {v["id"]: v["seq"] for v in versions}
    newest: dict[int, dict[str, Any]] = {}
    for r in records:
        seq = r.get("seq") if r.get("seq") is not None else seq_of.get(r.get("version") or "")
        if isinstance(seq, int):
            newest[seq] = r  # oldest first: the newest record of a version wins
    out = []
    for seq, r in sorted(newest.items()):
        for metric in ("accuracy", "macro_f1", "ece"):
            if _num(r.get(metric)) is not None:
                out.append(m.EvalPoint(seq=seq, metric=metric, value=float(r[metric])))
        for c in r.get("per_class") or []:
            if isinstance(c, dict) and _num(c.get("recall")) is not None:
                out.append(m.EvalPoint(seq=seq, metric=f"recall:{c.get('label')}", value=float(c["recall"])))
    if not out:
        notes["eval"] = "No eval results recorded: `dslineage eval` adds model accuracy and calibration per version."
    return out


def lineage(repo: Repo) -> tuple[list[m.LineageNode], list[m.LineageEdge], str]:
    """The collapsed lineage graph, each node in a column by its longest path from a source."""
    from dslineage.ops.lineage import plain
    from dslineage.ops.lineage_view import units

    nodes, edges = units(plain(repo.lineage(None)))
    if not nodes:
        return [], [], "The lineage graph is empty."
    ids = {n["id"] for n in nodes}
    edges = [e for e in edges if e["from"] in ids and e["to"] in ids]
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(ids)
    g.add_edges_from((e["from"], e["to"]) for e in edges)
    col: dict[str, int] = {}
    order = list(nx.topological_sort(g)) if nx.is_directed_acyclic_graph(g) else [n["id"] for n in nodes]
    for n in order:
        col[n] = max((col.get(p, 0) + 1 for p in g.predecessors(n) if p in col), default=0)
    note = ""
    limit = 120
    if len(nodes) > limit:
        keep = set(order[-limit:])
        note = (
            f"{len(nodes)} nodes after collapsing chains: the newest {limit} are drawn; `dslineage lineage` lists all."
        )
        nodes = [n for n in nodes if n["id"] in keep]
        edges = [e for e in edges if e["from"] in keep and e["to"] in keep]
    lanes: dict[int, int] = {}
    out = []
    for n in nodes:
        c = col.get(n["id"], 0)
        lane = lanes.get(c, 0)
        lanes[c] = lane + 1
        out.append(
            m.LineageNode(
                id=n["id"], kind=str(n["kind"]), label=str(n.get("label") or n["id"][:10]), column=c, lane=lane
            )
        )
    return out, [m.LineageEdge(source=e["from"], target=e["to"], kind=str(e["kind"])) for e in edges], note
