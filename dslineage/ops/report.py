"""`dslineage report`: gather what the report shows into its data model (`ops/report_model.py`).

Everything comes from the index and the journal (versions with their stored class
distributions and change counts, batches, check/audit/eval records, the lineage graph); only
the A..B transitions (a diff, folded from change sets where it can be) and the batches'
edits files (annotators, the changed rows) are read beyond that.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dslineage import journal
from dslineage.errors import UsageError
from dslineage.ops import report_model as m

if TYPE_CHECKING:
    from dslineage.config import Dataset
    from dslineage.repo import Repo


def report(repo: Repo, names: list[str], *, versions: str | None = None) -> m.Report:
    """The report of the named datasets (default: every tracked one) and the lineage graph."""
    known = repo.datasets()
    for n in names:
        repo.dataset(n)  # UnknownDatasetError, one line
    chosen = names or sorted(known)
    a_ref, b_ref = _split_range(versions)
    datasets = [_dataset(repo, repo.dataset(n), a_ref, b_ref) for n in chosen]
    nodes, edges, note = _lineage(repo)
    notes = {"lineage": note} if note else {}
    if not chosen:
        notes["datasets"] = "No dataset is tracked yet: run `dslineage track` and `dslineage commit`."
    return m.Report(
        title="dslineage report: " + (", ".join(chosen) or repo.root.name), generated=journal.now(),
        repository=repo.root.name, datasets=datasets, lineage_nodes=nodes, lineage_edges=edges, notes=notes,
    )


def _split_range(text: str | None) -> tuple[str | None, str | None]:
    if not text:
        return None, None
    a, sep, b = text.partition("..")
    if not sep or not a or not b or "@" in a or "@" in b:
        raise UsageError(f"--versions takes A..B (e.g. v1..v3, a tag or an id prefix), not {text!r}")
    return a, b


def _labels(v: dict[str, Any], column: str | None) -> dict[str, int]:
    raw = v.get("label_distribution")
    dist = (json.loads(raw) if isinstance(raw, str) else raw) or {}
    return {str(d["label"]): int(d["count"]) for d in dist.get(column, [])} if column else {}


def _dataset(repo: Repo, ds: Dataset, a_ref: str | None, b_ref: str | None) -> m.DatasetReport:
    from dslineage.core.refs import resolve
    from dslineage.ops import batches as batch_ops

    col = ds.labels[0] if ds.labels else None
    versions = sorted(repo.index.versions(ds.name), key=lambda v: (v["seq"], v["timestamp"]))
    notes: dict[str, str] = {}
    catalog = batch_ops.catalog(repo, ds.name)
    a: dict[str, Any] | None
    b: dict[str, Any] | None
    if a_ref and b_ref:
        a = resolve(repo, f"{ds.name}@{a_ref}")[1]
        b = resolve(repo, f"{ds.name}@{b_ref}")[1]
    elif len(versions) >= 2:
        a, b = versions[0], versions[-1]
    else:
        a = b = versions[0] if versions else None
    if len(versions) < 2:
        notes["compare"] = (f"{ds.name} has {len(versions)} version{'s' if len(versions) != 1 else ''}: no "
                            "transitions, class shift or changed rows to show until a second version is committed.")
    annotations = _annotations(repo, catalog)
    batches = [_batch(e, annotations.get(e["id"], {})) for e in catalog]
    transitions, shift = _compare(repo, ds, col, a, b, notes)
    changed, total = _changed_rows(repo, ds, catalog, a, b, notes)
    return m.DatasetReport(
        name=ds.name, label_column=col,
        a={"seq": a["seq"], "id": a["id"]} if a and b and a["id"] != b["id"] else None,
        b={"seq": b["seq"], "id": b["id"]} if a and b and a["id"] != b["id"] else None,
        versions_total=len(versions), timeline=timeline(versions, repo.index.tags(ds.name), catalog, notes),
        distribution=distribution(versions, col, notes), transitions=transitions, shift=shift,
        batches=batches, annotators=_annotators(batches), agreement=_agreement(repo, ds.name),
        changed_rows=changed, changed_total=total, quality=_quality(repo, ds.name, versions),
        evals=_evals(repo, ds.name, versions, notes), notes=notes,
    )


def timeline(versions: list[dict[str, Any]], tag_map: dict[str, str], catalog: list[dict[str, Any]],
             notes: dict[str, str]) -> list[m.VersionPoint]:
    """The timeline's points (oldest first): one per version, or bins of versions beyond
    `MAX_TIMELINE` (with a note saying so)."""
    tags: dict[str, list[str]] = {}
    for tag, vid in tag_map.items():
        tags.setdefault(vid, []).append(tag)
    by_version: dict[str, list[dict[str, Any]]] = {}
    for e in catalog:
        if e.get("version"):
            by_version.setdefault(e["version"], []).append(e)
    points = []
    for v in versions:
        mine = by_version.get(v["id"], [])
        points.append(m.VersionPoint(
            seq=v["seq"], seq_end=v["seq"], id=v["id"], timestamp=v["timestamp"] or "", author=v["author"] or "",
            message=v["message"] or "", rows=v["rows"], added=v["added"], removed=v["removed"],
            relabeled=v["relabeled"], tags=sorted(tags.get(v["id"], [])), batches=[e["id"] for e in mine],
            reverted_batches=sum(1 for e in mine if e.get("reverted")),
        ))
    if len(points) <= m.MAX_TIMELINE:
        return points
    size = -(-len(points) // m.MAX_TIMELINE)
    notes["timeline"] = (f"{len(points):,} versions: the timeline sums them in bins of {size} versions "
                         "(tags and batches of a bin are merged).")
    return [_bin(points[i:i + size]) for i in range(0, len(points), size)]


def _sum(values: list[int | None]) -> int | None:
    return None if any(v is None for v in values) else sum(v or 0 for v in values)


def _bin(chunk: list[m.VersionPoint]) -> m.VersionPoint:
    last = chunk[-1]
    return m.VersionPoint(
        seq=chunk[0].seq, seq_end=last.seq, id=last.id, timestamp=last.timestamp, author=last.author,
        message=f"v{chunk[0].seq}–v{last.seq}", rows=last.rows, added=_sum([p.added for p in chunk]),
        removed=_sum([p.removed for p in chunk]), relabeled=_sum([p.relabeled for p in chunk]),
        tags=[t for p in chunk for t in p.tags], batches=[b for p in chunk for b in p.batches],
        reverted_batches=sum(p.reverted_batches for p in chunk),
    )


def distribution(versions: list[dict[str, Any]], col: str | None, notes: dict[str, str]) -> list[m.ClassCount]:
    """Rows per class in each version drawn (evenly sampled beyond `MAX_DIST_VERSIONS`), the
    smaller classes merged into "other" beyond `MAX_CLASSES`."""
    if not col or not versions:
        return []
    picked = versions
    if len(versions) > m.MAX_DIST_VERSIONS:
        step = (len(versions) - 1) / (m.MAX_DIST_VERSIONS - 1)
        picked = [versions[round(i * step)] for i in range(m.MAX_DIST_VERSIONS)]
        notes["distribution"] = f"{len(versions):,} versions: {m.MAX_DIST_VERSIONS} of them, evenly spaced, are drawn."
    counts = [(v["seq"], _labels(v, col)) for v in picked]
    totals: dict[str, int] = {}
    for _, c in counts:
        for label, n in c.items():
            totals[label] = totals.get(label, 0) + n
    ranked = sorted(totals, key=lambda k: (-totals[k], k))
    keep = set(ranked if len(ranked) <= m.MAX_CLASSES + 1 else ranked[:m.MAX_CLASSES])
    if len(ranked) > len(keep):
        notes["classes"] = (f"{len(ranked)} classes: the {len(keep)} largest are drawn in their own colour, "
                            f"the other {len(ranked) - len(keep)} together as \"other\".")
    out = []
    for seq, c in counts:
        other = 0
        for label, n in c.items():
            if label in keep:
                out.append(m.ClassCount(seq=seq, label=label, count=n))
            else:
                other += n
        if other:
            out.append(m.ClassCount(seq=seq, label="other", count=other))
    return out


def _compare(repo: Repo, ds: Dataset, col: str | None, a: dict[str, Any] | None, b: dict[str, Any] | None,
             notes: dict[str, str]) -> tuple[list[m.Transition], list[m.ClassShift]]:
    if not col or a is None or b is None or a["id"] == b["id"]:
        return [], []
    from dslineage.ops.diff import diff

    d = diff(repo, f"{ds.name}@{a['id']}", f"{ds.name}@{b['id']}")
    transitions = [m.Transition(from_label=str(t["from"]), to_label=str(t["to"]), count=int(t["count"]))  # type: ignore[arg-type]
                   for t in d.label_transitions if t["column"] == col and t["from"] != t["to"]]
    shift = [m.ClassShift(label=str(c.label), a=int(c.a), b=int(c.b), delta=int(c.b) - int(c.a))
             for c in d.class_distribution if c.column == col]
    labels = {t.from_label for t in transitions} | {t.to_label for t in transitions}
    if len(labels) > m.MAX_HEATMAP:
        notes["transitions"] = (f"{len(labels)} classes changed: instead of a {len(labels)}×{len(labels)} heatmap, "
                                f"the {m.TOP_PAIRS} most frequent label changes are drawn.")
    if len(shift) > 40:
        shift = sorted(shift, key=lambda s: -abs(s.delta))[:40]
        notes["shift"] = "More than 40 classes: the 40 with the largest change are drawn."
    return transitions, shift


def _annotations(repo: Repo, catalog: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Batch id → rows per annotator, from the edits files present."""
    from dslineage.core.common import row_connection
    from dslineage.ops import batches as batch_ops
    from dslineage.store.report import annotator_counts

    if not catalog:
        return {}
    recs = {r["id"]: r for r in repo.index.records("batch", catalog[0]["dataset"])}
    out: dict[str, dict[str, int]] = {}
    con = row_connection(repo)
    try:
        for e in catalog:
            rec = recs.get(e["id"])
            if rec and rec.get("edits") and batch_ops.edits_path(repo, rec).is_file():
                out[e["id"]] = annotator_counts(con, str(batch_ops.edits_path(repo, rec)))
    finally:
        con.close()
    return out


