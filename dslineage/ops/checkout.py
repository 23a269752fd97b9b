"""`dslineage checkout NAME@REF`: restore a dataset's file and `.dvc` file to a version."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import config, dvcio, txn
from dslineage.errors import DirtyError
from dslineage.ops import common
from dslineage.ops.refs import resolve

if TYPE_CHECKING:
    from dslineage.repo import Repo

STEPS = txn.declare("checkout", "after-dvcfile", "after-dvc-checkout", git=False)


def uncommitted(repo: Repo, ds: config.Dataset) -> bool:
    """Whether the working file holds bytes that neither its `.dvc` file (or `dvc.lock`),
    nor any version, nor the DVC cache records: replacing them would lose work."""
    md5 = common.working_md5(repo, ds)
    if md5 is None:
        return False
    if common.worktree_recorded_md5(repo, ds) == md5:
        return False
    # bytes that some version records are not at risk (e.g. an older version checked out)
    if repo.index.versions_with_md5(ds.name, md5):
        return False
    # nor bytes the DVC cache holds: e.g. after `git checkout` of another branch, whose
    # journal does not list this branch's versions (as `dvc checkout` does)
    return not dvcio.cache_path(repo.root, md5).is_file()


def dvcfile_text(repo: Repo, ds: config.Dataset, version: dict[str, Any]) -> bytes:
    """The `.dvc` file of a version: as git recorded it, else written in DVC's format."""
    if version.get("git_commit"):
        blob = repo.git.show(version["git_commit"], dvcio.dvcfile_for(ds.path))
        if blob:
            out = dvcio.parse_dvcfile(blob)
            if out is not None and out.md5 == version["md5"]:
                return blob
    size = dvcio.cache_path(repo.root, version["md5"])
    lines = ["outs:", f"- md5: {version['md5']}"]
    if size.exists():
        lines.append(f"  size: {size.stat().st_size}")
    lines += ["  hash: md5", f"  path: {ds.path.rsplit('/', 1)[-1]}", ""]
    return "\n".join(lines).encode("utf-8")


def checkout(repo: Repo, ref: str, *, force: bool = False) -> dict[str, Any]:
    """Restore the working file from the DVC cache (or remote); refuse to lose work."""
    ds, v = resolve(repo, ref)
    if not force and uncommitted(repo, ds):
        raise DirtyError(
            f"{ds.path} has uncommitted changes: commit them with `dslineage commit {ds.name} "
            "-m MSG` or pass --force to discard them"
        )
    before = common.working_md5(repo, ds)
    obj = common.version_path(repo, ds, v)  # fetches from the remote when missing, or says why not
    target = repo.root / dvcio.dvcfile_for(ds.path)
    stage_output = not target.exists() and dvcio.stage_output_md5(repo.root, ds.path) is not None
    with txn.begin(repo.root, repo.git, "checkout") as t:  # no commit point: a crash rolls back
        if stage_output:
            # a DVC stage's output has no .dvc file (dvc.lock holds its hash): restore only the
            # bytes; `dvc repro` or `dslineage run` makes the stage's own output again
            t.backup(ds.path, md5=before)
            tmp = (repo.root / ds.path).with_name(f".{Path(ds.path).name}.tmp-checkout")
            t.scratch(tmp)
            shutil.copyfile(obj, tmp)
            os.replace(tmp, repo.root / ds.path)
            t.step("after-dvcfile")
            t.step("after-dvc-checkout")
            return _result(ds, v, before)
        t.backup(target, (repo.root / ds.path).parent / ".gitignore")
        t.backup(ds.path, md5=before)
        config.atomic_write_bytes(target, dvcfile_text(repo, ds, v))
        t.step("after-dvcfile")
        dvcio.checkout(repo.root, ds.path)
        t.step("after-dvc-checkout")
    return _result(ds, v, before)


def _result(ds: config.Dataset, v: dict[str, Any], before: str | None) -> dict[str, Any]:
    return {
        "dataset": ds.name,
        "version": v["id"],
        "seq": v["seq"],
        "md5": v["md5"],
        "path": ds.path,
        "changed": before != v["md5"],
    }
