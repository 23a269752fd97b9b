"""`dslineage annotators NAME [--since REF]`: per annotator, how they voted in the recorded
consensus rounds — votes, rounds, agreement with the consensus, skill — and Krippendorff's
alpha over every recorded vote.

The votes come from the journal ("votes" records and their `.votes.parquet`), so they
include votes that agreed with the label already there. A round whose batch was reverted
(and not re-applied) is left out; `reverted` in the library result says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dslineage import journal

if TYPE_CHECKING:
    from dslineage.repo import Repo


@dataclass(frozen=True)
class AnnotatorStats:
    """One annotator over the recorded votes (skill: the rounds' skills, weighted by votes)."""

    annotator: str
    votes: int
    batches: int
    agreement_with_consensus: float
    skill: float | None


@dataclass(frozen=True)
class AnnotatorsResult:
    """The `annotators --json` contract."""

    dataset: str
    annotators: list[AnnotatorStats]
    alpha: float | None


def rounds(repo: Repo, name: str, since: str | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The dataset's consensus rounds (votes records, oldest first) counted, and those left out
    because their batch was reverted; `since` keeps rounds recorded after version REF."""
    from dslineage.core.refs import resolve
    from dslineage.ops.batches import catalog

    ds = repo.dataset(name)
    after = resolve(repo, f"{ds.name}@{since}")[1]["timestamp"] if since else None
    reverted = {e["id"] for e in catalog(repo, ds.name) if e.get("reverted")}
    kept: list[dict[str, Any]] = []
    left: list[dict[str, Any]] = []
    for rec in repo.index.records("votes", ds.name):
        if after is not None and rec["timestamp"] <= after:
            continue
        (left if rec.get("batch") in reverted else kept).append(rec)
    return kept, left


def annotators(repo: Repo, name: str, *, since: str | None = None) -> AnnotatorsResult:
    """Per-annotator votes, rounds, agreement with consensus and skill, and Krippendorff's alpha,
    over the recorded votes of `name` (rounds of reverted batches left out)."""
    import duckdb

    from dslineage.quality.agreement import agreement
    from dslineage.store import votes as vsql

    ds = repo.dataset(name)
    kept, _ = rounds(repo, ds.name, since)
    folder = journal.folder(repo.root)
    files = [(str(folder / r["votes"]), r["id"]) for r in kept if (folder / r["votes"]).is_file()]
    if not files:
        return AnnotatorsResult(dataset=ds.name, annotators=[], alpha=None)
    con = duckdb.connect(":memory:")
    try:
        vsql.recorded(con, files, len(ds.key))
        per = vsql.recorded_per_annotator(con)
        counts = vsql.recorded_counts(con)
        figures = agreement(vsql.recorded_ratings(con))
    finally:
        con.close()
    skills = {r["id"]: r.get("skills") or {} for r in kept}
    weighted: dict[str, list[float]] = {}
    for rid, annotator, n in counts:
        s = skills.get(rid, {}).get(annotator)
        if s is not None:
            acc = weighted.setdefault(annotator, [0.0, 0.0])
            acc[0] += s * n
            acc[1] += n
    rows = [
        AnnotatorStats(
            annotator=a,
            votes=n,
            batches=b,
            agreement_with_consensus=acc,
            skill=(weighted[a][0] / weighted[a][1]) if a in weighted and weighted[a][1] else None,
        )
        for a, n, b, acc in per
    ]
    return AnnotatorsResult(dataset=ds.name, annotators=rows, alpha=figures["krippendorff_alpha"] if figures else None)
