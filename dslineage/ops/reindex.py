"""`dslineage reindex`: throw the DuckDB index away and rebuild it from the journal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dslineage.repo import Repo


def reindex(repo: Repo) -> dict[str, Any]:
    """Delete the index file and index every journal record again."""
    repo.index.drop()
    counts = repo.index.sync(force=True)
    return {"records": counts["added"], "versions": len(repo.index.versions())}
