"""Directory datasets in the verbs: a commit's change set from the changed parts only,
DVC's hints for the parts, backing up and rewriting only the parts that hold edited rows.
The parts themselves (manifests, scans, sources) live in `store.parts`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import dvcio, files, txn
from dslineage.config import DIR_FORMAT, META_DIR, Dataset
from dslineage.core import common
from dslineage.store import keyindex, parts, rowdiff, rows

if TYPE_CHECKING:
    from dslineage.repo import Repo

Located = dict[str, tuple[parts.Part, Path]]  # relpath -> (part, where its bytes are)


def part_hints(repo: Repo, ds: Dataset) -> dict[str, str]:
    """The working parts' md5s already known for their current stat (relpath -> md5), for
    DVC's state db: `dvc add` then hashes none of them again."""
    found = common.working_parts(repo, ds, compute=False) or []
    return {p.relpath: p.md5 for p in found}


def located(repo: Repo, ds: Dataset, md5: str) -> Located | None:
    """The parts of the directory with this `.dir` md5 and where to read each: the DVC cache
    when it holds the manifest (a part not fetched yet: `changed_pairs` fetches only the
    changed ones), else the working directory when its parts have this md5 (e.g. before
    `dvc add`); None when neither."""
    if not parts.is_dir_md5(md5):
        return None
    if dvcio.cache_path(repo.root, md5).is_file():
        return {p.relpath: (p, dvcio.cache_path(repo.root, p.md5)) for p in parts.parts_of(repo.root, md5)}
    work = common.working_parts(repo, ds, compute=False)
    if work is None or parts.manifest_md5(work) != md5:
        return None
    top = common.working_path(repo, ds)
    return {p.relpath: (p, top / p.relpath) for p in work}


def changed_pairs(repo: Repo, ds: Dataset, before: Located, after: Located) -> list[tuple[str, str | None, str | None]]:
    """(relpath, old location | None, new location | None) of every part whose md5 differs
    (a cache object missing locally is fetched from the DVC remote, these only)."""

    def where(side: tuple[parts.Part, Path] | None) -> str | None:
        if side is None:
            return None
        part, path = side
        return str(path if path.exists() else common.object_path(repo, part.md5, f"{ds.name}/{part.relpath}"))

    out = []
    for rel in sorted({*before, *after}):
        a, b = before.get(rel), after.get(rel)
        if a is not None and b is not None and a[0].md5 == b[0].md5:
            continue
        out.append((rel, where(a), where(b)))
    return out


