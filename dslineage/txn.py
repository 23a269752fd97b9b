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

Recovery (`recover()`, run by the next command right after it takes the repository lock,
and by `fsck --repair`): if HEAD's history holds the commit carrying the intent's id, the
operation is complete and only the intent is deleted; otherwise every recorded file gets
its previous state back, created files are deleted and their git index entries reset —
exactly the state before the command; nothing else is touched.

Fault injection: `DSLINEAGE_FAULT=OP:STEP` makes the process SIGKILL itself at that named
step. Each operation declares its steps with `declare()`; tests run every one of them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import shutil
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage.config import META_DIR, atomic_write_bytes
from dslineage.errors import DslineageError

if TYPE_CHECKING:
    from dslineage.gitio import Git

TXN_DIR = f"{META_DIR}/txn"
INTENT = f"{TXN_DIR}/intent.json"
INLINE_LIMIT = 1 << 20  # files up to 1 MiB are backed up inside the intent itself
MARKER = "dslineage-txn:"
GIT_STEPS = ("after-git-add", "after-git-commit")

log = logging.getLogger("dslineage")

# op -> the fault steps it passes through, in order (filled by `declare` at import time)
REGISTRY: dict[str, tuple[str, ...]] = {}
_ACTIVE: dict[Path, Transaction] = {}
_last_op: list[str] = []


def declare(
    op: str, *steps: str, git: bool = True, index: bool | None = None, intent: bool = True
) -> tuple[str, ...]:
    """Declare the fault steps of operation `op`: 'after-intent' (unless it writes no intent),
    `steps`, then (when it ends in a git commit) the commit steps and (when it then resyncs
    the index, by default when it commits) 'in-index-sync'. Returns `steps`, for operations
    that run this one inside their own transaction."""
    tail = (*(GIT_STEPS if git else ()), *(("in-index-sync",) if (git if index is None else index) else ()))
    REGISTRY[op] = (*(("after-intent",) if intent else ()), *steps, *tail)
    return steps


def fault(op: str, step: str) -> None:
    """SIGKILL this process when DSLINEAGE_FAULT names `op:step` (fault injection)."""
    spec = os.environ.get("DSLINEAGE_FAULT")
    if not spec or not spec.startswith(f"{op}:"):
        return
    if op in REGISTRY and step not in REGISTRY[op]:  # an injection test of `op` would miss it
        raise RuntimeError(f"fault step {op}:{step} is not declared with txn.declare()")
    if spec == f"{op}:{step}":
        os.kill(os.getpid(), signal.SIGKILL)


def fault_point(step: str) -> None:
    """A fault step in shared code (the index sync): named after the running operation."""
    if _last_op:
        fault(_last_op[-1], step)


def operation(op: str) -> None:
    """Name the running operation for shared fault points (for ops without an intent)."""
    _last_op[:] = [op]


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


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Transaction:
    """One write operation in progress; see the module docstring for the protocol."""

    def __init__(
        self, root: Path, git: Git, op: str, dirs: list[str] | None = None,
        scratch: list[Path | str] | None = None,
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
        atomic_write_bytes(self.root / INTENT, data)
        _fsync_dir(folder)

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
        _fsync_dir(store)
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
            sha = self.git.commit_paths(
                self.state["commit_paths"], full, on_staged=lambda: self.step("after-git-add"),
            )
        self.committed = True
        self.step("after-git-commit")
        return sha

    def finish(self) -> None:
        """Forget the transaction: delete its temporary files and backups, then the intent."""
        finish(self.root, self.state)


def finish(root: Path, state: dict[str, Any]) -> None:
    """Delete a transaction's temporary files, its backup folder and the intent file (last)."""
    for rel in state.get("scratch", []):
        path = root / rel
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    shutil.rmtree(root / TXN_DIR / state["id"], ignore_errors=True)
    intent = root / INTENT
    intent.unlink(missing_ok=True)
    _fsync_dir(intent.parent)


@contextlib.contextmanager
def begin(
    root: Path, git: Git, op: str, *, dirs: list[str] | None = None,
    scratch: list[Path | str] | None = None,
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
        raise DslineageError(
            "an interrupted dslineage operation has not been recovered: "
            "run `dslineage fsck --repair`"
        )
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


# -- recovery -------------------------------------------------------------------------------


def pending(root: Path) -> dict[str, Any] | None:
    """The intent of an interrupted operation, or None."""
    path = root / INTENT
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise DslineageError(
            f"{path} is unreadable: inspect it, delete it and run `dslineage fsck`"
        ) from None
    return data


def is_committed(git: Git, state: dict[str, Any]) -> bool:
    """Whether HEAD's history holds the commit of this transaction."""
    if not state.get("commit_paths"):
        return False
    return git.has_commit_marked(f"{MARKER} {state['id']}", state.get("head"))


def recover(root: Path, git: Git) -> dict[str, Any] | None:
    """Complete or roll back an interrupted operation; returns what was done, or None."""
    state = pending(root)
    if state is None:
        return None
    done = is_committed(git, state)
    if done:
        finish(root, state)
    else:
        rollback(root, git, state)
    result = {
        "op": state.get("op"),
        "id": state.get("id"),
        "started": state.get("started"),
        "action": "completed" if done else "rolled back",
    }
    log.warning(
        "dslineage: %s an interrupted `%s` (started %s)",
        result["action"], result["op"], result["started"],
    )
    return result


def rollback(root: Path, git: Git, state: dict[str, Any]) -> None:
    """Put every file the operation touched back in its recorded state (idempotent)."""
    store = root / TXN_DIR / state["id"]
    if state.get("git_merge"):  # `dslineage merge` started a git merge: undo it first
        git.undo_merge(state.get("head"))
    for rel, rec in state.get("files", {}).items():
        _restore(root, rel, rec, store)
    for rel in state.get("created", []):
        target = root / rel
        if target.is_file() or target.is_symlink():
            target.unlink()
    if state.get("commit_paths") and git.head() == state.get("head"):
        git.unstage(state["commit_paths"])
        if state.get("unmerged"):  # staging resolved conflicts of a merge in progress: back again
            git.restore_unmerged(state["unmerged"])
    for rel in state.get("dirs", []):
        shutil.rmtree(root / rel, ignore_errors=True)  # may hold the intent itself
    finish(root, state)


def _restore(root: Path, rel: str, rec: dict[str, Any], store: Path) -> None:
    target = root / rel
    if rec.get("absent"):
        if target.is_file() or target.is_symlink():
            target.unlink()
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if "b64" in rec:
        data = base64.b64decode(rec["b64"])
        if not (target.is_file() and target.read_bytes() == data):
            atomic_write_bytes(target, data)
        return
    if "md5" in rec:
        from dslineage import dvcio

        if target.is_file() and dvcio.file_md5(target) == rec["md5"]:
            return
        source = dvcio.cache_path(root, rec["md5"])
        if not source.is_file():
            raise DslineageError(
                f"cannot restore {rel}: DVC cache object {rec['md5']} is gone; "
                "`dvc pull` it, then run `dslineage fsck --repair`"
            )
    else:
        source = store / rec["copy"]
        if not source.is_file():
            if target.is_file():
                return  # restored by an earlier, interrupted recovery
            raise DslineageError(f"cannot restore {rel}: its backup {source} is gone")
    tmp = target.with_name(f".{target.name}.restore-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    shutil.copyfile(source, tmp)
    os.chmod(tmp, 0o644)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, target)
