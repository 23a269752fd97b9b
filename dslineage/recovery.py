"""Recovery of an interrupted write command from its intent file (see `txn` for the protocol).

`recover()` runs in the next command right after it takes the repository lock, and in
`fsck --repair`: if HEAD's history holds the commit carrying the intent's id, the
operation is complete and only the intent is deleted; otherwise every recorded file gets
its previous state back, created files are deleted and their git index entries reset —
exactly the state before the command; nothing else is touched.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage.errors import DslineageError
from dslineage.files import META_DIR, atomic_write, atomic_write_bytes, fsync_dir

if TYPE_CHECKING:
    from dslineage.gitio import Git

TXN_DIR = f"{META_DIR}/txn"
INTENT = f"{TXN_DIR}/intent.json"
MARKER = "dslineage-txn:"

log = logging.getLogger("dslineage")


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
    fsync_dir(intent.parent)


def pending(root: Path) -> dict[str, Any] | None:
    """The intent of an interrupted operation, or None."""
    path = root / INTENT
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise DslineageError(f"{path} is unreadable: inspect it, delete it and run `dslineage fsck`") from None
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
    log.warning("dslineage: %s an interrupted `%s` (started %s)", result["action"], result["op"], result["started"])
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

    def copy(tmp: Path) -> None:
        shutil.copyfile(source, tmp)
        os.chmod(tmp, 0o644)

    atomic_write(target, copy, tmp=target.with_name(f".{target.name}.restore-{os.getpid()}"))
