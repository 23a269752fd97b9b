"""`dslineage merge` of a directory dataset: part by part. A part only one side changed is
taken from that side as it is (a copy of its DVC cache object, no row read); a part both
sides changed is merged row by row (`store.merge.merge3` over that part's three versions)
and written anew; the merged directory's keys are then checked unique across its parts.

Two steps, so that a merge with conflicting cells changes nothing: `plan_dir` stages every
part the merge writes beside the index (`.dslineage/tmp`, outside the dataset directory) and
gathers the conflicting cells of every part both sides edited (one table, with a `part`
column); `apply_dir` renames the staged parts into place inside the open transaction. A
plan with conflicts is discarded: the directory keeps ours, the dataset enters the merging
state, and `merge --resolve` plans again with `--ours`/`--theirs`/`--from FILE` (the
resolutions apply in the part holding each key). `plan_dir` needs no `Repo` (the git merge
driver, which must not open the index, uses it too: see `ops/merge_dir_driver.py`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import dvcio, files
from dslineage.config import META_DIR, Dataset
from dslineage.errors import MergingError, SchemaError
from dslineage.ops import dirs
from dslineage.ops.merge_sides import Sides
from dslineage.store import parts, rows

if TYPE_CHECKING:
    from dslineage.repo import Repo

Locate = Callable[[str, str], Path]  # (md5, what) -> the DVC cache object (fetched if missing)
COUNTS = ("from_ours", "from_theirs", "added", "removed")


@dataclass
class DirMerge:
    """A directory merge staged beside the index: nothing visible has changed yet."""

    staged: list[dirs.Staged] = field(default_factory=list)  # parts to rename into place
    removed: list[parts.Part] = field(default_factory=list)  # working parts to delete
    conflicts: Any = None  # pyarrow Table of every part's conflicting cells (+ `part`), or None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    merged: list[str] = field(default_factory=list)  # parts merged row by row

    def discard(self) -> None:
        """Delete the staged files (the plan is not applied)."""
        for s in self.staged:
            s.tmp.unlink(missing_ok=True)
        self.staged = []


def locator(repo: Repo) -> Locate:
    """`Locate` through the repository (a cache object missing locally is fetched)."""
    from dslineage.core import common

    return lambda md5, what: common.object_path(repo, md5, what)


def _manifest(root: Path, locate: Locate, ds: Dataset, md5: str | None, side: str) -> dict[str, parts.Part]:
    if md5 is None:
        return {}
    locate(md5, f"{ds.name} ({side})")
    return {p.relpath: p for p in parts.parts_of(root, md5)}


def plan_dir(root: Path, con: Any, ds: Dataset, sides: Sides, locate: Locate) -> DirMerge:
    """Stage the merge of ours and theirs against base, part by part (see the module doc);
    `sides.prefer` and `sides.resolutions` settle conflicting cells as `store.merge.merge3` does."""
    base, ours, theirs = (
        _manifest(root, locate, ds, m, s)
        for m, s in ((sides.base, "base"), (sides.ours, "ours"), (sides.theirs, "theirs"))
    )
    where = root / META_DIR / "tmp"
    where.mkdir(parents=True, exist_ok=True)
    top = root / ds.path
    out = DirMerge()
    found: list[Any] = []
    try:
        for i, rel in enumerate(sorted({*base, *ours, *theirs})):
            b, o, t = (side.get(rel) for side in (base, ours, theirs))
            bm, om, tm = (p.md5 if p else None for p in (b, o, t))
            if tm == om or tm == bm:
                continue  # theirs left it alone (or made it ours): keep ours
            tmp = where / f"merge-{os.getpid()}-{i}.parquet"
            if om == bm and t is None:
                assert o is not None
                out.removed.append(o)
                continue
            if om == bm:
                assert t is not None
                obj = locate(t.md5, f"{ds.name}/{rel} (theirs)")
                out.staged.append(dirs.Staged(rel, tmp, top / rel, om, t.md5))
                files.atomic_write(tmp, lambda dest, obj=obj: shutil.copyfile(obj, dest))  # type: ignore[misc]
                continue
            staged, conflicts, counts = _merge_part(con, ds, rel, (b, o, t), tmp, top, locate, sides)
            out.merged.append(rel)
            out.counts = {k: out.counts[k] + counts.get(k, 0) for k in COUNTS}
            if staged is not None:
                out.staged.append(staged)
            else:
                found.append(conflicts)
    except BaseException:
        out.discard()
        raise
    if found:
        import pyarrow as pa

        out.discard()
        out.conflicts = pa.concat_tables(found, promote_options="default")
    return out


def _merge_part(
    con: Any,
    ds: Dataset,
    rel: str,
    found: tuple[parts.Part | None, parts.Part | None, parts.Part | None],
    tmp: Path,
    top: Path,
    locate: Locate,
    sides: Sides,
) -> tuple[dirs.Staged | None, Any, dict[str, int]]:
    """The row-level three-way merge of one part both sides changed: (the part written to
    `tmp`, None) or (None, its conflicting cells with a `part` column), and its counts."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dslineage.store import labels
    from dslineage.store.merge import merge3

    b, o, t = found
    if o is None or t is None:
        raise MergingError(
            f"{ds.name}: {rel} was removed on one side and changed on the other: make both branches agree "
            "on that partition (remove or restore it), commit, and merge again"
        )

    def src(p: parts.Part | None, side: str) -> rows.Source | None:
        if p is None:
            return None
        return parts.source([(rel, locate(p.md5, f"{ds.name}/{rel} ({side})"))], f"{ds.name}/{rel} ({side})")

    ours_src, theirs_src = src(o, "ours"), src(t, "theirs")
    assert ours_src is not None and theirs_src is not None
    outcome = merge3(con, src(b, "base"), ours_src, theirs_src, ds, prefer=sides.prefer, resolutions=sides.resolutions)
    if outcome.table is None:
        c = outcome.conflicts
        return None, c.append_column("part", pa.array([rel] * c.num_rows, pa.string())), dict(outcome.counts)
    ours_obj = locate(o.md5, f"{ds.name}/{rel} (ours)")
    schema = pq.read_schema(ours_obj)
    table = outcome.table.select(schema.names).cast(schema)
    labels.write(con, table, tmp, replace(ds, format="parquet"), ours_obj)
    return dirs.Staged(rel, tmp, top / rel, o.md5, dvcio.file_md5(tmp)), None, dict(outcome.counts)


