"""Directory datasets in the verbs: a commit's change set from the changed parts only,
DVC's hints for the parts, backing up and rewriting only the parts that hold edited rows.
The parts themselves (manifests, scans, sources) live in `store.parts`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dslineage.config import Dataset
from dslineage.core import common

if TYPE_CHECKING:
    from dslineage.repo import Repo


def part_hints(repo: Repo, ds: Dataset) -> dict[str, str]:
    """The working parts' md5s already known for their current stat (relpath -> md5), for
    DVC's state db: `dvc add` then hashes none of them again."""
    found = common.working_parts(repo, ds, compute=False) or []
    return {p.relpath: p.md5 for p in found}
