"""`dslineage sync`: ingest `dvc.lock` states as transformation nodes (idempotent).

For people who run `dvc repro` or `dvc exp run` themselves. Every stage in the work
tree's `dvc.lock` whose state (command, dep and out hashes, params) no transformation
records yet becomes one; outputs that are tracked datasets get versions from the hashes
`dvc.lock` records (no `dvc add`). Everything goes into one git commit together with
`dvc.yaml` and `dvc.lock`. Running it again records nothing new.

Every input and output is recorded by path and md5 (tracked datasets also by version), so
files, directories, models and metrics files (`metrics:` in dvc.yaml) become lineage
nodes. `--all-commits` first walks `dvc.lock` through the branch's git history: each past
stage state not recorded yet becomes a transformation carrying the commit it was committed
in (as `track` adopts a `.dvc` file's history); these name dataset versions already
recorded but record no new ones.

Other commands call `maybe_sync` first: it does nothing unless `dvc.lock` changed since
the last sync (its md5 is remembered in the index, a cache: losing it costs one re-check).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from dslineage import dvcio, journal, txn
from dslineage.config import Dataset
from dslineage.errors import DslineageError
from dslineage.model_exp import SyncOptions, SyncResult, Transformation
from dslineage.ops.stages import code_dirty, order, pipeline_paths, signature, transformation, write_transformations
from dslineage.store import graph as graph_sql

if TYPE_CHECKING:
    from pathlib import Path

    from dslineage.repo import Repo

STEPS = txn.declare("sync", "after-changes", "after-journal")

META_KEY = "dvc_lock_synced"


def sync(repo: Repo, opts: SyncOptions) -> SyncResult:
    """Record a transformation for each `dvc.lock` stage state not recorded yet (with
    `all_commits`, first each past state in the branch's git history)."""
    from dslineage.ops.commit import default_author, record_versions

    raw = dvcio.lock_bytes(repo.root)
    lock = dvcio.parse_lock(raw)
    repo.index.sync()
    author = opts.author
    past = _history(repo, author, {signature(e) for e in lock.values()}) if opts.all_commits else []
    seen = graph_sql.signatures(repo.index.con)
    new = order([e for e in lock.values() if signature(e) not in seen])
    done = [Transformation.from_dict(r) for r in past]
    if not new:
        _remember(repo, raw)
        return SyncResult(transformations=done, versions=[], git_commit=repo.git.head() if past else None)
    who = default_author(repo, author)
    metrics = dvcio.metrics_paths(dvcio.stage_definitions(repo.root))
    by_path = {ds.path: ds for ds in repo.datasets().values()}
    items: list[tuple[Dataset, str, Path | None]] = []
    what: dict[str, str] = {}
    for e in new:
        for path, md5 in e.outs:
            ds = by_path.get(path)
            if ds is not None and not md5.endswith(".dir"):
                items.append((ds, md5, dvcio.cache_path(repo.root, md5)))
                what[md5] = f"{path}, output of stage {e.stage}"
    dvcio.fetch_objects(repo.root, [md5 for _, md5, _ in items], what)
    head = repo.git.head()
    records: list[dict[str, Any]] = []

    def write_records(versions: list[dict[str, Any]]) -> list[Path]:
        made = {(v["dataset"], v["md5"]): v for v in versions}
        records.extend(
            transformation(
                repo,
                e,
                by_path,
                made,
                metrics,
                when=journal.now(),
                commit=head,
                dirty=code_dirty(repo, e, by_path),
                who=who,
                source="sync",
            )
            for e in new
        )
        return write_transformations(repo, records)

    stages = ", ".join(e.stage for e in new)
    with txn.begin(repo.root, repo.git, "sync"):
        versions = record_versions(
            repo,
            items,
            opts.message or f"dslineage sync: record stage(s) {stages} from dvc.lock",
            who,
            extra={ds.name: {"stage": _stage_of(new, ds.path)} for ds, _, _ in items},
            extra_paths=pipeline_paths(repo, new),
            dvc_add=False,
            on_records=write_records,
        )
    _remember(repo, raw)
    done += [Transformation.from_dict(r) for r in records]
    return SyncResult(transformations=done, versions=versions, git_commit=repo.git.head())


def _history(repo: Repo, author: str | None, current: set[str]) -> list[dict[str, Any]]:
    """Record, in one git commit, a transformation for each stage state of `dvc.lock` in the
    branch's history that no transformation records yet and the work tree's `dvc.lock` does
    not hold (plain `sync` records those, with their versions); oldest commit first."""
    from dslineage.ops.commit import default_author

    if repo.git.head() is None:
        return []
    seen = graph_sql.signatures(repo.index.con) | current
    by_path = {ds.path: ds for ds in repo.datasets().values()}
    pending: list[tuple[Any, dvcio.LockEntry, set[str]]] = []
    for commit in repo.git.file_log(dvcio.LOCK_FILE):
        lock = dvcio.parse_lock(repo.git.show(commit.sha, dvcio.LOCK_FILE))
        fresh = order([e for e in lock.values() if signature(e) not in seen])
        if not fresh:
            continue
        metrics = dvcio.metrics_paths(dvcio.parse_definitions(repo.git.show(commit.sha, dvcio.PROJECT_FILE)))
        for e in fresh:
            seen.add(signature(e))
            pending.append((commit, e, metrics))
    if not pending:
        return []
    who = default_author(repo, author)
    records: list[dict[str, Any]] = []
    with txn.begin(repo.root, repo.git, "sync") as t:
        records += [
            transformation(
                repo,
                e,
                by_path,
                {},
                metrics,
                when=journal.iso_from_epoch(commit.timestamp),
                commit=commit.sha,
                dirty=[],
                who=who,
                source="sync-history",
            )
            for commit, e, metrics in pending
        ]
        files = write_transformations(repo, records)
        t.step("after-journal")
        stages = sorted({r["stage"] for r in records})
        t.commit(
            [f.relative_to(repo.root).as_posix() for f in files],
            f"dslineage sync --all-commits: record {len(records)} past run(s) of {', '.join(stages)} "
            "from dvc.lock history",
        )
    repo.index.sync(force=True)
    return records


def _stage_of(entries: list[dvcio.LockEntry], path: str) -> str | None:
    for e in entries:
        if any(p == path for p, _ in e.outs):
            return e.stage
    return None


def _lock_md5(raw: bytes | None) -> str:
    return hashlib.md5(raw).hexdigest() if raw is not None else "none"  # noqa: S324 (a change check)


def _remember(repo: Repo, raw: bytes | None) -> None:
    graph_sql.set_meta(repo.index.con, META_KEY, _lock_md5(raw))


def maybe_sync(repo: Repo) -> tuple[SyncResult | None, str | None]:
    """Sync when `dvc.lock` moved since the last sync: (result or None, warning or None).

    A read command calls this first; if recording fails (no git identity, a missing DVC
    cache object), it goes on with what is recorded and returns the reason as a warning.
    """
    raw = dvcio.lock_bytes(repo.root)
    repo.index.sync()
    if graph_sql.get_meta(repo.index.con, META_KEY) == _lock_md5(raw):
        return None, None
    try:
        result = sync(repo, SyncOptions())
    except DslineageError as exc:
        return None, f"dvc.lock changed but could not be recorded ({exc}); run `dslineage sync`"
    return (result if result.transformations else None), None