def apply_dir(repo: Repo, con: Any, ds: Dataset, plan: DirMerge) -> str:
    """Rename a conflict-free plan's parts into place inside the open transaction, check the
    keys unique across the merged directory, and return its md5."""
    from dslineage.core import common

    assert plan.conflicts is None, "resolve the conflicts before applying a directory merge"
    try:
        dirs.replace_parts(repo, ds, plan.staged, plan.removed)
    finally:
        plan.discard()
    src = common.working_source(repo, ds)
    try:
        rows.check_keys(con, src, ds, rows.schema(con, src))  # a key both sides added to other parts
    except SchemaError as exc:
        if "duplicated" not in str(exc):
            raise
        example = str(exc).split("e.g. ", 1)[-1].split(";", 1)[0]
        raise MergingError(
            f"merging {ds.name} would put key(s) in two parts ({example}): one side moved a row to another "
            "partition while the other side kept or changed it where it was; keep one copy (`dslineage merge "
            f"--resolve {ds.name} --ours`, or `--from FILE` with column *row* and value null for that key), "
            "or move the row alike on both branches and merge again"
        ) from None
    md5 = common.working_md5(repo, ds)
    assert md5 is not None
    return md5


def merge_dir(repo: Repo, con: Any, ds: Dataset, sides: Sides) -> tuple[str | None, Any, dict[str, int]]:
    """Make the working directory the merge of ours (what it holds) and theirs against base,
    inside the open transaction: (its md5, None, counts); with conflicting cells nothing
    changes and it returns (None, the conflicts, counts)."""
    plan = plan_dir(repo.root, con, ds, sides, locator(repo))
    if plan.conflicts is not None:
        return None, plan.conflicts, plan.counts
    return apply_dir(repo, con, ds, plan), None, plan.counts
