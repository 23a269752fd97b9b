"""`dslineage status`: which tracked datasets have uncommitted changes, row by row.

Changes are counted against the current version (the one HEAD's `.dvc` file records).
When the work tree holds another version's bytes (after `dslineage checkout NAME@v1`, or a
`git checkout` that changed the `.dvc` file) the entry says so; when HEAD records bytes no
version has (a git merge not recorded yet) it says what to run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage import dvcio
from dslineage.core import common
from dslineage.model import Merging, RowCounts, StatusEntry
from dslineage.store import rowdiff, rows

if TYPE_CHECKING:
    from dslineage.repo import Repo


def status(repo: Repo, names: list[str], counts: bool = True) -> list[StatusEntry]:
    """For each dataset: dirty or not and, if dirty, rows added/removed/modified vs current."""
    datasets = [repo.dataset(n) for n in names] if names else list(repo.datasets().values())
    result = []
    for ds in datasets:
        head, how = common.current_from(repo, ds)
        md5 = common.working_md5(repo, ds)
        entry: dict[str, Any] = {
            "dataset": ds.name,
            "path": ds.path,
            "version": head["seq"] if head else None,
            "dirty": head is None or md5 != (head["md5"] if head else None),
            "missing": md5 is None,
            "rows": {"added": 0, "removed": 0, "modified": 0},
            "worktree_version": None,
            "note": None,
            "merging": _merging(repo, ds.name),
        }
        if head is not None:
            entry.update(_where(repo, ds, head, how, md5))
        if entry["dirty"] and counts and md5 is not None:
            entry["rows"] = _counts(repo, ds, head)
        merging = entry["merging"]
        result.append(
            StatusEntry(
                dataset=ds.name,
                path=ds.path,
                version=entry["version"],
                dirty=entry["dirty"],
                missing=entry["missing"],
                rows=RowCounts(**entry["rows"]),
                worktree_version=entry["worktree_version"],
                note=entry["note"],
                merging=Merging(cells=merging["cells"], branch=merging["branch"]) if merging else None,
            )
        )
    return result


def _merging(repo: Repo, name: str) -> dict[str, Any] | None:
    """The dataset's stopped merge (conflicting cells, branch), or None."""
    from dslineage.ops import mergestate

    state = mergestate.read(repo.root, name)
    if state is None or state.get("state") != "conflicts":
        return None
    return {"cells": state.get("cells"), "branch": state.get("branch")}


def _where(repo: Repo, ds: Any, head: dict[str, Any], how: str, md5: str | None) -> dict[str, Any]:
    """`worktree_version` (the seq of another version the work file holds) and a `note`."""
    notes = []
    if how != "head":
        recorded = common.head_md5(repo, ds)
        if recorded is not None:
            notes.append(
                f"HEAD's {ds.path}.dvc records md5 {recorded[:10]} that no version has: record it "
                f"with `dslineage commit {ds.name} -m MSG` (or finish a merge with `dslineage merge`)"
            )
        else:
            notes.append(f"HEAD records no version of {ds.name} yet; counted against v{head['seq']}")
    held = None
    if md5 is not None and md5 != head["md5"]:
        same = repo.index.versions_with_md5(ds.name, md5)
        if same:
            held = max(same, key=lambda v: (v["seq"], v["timestamp"]))["seq"]
            notes.append(f"work tree holds v{held}, HEAD records v{head['seq']}")
        elif common.worktree_recorded_md5(repo, ds) != md5 and dvcio.cache_path(repo.root, md5).is_file():
            notes.append(
                f"work tree holds bytes no version on this branch records (the DVC cache has them: "
                f"another branch's version?), HEAD records v{head['seq']}: restore it with "
                f"`dslineage checkout {ds.name}@latest`"
            )
    return {"worktree_version": held, "note": "; ".join(notes) or None}


def _counts(repo: Repo, ds: Any, head: dict[str, Any] | None) -> dict[str, int]:
    con = common.row_connection(repo)
    try:
        new = common.working_source(repo, ds)
        if head is None:
            return {"added": rows.profile(con, new, ds).rows, "removed": 0, "modified": 0}
        old = common.version_source(repo, ds, head)
        _, s = rowdiff.compare(con, old, new, ds)
        return {"added": s["added"], "removed": s["removed"], "modified": s["relabeled"] + s["modified"]}
    finally:
        con.close()
