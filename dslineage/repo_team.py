"""Working as a team: merging branches row by row (conflicts, resolve, abort, the git merge
driver) and sharing versions through a DVC remote (push, pull).

A mixin of `dslineage.Repo` (`dslineage/repo.py`); the methods are Repo's, typed `self: Repo`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dslineage.model_base import options
from dslineage.model_merge import ConflictsOptions, MergeOptions, RemoteOptions, ResolveOptions

if TYPE_CHECKING:
    from dslineage.model_merge import MergeAborted, MergeConflicts, MergeResolved, MergeResult
    from dslineage.model_ops import PullResult, PushResult
    from dslineage.repo import Repo


class TeamMixin:
    """Merges of branches and sharing through a DVC remote."""

    def merge(self: Repo, branch: str, *, message: str | None = None, author: str | None = None) -> MergeResult:
        """Merge a git branch, datasets both sides changed row by row (a merge version each)."""
        opts = options(MergeOptions, locals())
        from dslineage.ops.merge import merge

        return merge(self, branch, opts)

    def merge_conflicts(self: Repo, name: str, *, output: str | None = None) -> MergeConflicts:
        """The conflicting cells of a dataset whose merge stopped, with the batch of each side."""
        opts = options(ConflictsOptions, locals())
        from dslineage.ops.merge_conflicts import conflicts

        return conflicts(self, name, opts)

    def merge_resolve(
        self: Repo,
        name: str,
        *,
        ours: bool = False,
        theirs: bool = False,
        from_file: str | None = None,
        author: str | None = None,
    ) -> MergeResolved:
        """Finish a stopped merge of a dataset: every conflict to ours, theirs, or values from a file."""
        opts = options(ResolveOptions, locals())
        from dslineage.ops.merge_resolve import resolve

        return resolve(self, name, opts)

    def merge_abort(self: Repo) -> MergeAborted:
        """Abandon the merge in progress (git's and the datasets')."""
        from dslineage.ops.merge_resolve import abort

        return abort(self)

    @staticmethod
    def merge_driver(base: str, ours: str, theirs: str, path: str) -> int:
        """The git merge driver for a dataset's `.dvc` file (run by git; takes no lock)."""
        from dslineage.ops.merge_driver import run

        return run(Path.cwd(), base, ours, theirs, path)

    def push(self: Repo, names: list[str] | None = None, *, remote: str | None = None) -> PushResult:
        """Push the DVC cache objects of every version of the named (default: all) datasets."""
        opts = options(RemoteOptions, locals())
        from dslineage.ops.push import push

        return push(self, names or [], opts)

    def pull(self: Repo, ref: str, *, remote: str | None = None) -> PullResult:
        """Fetch exactly the DVC cache object of one version (`NAME@REF`) into the local cache."""
        opts = options(RemoteOptions, locals())
        from dslineage.ops.pull import pull

        return pull(self, ref, opts)
