"""`dslineage log` and `dslineage show`: the versions of datasets, as plain dicts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dslineage.core.refs import resolve

if TYPE_CHECKING:
    from dslineage.repo import Repo

LOG_KEYS = (
    "id", "seq", "dataset", "md5", "parent", "parents", "git_commit", "message", "author", "timestamp", "rows",
)


def entry(v: dict[str, Any]) -> dict[str, Any]:
    """The `log --json` shape of one version."""
    out = {k: v.get(k) for k in LOG_KEYS}
    out["parents"] = list(v.get("parents") or ([v["parent"]] if v.get("parent") else []))
    out["label_changes"] = v.get("relabeled") if v.get("changes_known") else None
    out["changes"] = {
        "known": bool(v.get("changes_known")),
        "added": v.get("added"),
        "removed": v.get("removed"),
        "relabeled": v.get("relabeled"),
        "modified": v.get("modified"),
    }
    return out


def log(repo: Repo, name: str | None) -> list[dict[str, Any]]:
    """Versions of one dataset (or all), newest first."""
    if name:
        repo.dataset(name)
    return [entry(v) for v in repo.index.versions(name)]


def show(repo: Repo, ref: str) -> dict[str, Any]:
    """One version with schema, class distribution and tags."""
    ds, v = resolve(repo, ref)
    out = entry(v)
    out["path"] = ds.path
    out["schema"] = json.loads(v["schema"]) if v.get("schema") else None
    dist = json.loads(v["label_distribution"]) if v.get("label_distribution") else None
    out["class_distribution"] = dist
    out["tags"] = repo.index.tags_of(v["id"])
    from dslineage.quality.results import for_version

    out["quality"] = for_version(repo, ds.name, v["id"])
    return out
