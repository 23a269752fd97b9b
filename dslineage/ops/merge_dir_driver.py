"""The git merge driver's part for a directory dataset both sides changed (`ops.merge_driver`
hands it over): the part-by-part merge of `ops.merge_dirs.plan_dir`, under the driver's
rules: no repository lock, no index database, git's index untouched.

Conflicting cells: nothing changes in the work tree, the dataset enters the merging state
(its cells saved as for a file) and the driver exits 1, so git reports the `.dvc` conflict;
`dslineage merge --conflicts NAME` / `--resolve NAME ...` then finish it as after `dslineage
merge`, and `git commit` concludes. Clean: every merged part goes into the DVC cache, then
renamed into the working directory; the merged `.dir` manifest goes into the cache; OURS gets
the merged `.dvc`; a note lets the next dslineage command record the merge version. The
working directory is made the merge wherever ours and theirs disagree (it holds ours' parts
in a merge, theirs' in a rebase); a part there holding neither side's bytes (an uncommitted
edit) stops the driver (exit 1) before anything is written.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dslineage import config, dvcio, files
from dslineage.config import Dataset
from dslineage.ops import mergestate
from dslineage.ops.merge_dirs import DirMerge, plan_dir
from dslineage.ops.merge_sides import Sides
from dslineage.store import parts, rows


def _locate(root: Path) -> Callable[[str, str], Path]:
    def locate(md5: str, what: str) -> Path:
        dvcio.fetch_objects(root, [md5], {md5: what})
        return dvcio.cache_path(root, md5)

    return locate


def run_dir(
    root: Path, ds: Dataset, state: dict[str, Any], store: Callable[[Path, Path, str], None]
) -> tuple[int, dict[str, Any] | None]:
    """Merge directory dataset `ds` (`state`: base_md5, ours_md5, theirs_md5, ...): (0, the
    merged `.dvc` out's md5/size/nfiles) when clean, (1, None) with conflicts or a dirty part.
    `store(root, file, md5)` puts a file into the DVC cache."""
    con = rows.connect(config.load_settings(root), root / config.META_DIR / "tmp")
    try:
        plan = plan_dir(root, con, ds, Sides.of(state), _locate(root))
    finally:
        con.close()
    if plan.conflicts is not None:
        cells = plan.conflicts.num_rows
        mergestate.write(root, {**state, "state": "conflicts", "cells": cells}, plan.conflicts)
        sys.stderr.write(
            f"dslineage: {cells} conflicting cells in {ds.name}: list them with `dslineage merge --conflicts "
            f"{ds.name}`, then `dslineage merge --resolve {ds.name} --ours|--theirs|--from FILE`\n"
        )
        return 1, None
    try:
        merged = {p.relpath: p for p in parts.parts_of(root, state["ours_md5"])}
        for p in plan.removed:
            merged.pop(p.relpath, None)
        for s in plan.staged:
            merged[s.rel] = parts.Part(s.rel, s.md5, s.tmp.stat().st_size)
        todo = _work_changes(root, ds, state, merged)
        if isinstance(todo, str):
            sys.stderr.write(
                f"dslineage: {ds.path}/{todo} holds uncommitted changes: run `git merge --abort` (or `git rebase "
                f"--abort`), commit them (`dslineage commit {ds.name} -m MSG`), and merge again\n"
            )
            return 1, None
        for s in plan.staged:
            store(root, s.tmp, s.md5)
        md5 = _store_manifest(root, list(merged.values()), store)
        _update_work(root, ds, plan, todo)
    finally:
        plan.discard()
    return 0, {"md5": md5, "size": sum(p.size for p in merged.values()), "nfiles": len(merged)}


def _work_changes(
    root: Path, ds: Dataset, state: dict[str, Any], merged: dict[str, parts.Part]
) -> dict[str, str | None] | str:
    """What the working directory needs to become the merge: relpath -> merged md5 (None:
    delete) for every part ours and theirs disagree on whose working bytes differ from the
    merge (a merge holds ours' parts, a rebase theirs': either is replaced; parts both sides
    agree on are left alone, unread). A part holding neither side's bytes (an uncommitted
    edit) is returned by name instead: nothing is written then."""
    sides = [{p.relpath: p.md5 for p in parts.parts_of(root, state[f"{side}_md5"])} for side in ("ours", "theirs")]
    todo: dict[str, str | None] = {}
    for rel in sorted({*sides[0], *sides[1], *merged}):
        om, tm = sides[0].get(rel), sides[1].get(rel)
        mm = merged[rel].md5 if rel in merged else None
        if om == tm == mm:
            continue
        path = root / ds.path / rel
        have = dvcio.file_md5(path) if path.is_file() else None
        if have == mm:
            continue
        if have not in (om, tm):
            return rel
        todo[rel] = mm
    return todo


def _store_manifest(root: Path, found: list[parts.Part], store: Callable[[Path, Path, str], None]) -> str:
    """Write the `.dir` manifest of these parts into the DVC cache (DVC's own bytes); its md5."""
    md5 = parts.manifest_md5(found)
    entries = sorted(({"md5": p.md5, "relpath": p.relpath} for p in found), key=lambda e: e["relpath"])
    tmp = root / config.META_DIR / "tmp" / f"merge-{os.getpid()}.dir"
    tmp.write_bytes(json.dumps(entries, sort_keys=True).encode("utf-8"))
    try:
        store(root, tmp, md5)
    finally:
        tmp.unlink(missing_ok=True)
    return md5


def _update_work(root: Path, ds: Dataset, plan: DirMerge, todo: dict[str, str | None]) -> None:
    """Make the working directory the merge: staged parts renamed into place, other parts
    copied from the DVC cache, parts the merge lacks deleted."""
    top = root / ds.path
    staged = {s.rel: s for s in plan.staged}
    for rel, md5 in todo.items():
        target = top / rel
        if md5 is None:
            files.remove_pruning(target, top)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel in staged:
            files.rename_into_place(staged[rel].tmp, target)
        else:
            obj = _locate(root)(md5, f"{ds.name}/{rel}")
            files.atomic_write(target, lambda tmp, obj=obj: shutil.copyfile(obj, tmp))  # type: ignore[misc]
