"""`dslineage checkout NAME@REF`: restore a dataset's file and `.dvc` file to a version."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

from dslineage import config, dvcio, files, txn
from dslineage.core import common
from dslineage.core.refs import resolve
from dslineage.errors import DirtyError
from dslineage.model_ops import CheckoutResult
from dslineage.ops import dirs

if TYPE_CHECKING:
    from dslineage.repo import Repo

STEPS = txn.declare("checkout", "after-dvcfile", "after-dvc-checkout", git=False)


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


def checkout(repo: Repo, ref: str, *, force: bool = False) -> CheckoutResult:
    """Restore the working file from the DVC cache (or remote); refuse to lose work."""
    ds, v = resolve(repo, ref)
    work = common.working_state(repo, ds)
    if not force and work.unsaved:
        raise DirtyError(
            f"{ds.path} has uncommitted changes: commit them with `dslineage commit {ds.name} "
            "-m MSG` or pass --force to discard them"
        )
    before = work.md5
    obj = common.version_path(repo, ds, v)  # fetches from the remote when missing, or says why not
    target = repo.root / dvcio.dvcfile_for(ds.path)
    stage_output = not target.exists() and dvcio.stage_output_md5(repo.root, ds.path) is not None
    with txn.begin(repo.root, repo.git, "checkout") as t:  # no commit point: a crash rolls back
        if stage_output:
            # a DVC stage's output has no .dvc file (dvc.lock holds its hash): restore only the
            # bytes; `dvc repro` or `dslineage run` makes the stage's own output again
            t.backup(ds.path, md5=before)
            tmp = files.temp_beside(repo.root / ds.path, "tmp-checkout")
            t.scratch(tmp)
            files.atomic_write(repo.root / ds.path, lambda p: shutil.copyfile(obj, p), tmp=tmp)
            t.step("after-dvcfile")
            t.step("after-dvc-checkout")
            return _result(ds, v, before)
        t.backup(target, (repo.root / ds.path).parent / ".gitignore")
        if ds.format == config.DIR_FORMAT:  # DVC rewrites only the parts that differ: those are backed up
            dirs.backup_parts(t, repo, ds, v["md5"])
        else:
            t.backup(ds.path, md5=before)
        files.atomic_write_bytes(target, dvcfile_text(repo, ds, v))
        t.step("after-dvcfile")
        dvcio.checkout(repo.root, ds.path)
        t.step("after-dvc-checkout")
    return _result(ds, v, before)


def _result(ds: config.Dataset, v: dict[str, Any], before: str | None) -> CheckoutResult:
    return CheckoutResult(
        dataset=ds.name, version=v["id"], seq=v["seq"], md5=v["md5"], path=ds.path, changed=before != v["md5"]
    )
