"""`dslineage.Repo`: the library API. One method per command, each returning plain data.

It stays one module on purpose: `Repo` is a facade of short methods (explicit keyword-only
options, a lazy import, one call into `ops/`), read top to bottom as the API's table of
contents; the work lives in `ops/`, so splitting it would scatter the index, not the logic."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from dslineage import config
from dslineage.errors import NotARepoError
from dslineage.gitio import Git
from dslineage.lock import RepoLock
from dslineage.store.index import Index

if TYPE_CHECKING:
    from dslineage.engine import Engine
    from dslineage.model import (
        Batch,
        Blame,
        DiffResult,
        Experiment,
        ExperimentSummary,
        History,
        RemoteReads,
        StatusEntry,
        Version,
        VersionDetail,
    )
    from dslineage.model_edits import BatchDetail, CommittedVersion, RelabelResult, RevertResult
    from dslineage.model_lineage import BatchImpact, Downstream, Lineage
    from dslineage.model_merge import MergeAborted, MergeConflicts, MergeResolved, MergeResult
    from dslineage.model_ops import (
        CheckoutResult,
        CherryPickResult,
        FsckResult,
        PullResult,
        PushResult,
        ReindexResult,
        RollbackResult,
        TagResult,
        TrackResult,
    )
    from dslineage.model_quality import AuditResult, CheckResult, DriftResult
    from dslineage.ops.annotators import AnnotatorsResult
    from dslineage.ops.consensus import ConsensusResult
    from dslineage.ops.evaluate import EvalResult
    from dslineage.ops.queues import QueueDetail, QueueSummary
    from dslineage.ops.review import ReviewResult

F = TypeVar("F", bound=Callable[..., Any])


def _locked(fn: F) -> F:
    """Run a command method holding the repository lock; release it (and the index file,
    which DuckDB keeps locked while open) when the outermost command returns."""

    def wrapper(self: Repo, *args: Any, **kwargs: Any) -> Any:
        self._depth += 1
        try:
            if self._depth == 1:
                self.lock.acquire()
                if fn.__name__ not in _NO_RECOVER:
                    self._recover()
                    self._merge_upkeep()
            return fn(self, *args, **kwargs)
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.close()

    return cast(F, functools.update_wrapper(wrapper, fn))


_NO_RECOVER = {"fsck"}  # fsck reports an interrupted operation; `fsck --repair` recovers it
_UNLOCKED = {
    "init", "datasets", "dataset", "close", "lock", "index", "git", "settings", "merge_driver", "remote_reads",
}


def _lock_commands(cls: type) -> type:
    """Wrap every public command method of `cls` (present and future) with `_locked`."""
    for name, value in list(vars(cls).items()):
        if name.startswith("_") or name in _UNLOCKED or not inspect.isfunction(value):
            continue
        setattr(cls, name, _locked(value))
    return cls


@_lock_commands
class Repo:
    """A git + DVC repository initialized for dslineage.

    >>> repo = Repo("path/to/project")          # doctest: +SKIP
    >>> repo.diff("train@v1", "train@latest")   # doctest: +SKIP
    """

    def __init__(
        self, path: str | Path | None = None, *, wait_for_lock: float | None = None, scheduler: str | None = None
    ) -> None:
        from dslineage.engine import check_spec

        start = Path(path or ".").resolve()
        self._wait_for_lock = wait_for_lock
        self._scheduler = check_spec(scheduler, "--scheduler") if scheduler is not None else None
        self._depth = 0
        self.recovered: list[dict[str, Any]] = []  # interrupted operations this object recovered
        self.driver_was_missing = False  # this clone lacked the git merge driver (now added)
        self.recorded_merges: list[dict[str, Any]] = []  # merge versions recorded from driver notes
        self.root = Git.find_root(start)
        if not (self.root / config.META_DIR).is_dir():
            raise NotARepoError(
                f"{self.root} is not initialized for dslineage: run `dslineage init` first"
            )

    # -- plumbing ---------------------------------------------------------------------------

    @cached_property
    def git(self) -> Git:
        """The git adapter for this work tree."""
        return Git(self.root)

    @cached_property
    def lock(self) -> RepoLock:
        """The repository lock (taken with the index, released by `close()`)."""
        return RepoLock(self.root / config.META_DIR / "lock", self._wait_for_lock)

    @cached_property
    def _index(self) -> Index:
        return Index(self.root, lambda: self.git.commits_adding(config.JOURNAL_DIR))

    @property
    def index(self) -> Index:
        """The DuckDB index, synced with the journal on first query.

        Command methods hold the repository lock while they run; touching the index outside
        one takes the lock until `close()`.
        """
        if not self.lock.held:
            self.lock.acquire()
            self._recover()
        return self._index

    def _recover(self) -> None:
        """Complete or roll back an operation a crash interrupted (see `dslineage.txn`)."""
        from dslineage import txn

        if not (self.root / txn.INTENT).exists():
            return
        result = txn.recover(self.root, self.git)
        if result:
            self.recovered.append(result)
        if not (self.root / config.META_DIR).is_dir():  # an interrupted `init` was rolled back
            raise NotARepoError(
                f"{self.root} is not initialized for dslineage: run `dslineage init` first"
            )

    def _merge_upkeep(self) -> None:
        """Register the git merge driver in a clone that lacks it; record the merge versions
        of merges the driver completed (see `dslineage.ops.merge_driver`)."""
        from dslineage.ops import merge_driver
        from dslineage.ops.mergestate import MERGE_DIR

        try:
            self.driver_was_missing = merge_driver.ensure(self.root, self.git) or self.driver_was_missing
        except Exception as exc:  # a read-only .git/config must not stop every command
            logging.getLogger("dslineage").debug("cannot register the git merge driver: %s", exc)
        if (self.root / MERGE_DIR).is_dir():
            from dslineage.errors import DslineageError
            from dslineage.ops.merge_record import record_pending

            try:
                self.recorded_merges += record_pending(self)
            except DslineageError as exc:  # the command itself still runs; the next one retries
                logging.getLogger("dslineage").warning(
                    "dslineage: the merge version the git merge driver left is not recorded yet: %s", exc)

    @cached_property
    def settings(self) -> dict[str, Any]:
        """Settings from `.dslineage/config.yaml` and DSLINEAGE_* variables."""
        return config.load_settings(self.root)

    @property
    def engine_spec(self) -> str | None:
        """The engine asked for: the `scheduler` given, else the `engine:` setting (checked), else
        None (nothing chosen: a caller may then keep to one DuckDB query on this machine)."""
        from dslineage.engine import check_spec

        if self._scheduler is not None:
            return self._scheduler
        spec = self.settings.get("engine")
        return check_spec(spec, f"{config.SETTINGS_FILE} engine:") if spec is not None else None

    @cached_property
    def engine(self) -> Engine:
        """Where per-partition tasks run (`engine_spec`, by default a local process pool). Opened on
        first use (a scheduler unreachable then is an EngineError); released by `close()`."""
        from dslineage.engine import open_engine

        return open_engine(self.engine_spec)

    def datasets(self) -> dict[str, config.Dataset]:
        """Tracked datasets by name."""
        return config.load_datasets(self.root)

    def dataset(self, name: str) -> config.Dataset:
        """One tracked dataset, or UnknownDatasetError."""
        return config.get_dataset(self.root, name)

    def close(self) -> None:
        """Release the index connection, the engine's workers or client, and the repository lock."""
        if "engine" in self.__dict__:
            self.__dict__.pop("engine").close()
        if "_index" in self.__dict__:
            self._index.close()
        if "lock" in self.__dict__:
            self.lock.release()

    def __enter__(self) -> Repo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commands ---------------------------------------------------------------------------

    @classmethod
    def init(cls, path: str | Path = ".", *, merge_driver: bool = True) -> dict[str, Any]:
        """Create (or confirm) a git + DVC + dslineage repository at `path`; registers the git
        merge driver for datasets' `.dvc` files (`merge_driver=False` removes it)."""
        from dslineage.ops.init import init

        return init(Path(path), merge_driver=merge_driver)

    def track(
        self, path: str, key: list[str], labels: list[str], *, name: str | None = None,
        format: str | None = None, labels_allowed: list[Any] | None = None,
        roles: dict[str, list[str]] | None = None,
        label_pairs: list[str] | list[tuple[str, str]] | None = None,
    ) -> TrackResult:
        """Register a dataset file (adopting earlier DVC history of it, if any).

        `name` (default: the file name without suffixes), `format` (default: from the suffix),
        `labels_allowed` (the values a relabel may set), `roles` ("features", "predictions",
        "groups", "ignore" → columns), `label_pairs` (label columns that map one-to-one, as
        "A=B" or (A, B)).
        """
        from dslineage.ops.track import track

        return track(self, path, key, labels, name=name, format=format, labels_allowed=labels_allowed,
                     roles=roles, label_pairs=label_pairs)

    def commit(
        self, names: list[str] | None = None, message: str = "", author: str | None = None,
        *, no_verify: bool = False,
    ) -> list[CommittedVersion]:
        """Record a new version of every named (default: every) dataset whose file changed.

        Datasets with rules in `.dslineage/checks.yaml` must pass them unless `no_verify`.
        """
        from dslineage.ops.commit import commit

        return commit(self, names or [], message, author, no_verify=no_verify)

    def merge(self, branch: str, *, message: str | None = None, author: str | None = None) -> MergeResult:
        """Merge a git branch, datasets both sides changed row by row (a merge version each)."""
        from dslineage.ops.merge import merge

        return merge(self, branch, message=message, author=author)

    def merge_conflicts(self, name: str, *, output: str | None = None) -> MergeConflicts:
        """The conflicting cells of a dataset whose merge stopped, with the batch of each side."""
        from dslineage.ops.merge_resolve import conflicts

        return conflicts(self, name, output=output)

    def merge_resolve(
        self, name: str, *, ours: bool = False, theirs: bool = False, from_file: str | None = None,
        author: str | None = None,
    ) -> MergeResolved:
        """Finish a stopped merge of a dataset: every conflict to ours, theirs, or values from a file."""
        from dslineage.ops.merge_resolve import resolve

        return resolve(self, name, ours=ours, theirs=theirs, from_file=from_file, author=author)

    def merge_abort(self) -> MergeAborted:
        """Abandon the merge in progress (git's and the datasets')."""
        from dslineage.ops.merge_resolve import abort

        return abort(self)

    @staticmethod
    def merge_driver(base: str, ours: str, theirs: str, path: str) -> int:
        """The git merge driver for a dataset's `.dvc` file (run by git; takes no lock)."""
        from dslineage.ops.merge_driver import run

        return run(Path.cwd(), base, ours, theirs, path)

    def resolve(self, ref: str) -> dict[str, Any]:
        """The version a reference such as `train@v3` or `train@latest~1` names."""
        from dslineage.core.refs import resolve

        return resolve(self, ref)[1]

    def log(self, name: str | None = None) -> list[Version]:
        """Versions, newest first."""
        from dslineage.ops.log import log

        return log(self, name)

    def show(self, ref: str) -> VersionDetail | BatchDetail:
        """One version with its schema and class distribution (or, for a batch id, the batch)."""
        from dslineage.ops.batches import maybe_show
        from dslineage.ops.log import show

        return maybe_show(self, ref) or show(self, ref)

    def diff(
        self, a: str, b: str | None = None, *, rows: int = 0, output: str | None = None, fetch: bool = False
    ) -> DiffResult:
        """Row-level diff of two versions (B defaults to the working file). Versions not in the
        local cache are read from an S3 remote (`fetch`: downloaded into the cache first)."""
        from dslineage.core.remote import reading
        from dslineage.ops.diff import diff

        with reading(self, fetch=fetch):
            return diff(self, a, b, rows=rows, output=output)

    def remote_reads(self) -> RemoteReads | None:
        """What the last `diff`, `blame`, `audit` or `eval` read straight from the S3 remote
        (objects, bytes received, their size), or None when it read nothing remotely."""
        from dslineage.core.remote import reads

        return reads(self)

    def history(self, name: str, key: list[Any] | dict[str, Any] | str, *, fetch: bool = False) -> History:
        """The label timeline of one row, oldest event first (`fetch`: download a version the row
        lookup needs when it is missing from the cache, instead of reading it from S3)."""
        from dslineage.core.remote import reading
        from dslineage.ops.history import history

        with reading(self, fetch=fetch):
            return history(self, name, key)

    def checkout(self, ref: str, *, force: bool = False) -> CheckoutResult:
        """Restore a dataset's working file (and `.dvc` file) to a version."""
        from dslineage.ops.checkout import checkout

        return checkout(self, ref, force=force)

    def status(self, names: list[str] | None = None, *, counts: bool = True) -> list[StatusEntry]:
        """Tracked datasets with row-level counts of uncommitted changes."""
        from dslineage.ops.status import status

        return status(self, names or [], counts=counts)

    def tag(self, ref: str, tag: str) -> TagResult:
        """Give a version a name usable as `NAME@TAG`."""
        from dslineage.ops.tag import tag as tag_op

        return tag_op(self, ref, tag)

    def reindex(self) -> ReindexResult:
        """Delete the index and rebuild it from the journal."""
        from dslineage.ops.reindex import reindex

        return reindex(self)

    def fsck(self, *, deep: bool = False, repair: bool = False, remote: bool = False) -> FsckResult:
        """Check git, `.dvc` files, the DVC cache, the journal and the index against each other
        (with `remote`: also which versions' objects are on no DVC remote)."""
        from dslineage.ops.fsck import fsck

        return fsck(self, deep=deep, repair=repair, remote=remote)

    # -- sharing through a DVC remote (issue 10) -------------------------------------------

    def push(self, names: list[str] | None = None, *, remote: str | None = None) -> PushResult:
        """Push the DVC cache objects of every version of the named (default: all) datasets."""
        from dslineage.ops.push import push

        return push(self, names or [], remote=remote)

    def pull(self, ref: str, *, remote: str | None = None) -> PullResult:
        """Fetch exactly the DVC cache object of one version (`NAME@REF`) into the local cache."""
        from dslineage.ops.pull import pull

        return pull(self, ref, remote=remote)

    # -- label edits as lineage (issue 3) ---------------------------------------------------

    def relabel(
        self, name: str, edits: Any = None, *, from_file: str | None = None, by: str | None = None,
        reason: str | None = None, column: str | None = None, commit: bool = True,
        skip_missing: bool = False, force: bool = False, message: str | None = None,
        expect_old: bool = False, ignore_columns: bool = False, file_format: str = "edits",
        key_field: str | None = None, from_name: str | None = None, queue: str | None = None,
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
        from dslineage.ops.relabel import relabel

        return relabel(self, name, edits, from_file=from_file, by=by, reason=reason, column=column,
                       commit=commit, skip_missing=skip_missing, force=force, message=message,
                       expect_old=expect_old, ignore_columns=ignore_columns, file_format=file_format,
                       key_field=key_field, from_name=from_name, queue=queue)

    def batches(self, name: str | None = None) -> list[Batch]:
        """Edit batches (of one dataset or all), oldest first, with state and revert status."""
        from dslineage.model import Batch
        from dslineage.ops.batches import catalog

        if name:
            self.dataset(name)
        return [Batch.from_entry(e) for e in catalog(self, name)]

    def prune_batches(self, name: str | None = None) -> dict[str, Any]:
        """Delete discarded batches' journal files (never committed; their edits are gone from
        the working file); each is logged in `.git/dslineage/pruned.jsonl`."""
        from dslineage.ops.batch_prune import prune

        return prune(self, name)

    def batch(self, batch_id: str, *, limit: int | None = None) -> BatchDetail:
        """One edit batch by id prefix, with its per-row edits."""
        from dslineage.ops.batches import show

        return show(self, batch_id, limit)

    def blame(
        self, ref: str, *, column: str | None = None, label: Any = None, by: str | None = None,
        batch: str | None = None, since: str | None = None, output: str | None = None,
        changed_only: bool = False, fetch: bool = False,
    ) -> Blame:
        """Who set each row's current label (table under "table").

        Filters: `column` (the label column), `label` (rows with this label), `by` (set by this
        author), `batch` (set by this batch), `since` (set after this version); `output` writes
        every row to a file; `changed_only`: only rows relabeled after the first version;
        `fetch`: download a version missing from the cache instead of reading it from S3.
        """
        from dslineage.core.remote import reading
        from dslineage.ops.blame import blame

        with reading(self, fetch=fetch):
            return blame(self, ref, column=column, label=label, by=by, batch=batch, since=since,
                         output=output, changed_only=changed_only)

    def consensus(
        self,
        name: str,
        *,
        votes: str,
        method: str = "majority",
        column: str | None = None,
        min_agreement: float | None = None,
        min_votes: int | None = None,
        by: str | None = None,
        reason: str | None = None,
        commit: bool = True,
        queue: str | None = None,
        fmt: str = "auto",
        key_field: str | None = None,
    ) -> ConsensusResult:
        """Reconcile annotators' votes (a long CSV/parquet/JSON Lines file, or a Label Studio export
        with `fmt="label-studio"`) with crowd-kit: rows whose consensus differs from their label
        become one relabel batch, rows below `min_agreement`/`min_votes` a review queue, and
        every vote is recorded."""
        from dslineage.ops.consensus import consensus

        return consensus(
            self, name, votes=votes, method=method, column=column, min_agreement=min_agreement,
            min_votes=min_votes, by=by, reason=reason, commit=commit, queue=queue, fmt=fmt, key_field=key_field,
        )

    def annotators(self, name: str, *, since: str | None = None) -> AnnotatorsResult:
        """Per-annotator votes, rounds, agreement with the consensus and skill, and Krippendorff's
        alpha over the recorded votes (rounds whose batch was reverted are left out)."""
        from dslineage.ops.annotators import annotators

        return annotators(self, name, since=since)

    def annotator_rounds_left_out(self, name: str, *, since: str | None = None) -> int:
        """How many consensus rounds `annotators` leaves out because their batch was reverted."""
        from dslineage.ops.annotators import rounds

        return len(rounds(self, name, since)[1])

    def revert(
        self, target: str, *, dry_run: bool = False, strategy: str = "keep", by: str | None = None,
        reason: str | None = None, message: str | None = None, force: bool = False,
    ) -> RevertResult:
        """Undo one batch's (or version's) label changes.

        `dry_run` (report only), `strategy` ("keep": leave rows relabeled since; "force": revert
        them too), `by`, `reason`, `message` (the commit message), `force` (revert over
        uncommitted changes of the working file).
        """
        from dslineage.ops.revert import revert

        return revert(self, target, dry_run=dry_run, strategy=strategy, by=by, reason=reason,
                      message=message, force=force)

    def cherry_pick(
        self, batch: str, *, column: str | None = None, force: bool = False, dry_run: bool = False,
        by: str | None = None, reason: str | None = None, message: str | None = None,
    ) -> CherryPickResult:
        """Apply a batch (of another branch, or an earlier reverted one) as a new batch that
        links to it; rows whose label is no longer the batch's old label are conflicts."""
        from dslineage.ops.cherry_pick import cherry_pick

        return cherry_pick(self, batch, column=column, force=force, dry_run=dry_run, by=by, reason=reason,
                           message=message)

    def rollback(
        self, name: str, to: str, message: str, *, author: str | None = None, force: bool = False
    ) -> RollbackResult:
        """A new version identical (same md5) to `to`; `author` (default: the git identity),
        `force` (overwrite uncommitted changes of the working file)."""
        from dslineage.ops.rollback import rollback

        return rollback(self, name, to, message, author=author, force=force)

    def impact(self, batch_id: str) -> BatchImpact | Downstream:
        """Which later versions still carry a batch's labels, and how many rows."""
        from dslineage.ops.impact import impact

        return impact(self, batch_id)

    # -- data-quality gates (quality/) ------------------------------------------------------

    def check(
        self, ref: str, *, record: bool = True, against: str | None = None, fetch: bool = False
    ) -> CheckResult:
        """Run a dataset's rules from `.dslineage/checks.yaml` (bare NAME: the working file);
        drift rules compare with `against`, the rules' `baseline:`, else the last passing version.
        `fetch`: download a version missing from the cache instead of reading it from S3."""
        from dslineage.core.remote import reading
        from dslineage.quality.check import check

        with reading(self, fetch=fetch):
            return check(self, ref, record=record, against=against)

    def drift(
        self, a: str, b: str | None = None, *, against: str | None = None, fetch: bool = False
    ) -> DriftResult:
        """Drift statistics of label and numeric columns A → B (B defaults to the working file;
        bare NAME: the working file against its baseline, or `against`). `fetch`: download a
        version missing from the cache instead of reading it from S3."""
        from dslineage.core.remote import reading
        from dslineage.quality.drift import drift

        with reading(self, fetch=fetch):
            return drift(self, a, b, against=against)

    def audit(
        self, ref: str, *, against: str | None = None, on: list[str] | None = None,
        group: str | None = None, record: bool = True, min_group_rows: int = 10, examples: int = 10,
        fetch: bool = False,
    ) -> AuditResult:
        """Duplicates with conflicting labels, leakage, annotator agreement, imbalance, subgroups.

        `against` (leakage against another version), `on` (the content columns of duplicates),
        `group` (the subgroup column), `record` (store the result of a committed version),
        `min_group_rows` (smaller subgroups are not compared), `examples` (examples per finding),
        `fetch` (download a version missing from the cache instead of reading it from S3).
        """
        from dslineage.core.remote import reading
        from dslineage.quality.audit import audit

        with reading(self, fetch=fetch):
            return audit(self, ref, against=against, on=on, group=group, record=record,
                         min_group_rows=min_group_rows, examples=examples)

    # -- lineage: pipelines, experiments, the graph (ops/run, sync, exp, reproduce, lineage) --

    def run(
        self, stage: str, command: list[str], *, deps: list[str] | None = None,
        outs: list[str] | None = None, params: list[str] | None = None, metrics: list[str] | None = None,
        keys: list[str] | None = None, labels: list[str] | None = None, message: str | None = None,
        author: str | None = None, force: bool = False,
    ) -> dict[str, Any]:
        """Define (or update) a DVC stage, run it through DVC and record the transformation.

        `deps`, `outs`, `params`, `metrics` as `dvc stage add` takes them (an empty `command`
        re-runs the stage as defined); `keys`/`labels` ("[OUT=]COL") register new outputs;
        `message`, `author` for the record; `force` runs an up-to-date stage anyway.
        """
        from dslineage.ops.run import run

        return run(self, stage, command, deps=deps, outs=outs, params=params, metrics=metrics, keys=keys,
                   labels=labels, message=message, author=author, force=force)

    def sync(self, *, author: str | None = None, all_commits: bool = False) -> dict[str, Any]:
        """Record the `dvc.lock` stage states no transformation records yet (idempotent); with
        `all_commits`, also those in dvc.lock's git history."""
        from dslineage.ops.sync import sync

        return sync(self, author=author, all_commits=all_commits)

    def exp_record(
        self, name: str, *, data: list[str] | None = None, params: str | None = None,
        metrics: str | None = None, message: str | None = None, author: str | None = None,
    ) -> dict[str, Any]:
        """Record an experiment: dataset versions, code commit, params, metrics, pipeline.

        `data` (NAME@REF refs; default: every dataset at its working version), `params` (file;
        default `params.yaml`), `metrics` (file; default: the metrics files `dvc.yaml` declares),
        `message`, `author`.
        """
        from dslineage.ops.exp import record

        return record(self, name, data=data, params=params, metrics=metrics, message=message, author=author)

    def exp_list(self) -> list[ExperimentSummary]:
        """Experiments, newest first."""
        from dslineage.ops.exp import list_experiments

        return list_experiments(self)

    def exp_show(self, name: str) -> Experiment:
        """One experiment record (by name: its newest record; or by id prefix)."""
        from dslineage.ops.exp import show

        return show(self, name)

    def exp_diff(self, a: str, b: str) -> dict[str, Any]:
        """Datasets (with row-level counts), params and metrics that differ between two experiments."""
        from dslineage.ops.exp import diff

        return diff(self, a, b)

    def reproduce(
        self, experiment: str, *, into: str | None = None, rerun: bool = False, force: bool = False
    ) -> dict[str, Any]:
        """Materialize (and verify) an experiment's data: in place, or under `into`; `rerun`
        re-runs its pipeline; `force` overwrites uncommitted changes (or a non-empty `into`)."""
        from dslineage.ops.reproduce import reproduce

        return reproduce(self, experiment, into=into, rerun=rerun, force=force)

    def lineage(
        self, node: str | None = None, *, direction: str = "both", depth: int | None = None,
        openlineage: bool = False, namespace: str | None = None, expand: bool = False,
    ) -> Lineage:
        """The lineage subgraph around a node (None: the whole graph): root, nodes, edges, chains."""
        from dslineage.ops.lineage import lineage

        return lineage(self, node, direction=direction, depth=depth, openlineage=openlineage,
                       namespace=namespace, expand=expand)

    # -- the report (issue 14) -------------------------------------------------------------

    def report(self, names: list[str] | None = None, *, versions: str | None = None) -> Any:
        """The report's data model (`ops.report_model.Report`) of the named (default: every)
        dataset, comparing `versions` "A..B" (default: first..latest)."""
        from dslineage.ops.report import report

        return report(self, names or [], versions=versions)

    def report_write(
        self, names: list[str] | None = None, *, output: str = "report.html", versions: str | None = None,
        fmt: str = "html", chart: str | None = None,
    ) -> Any:
        """Write the self-contained HTML report (`fmt="html"`), its Vega-Lite specs (`"vega"`), its data
        model (`"json"`) or one chart (`chart`, as .svg/.png/.json by the suffix of `output`)."""
        from dslineage.ops.report import report
        from dslineage.ops.report_export import write

        return write(report(self, names or [], versions=versions), output, fmt=fmt, chart=chart)

    def report_vega(self, names: list[str] | None = None, *, versions: str | None = None,
                    chart: str | None = None) -> str:
        """The report's charts as Vega-Lite JSON (`{name: spec}`), or one chart's spec."""
        from dslineage.ops.report import report
        from dslineage.ops.report_export import vega

        return vega(report(self, names or [], versions=versions), chart)

    # -- the annotation loop (issue 13): review queues and metrics per label version ---------

    def review(
        self, ref: str, *, predictions: str, method: str = "confident-learning", top: int | None = None,
        unlabeled: bool = False, group: str | None = None, column: str | None = None, output: str | None = None,
    ) -> ReviewResult:
        """Rank a version's rows for review with a model's predictions (cleanlab's confident
        learning, or margin / entropy / least-confidence); record the queue in the journal."""
        from dslineage.ops.review import review

        return review(self, ref, predictions=predictions, method=method, top=top, unlabeled=unlabeled,
                      group=group, column=column, output=output)

    def queues(self, name: str | None = None) -> list[QueueSummary]:
        """Recorded review queues (of one dataset or all), oldest first."""
        from dslineage.ops.queues import queues

        return queues(self, name)

    def queue(self, ref: str, *, limit: int = 20) -> QueueDetail:
        """One review queue (id or unique prefix) with how many rows were reviewed, confirmed and changed."""
        from dslineage.ops.queues import queue

        return queue(self, ref, limit=limit)

    def eval(
        self, ref: str, *, predictions: str, versions: str | None = None, group: str | None = None,
        classes: list[str] | None = None, column: str | None = None, record: bool = True,
        fetch: bool = False,
    ) -> EvalResult:
        """A fixed model's metrics (accuracy, per-class P/R/F1, ECE, subgroup error, flips) under
        each selected label version; each version's result is stored. `fetch`: download versions
        missing from the cache instead of reading them from S3."""
        from dslineage.core.remote import reading
        from dslineage.ops.evaluate import evaluate

        with reading(self, fetch=fetch):
            return evaluate(self, ref, predictions=predictions, versions=versions, group=group, classes=classes,
                            column=column, record=record)

    def eval_results(self, name: str) -> list[dict[str, Any]]:
        """Stored `eval` results of a dataset (one record per version and predictions file), oldest first."""
        from dslineage.ops.evaluate import results

        return results(self, name)
