"""`dslineage status`: which tracked datasets have uncommitted changes, row by row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage.ops import common
from dslineage.store import rows

if TYPE_CHECKING:
    from dslineage.repo import Repo


def status(repo: Repo, names: list[str], counts: bool = True) -> list[dict[str, Any]]:
    """For each dataset: dirty or not and, if dirty, rows added/removed/modified vs latest."""
    datasets = [repo.dataset(n) for n in names] if names else list(repo.datasets().values())
    result = []
    for ds in datasets:
        head = common.latest(repo, ds.name)
        md5 = common.working_md5(repo, ds)
        entry: dict[str, Any] = {
            "dataset": ds.name,
            "path": ds.path,
            "version": head["seq"] if head else None,
            "dirty": head is None or md5 != (head["md5"] if head else None),
            "missing": md5 is None,
            "rows": {"added": 0, "removed": 0, "modified": 0},
            "merging": _merging(repo, ds.name),
        }
        if entry["dirty"] and counts and md5 is not None:
            entry["rows"] = _counts(repo, ds, head)
        result.append(entry)
    return result


def _merging(repo: Repo, name: str) -> dict[str, Any] | None:
    """The dataset's stopped merge (conflicting cells, branch), or None."""
    from dslineage.ops import mergestate

    state = mergestate.read(repo.root, name)
    if state is None or state.get("state") != "conflicts":
        return None
    return {"cells": state.get("cells"), "branch": state.get("branch")}


def _counts(repo: Repo, ds: Any, head: dict[str, Any] | None) -> dict[str, int]:
    con = common.row_connection(repo)
    try:
        new = common.working_source(repo, ds)
        if head is None:
            return {"added": rows.profile(con, new, ds).rows, "removed": 0, "modified": 0}
        old = common.version_source(repo, ds, head)
        _, s = rows.compare(con, old, new, ds)
        return {"added": s["added"], "removed": s["removed"], "modified": s["relabeled"] + s["modified"]}
    finally:
        con.close()
