"""One dataset's three-way merge whatever its format, for `merge --resolve` and for a merge
git made without the driver: a file is merged whole (`ops.merge_file.three_way`, written by
`ops.merge_file.write_file`), a directory part by part (`ops.merge_dirs.plan_dir`, renamed into
place by `apply_dir`). Nothing visible changes until `write()`, inside the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dslineage.config import DIR_FORMAT, Dataset
from dslineage.ops import merge_dirs
from dslineage.ops.merge_file import three_way, write_file
from dslineage.ops.merge_sides import Sides

if TYPE_CHECKING:
    from dslineage.repo import Repo


@dataclass
class Merged:
    """A dataset's merge, computed and not yet written."""

    repo: Repo
    con: Any
    ds: Dataset
    ours_md5: str
    conflicts: Any  # pyarrow Table of the unresolved cells (empty when none)
    counts: dict[str, int]
    label_changes: Any = None  # the change set against ours when only labels changed (files)
    outcome: Any = None  # a file's MergeOutcome
    plan: merge_dirs.DirMerge | None = None  # a directory's staged parts

    @property
    def left(self) -> int:
        """How many conflicting cells remain unresolved."""
        return int(self.conflicts.num_rows)

    def write(self) -> str:
        """Write the merged dataset (inside the open transaction); its md5."""
        if self.plan is not None:
            return merge_dirs.apply_dir(self.repo, self.con, self.ds, self.plan)
        return write_file(self.repo, self.con, self.ds, self.outcome, self.ours_md5)

    def discard(self) -> None:
        """Forget what was staged and not written."""
        if self.plan is not None:
            self.plan.discard()


def merged(repo: Repo, con: Any, ds: Dataset, sides: Sides) -> Merged:
    """The merge of a dataset's `sides`, conflicts settled by their `prefer` / `resolutions`
    as far as they go."""
    if ds.format == DIR_FORMAT:
        plan = merge_dirs.plan_dir(repo.root, con, ds, sides, merge_dirs.locator(repo))
        conflicts = plan.conflicts if plan.conflicts is not None else _no_conflicts()
        return Merged(repo, con, ds, sides.ours, conflicts, plan.counts, plan=plan)
    outcome = three_way(repo, con, ds, sides)
    return Merged(
        repo,
        con,
        ds,
        sides.ours,
        outcome.conflicts,
        dict(outcome.counts),
        label_changes=outcome.label_changes,
        outcome=outcome,
    )


def _no_conflicts() -> Any:
    import pyarrow as pa

    return pa.table({"column": pa.array([], pa.string())})
