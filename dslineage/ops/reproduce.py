"""`dslineage reproduce EXP [--into DIR] [--rerun] [--force]`.

Materialize the exact dataset versions an experiment used — from the DVC cache, fetching
exactly the missing objects from the DVC remote — and verify every file's md5 against the
record. `--rerun` also checks out the experiment's code commit in a temporary git worktree
(sharing this repository's DVC cache), puts the data there, runs `dvc repro --force` and
compares every stage output's hash with the recorded one; a differing dataset output gets
a row-level diff against the recorded version.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import dvcio, txn
from dslineage.config import Dataset
from dslineage.core import common
from dslineage.errors import DirtyError, PathError, UsageError
from dslineage.model_base import JsonValue
from dslineage.model_exp import OutputDifference, ReproducedDataset, ReproduceOptions, Reproduction, Rerun
from dslineage.ops.exp import find
from dslineage.ops.version_copy import copy_version, md5_of
from dslineage.store import parts, rowdiff, rows

if TYPE_CHECKING:
    from dslineage.repo import Repo

# into the working tree, all datasets or none: checkout's steps run inside this transaction
STEPS = txn.declare("reproduce", "after-dvcfile", "after-dvc-checkout", "after-dataset", git=False)


def _dataset(repo: Repo, item: dict[str, Any]) -> Dataset | None:
    return repo.datasets().get(item["name"])


def _check_target(into: Path, force: bool) -> None:
    if into.exists() and not into.is_dir():
        raise PathError(f"{into} is a file: pass a directory to --into")
    if into.is_dir() and any(into.iterdir()) and not force:
        raise PathError(f"{into} is not empty: choose an empty directory or pass --force to overwrite")


def reproduce(repo: Repo, experiment: str, opts: ReproduceOptions) -> Reproduction:
    """Put an experiment's dataset versions in place, verified; optionally re-run its pipeline."""
    into, force = opts.into, opts.force
    exp = find(repo, experiment)
    items = exp.get("datasets") or []
    target = Path(into).resolve() if into else None
    if target is not None:
        _check_target(target, force)
    else:
        _check_worktree(repo, items, force)
    what = {i["md5"]: f"{i['name']}@v{i['seq']}" for i in items}
    fetched = set(dvcio.fetch_objects(repo.root, [i["md5"] for i in items], what))
    datasets: list[ReproducedDataset] = []
    in_tree = txn.begin(repo.root, repo.git, "reproduce") if target is None else contextlib.nullcontext()
    with in_tree as t:
        for item in items:
            dest = (target or repo.root) / item["path"]
            if target is None and (repo.root / dvcio.dvcfile_for(item["path"])).exists():
                from dslineage.ops.checkout import checkout

                checkout(repo, f"{item['name']}@{item['version']}", force=True)
            else:
                if t is not None:
                    t.backup(dest)
                copy_version(repo.root, item["md5"], dest)
            if t is not None:
                t.step("after-dataset")
            ds = _dataset(repo, item) if target is None else None
            md5 = common.working_md5(repo, ds) if ds is not None else md5_of(dest)  # in place: stat-cached
            datasets.append(
                ReproducedDataset(
                    name=item["name"],
                    version=item["version"],
                    seq=item["seq"],
                    md5=item["md5"],
                    path=str(dest),
                    verified=md5 == item["md5"],
                    fetched=item["md5"] in fetched,
                )
            )
    return Reproduction(
        experiment=exp["name"],
        id=exp["id"],
        git_commit=exp.get("git_commit"),
        into=str(target or repo.root),
        datasets=datasets,
        verified=all(d.verified for d in datasets),
        rerun=_rerun(repo, exp) if opts.rerun else None,
    )


def _check_worktree(repo: Repo, items: list[dict[str, Any]], force: bool) -> None:
    """Refuse to overwrite uncommitted work in the working files (unless --force)."""
    if force:
        return
    for item in items:
        ds = _dataset(repo, item)
        if ds is None:
            continue
        work = common.working_state(repo, ds)
        if work.missing or not work.differs_from(item["md5"]):
            continue
        if work.version is None:
            raise DirtyError(
                f"{ds.path} has uncommitted changes: commit them with `dslineage commit {ds.name} -m MSG`, "
                "reproduce elsewhere with --into DIR, or pass --force to discard them"
            )


