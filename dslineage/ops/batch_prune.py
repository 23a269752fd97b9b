"""`batches --prune` (and `fsck --repair`): delete the journal files of discarded batches —
applied with `--no-commit`, never committed, their edits gone from the working file —
keeping a log of what was deleted."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import config, journal
from dslineage.model_base import from_mapping
from dslineage.model_edits import PrunedBatch, PruneResult
from dslineage.ops.batches import holds_edits, journal_paths

if TYPE_CHECKING:
    from dslineage.repo import Repo


def discarded(
    repo: Repo,
    dataset: str | None = None,
    *,
    records: list[dict[str, Any]] | None = None,
    untracked: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Batches no version carries, whose journal files git does not track, and whose edits
    the working file no longer holds: what `batches --prune` and `fsck --repair` delete."""
    recs = (
        records
        if records is not None
        else [*repo.index.records("version", dataset), *repo.index.records("batch", dataset)]
    )
    carried = {b for r in recs if r.get("kind") == "version" for b in r.get("batches") or []}
    unlinked = [
        r
        for r in recs
        if r.get("kind") == "batch" and r["id"] not in carried and (dataset is None or r.get("dataset") == dataset)
    ]
    if untracked is None:
        untracked = {p for code, p in repo.git.status(config.JOURNAL_DIR) if code == "??"}
    datasets = repo.datasets()
    folder = journal.folder(repo.root)
    out = []
    for rec in unlinked:
        rel = (folder / journal.file_name(rec)).relative_to(repo.root).as_posix()
        ds = datasets.get(rec.get("dataset", ""))
        if rel in untracked and ds is not None and holds_edits(repo, ds, rec, unlinked) is False:
            out.append(rec)
    return out


def prune_log(repo: Repo) -> Path:
    """Where pruned batches are logged: inside the git directory, local to this clone like the
    batches themselves (they were never committed, so no other clone has them)."""
    return Path(repo.git.run("rev-parse", "--absolute-git-dir").strip()) / "dslineage" / "pruned.jsonl"


def prune_one(repo: Repo, rec: dict[str, Any], *, by: str) -> dict[str, Any]:
    """Delete one discarded batch's record and edits, and append what was deleted to the log."""
    import json

    # the edits first, the record last: a crash in between leaves a record fsck still prunes
    files = [p for p in reversed(journal_paths(repo, rec)) if (repo.root / p).exists()]
    entry = {
        "pruned_at": journal.now(),
        "by": by,
        "files": files,
        **{k: rec.get(k) for k in ("id", "dataset", "column", "author", "reason", "rows", "timestamp", "base_version")},
    }
    log = prune_log(repo)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as fh:  # logged first: a crash leaves a log line, not lost files
        fh.write(json.dumps(entry) + "\n")
        fh.flush()
    for p in files:
        (repo.root / p).unlink(missing_ok=True)
    return entry


def prune(repo: Repo, dataset: str | None = None) -> PruneResult:
    """`dslineage batches --prune`: delete every discarded batch's files (logged in `prune_log`)."""
    if dataset is not None:
        repo.dataset(dataset)  # an unknown name is an error, not "nothing to prune"
    pruned = [prune_one(repo, rec, by="batches --prune") for rec in discarded(repo, dataset)]
    if pruned:
        repo.index.sync(force=True)
    return PruneResult(
        pruned=[from_mapping(PrunedBatch, e) for e in pruned], log=str(prune_log(repo)) if pruned else None
    )