def _batch(e: dict[str, Any], annotators: dict[str, int]) -> m.Batch:
    return m.Batch(
        id=e["id"], seq=e.get("seq"), column=str(e.get("column") or ""), author=str(e.get("author") or ""),
        reason=str(e.get("reason") or ""), rows=int(e.get("rows") or 0), state=str(e.get("state") or ""),
        reverted=bool(e.get("reverted")), reverted_by=e.get("reverted_by"), reverts=e.get("reverts"),
        timestamp=str(e.get("timestamp") or ""), annotators=annotators,
    )


def _annotators(batches: list[m.Batch]) -> list[m.Annotator]:
    rows: dict[str, list[int]] = {}
    for b in batches:
        if b.reverts:  # a revert's rows are the undoing, not annotation work
            continue
        for who, n in (b.annotators or {b.author: b.rows}).items():
            name = who or b.author or "(unnamed)"
            r = rows.setdefault(name, [0, 0, 0])
            r[0] += n
            r[1] += 1
            r[2] += n if b.reverted else 0
    return sorted((m.Annotator(name=k, rows=v[0], batches=v[1], reverted_rows=v[2]) for k, v in rows.items()),
                  key=lambda a: (-a.rows, a.name))


def _agreement(repo: Repo, name: str) -> dict[str, Any] | None:
    for rec in reversed(repo.index.records("audit", name)):
        if rec.get("agreement"):
            return {"seq": rec.get("seq"), **rec["agreement"]}
    return None


