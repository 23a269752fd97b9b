"""Versions of one repository: set up, track, commit, and read versions back (log, show, diff,
history, status), move between them (checkout, tag) and keep the index and store sound
(reindex, fsck).

A mixin of `dslineage.Repo` (`dslineage/repo.py`); the methods are Repo's, typed `self: Repo`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage.model_base import options
from dslineage.model_quality import TrackOptions

if TYPE_CHECKING:
    from dslineage.model import DiffResult, History, RemoteReads, StatusEntry, Version, VersionDetail
    from dslineage.model_edits import BatchDetail, CommittedVersion
    from dslineage.model_ops import CheckoutResult, FsckResult, InitResult, ReindexResult, TagResult, TrackResult
    from dslineage.repo import Repo


class VersionsMixin:
    """Set-up, versions and their reads, checkout, tags, index upkeep."""

    @classmethod
    def init(cls, path: str | Path = ".", *, merge_driver: bool = True) -> InitResult:
        """Create (or confirm) a git + DVC + dslineage repository at `path`; registers the git
        merge driver for datasets' `.dvc` files (`merge_driver=False` removes it)."""
        from dslineage.ops.init import init

        return init(Path(path), merge_driver=merge_driver)

    def track(
        self: Repo,
        path: str,
        key: list[str],
        labels: list[str],
        *,
        name: str | None = None,
        format: str | None = None,
        labels_allowed: list[Any] | None = None,
        roles: dict[str, list[str]] | None = None,
        label_pairs: list[str] | list[tuple[str, str]] | None = None,
    ) -> TrackResult:
        """Register a dataset file (adopting earlier DVC history of it, if any).

        `name` (default: the file name without suffixes), `format` (default: from the suffix),
        `labels_allowed` (the values a relabel may set), `roles` ("features", "predictions",
        "groups", "ignore" → columns), `label_pairs` (label columns that map one-to-one, as
        "A=B" or (A, B)).
        """
        opts = options(TrackOptions, locals())
        from dslineage.ops.track import track

        return track(self, path, key, labels, opts)

    def commit(
        self: Repo,
        names: list[str] | None = None,
        message: str = "",
        author: str | None = None,
        *,
        no_verify: bool = False,
    ) -> list[CommittedVersion]:
        """Record a new version of every named (default: every) dataset whose file changed.

        Datasets with rules in `.dslineage/checks.yaml` must pass them unless `no_verify`.
        """
        from dslineage.ops.commit import commit

        return commit(self, names or [], message, author, no_verify=no_verify)

    def resolve(self: Repo, ref: str) -> Version:
        """The version a reference such as `train@v3` or `train@latest~1` names."""
        from dslineage.core.refs import resolve
        from dslineage.model import Version

        return Version.from_record(resolve(self, ref)[1])

    def log(self: Repo, name: str | None = None) -> list[Version]:
        """Versions, newest first."""
        from dslineage.ops.log import log

        return log(self, name)

    def show(self: Repo, ref: str) -> VersionDetail | BatchDetail:
        """One version with its schema and class distribution (or, for a batch id, the batch)."""
        from dslineage.ops.batches import maybe_show
        from dslineage.ops.log import show

        return maybe_show(self, ref) or show(self, ref)

    def diff(
        self: Repo, a: str, b: str | None = None, *, rows: int = 0, output: str | None = None, fetch: bool = False
    ) -> DiffResult:
        """Row-level diff of two versions (B defaults to the working file). Versions not in the
        local cache are read from an S3 remote (`fetch`: downloaded into the cache first)."""
        from dslineage.core.remote import reading
        from dslineage.ops.diff import diff

        with reading(self, fetch=fetch):
            return diff(self, a, b, rows=rows, output=output)

    def remote_reads(self: Repo) -> RemoteReads | None:
        """What the last `diff`, `blame`, `audit` or `eval` read straight from the S3 remote
        (objects, bytes received, their size), or None when it read nothing remotely."""
        from dslineage.core.remote import reads

        return reads(self)

    def history(self: Repo, name: str, key: list[Any] | dict[str, Any] | str, *, fetch: bool = False) -> History:
        """The label timeline of one row, oldest event first (`fetch`: download a version the row
        lookup needs when it is missing from the cache, instead of reading it from S3)."""
        from dslineage.core.remote import reading
        from dslineage.ops.history import history

        with reading(self, fetch=fetch):
            return history(self, name, key)

    def checkout(self: Repo, ref: str, *, force: bool = False) -> CheckoutResult:
        """Restore a dataset's working file (and `.dvc` file) to a version."""
        from dslineage.ops.checkout import checkout

        return checkout(self, ref, force=force)

    def status(self: Repo, names: list[str] | None = None, *, counts: bool = True) -> list[StatusEntry]:
        """Tracked datasets with row-level counts of uncommitted changes."""
        from dslineage.ops.status import status

        return status(self, names or [], counts=counts)

    def tag(self: Repo, ref: str, tag: str) -> TagResult:
        """Give a version a name usable as `NAME@TAG`."""
        from dslineage.ops.tag import tag as tag_op

        return tag_op(self, ref, tag)

    def reindex(self: Repo) -> ReindexResult:
        """Delete the index and rebuild it from the journal."""
        from dslineage.ops.reindex import reindex

        return reindex(self)

    def fsck(self: Repo, *, deep: bool = False, repair: bool = False, remote: bool = False) -> FsckResult:
        """Check git, `.dvc` files, the DVC cache, the journal and the index against each other
        (with `remote`: also which versions' objects are on no DVC remote)."""
        from dslineage.ops.fsck import fsck

        return fsck(self, deep=deep, repair=repair, remote=remote)
