"""`dslineage.Repo`: the library API. One method per command, each returning plain data.

`Repo` is a facade of short methods (explicit keyword-only options, a lazy import, one call
into `ops/`). This module holds the plumbing every command shares (the lock around each command,
recovery of an interrupted operation, the index, settings, the engine); the commands themselves
are grouped by area in mixins, one module each (the API's table of contents):

- `repo_versions`: init, track, commit, resolve, log, show, diff, history, checkout, status, tag,
  reindex, fsck
- `repo_team`: merge (conflicts, resolve, abort, the git merge driver), push, pull
- `repo_edits`: relabel, batches, batch, blame, revert, cherry-pick, rollback, impact
- `repo_annotation`: consensus, annotators, review queues, eval
- `repo_quality`: check, drift, audit, the report
- `repo_lineage`: run, sync, experiments, reproduce, lineage

`_lock_commands` wraps every public method of the class and of its mixins (`_UNLOCKED` aside)."""

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
from dslineage.repo_annotation import AnnotationMixin
from dslineage.repo_edits import EditsMixin
from dslineage.repo_lineage import LineageMixin
from dslineage.repo_quality import QualityMixin
from dslineage.repo_team import TeamMixin
from dslineage.repo_versions import VersionsMixin
from dslineage.store.index import Index

if TYPE_CHECKING:
    from dslineage.engine import Engine

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
_UNLOCKED = {"init", "datasets", "dataset", "close", "lock", "index", "git", "settings", "merge_driver", "remote_reads"}


def _lock_commands(cls: type) -> type:
    """Wrap every public command method of `cls` and of its mixins (present and future) with `_locked`:
    the wrapper is set on `cls` itself, over the mixin's plain function."""
    seen: set[str] = set()
    for klass in cls.__mro__[:-1]:  # the class first, then its mixins (object aside)
        for name, value in list(vars(klass).items()):
            if name in seen:
                continue  # overridden by a class nearer `cls`
            seen.add(name)
            if name.startswith("_") or name in _UNLOCKED or not inspect.isfunction(value):
                continue
            setattr(cls, name, _locked(value))
    return cls


# the area mixins, last area first: mkdocstrings lists inherited methods from the far end of the MRO
# back, so the library API page reads versions, team, edits, annotation, quality, lineage
@_lock_commands
class Repo(LineageMixin, QualityMixin, AnnotationMixin, EditsMixin, TeamMixin, VersionsMixin):
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
            raise NotARepoError(f"{self.root} is not initialized for dslineage: run `dslineage init` first")

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
            raise NotARepoError(f"{self.root} is not initialized for dslineage: run `dslineage init` first")

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
                    "dslineage: the merge version the git merge driver left is not recorded yet: %s", exc
                )

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
