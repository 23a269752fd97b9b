"""Label edits as lineage: relabel batches, their catalog, blame, revert, cherry-pick, rollback
and the impact of a batch.

A mixin of `dslineage.Repo` (`dslineage/repo.py`); the methods are Repo's, typed `self: Repo`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage.model_base import options
from dslineage.model_edits import BlameOptions, CherryPickOptions, RelabelOptions, RevertOptions
from dslineage.model_ops import RollbackOptions

if TYPE_CHECKING:
    from dslineage.model import Batch, Blame
    from dslineage.model_edits import BatchDetail, PruneResult, RelabelResult, RevertResult
    from dslineage.model_lineage import BatchImpact, Downstream
    from dslineage.model_ops import CherryPickResult, RollbackResult
    from dslineage.repo import Repo


class EditsMixin:
    """Label edits: batches and what they changed."""

    def relabel(
        self: Repo,
        name: str,
        edits: Any = None,
        *,
        from_file: str | None = None,
        by: str | None = None,
        reason: str | None = None,
        column: str | None = None,
        commit: bool = True,
        skip_missing: bool = False,
        force: bool = False,
        message: str | None = None,
        expect_old: bool = False,
        ignore_columns: bool = False,
        file_format: str = "edits",
        key_field: str | None = None,
        from_name: str | None = None,
        queue: str | None = None,
    ) -> RelabelResult:
        """Apply label edits (`{key: label}`, `["KEY=LABEL", ...]` or `from_file=PATH`) as one
        recorded batch.

        `by` (who; default: the git identity), `reason`, `column` (edit only this label column;
        `ignore_columns`: ignore an edits file's other label columns), `commit` (False: record
        the batch, the next commit carries it), `skip_missing` (ignore unknown keys), `force`
        (edit a working file with uncommitted changes), `message` (the commit message),
        `expect_old` (the edits file must carry each row's expected old label), `file_format`
        ("label-studio": `from_file` is a Label Studio JSON export, its row key the task data field
        `key_field`, its label the choices control `from_name`), `queue` (the review queue the
        edits review: the batch links to it).
        """
        opts = options(RelabelOptions, locals())
        from dslineage.ops.relabel import relabel

        return relabel(self, name, opts)

    def batches(self: Repo, name: str | None = None) -> list[Batch]:
        """Edit batches (of one dataset or all), oldest first, with state and revert status."""
        from dslineage.model import Batch
        from dslineage.ops.batches import catalog

        if name:
            self.dataset(name)
        return [Batch.from_entry(e) for e in catalog(self, name)]

    def prune_batches(self: Repo, name: str | None = None) -> PruneResult:
        """Delete discarded batches' journal files (never committed; their edits are gone from
        the working file); each is logged in `.git/dslineage/pruned.jsonl`."""
        from dslineage.ops.batch_prune import prune

        return prune(self, name)

    def batch(self: Repo, batch_id: str, *, limit: int | None = None) -> BatchDetail:
        """One edit batch by id prefix, with its per-row edits."""
        from dslineage.ops.batches import show

        return show(self, batch_id, limit)

    def blame(
        self: Repo,
        ref: str,
        *,
        column: str | None = None,
        label: Any = None,
        by: str | None = None,
        batch: str | None = None,
        since: str | None = None,
        output: str | None = None,
        changed_only: bool = False,
        fetch: bool = False,
    ) -> Blame:
        """Who set each row's current label (table under "table").

        Filters: `column` (the label column), `label` (rows with this label), `by` (set by this
        author), `batch` (set by this batch), `since` (set after this version); `output` writes
        every row to a file; `changed_only`: only rows relabeled after the first version;
        `fetch`: download a version missing from the cache instead of reading it from S3.
        """
        opts = options(BlameOptions, locals())
        from dslineage.core.remote import reading
        from dslineage.ops.blame import blame

        with reading(self, fetch=opts.fetch):
            return blame(self, ref, opts)

    def revert(
        self: Repo,
        target: str,
        *,
        dry_run: bool = False,
        strategy: str = "keep",
        by: str | None = None,
        reason: str | None = None,
        message: str | None = None,
        force: bool = False,
    ) -> RevertResult:
        """Undo one batch's (or version's) label changes.

        `dry_run` (report only), `strategy` ("keep": leave rows relabeled since; "force": revert
        them too), `by`, `reason`, `message` (the commit message), `force` (revert over
        uncommitted changes of the working file).
        """
        opts = options(RevertOptions, locals())
        from dslineage.ops.revert import revert

        return revert(self, target, opts)

    def cherry_pick(
        self: Repo,
        batch: str,
        *,
        column: str | None = None,
        force: bool = False,
        dry_run: bool = False,
        by: str | None = None,
        reason: str | None = None,
        message: str | None = None,
    ) -> CherryPickResult:
        """Apply a batch (of another branch, or an earlier reverted one) as a new batch that
        links to it; rows whose label is no longer the batch's old label are conflicts."""
        opts = options(CherryPickOptions, locals())
        from dslineage.ops.cherry_pick import cherry_pick

        return cherry_pick(self, batch, opts)

    def rollback(
        self: Repo, name: str, to: str, message: str, *, author: str | None = None, force: bool = False
    ) -> RollbackResult:
        """A new version identical (same md5) to `to`; `author` (default: the git identity),
        `force` (overwrite uncommitted changes of the working file)."""
        opts = options(RollbackOptions, locals())
        from dslineage.ops.rollback import rollback

        return rollback(self, name, opts)

    def impact(self: Repo, batch_id: str) -> BatchImpact | Downstream:
        """Which later versions still carry a batch's labels, and how many rows."""
        from dslineage.ops.impact import impact

        return impact(self, batch_id)
