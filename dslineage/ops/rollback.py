"""`dslineage rollback NAME --to REF -m MSG`: a new version whose bytes are exactly REF's.

Unlike `checkout`, history moves forward: every version in between stays, and the new one
(recording "rollback_to") shows in log, diff, history and blame like any other.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, Any

from dslineage import txn
from dslineage.config import DIR_FORMAT
from dslineage.core import common
from dslineage.core.refs import resolve
from dslineage.errors import DirtyError, UsageError
from dslineage.model_ops import RollbackOptions, RollbackResult
from dslineage.ops import dirs
from dslineage.ops.commit import SNAPSHOT_STEPS

if TYPE_CHECKING:
    from dslineage.repo import Repo

STEPS = txn.declare("rollback", "after-data", *SNAPSHOT_STEPS)


def rollback(repo: Repo, name: str, opts: RollbackOptions) -> RollbackResult:
    """Copy REF's bytes from the DVC cache over the working file and commit them as a version."""
    from dslineage.ops.commit import snapshot
    from dslineage.ops.edit_apply import replace_working

    to, message = opts.to, opts.message
    if not message.strip():
        raise UsageError("a message is required: pass -m MESSAGE")
    ds = repo.dataset(name)
    _, target = resolve(repo, to if "@" in to else f"{ds.name}@{to}")
    if target["dataset"] != ds.name:
        raise UsageError(f"--to must name a version of {ds.name}, not {to!r}")
    head = common.current(repo, ds.name)
    assert head is not None
    work = common.working_state(repo, ds)
    md5 = work.md5
    if work.differs_from(head["md5"]) and not opts.force:
        raise DirtyError(
            f"{ds.path} has uncommitted changes that the rollback would discard: commit them "
            f"(`dslineage commit {ds.name} -m MSG`) or pass --force"
        )
    if head["md5"] == target["md5"] and md5 == target["md5"]:
        return _result(ds.name, target, None, note=f"{ds.name}@latest already has the content of v{target['seq']}")
    obj = common.version_path(repo, ds, target)
    path = common.working_path(repo, ds)
    tmp = path.with_name(f".{path.name}.tmp-rollback-{os.getpid()}")
    staged: list[dirs.Staged] = []
    try:
        if ds.format == DIR_FORMAT:  # a directory: only the parts that differ are copied
            staged, removed = dirs.stage_version(repo, ds, target["md5"], "tmp-rollback")
        else:
            shutil.copyfile(obj, tmp)
        with txn.begin(repo.root, repo.git, "rollback", scratch=[tmp, *(s.tmp for s in staged)]) as t:
            if ds.format == DIR_FORMAT:
                dirs.replace_parts(repo, ds, staged, removed)
            else:
                replace_working(repo, ds, tmp, md5)
                common.remember_working_md5(repo, ds, target["md5"])
            t.step("after-data")
            # "batches": [] — edits pending on the working file are discarded, not carried
            made = snapshot(
                repo, [ds], message, opts.author, extra={ds.name: {"rollback_to": target["id"], "batches": []}}
            )
    finally:
        for scratch in [tmp, *(s.tmp for s in staged)]:
            scratch.unlink(missing_ok=True)
    return _result(ds.name, target, made[0] if made else None)


def _result(
    name: str, target: dict[str, Any], made: dict[str, Any] | None, *, note: str | None = None
) -> RollbackResult:
    """The result: the target version and the version recorded (None: nothing was)."""
    return RollbackResult(
        dataset=name,
        to=target["id"],
        to_seq=target["seq"],
        md5=target["md5"],
        version=made["id"] if made else None,
        seq=made["seq"] if made else None,
        note=note,
    )
