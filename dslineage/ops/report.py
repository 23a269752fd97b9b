"""`dslineage report`: gather what the report shows into its data model (`ops/report_model.py`).

Everything comes from the index and the journal (versions with their stored class
distributions and change counts, batches, check/audit/eval records, the lineage graph); only
the A..B transitions (a diff, folded from change sets where it can be) and the batches'
edits files (annotators, the changed rows) are read beyond that. This module gathers a dataset's
versions (timeline, class distribution); `report_edits` the A..B comparison and the batches,
`report_records` the stored quality and eval figures and the lineage graph.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dslineage import journal
from dslineage.errors import UsageError
from dslineage.ops import report_edits, report_records
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
    nodes, edges, note = report_records.lineage(repo)
    notes = {"lineage": note} if note else {}
    if not chosen:
        notes["datasets"] = "No dataset is tracked yet: run `dslineage track` and `dslineage commit`."
    return m.Report(
        title="dslineage report: " + (", ".join(chosen) or repo.root.name),
        generated=journal.now(),
        repository=repo.root.name,
        datasets=datasets,
        lineage_nodes=nodes,
        lineage_edges=edges,
        notes=notes,
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
        notes["compare"] = (
            f"{ds.name} has {len(versions)} version{'s' if len(versions) != 1 else ''}: no "
            "transitions, class shift or changed rows to show until a second version is committed."
        )
    annotations = report_edits.rows_per_annotator(repo, catalog)
    batches = [report_edits.batch(e, annotations.get(e["id"], {})) for e in catalog]
    transitions, shift = report_edits.compare(repo, ds, col, a, b, notes)
    changed, total = report_edits.changed_rows(repo, ds, catalog, a, b, notes)
    return m.DatasetReport(
        name=ds.name,
        label_column=col,
        a={"seq": a["seq"], "id": a["id"]} if a and b and a["id"] != b["id"] else None,
        b={"seq": b["seq"], "id": b["id"]} if a and b and a["id"] != b["id"] else None,
        versions_total=len(versions),
        timeline=timeline(versions, repo.index.tags(ds.name), catalog, notes),
        distribution=distribution(versions, col, notes),
        transitions=transitions,
        shift=shift,
        batches=batches,
        annotators=report_edits.annotators(batches),
        agreement=report_edits.agreement(repo, ds.name),
        changed_rows=changed,
        changed_total=total,
        quality=report_records.quality(repo, ds.name, versions),
        evals=report_records.evals(repo, ds.name, versions, notes),
        notes=notes,
    )


def timeline(
    versions: list[dict[str, Any]], tag_map: dict[str, str], catalog: list[dict[str, Any]], notes: dict[str, str]
) -> list[m.VersionPoint]:
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
        points.append(
            m.VersionPoint(
                seq=v["seq"],
                seq_end=v["seq"],
                id=v["id"],
                timestamp=v["timestamp"] or "",
                author=v["author"] or "",
                message=v["message"] or "",
                rows=v["rows"],
                added=v["added"],
                removed=v["removed"],
                relabeled=v["relabeled"],
                tags=sorted(tags.get(v["id"], [])),
                batches=[e["id"] for e in mine],
                reverted_batches=sum(1 for e in mine if e.get("reverted")),
            )
        )
    if len(points) <= m.MAX_TIMELINE:
        return points
    size = -(-len(points) // m.MAX_TIMELINE)
    notes["timeline"] = (
        f"{len(points):,} versions: the timeline sums them in bins of {size} versions "
        "(tags and batches of a bin are merged)."
    )
    return [_bin(points[i : i + size]) for i in range(0, len(points), size)]


def _sum(values: list[int | None]) -> int | None:
    return None if any(v is None for v in values) else sum(v or 0 for v in values)


def _bin(chunk: list[m.VersionPoint]) -> m.VersionPoint:
    last = chunk[-1]
    return m.VersionPoint(
        seq=chunk[0].seq,
        seq_end=last.seq,
        id=last.id,
        timestamp=last.timestamp,
        author=last.author,
        message=f"v{chunk[0].seq}–v{last.seq}",
        rows=last.rows,
        added=_sum([p.added for p in chunk]),
        removed=_sum([p.removed for p in chunk]),
        relabeled=_sum([p.relabeled for p in chunk]),
        tags=[t for p in chunk for t in p.tags],
        batches=[b for p in chunk for b in p.batches],
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
    keep = set(ranked if len(ranked) <= m.MAX_CLASSES + 1 else ranked[: m.MAX_CLASSES])
    if len(ranked) > len(keep):
        notes["classes"] = (
            f"{len(ranked)} classes: the {len(keep)} largest are drawn in their own colour, "
            f'the other {len(ranked) - len(keep)} together as "other".'
        )
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