def _changed_rows(repo: Repo, ds: Dataset, catalog: list[dict[str, Any]], a: dict[str, Any] | None,
                  b: dict[str, Any] | None, notes: dict[str, str]) -> tuple[list[m.ChangedRow], int]:
    """Edits of the batches committed after A up to B (reverted ones too), capped."""
    if a is None or b is None or a["id"] == b["id"]:
        return [], 0
    from dslineage.core.common import row_connection
    from dslineage.ops import batches as batch_ops
    from dslineage.store import edit_batch, rows

    lo, hi = sorted((a["seq"], b["seq"]))
    chosen = [e for e in catalog if e.get("seq") is not None and lo < e["seq"] <= hi]
    total = sum(int(e.get("rows") or 0) for e in chosen)
    recs = {r["id"]: r for r in repo.index.records("batch", ds.name)}
    out: list[m.ChangedRow] = []
    con = row_connection(repo)
    try:
        for e in chosen:
            rec = recs.get(e["id"])
            room = m.MAX_CHANGED_ROWS - len(out)
            if room <= 0 or not rec or not batch_ops.edits_path(repo, rec).is_file():
                continue
            table = edit_batch.read_edits(con, batch_ops.edits_path(repo, rec), room)
            keys = rec.get("keys") or ds.key
            for r in table.to_pylist():
                key = ", ".join(str(rows.plain(r[f"k{i}"])) for i in range(len(keys)))
                out.append(m.ChangedRow(
                    key=key, old=str(rows.plain(r["old"])), new=str(rows.plain(r["new"])), batch=e["id"],
                    annotator=str(r.get("annotator") or e.get("author") or ""), reason=str(r.get("reason") or ""),
                    seq=e.get("seq"), reverted=bool(e.get("reverted")),
                ))
    finally:
        con.close()
    if total > len(out):
        notes["changed_rows"] = (f"{total:,} edited rows in batches v{lo}→v{hi}: the first {len(out):,} are listed; "
                                 f"`dslineage batches` and `dslineage show BATCH --json` list them all.")
    return out, total


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


