"""`dslineage log` and `dslineage show`: the versions of datasets (`dslineage.model.Version`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from dslineage.core.refs import resolve
from dslineage.model import Version, VersionDetail

if TYPE_CHECKING:
    from dslineage.repo import Repo


def entry(v: Mapping[str, object]) -> Version:
    """The `log --json` entry of one version record (or index row)."""
    return Version.from_record(v)


def log(repo: Repo, name: str | None) -> list[Version]:
    """Versions of one dataset (or all), newest first."""
    if name:
        repo.dataset(name)
    return [Version.from_record(v) for v in repo.index.versions(name)]


def show(repo: Repo, ref: str) -> VersionDetail:
    """One version with schema, class distribution and tags."""
    from dslineage.quality.results import for_version

    ds, v = resolve(repo, ref)
    return VersionDetail.build(
        v, path=ds.path, tags=repo.index.tags_of(v["id"]), quality=for_version(repo, ds.name, v["id"])
    )
