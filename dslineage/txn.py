"""Transactions: a write command leaves the repository as it was before it, or after it.

Write order of every write command (commit, relabel, revert, rollback, tag, track, ...):

1. compute everything that needs no visible change (row diffs, records, file names);
2. write the intent file `.dslineage/txn/intent.json` (fsync'd, renamed into place): the
   operation, git HEAD before, and — recorded (fsync'd) *before* each file is touched —
   that file's previous state: its bytes (small files such as `.dvc`, `.gitignore`,
   registrations), the md5 of the DVC cache object holding it (dataset files DVC already
   has), a hard link under `.dslineage/txn/` (anything else), or "absent" (files it creates);
3. make the visible changes: change sets, `dvc add`, journal records, data files (each
   written to a new file and renamed into place, never modified in place);
4. one git commit whose message ends with `dslineage-txn: <id>` — **the commit point**;
5. delete the intent; sync the index (a cache, rebuilt from the journal whenever needed).

Recovery from an interrupted command lives in `recovery` (`recover()`, run by the next
command right after it takes the repository lock, and by `fsck --repair`); fault
injection (`DSLINEAGE_FAULT=OP:STEP`, the steps each operation declares with `declare()`)
in `faults`. Both are named here too, so callers need only `from dslineage import txn`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage.errors import DslineageError
from dslineage.faults import GIT_STEPS, declare, fault, fault_point, operation  # noqa: F401  (the API)
from dslineage.files import atomic_write_bytes, fsync_dir
from dslineage.recovery import INTENT, MARKER, TXN_DIR, finish, is_committed, pending, recover, rollback  # noqa: F401  (the API)

if TYPE_CHECKING:
    from dslineage.gitio import Git

INLINE_LIMIT = 1 << 20  # files up to 1 MiB are backed up inside the intent itself

log = logging.getLogger("dslineage")

_ACTIVE: dict[Path, Transaction] = {}


def current(root: Path) -> Transaction | None:
    """The transaction open in this process for the repository at `root`, if any."""
    return _ACTIVE.get(root)


def will_create(root: Path, *paths: Path | str) -> None:
    """Record in the open transaction (if any) that `paths` are about to be created."""
    t = _ACTIVE.get(root)
    if t is not None:
        t.create(*paths)


def will_change(root: Path, *paths: Path | str, md5: str | None = None) -> None:
    """Record in the open transaction (if any) the state of `paths` before they change."""
    t = _ACTIVE.get(root)
    if t is not None:
        t.backup(*paths, md5=md5)


class Transaction:
    """One write operation in progress; see the module docstring for the protocol."""

    def __init__(
        self, root: Path, git: Git, op: str, dirs: list[str] | None = None, scratch: list[Path | str] | None = None
    ) -> None:
        self.root = root
        self.git = git
        self.op = op
        self.id = uuid.uuid4().hex
        self.committed = False
        self.state: dict[str, Any] = {
            "format": 1,
            "op": op,
            "id": self.id,
            "pid": os.getpid(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "head": git.head(),
            "files": {},  # rel path -> previous state
            "created": [],  # rel paths created by the operation
            "dirs": list(dirs or []),  # directories created by the operation (removed whole)
            "scratch": [],  # temporary files (deleted at the end, whatever the outcome)
            "commit_paths": [],  # what was staged for the commit (reset on rollback)
        }
        self.state["scratch"] = [self._rel(p) for p in scratch or []]

    # -- recording ------------------------------------------------------------------------

    def _rel(self, path: Path | str) -> str:
        p = Path(path)
        if p.is_absolute():
            p = p.relative_to(self.root)
        return p.as_posix()

    def _save(self) -> None:
        folder = self.root / TXN_DIR
        folder.mkdir(parents=True, exist_ok=True)
        data = json.dumps(self.state, indent=1, sort_keys=True).encode("utf-8")
        atomic_write_bytes(self.root / INTENT, data)  # fsyncs the file and the folder

    def _known(self, rel: str) -> bool:
        return rel in self.state["files"] or rel in self.state["created"]

    def backup(self, *paths: Path | str, md5: str | None = None) -> None:
        """Record the current state of `paths` (before the operation changes them).

        `md5`: the DVC md5 of a dataset file's current bytes; when the cache holds that
        object nothing is copied. Paths recorded before keep their first state.
        """
        changed = False
        for path in paths:
            rel = self._rel(path)
            if self._known(rel):
                continue
            self.state["files"][rel] = self._describe(rel, md5)
            changed = True
        if changed:
            self._save()

    def create(self, *paths: Path | str) -> None:
        """Record that `paths` are about to be created (existing ones are backed up instead)."""
        changed = False
        for path in paths:
            rel = self._rel(path)
            if self._known(rel):
                continue
            if (self.root / rel).exists():
                self.state["files"][rel] = self._describe(rel, None)
            else:
                self.state["created"].append(rel)
            changed = True
        if changed:
            self._save()

    def _describe(self, rel: str, md5: str | None) -> dict[str, Any]:
        full = self.root / rel
        if not full.is_file():
            return {"absent": True}
        if md5 is not None:
            from dslineage import dvcio

            obj = dvcio.cache_path(self.root, md5)
            if obj.is_file() and obj.stat().st_size == full.stat().st_size:
                return {"md5": md5}
        if full.stat().st_size <= INLINE_LIMIT:
            return {"b64": base64.b64encode(full.read_bytes()).decode("ascii")}
        store = self.root / TXN_DIR / self.id
        store.mkdir(parents=True, exist_ok=True)
        name = f"{len(self.state['files'])}"
        try:
            os.link(full, store / name)  # writers replace files, never edit them in place
        except OSError:
            shutil.copy2(full, store / name)
        fsync_dir(store)
        return {"copy": name}

    def scratch(self, *paths: Path | str) -> None:
        """Record temporary files: deleted when the operation ends, completes or rolls back."""
        self.state["scratch"] += [self._rel(p) for p in paths]
        self._save()

    def mark_git_merge(self) -> None:
        """Record that this operation starts a git merge (a rollback undoes it)."""
        self.state["git_merge"] = True
        self._save()

    def step(self, name: str) -> None:
        """A named fault-injection point of this operation."""
        fault(self.op, name)

    # -- the commit point -----------------------------------------------------------------

    def stage(self, paths: list[str]) -> None:
        """`git add` `paths` without committing (a rollback unstages them again)."""
        self.state["commit_paths"] = sorted({*self.state["commit_paths"], *paths})
        self.state["unmerged"] = self.state.get("unmerged", "") + self.git.unmerged_entries(sorted(set(paths)))
        self._save()
        self.git.add(sorted(set(paths)))

    def commit(self, paths: list[str], message: str, *, merge: bool = False) -> str:
        """Stage exactly `paths` and commit them: the operation's commit point (only one).

        `merge`: a git merge is in progress; commit the whole index (a merge commit)."""
        if self.committed:
            raise RuntimeError(f"{self.op}: a transaction has one commit point; commit once")
        self.state["commit_paths"] = sorted({*self.state["commit_paths"], *paths})
        self._save()
        last = message.rstrip().rsplit("\n", 1)[-1]
        sep = "\n" if last.startswith("dslineage-") and ": " in last else "\n\n"  # one trailer block
        full = f"{message.rstrip()}{sep}{MARKER} {self.id}"
        if merge:
            self.git.add(self.state["commit_paths"])
            self.step("after-git-add")
            sha = self.git.commit_all_staged(full)
        else:
            sha = self.git.commit_paths(self.state["commit_paths"], full, on_staged=lambda: self.step("after-git-add"))
        self.committed = True
        self.step("after-git-commit")
        return sha

    def finish(self) -> None:
        """Forget the transaction: delete its temporary files and backups, then the intent."""
        finish(self.root, self.state)


@contextlib.contextmanager
def begin(
    root: Path, git: Git, op: str, *, dirs: list[str] | None = None, scratch: list[Path | str] | None = None
) -> Iterator[Transaction]:
    """Run a write operation as a transaction (joining the one already open in this process
    for `root`, whose operation name then applies). An exception rolls it back unless the
    commit point was passed. `scratch`: temporary files already written for it (deleted
    at the end whatever happens); `dirs`: directories it creates (removed on rollback)."""
    outer = _ACTIVE.get(root)
    if outer is not None:
        if scratch:
            outer.scratch(*scratch)
        yield outer
        return
    if (root / INTENT).exists():
        raise DslineageError("an interrupted dslineage operation has not been recovered: run `dslineage fsck --repair`")
    t = Transaction(root, git, op, dirs, scratch)
    t._save()
    _ACTIVE[root] = t
    operation(op)
    try:
        t.step("after-intent")
        yield t
    except BaseException:
        _ACTIVE.pop(root, None)
        if t.committed:
            t.finish()
        else:
            try:
                rollback(root, git, t.state)
            except Exception as exc:  # the intent stays; the next command retries
                log.warning("rolling back %s failed (%s); run `dslineage fsck --repair`", op, exc)
        raise
    _ACTIVE.pop(root, None)
    t.finish()
