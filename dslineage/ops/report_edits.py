"""`dslineage report`: what changed between the compared versions A and B (transitions and class
shift, from a diff) and the edit batches behind it (rows per annotator from their edits files,
the annotators' totals, the changed rows themselves)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage.ops import report_model as m

if TYPE_CHECKING:
    from dslineage.config import Dataset
    from dslineage.repo import Repo


def compare(
    repo: Repo, ds: Dataset, col: str | None, a: dict[str, Any] | None, b: dict[str, Any] | None, notes: dict[str, str]
) -> tuple[list[m.Transition], list[m.ClassShift]]:
    """The A → B label transitions and class shift of the label column (a diff), capped for the charts."""
    if not col or a is None or b is None or a["id"] == b["id"]:
        return [], []
    from dslineage.ops.diff import diff

    d = diff(repo, f"{ds.name}@{a['id']}", f"{ds.name}@{b['id']}")
    transitions = [
        m.Transition(from_label=str(t["from"]), to_label=str(t["to"]), count=int(t["count"]))  # type: ignore[arg-type]
        for t in d.label_transitions
        if t["column"] == col and t["from"] != t["to"]
    ]
    shift = [
        m.ClassShift(label=str(c.label), a=int(c.a), b=int(c.b), delta=int(c.b) - int(c.a))
        for c in d.class_distribution
        if c.column == col
    ]
    labels = {t.from_label for t in transitions} | {t.to_label for t in transitions}
    if len(labels) > m.MAX_HEATMAP:
        notes["transitions"] = (
            f"{len(labels)} classes changed: instead of a {len(labels)}×{len(labels)} heatmap, "
            f"the {m.TOP_PAIRS} most frequent label changes are drawn."
        )
    if len(shift) > 40:
        shift = sorted(shift, key=lambda s: -abs(s.delta))[:40]
        notes["shift"] = "More than 40 classes: the 40 with the largest change are drawn."
    return transitions, shift


def rows_per_annotator(repo: Repo, catalog: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
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


def batch(e: dict[str, Any], annotators: dict[str, int]) -> m.Batch:
    """The report's record of one catalog entry (a batch) with its rows per annotator."""
    return m.Batch(
        id=e["id"],
        seq=e.get("seq"),
        column=str(e.get("column") or ""),
        author=str(e.get("author") or ""),
        reason=str(e.get("reason") or ""),
        rows=int(e.get("rows") or 0),
        state=str(e.get("state") or ""),
        reverted=bool(e.get("reverted")),
        reverted_by=e.get("reverted_by"),
        reverts=e.get("reverts"),
        timestamp=str(e.get("timestamp") or ""),
        annotators=annotators,
    )


def annotators(batches: list[m.Batch]) -> list[m.Annotator]:
    """Rows, batches and reverted rows per annotator over the batches (reverts left out)."""
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
    return sorted(
        (m.Annotator(name=k, rows=v[0], batches=v[1], reverted_rows=v[2]) for k, v in rows.items()),
        key=lambda a: (-a.rows, a.name),
    )


def agreement(repo: Repo, name: str) -> dict[str, Any] | None:
    """The annotator agreement of the newest audit that measured it, or None."""
    for rec in reversed(repo.index.records("audit", name)):
        if rec.get("agreement"):
            return {"seq": rec.get("seq"), **rec["agreement"]}
    return None


def changed_rows(
    repo: Repo,
    ds: Dataset,
    catalog: list[dict[str, Any]],
    a: dict[str, Any] | None,
    b: dict[str, Any] | None,
    notes: dict[str, str],
) -> tuple[list[m.ChangedRow], int]:
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
                out.append(
                    m.ChangedRow(
                        key=key,
                        old=str(rows.plain(r["old"])),
                        new=str(rows.plain(r["new"])),
                        batch=e["id"],
                        annotator=str(r.get("annotator") or e.get("author") or ""),
                        reason=str(r.get("reason") or ""),
                        seq=e.get("seq"),
                        reverted=bool(e.get("reverted")),
                    )
                )
    finally:
        con.close()
    if total > len(out):
        notes["changed_rows"] = (
            f"{total:,} edited rows in batches v{lo}→v{hi}: the first {len(out):,} are listed; "
            f"`dslineage batches` and `dslineage show BATCH --json` list them all."
        )
    return out, total
