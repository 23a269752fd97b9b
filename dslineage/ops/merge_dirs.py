"""`dslineage merge` of a directory dataset: part by part. A part only one side changed is
taken from that side as it is (a copy of its DVC cache object, no row read); a part both
sides changed is merged row by row (`store.merge.merge3` over that part's three versions)
and written anew; the merged directory's keys are then checked unique across its parts.
Conflicting cells stop the merge (nothing changes; see docs/scale.md)."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import dvcio, files
from dslineage.config import META_DIR, Dataset
from dslineage.core import common
from dslineage.errors import MergingError
from dslineage.ops import dirs
from dslineage.store import parts, rows

if TYPE_CHECKING:
    from dslineage.repo import Repo


def _manifest(repo: Repo, ds: Dataset, md5: str | None, side: str) -> dict[str, parts.Part]:
    if md5 is None:
        return {}
    common.object_path(repo, md5, f"{ds.name} ({side})")
    return {p.relpath: p for p in parts.parts_of(repo.root, md5)}


def merge_dir(repo: Repo, con: Any, ds: Dataset, base_md5: str | None, ours_md5: str, theirs_md5: str) -> str:
    """Make the working directory the merge of ours (what it holds) and theirs against base,
    inside the open transaction; returns the merged directory's md5."""
    base = _manifest(repo, ds, base_md5, "base")
    ours = _manifest(repo, ds, ours_md5, "ours")
    theirs = _manifest(repo, ds, theirs_md5, "theirs")
    where = repo.root / META_DIR / "tmp"
    where.mkdir(parents=True, exist_ok=True)
    top = common.working_path(repo, ds)
    staged: list[dirs.Staged] = []
    removed: list[parts.Part] = []
    try:
        for i, rel in enumerate(sorted({*base, *ours, *theirs})):
            b, o, t = (side.get(rel) for side in (base, ours, theirs))
            bm, om, tm = (p.md5 if p else None for p in (b, o, t))
            if tm == om or tm == bm:
                continue  # theirs left it alone (or made it ours): keep ours
            tmp = where / f"merge-{os.getpid()}-{i}.parquet"
            if om == bm and t is None:
                assert o is not None
                removed.append(o)
                continue
            if om == bm:
                assert t is not None
                obj = common.object_path(repo, t.md5, f"{ds.name}/{rel} (theirs)")
                staged.append(dirs.Staged(rel, tmp, top / rel, om, t.md5))
                files.atomic_write(tmp, lambda dest, obj=obj: shutil.copyfile(obj, dest))  # type: ignore[misc]
                continue
            staged.append(_merge_part(repo, con, ds, rel, b, o, t, tmp, top))
        dirs.replace_parts(repo, ds, staged, removed)
    finally:
        for s in staged:
            s.tmp.unlink(missing_ok=True)
    src = common.working_source(repo, ds)
    rows.check_keys(con, src, ds, rows.schema(con, src))  # a key both sides added to other parts
    md5 = common.working_md5(repo, ds)
    assert md5 is not None
    return md5


def _merge_part(repo: Repo, con: Any, ds: Dataset, rel: str, b: parts.Part | None, o: parts.Part | None,
                t: parts.Part | None, tmp: Path, top: Path) -> dirs.Staged:
    """The row-level three-way merge of one part both sides changed, written to `tmp`."""
    import pyarrow.parquet as pq

    from dslineage.store import labels
    from dslineage.store.merge import merge3

    if o is None or t is None:
        raise MergingError(
            f"{ds.name}: {rel} was removed on one side and changed on the other: make both branches agree "
            "on that partition (remove or restore it), commit, and merge again"
        )

    def src(p: parts.Part | None, side: str) -> rows.Source | None:
        if p is None:
            return None
        return parts.source([(rel, common.object_path(repo, p.md5, f"{ds.name}/{rel} ({side})"))], f"{rel} ({side})")

    ours_src, theirs_src = src(o, "ours"), src(t, "theirs")
    assert ours_src is not None and theirs_src is not None
    outcome = merge3(con, src(b, "base"), ours_src, theirs_src, ds)
    if outcome.table is None:
        raise MergingError(
            f"{ds.name}: {outcome.conflicts.num_rows} conflicting cell(s) in {rel}, which both branches edited; "
            "a directory dataset's conflicts are not resolved here yet: relabel those rows alike on one branch, "
            "commit, and merge again"
        )
    ours_obj = common.object_path(repo, o.md5, f"{ds.name}/{rel} (ours)")
    schema = pq.read_schema(ours_obj)
    table = outcome.table.select(schema.names).cast(schema)
    labels.write(con, table, tmp, replace(ds, format="parquet"), ours_obj)
    return dirs.Staged(rel, tmp, top / rel, o.md5, dvcio.file_md5(tmp))