def _quality(repo: Repo, name: str, versions: list[dict[str, Any]]) -> list[m.QualityPoint]:
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
            metric = rule + (f" {r['statistic']}" if r.get("statistic") else "") + (
                f" ({r['column']})" if r.get("column") else "")
            out.append(m.QualityPoint(
                seq=v["seq"], source="drift" if rule == "max_drift" else "check", metric=metric, value=value,
                threshold=threshold, passed=bool(r.get("passed")),
                bound="max" if rule.startswith("max") else "min" if rule.startswith("min") else "",
            ))
        audit = q.get("audit") or {}
        for metric, value in (
            ("imbalance ratio", (audit.get("imbalance") or {}).get("ratio")),
            ("conflicting duplicate rows", (audit.get("conflicting_duplicates") or {}).get("rows")),
            ("Krippendorff's alpha", (audit.get("agreement") or {}).get("krippendorff_alpha")),
            ("largest subgroup gap", (audit.get("subgroups") or {}).get("max_gap")),
        ):
            number = _num(value)
            if number is not None:
                out.append(m.QualityPoint(seq=v["seq"], source="audit", metric=metric, value=number,
                                          threshold=None, passed=None, bound=""))
    return out


def _evals(repo: Repo, name: str, versions: list[dict[str, Any]], notes: dict[str, str]) -> list[m.EvalPoint]:
    """Eval records (issue 13): `Repo.eval_results` where it exists, else the journal's "eval" records."""
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


def _lineage(repo: Repo) -> tuple[list[m.LineageNode], list[m.LineageEdge], str]:
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
        note = (f"{len(nodes)} nodes after collapsing chains: the newest {limit} are drawn; "
                "`dslineage lineage` lists all.")
        nodes = [n for n in nodes if n["id"] in keep]
        edges = [e for e in edges if e["from"] in keep and e["to"] in keep]
    lanes: dict[int, int] = {}
    out = []
    for n in nodes:
        c = col.get(n["id"], 0)
        lane = lanes.get(c, 0)
        lanes[c] = lane + 1
        out.append(m.LineageNode(id=n["id"], kind=str(n["kind"]), label=str(n.get("label") or n["id"][:10]),
                                 column=c, lane=lane))
    return out, [m.LineageEdge(source=e["from"], target=e["to"], kind=str(e["kind"])) for e in edges], note