def _obj(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def diff_changed_parts(
    repo: Repo, con: Any, ds: Dataset, new: rows.Source, md5: str, parent: dict[str, Any]
) -> tuple[rowdiff.DiffPlan, dict[str, Any], int, list[dict[str, str]], dict[str, Any]] | None:
    """A directory version's change set against its parent read from the CHANGED parts only,
    with its row count (from footers), schema and label distribution (the parent's, moved by
    the changes): (plan, summary, rows, schema, distribution); the `_chg` table is left in
    `con`. None when this does not apply (not a directory, or the parent is not profiled).

    Keys stay unique across the whole directory: the changed parts prove theirs by counts
    (as `rowdiff.check_keys_by_diff` does), and keys new to them must not occur in the
    unchanged parts (their key columns only are read); else the full key scan raises."""
    if (
        ds.format != DIR_FORMAT
        or not parts.is_dir_md5(parent["md5"])
        or parent.get("rows") is None
        or not parent.get("schema")
        or not parent.get("label_distribution")
    ):
        return None
    after = located(repo, ds, md5)
    before = located(repo, ds, parent["md5"]) if after is not None else None
    if after is None or before is None:
        return None
    schema_a, schema_b = _obj(parent["schema"]), rows.check_columns(con, new, ds)
    p = rowdiff.plan(schema_a, schema_b, ds)
    cols_a = {c["name"]: c["type"] for c in schema_a}
    cols_b = {c["name"]: c["type"] for c in schema_b}
    pairs = changed_pairs(repo, ds, before, after)
    if repo.engine_spec is None:  # one DuckDB query over the changed parts: fastest on one machine
        parts.build_changes_changed(con, pairs, p, cols_a, cols_b, digests=True)
    else:  # `--scheduler` / `engine:` chose where per-partition tasks run (parts on the S3 remote for Dask)
        from dslineage.core import partwork

        partwork.build_changes(
            repo, con, *partwork.commit_sides(before, after, ds.name), p, cols_a, cols_b, digests=True
        )
    summary = rowdiff.summarize_changes(con, p)
    n_rows = parts.row_count([path for _, path in after.values()])
    if not _keys_proven(repo, con, ds, schema_b, pairs, after, summary):
        rows.check_keys(con, new, ds, schema_b)  # raises the usual one-line error
    return p, summary, n_rows, schema_b, _moved(con, p, _obj(parent["label_distribution"]))


def _keys_proven(
    repo: Repo,
    con: Any,
    ds: Dataset,
    schema: list[dict[str, str]],
    pairs: list[tuple[str, str | None, str | None]],
    after: Located,
    summary: dict[str, Any],
) -> bool:
    if any(c["name"] in ds.key and c["type"] in ("DOUBLE", "FLOAT") for c in schema):
        return False  # NaN keys need the full scan
    old_rows = parts.row_count([Path(a) for _, a, _ in pairs if a is not None])
    new_rows = parts.row_count([Path(b) for _, _, b in pairs if b is not None])
    if new_rows != old_rows - summary["removed"] + summary["added"]:
        return False
    if not summary["added"]:
        return True
    n = len(ds.key)
    nulls = " OR ".join(f"k{i} IS NULL" for i in range(n))
    ks = ", ".join(f"k{i}" for i in range(n))
    bad = con.execute(
        f"SELECT count(*) FILTER (WHERE {nulls}), count(*) - count(DISTINCT ({ks})) FROM _chg WHERE change = 'added'"
    ).fetchone()
    if any(bad):
        return False
    changed = {rel for rel, _, _ in pairs}
    unchanged = {rel: where for rel, where in after.items() if rel not in changed}
    # the keys the changed parts add against the key -> part index of the unchanged parts, when it
    # has them all (reading the unchanged parts' keys to build it would cost more than the probe)
    refs = [keyindex.PartRef(rel, part.md5, path) for rel, (part, path) in unchanged.items()]
    types = {c["name"]: c["type"] for c in schema}
    pid_of = keyindex.indexed(repo.index.con, refs, ds.key, types)
    if len(pid_of) == len(refs):
        return not keyindex.holding(repo.index.con, pid_of, ds.key, types, keyindex.added_keys(con, len(ds.key)))
    return not parts.keys_clash(con, [(rel, path) for rel, (_, path) in unchanged.items()], ds.key)


def _moved(con: Any, p: rowdiff.DiffPlan, parent_dist: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The parent's label distribution moved by the `_chg` table (removed rows leave their old
    label, added rows bring their new one, relabeled rows move)."""
    out: dict[str, Any] = {}
    for i, label in enumerate(p.labels):
        counts = {json.dumps(d["label"]): int(d["count"]) for d in parent_dist.get(label, [])}
        values = {json.dumps(d["label"]): d["label"] for d in parent_dist.get(label, [])}
        for v, n in con.execute(
            f"SELECT v, sum(d) FROM (SELECT o{i} AS v, -1 AS d FROM _chg WHERE change <> 'added' "
            f"UNION ALL SELECT n{i}, 1 FROM _chg WHERE change <> 'removed') GROUP BY v"
        ).fetchall():
            key = json.dumps(rows.plain(v))
            counts[key] = counts.get(key, 0) + int(n)
            values.setdefault(key, rows.plain(v))
        dist = [{"label": values[k], "count": n} for k, n in counts.items() if n]
        dist.sort(key=lambda d: (-d["count"], d["label"] is None, "" if d["label"] is None else d["label"]))
        out[label] = dist
    return out


@dataclass(frozen=True)
class Staged:
    """A rewritten part, written beside the one it replaces and not yet renamed over it."""

    rel: str  # inside the dataset directory
    tmp: Path
    target: Path
    old_md5: str | None
    md5: str


def changed_positions(before: Any, after: Any, columns: list[str]) -> Any:
    """Row positions where any of `columns` differs between two tables of the same rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def flat(col: Any) -> Any:
        return col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col

    changed = None
    for c in columns:
        a, b = flat(before.column(c)), flat(after.column(c))
        same = pc.or_(pc.fill_null(pc.equal(a, b), False), pc.and_(pc.is_null(a), pc.is_null(b)))
        diff = pc.invert(same)
        changed = diff if changed is None else pc.or_(changed, diff)
    assert changed is not None
    return pc.indices_nonzero(changed).to_numpy()


def stage_edits(
    repo: Repo, ds: Dataset, before: Any, after: Any, spans: list[parts.Span], suffix: str
) -> tuple[list[Staged], str]:
    """Write every part holding a row whose labels changed (`before` → `after`, the loaded
    directory) to a new file beside it — in this process, or one engine task per part with
    `--scheduler` / `engine:` (`core.partedit`) — the parts staged and the directory's md5 after."""
    from dslineage.core import partedit

    now = {p.relpath: p for p in common.working_parts(repo, ds) or []}
    # staged outside the dataset directory (a stray file there would be a part), on its file system
    where = repo.root / META_DIR / "tmp"
    where.mkdir(parents=True, exist_ok=True)
    jobs = [
        partedit.Job(
            span.relpath,
            span.path,
            now[span.relpath].md5 if span.relpath in now else None,
            after.slice(span.start, span.rows),
            where / f"{suffix}-{os.getpid()}-{i}.parquet",
        )
        for i, span in enumerate(parts.spans_holding(spans, changed_positions(before, after, ds.labels)))
    ]
    try:
        done = partedit.rewrite(repo, ds, jobs)
    except BaseException:
        for j in jobs:
            j.tmp.unlink(missing_ok=True)
        raise
    staged = [Staged(j.rel, j.tmp, j.path, j.md5, d.md5) for j, d in zip(jobs, done)]
    for s in staged:  # a label edit keeps a part's keys: the key index files the new part under them
        if s.old_md5:
            keyindex.alias(repo.index.con, s.rel, s.old_md5, s.md5, ds.key)
    new = {**now, **{s.rel: parts.Part(s.rel, s.md5, d.size) for s, d in zip(staged, done)}}
    return staged, parts.manifest_md5(list(new.values()))


def replace_parts(repo: Repo, ds: Dataset, staged: list[Staged], removed: list[parts.Part] | None = None) -> None:
    """Rename the staged parts over the working ones (and delete `removed`) inside the open
    transaction, which records each old part first (by its DVC md5); remember the new
    parts' md5s (no rehash)."""
    t = txn.current(repo.root)
    assert t is not None, "replace parts inside txn.begin()"
    for s in staged:
        t.backup(f"{ds.path}/{s.rel}", md5=s.old_md5)
    for p in removed or []:
        t.backup(f"{ds.path}/{p.relpath}", md5=p.md5)
    for s in staged:
        s.target.parent.mkdir(parents=True, exist_ok=True)
        files.rename_into_place(s.tmp, s.target)
        sig = common.stat_signature(s.target)
        if sig is not None:
            repo.index.remember_md5(f"{ds.path}/{s.rel}", sig, s.md5)
    top = common.working_path(repo, ds)
    for p in removed or []:
        files.remove_pruning(top / p.relpath, top)  # partition folders left empty go too


def stage_version(repo: Repo, ds: Dataset, md5: str, suffix: str) -> tuple[list[Staged], list[parts.Part]]:
    """Copies of the parts of the directory version `md5` that the working directory lacks
    or holds other bytes for (staged beside the index, from the DVC cache), and the working
    parts that version does not have: what `replace_parts` needs to make the directory it."""
    import shutil

    now = {p.relpath: p for p in common.working_parts(repo, ds) or []}
    want = {p.relpath: p for p in parts.parts_of(repo.root, md5)}
    where = repo.root / META_DIR / "tmp"
    where.mkdir(parents=True, exist_ok=True)
    top = common.working_path(repo, ds)
    staged: list[Staged] = []
    try:
        for i, (rel, p) in enumerate(sorted(want.items())):
            old = now.get(rel)
            if old is not None and old.md5 == p.md5:
                continue
            obj = common.object_path(repo, p.md5, f"{ds.name}/{rel}")
            tmp = where / f"{suffix}-{os.getpid()}-{i}.parquet"
            staged.append(Staged(rel, tmp, top / rel, old.md5 if old else None, p.md5))
            files.atomic_write(tmp, lambda dest, obj=obj: shutil.copyfile(obj, dest))  # type: ignore[misc]
    except BaseException:
        for s in staged:
            s.tmp.unlink(missing_ok=True)
        raise
    return staged, [p for rel, p in sorted(now.items()) if rel not in want]


def load_working(repo: Repo, ds: Dataset) -> tuple[Any, list[parts.Span]]:
    """The working directory's key and label columns as one table (all an edit session
    needs; a part's other columns are read only when that part is rewritten), and each
    part's span in it."""
    return parts.load(parts.scan(repo.root, ds.path), list(dict.fromkeys(ds.key + ds.labels)))


def backup_parts(t: txn.Transaction, repo: Repo, ds: Dataset, md5: str) -> None:
    """Record, before the directory becomes version `md5`, every working part that version
    lacks or holds other bytes for (by its DVC md5) and every part it would create."""
    now = {p.relpath: p for p in common.working_parts(repo, ds) or []}
    common.object_path(repo, md5, ds.name)
    want = {p.relpath: p for p in parts.parts_of(repo.root, md5)}
    for rel, p in sorted(now.items()):
        if rel not in want or want[rel].md5 != p.md5:
            t.backup(f"{ds.path}/{rel}", md5=p.md5)
    t.create(*[f"{ds.path}/{rel}" for rel in sorted(want) if rel not in now])