def _rerun(repo: Repo, exp: dict[str, Any]) -> Rerun:
    """Re-run the experiment's pipeline at its code commit and compare output hashes."""
    pipeline = exp.get("pipeline") or {}
    if not pipeline:
        raise UsageError(f"experiment {exp['name']!r} recorded no pipeline (dvc.lock had no stages): nothing to re-run")
    if not exp.get("git_commit"):
        raise UsageError(f"experiment {exp['name']!r} has no code commit to re-run")
    tmp = Path(tempfile.mkdtemp(prefix="dslineage-rerun-"))
    work = tmp / "work"
    repo.git.run("worktree", "add", "--detach", "--quiet", str(work), exp["git_commit"])
    try:
        dvcio.share_cache(work, repo.root)
        _materialize(repo, exp, work)
        ran = dvcio.reproduce_all(work, force=True)
        after = dvcio.read_lock(work)
        differences, checked = _compare(repo, exp, pipeline, after, work)
    finally:
        try:
            repo.git.run("worktree", "remove", "--force", str(work))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            repo.git.run("worktree", "prune")
    return Rerun(
        identical=not differences,
        differences=differences,
        outputs_checked=checked,
        stages_run=[s for s in ran if s in pipeline],  # not the `.dvc` data sources DVC "verified"
        code_commit=exp["git_commit"],
    )


def _materialize(repo: Repo, exp: dict[str, Any], work: Path) -> None:
    """The experiment's datasets, and the `.dvc`-tracked files its stages read, in `work`."""
    outs = {p for st in (exp.get("pipeline") or {}).values() for p in st.get("outs", {})}
    for item in exp.get("datasets") or []:
        if item["path"] not in outs:  # stage outputs are re-made by the re-run itself
            copy_version(repo.root, item["md5"], work / item["path"])
    deps = {p for e in dvcio.read_lock(work).values() for p, _ in e.deps}
    mine = {i["path"] for i in exp.get("datasets") or []}
    tracked = {f: m for f, m in dvcio.dvcfile_outs(work).items() if f[: -len(".dvc")] in deps - mine}
    dvcio.fetch_objects(repo.root, list(tracked.values()), {m: f for f, m in tracked.items()})
    dvcio.checkout_dvcfiles(work, sorted(tracked))


def _compare(
    repo: Repo, exp: dict[str, Any], pipeline: dict[str, Any], after: dict[str, dvcio.LockEntry], work: Path
) -> tuple[list[OutputDifference], int]:
    by_path = {ds.path: ds for ds in repo.datasets().values()}
    versions = {i["path"]: i for i in exp.get("datasets") or []}
    differences: list[OutputDifference] = []
    checked = 0
    for stage, st in sorted(pipeline.items()):
        new = dict(after[stage].outs) if stage in after else {}
        for path, md5 in sorted(st.get("outs", {}).items()):
            checked += 1
            got = new.get(path)
            if got == md5:
                continue
            ds = by_path.get(path) if got is not None else None
            differences.append(
                OutputDifference(
                    stage=stage,
                    path=path,
                    recorded_md5=md5,
                    rerun_md5=got,
                    dataset=ds.name if ds is not None else None,
                    rows=_row_diff(repo, ds, md5, work / path, versions.get(path)) if ds is not None else None,
                )
            )
    return differences, checked


def _row_diff(
    repo: Repo, ds: Dataset, md5: str, new_file: Path, item: dict[str, Any] | None
) -> dict[str, JsonValue] | None:
    """Row-level counts between the recorded output bytes and the re-run's file."""
    old = dvcio.cache_path(repo.root, md5)
    if not old.exists() or not new_file.exists():
        return None
    con = common.row_connection(repo)
    try:
        a = common.md5_source(repo, ds, md5, f"{ds.name} as recorded")
        b = (
            parts.working_source(new_file.parent, new_file.name)
            if new_file.is_dir()
            else rows.source(new_file, ds, f"{ds.name} as re-run")
        )
        _, s = rowdiff.compare(con, a, b, ds)
        return {
            "added": s["added"],
            "removed": s["removed"],
            "relabeled": s["relabeled"],
            "modified": s["relabeled"] + s["modified"],
            "label_transitions": s["label_transitions"],
        }
    finally:
        con.close()
