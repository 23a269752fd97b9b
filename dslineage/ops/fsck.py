"""`dslineage fsck [--deep] [--repair]`: check git, `.dvc` files, the DVC cache, the journal
and the index against each other; report each problem with its fix.

`--repair` completes or rolls back an interrupted operation, deletes leftovers of
interrupted writes (uncommitted version records, orphan change sets, temporary files) and
rebuilds the index; then it checks again. Problems that need a person (a missing cache
object, an edited journal record) stay listed, and the command exits 1.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import config, recovery
from dslineage.errors import DslineageError
from dslineage.model_ops import FsckProblem, FsckResult, RemoteReport, RemoteVersion, UnreachableRemote
from dslineage.ops.fsck_data import DataChecks
from dslineage.ops.fsck_journal import JournalChecks, _delete

if TYPE_CHECKING:
    from dslineage.repo import Repo


class _Checker(JournalChecks, DataChecks):
    """Runs every check once and collects the problems."""

    def run(self) -> None:
        self.check_txn()
        self.check_git()
        self.check_registrations()
        self.check_journal()
        self.check_dvc()
        self.check_leftovers()
        self.check_index()
        if self.remote:
            self.check_remote()

    # -- interrupted operations -----------------------------------------------------------

    def check_txn(self) -> None:
        root, git = self.root, self.repo.git
        try:
            state = recovery.pending(root)
        except DslineageError as exc:
            self.add("txn", "error", str(exc), f"inspect and delete {recovery.INTENT}", recovery.INTENT)
            return
        if state is not None:
            done = recovery.is_committed(git, state)
            self.add(
                "txn",
                "error",
                f"an interrupted `{state.get('op')}` (started {state.get('started')}, pid "
                f"{state.get('pid')}) is pending; its git commit was {'' if done else 'not '}made",
                f"run `dslineage fsck --repair` to {'complete it' if done else 'roll it back'}",
                recovery.INTENT,
                repair=lambda: self._recover(),
            )
        folder = root / recovery.TXN_DIR
        if folder.is_dir():
            for entry in sorted(folder.iterdir()):
                if entry.is_dir() and (state is None or entry.name != state.get("id")):
                    rel = entry.relative_to(root).as_posix()
                    self.add(
                        "txn",
                        "warning",
                        f"{rel} holds backups of a finished operation",
                        "delete it (`dslineage fsck --repair` does)",
                        rel,
                        repair=functools.partial(shutil.rmtree, entry, ignore_errors=True),
                    )

    def _recover(self) -> None:
        recovery.recover(self.root, self.repo.git)

    # -- git ------------------------------------------------------------------------------

    def check_git(self) -> None:
        git = self.repo.git
        if git.head() is None:
            self.add(
                "git", "warning", "the repository has no commits yet", "run `dslineage init` to make the first commit"
            )
        lock = self.root / ".git" / "index.lock"
        if lock.exists():
            self.add(
                "git",
                "warning",
                ".git/index.lock exists: a git command is running or crashed",
                "if no git command is running, delete .git/index.lock",
                ".git/index.lock",
            )
        if self.deep:
            try:
                git.run("fsck", "--no-progress", "--no-dangling")
            except DslineageError as exc:
                self.add(
                    "git",
                    "error",
                    f"git fsck reports damage: {exc}",
                    "repair the git repository (e.g. re-clone it) before anything else",
                )

    # -- dataset registrations ------------------------------------------------------------

    def check_registrations(self) -> None:
        folder = self.root / config.DATASETS_DIR
        files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
        self.checked["datasets"] = len(files)
        for f in files:
            rel = f.relative_to(self.root).as_posix()
            try:
                ds = config.load_registration(self.root, f)
            except DslineageError as exc:
                self.add(
                    "registration",
                    "error",
                    str(exc),
                    f"restore it with `git checkout -- {rel}` or register the dataset again with `dslineage track`",
                    rel,
                )
                continue
            self.datasets[ds.name] = ds

    # -- leftovers of interrupted writes --------------------------------------------------

    def check_leftovers(self) -> None:
        pending = self._pending_paths()
        folders = {self.root / config.META_DIR, self.root / config.JOURNAL_DIR, self.root / config.DATASETS_DIR}
        folders |= {(self.root / ds.path).parent for ds in self.datasets.values()}
        for folder in sorted(folders):
            if not folder.is_dir():
                continue
            for entry in sorted(folder.iterdir()):
                rel = entry.relative_to(self.root).as_posix()
                if entry.is_file() and _is_temp(entry.name) and rel not in pending:
                    self.add(
                        "leftover",
                        "warning",
                        f"{rel} is a temporary file left by an interrupted write",
                        "`dslineage fsck --repair` deletes it",
                        rel,
                        repair=functools.partial(_delete, entry),
                    )

    # -- the index ------------------------------------------------------------------------

    def check_index(self) -> None:
        from dslineage.store.index import Index

        # a fresh index of the journal, in memory, to compare the real one with
        fresh = Index(self.root, lambda: self.repo.git.commits_adding(config.JOURNAL_DIR), path=Path(":memory:"))
        try:
            fresh.sync(force=True)
            expected = fresh.fingerprint()
        except Exception:  # the journal itself is damaged: reported above
            return
        finally:
            fresh.close()
        try:
            self.repo.index.sync()
            actual = self.repo.index.fingerprint()
        except Exception as exc:
            self.add(
                "index",
                "error",
                f"the index cannot be read: {str(exc).splitlines()[0][:150]}",
                "rebuild it with `dslineage reindex`",
                config.INDEX_FILE,
                repair=self._reindex,
            )
            return
        # tables other modules fill lazily from these (the lineage graph's) are not in a fresh
        # rebuild; they refresh themselves from `records`, so only what sync builds is compared
        extra = [t for t in actual if t not in expected and t.startswith("changes/") and actual[t][0]]
        differ = sorted([t for t in expected if expected[t] != actual.get(t)] + extra)
        if differ:
            self.add(
                "index",
                "error",
                f"the index disagrees with the journal (tables: {', '.join(differ)[:200]})",
                "rebuild it with `dslineage reindex`",
                config.INDEX_FILE,
                repair=self._reindex,
            )

    def _reindex(self) -> None:
        from dslineage.ops.reindex import reindex

        reindex(self.repo)


def _is_temp(name: str) -> bool:
    """Names the atomic writers use for their temporary files."""
    return name.startswith(".") and (".tmp" in name or ".restore-" in name)


def fsck(repo: Repo, *, deep: bool = False, repair: bool = False, remote: bool = False) -> FsckResult:
    """Check the repository; with `repair`, fix what can be fixed and check again. With
    `remote`, also ask every DVC remote which versions' objects it holds (key `remote`)."""
    checker = _Checker(repo, deep, remote)
    checker.run()
    repaired: list[FsckProblem] = []
    if repair:
        # an interrupted operation first: its recovery settles most other findings
        for first in (True, False):
            for p in checker.problems:
                if p.repair is not None and p.check != "index" and (p.check == "txn") == first:
                    p.repair()
                    repaired.append(p.record(action="repaired"))
            if first and repaired:
                checker = _Checker(repo, deep)  # the remote is asked once, at the end
                checker.run()
        try:
            checker._reindex()
            repaired.append(
                FsckProblem(
                    check="index",
                    severity="info",
                    path=config.INDEX_FILE,
                    message="rebuilt the index from the journal",
                    fix="",
                    repairable=True,
                    action="rebuilt",
                )
            )
        except DslineageError:
            pass  # a damaged journal record: listed below, with how to restore it
        checker = _Checker(repo, deep, remote)
        checker.run()
    problems = [p.record() for p in checker.problems]
    errors = sum(p.severity == "error" for p in problems)
    return FsckResult(
        ok=errors == 0,
        deep=deep,
        errors=errors,
        warnings=len(problems) - errors,
        problems=problems,
        repaired=repaired,
        checked=checker.checked,
        remote=_remote(checker.remote_report),
    )


def _remote(report: dict[str, Any] | None) -> RemoteReport | None:
    """The typed `--remote` findings."""
    if report is None:
        return None
    return RemoteReport(
        remotes=list(report["remotes"]),
        unreachable=[UnreachableRemote(**u) for u in report["unreachable"]],
        versions=[RemoteVersion(**v) for v in report["versions"]],
    )
