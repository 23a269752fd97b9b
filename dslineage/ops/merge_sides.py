"""What a dataset's three-way merge starts from, whatever its format: the DVC objects of its
three sides and how its conflicting cells are to be settled (`Sides`), and the versions a
merge version joins (`MergeParents`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sides:
    """The md5s of a dataset's three sides (`base` None: no common version) and how conflicting
    cells are settled, as `store.merge.merge3` takes it: `prefer` "ours" / "theirs" for every
    one, or `resolutions` (key columns, column, value as JSON text) cell by cell."""

    base: str | None
    ours: str
    theirs: str
    prefer: str | None = None
    resolutions: Any = None

    @classmethod
    def of(cls, md5: Mapping[str, Any], *, prefer: str | None = None, resolutions: Any = None) -> Sides:
        """The sides a merging state names (keys `base_md5`, `ours_md5`, `theirs_md5`)."""
        return cls(md5.get("base_md5"), str(md5["ours_md5"]), str(md5["theirs_md5"]), prefer, resolutions)


@dataclass(frozen=True)
class MergeParents:
    """The versions (index records) a merge version joins: `ours` and `theirs`, its parents,
    their common `base` (None: none), and the git branch merged (None: not known)."""

    ours: dict[str, Any]
    theirs: dict[str, Any]
    base: dict[str, Any] | None
    branch: str | None = None
