"""Per-partition work of a directory dataset on the chosen engine (`--scheduler` / `engine:`):
where each task reads its parts, and the row diff of two sides computed part by part.

On a Dask cluster with the default DVC remote on S3, tasks read every part from the remote by
its `s3://` URL (workers on other machines see no path of this one): parts the remote lacks —
a version not pushed yet, or the working directory's new parts at commit or in a diff against
the working directory — are uploaded first, under the key `dvc push` gives them. Tasks get the
remote's endpoint and region, never credentials: the workers' environment provides those.
Otherwise (a local pool, or a cluster without an S3 remote, which must then share a file system
with this machine) tasks read local paths: working files and DVC cache objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import dvcio
from dslineage.config import DIR_FORMAT, Dataset
from dslineage.core import common
from dslineage.store import parts, rowdiff, rows
from dslineage.store.parttask import TaskReads

if TYPE_CHECKING:
    from dslineage.dvcio.remote_read import S3Location
    from dslineage.repo import Repo

Pair = tuple[str, "str | None", "str | None"]


@dataclass(frozen=True)
class Side:
    """One side of a part-by-part comparison: each part's md5 and a local copy if there is one
    (the working file; None for a committed part, read from the cache or the remote)."""

    label: str
    parts: dict[str, tuple[str, Path | None]]  # relpath -> (md5, local file | None)


def task_remote(repo: Repo) -> S3Location | None:
    """The S3 remote the engine's tasks read parts from: the default DVC remote when it is on S3
    and the engine is a Dask cluster; None when tasks read local paths."""
    if repo.engine.address is None or not dvcio.has_remote(repo.root):
        return None
    return dvcio.s3_location(repo.root)


def place(repo: Repo, loc: S3Location, sides: list[Side]) -> dict[str, int]:
    """Upload to the remote the parts of `sides` it lacks (from the working directory or the DVC
    cache), as `dvc push` would; url -> size of every part placed."""
    from dslineage.dvcio import remote_put

    objects: dict[str, Path | None] = {}
    for side in sides:
        for md5, local in side.parts.values():
            cached = dvcio.cache_path(repo.root, md5)
            objects.setdefault(md5, local if local is not None else cached if cached.exists() else None)
    return remote_put.put_missing(loc, objects, sides[0].label if len(sides) == 1 else "").sizes


def _local(repo: Repo, side: Side, rel: str) -> str:
    md5, local = side.parts[rel]
    if local is not None:
        return str(local)
    return str(common.object_location(repo, md5, f"{side.label}/{rel}"))


def placed(repo: Repo, sides: list[Side]) -> tuple[list[dict[str, str]], Any]:
    """Per side, relpath -> where the engine's tasks read that part, and how they read it (the
    remote's `S3Location`, or None for local paths): `s3://` URLs on a Dask cluster with an S3
    remote (missing parts uploaded first), else local paths (a part not cached is read from the
    S3 remote by URL when it is there, or fetched)."""
    loc = task_remote(repo)
    if loc is not None:
        from dslineage.core import remote

        remote.note_objects(repo, loc, place(repo, loc, sides))
        return [{r: loc.object_url(md5) for r, (md5, _) in side.parts.items()} for side in sides], loc
    found = [{r: _local(repo, side, r) for r in side.parts} for side in sides]
    used = any(x.startswith("s3://") for side in found for x in side.values())
    return found, dvcio.s3_location(repo.root) if used else None


def locations(repo: Repo, a: Side, b: Side, rels: list[str]) -> tuple[list[Pair], Any]:
    """(relpath, old location | None, new location | None) of `rels` for the engine's tasks, and
    how tasks read them (see `placed`)."""
    only = [Side(s.label, {r: s.parts[r] for r in rels if r in s.parts}) for s in (a, b)]
    (la, lb), reads = placed(repo, only)
    return [(r, la.get(r), lb.get(r)) for r in rels], reads


def changed(a: Side, b: Side) -> list[str]:
    """The relpaths whose md5 differs between the sides (a part on one side only included)."""
    return sorted(r for r in {*a.parts, *b.parts} if a.parts.get(r, ("",))[0] != b.parts.get(r, ("",))[0])


def build_changes(
    repo: Repo,
    con: Any,
    a: Side,
    b: Side,
    p: rowdiff.DiffPlan,
    cols_a: dict[str, str],
    cols_b: dict[str, str],
    *,
    digests: bool = False,
) -> TaskReads:
    """The `_chg` table of A → B from the changed parts only, one engine task per pair of parts."""
    from dslineage.core import remote
    from dslineage.store import partdiff

    pairs, reads = locations(repo, a, b, changed(a, b))
    got = partdiff.build_changes_parts(
        con, pairs, p, cols_a, cols_b, engine=repo.engine, digests=digests, filesystem=reads
    )
    remote.note_task_reads(repo, got)
    return got


def side_of(repo: Repo, ds: Dataset, desc: dict[str, Any], label: str) -> Side | None:
    """A diff side's parts: the working directory's (`desc["workdir"]`), or a committed
    directory version's from its manifest; None when the side is not a directory."""
    if desc.get("workdir"):
        found = common.working_parts(repo, ds)
        if found is None:
            return None
        top = common.working_path(repo, ds)
        return Side(label, {p.relpath: (p.md5, top / p.relpath) for p in found})
    if not parts.is_dir_md5(desc.get("md5")):
        return None
    return Side(label, {p.relpath: (p.md5, None) for p in common.dir_parts(repo, desc["md5"], label)})


def compare(
    repo: Repo, con: Any, ds: Dataset, sides: list[tuple[dict[str, Any], rows.Source]]
) -> tuple[rowdiff.DiffPlan, dict[str, Any]] | None:
    """`rowdiff.compare` of two directory sides ((description, source) each), computed part by
    part on the engine from the parts whose md5 differs; None when a side is not a directory."""
    if ds.format != DIR_FORMAT:
        return None
    (desc_a, src_a), (desc_b, src_b) = sides
    a, b = side_of(repo, ds, desc_a, src_a.label), side_of(repo, ds, desc_b, src_b.label)
    if a is None or b is None:
        return None
    sa, sb = rows.schema(con, src_a), rows.schema(con, src_b)
    p = rowdiff.plan(sa, sb, ds)
    build_changes(repo, con, a, b, p, {c["name"]: c["type"] for c in sa}, {c["name"]: c["type"] for c in sb})
    return p, rowdiff.summarize_changes(con, p)


def commit_sides(
    before: dict[str, tuple[parts.Part, Path]], after: dict[str, tuple[parts.Part, Path]], label: str
) -> tuple[Side, Side]:
    """A commit's two sides from `ops.dirs.located` maps: the parent's parts (committed: read from
    the cache or the remote) and the new version's (local files: the working directory or cache)."""
    return (
        Side(f"{label} (parent)", {r: (part.md5, None) for r, (part, _) in before.items()}),
        Side(label, {r: (part.md5, path) for r, (part, path) in after.items()}),
    )
