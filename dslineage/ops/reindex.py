"""`dslineage reindex`: rebuild the DuckDB index from the journal, then swap it in.

The new index is built in `.dslineage/tmp/` and renamed over the old one, so a crash
leaves either the old index or the new one (both are caches of the journal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dslineage import config, faults, files, txn
from dslineage.model_ops import ReindexResult
from dslineage.store.index import Index

if TYPE_CHECKING:
    from dslineage.repo import Repo

STEPS = txn.declare("reindex", "after-build", git=False, index=True, intent=False)


def reindex(repo: Repo) -> ReindexResult:
    """Index every journal record into a new index file, then replace the old one with it."""
    faults.operation("reindex")
    tmp = repo.root / config.META_DIR / "tmp" / "index-rebuild.duckdb"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    wal = tmp.with_name(tmp.name + ".wal")
    for stale in (tmp, wal):
        stale.unlink(missing_ok=True)
    new = Index(repo.root, lambda: repo.git.commits_adding(config.JOURNAL_DIR), path=tmp)
    try:
        counts = new.sync(force=True)
        result = ReindexResult(records=counts["added"], versions=new.version_count())
    finally:
        new.close()
    faults.fault("reindex", "after-build")
    repo.index.close()
    live = repo.index.path
    old_wal = live.with_name(live.name + ".wal")
    old_wal.unlink(missing_ok=True)  # a WAL left by the old file must not replay onto the new one
    files.rename_into_place(tmp, live)
    return result
