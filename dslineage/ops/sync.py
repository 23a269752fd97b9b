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
from dslineage.model import Transformation
from dslineage.store import graph as sql

if TYPE_CHECKING:
    from pathlib import Path

    from dslineage.repo import Repo

STEPS = txn.declare("sync", "after-changes", "after-journal")

META_KEY = "dvc_lock_synced"


def signature(entry: dvcio.LockEntry) -> str:
    """A stable id of one stage's `dvc.lock` state (order of deps and outs ignored)."""
    return journal.make_id(
        "dvc.lock", entry.stage, entry.cmd, sorted(entry.deps), sorted(entry.outs), entry.params
    )


def order(entries: list[dvcio.LockEntry]) -> list[dvcio.LockEntry]:
    """Stages in pipeline order: a stage after the stages whose outputs it reads."""
    import networkx as nx

    producer = {path: e.stage for e in entries for path, _ in e.outs}
    g = nx.DiGraph()
    g.add_nodes_from(e.stage for e in entries)
    for e in entries:
        for path, _ in e.deps:
            if path in producer and producer[path] != e.stage:
                g.add_edge(producer[path], e.stage)
    by_name = {e.stage: e for e in entries}
    return [by_name[n] for n in nx.lexicographical_topological_sort(g)]


def version_with(repo: Repo, dataset: str, md5: str) -> dict[str, Any] | None:
    """The newest recorded version of `dataset` whose bytes have this md5."""
    same = [v for v in repo.index.versions(dataset) if v["md5"] == md5]
    return max(same, key=lambda v: (v["seq"], v["timestamp"])) if same else None


def items_for(
    repo: Repo, files: tuple[tuple[str, str], ...], by_path: dict[str, Dataset],
    made: dict[tuple[str, str], dict[str, Any]], metrics: set[str] | None = None,
) -> list[dict[str, Any]]:
    """The `inputs`/`outputs` entries of a transformation: path, md5, and for tracked
    datasets the version with that md5 (`made` holds versions recorded in this commit);
    `"metrics": true` on a declared metrics file."""
    result = []
    for path, md5 in files:
        item: dict[str, Any] = {"path": path, "md5": md5, "dataset": None, "version": None, "seq": None}
        if metrics and path in metrics:
            item["metrics"] = True
        ds = by_path.get(path)
        if ds is not None:
            item["dataset"] = ds.name
            v = made.get((ds.name, md5)) or version_with(repo, ds.name, md5)
            if v is not None:
                item["version"], item["seq"] = v["id"], v["seq"]
        result.append(item)
    return result


def code_dirty(repo: Repo, entry: dvcio.LockEntry, by_path: dict[str, Dataset]) -> list[str]:
    """Deps (code) and params files of a stage that differ from the git commit recorded."""
    paths = [p for p, _ in entry.deps if p not in by_path and "://" not in p]
    paths += [p for p in entry.params if p not in paths]
    paths = [p for p in paths if (repo.root / p).exists()]
    if not paths:
        return []
    out = repo.git.run("status", "--porcelain", "--", *paths)
    return sorted(line[3:].strip() for line in out.splitlines() if line.strip())


def pipeline_paths(repo: Repo, entries: list[dvcio.LockEntry]) -> list[str]:
    """dvc.yaml, dvc.lock and DVC's .gitignore files beside the outputs, where they exist."""
    from pathlib import PurePosixPath

    paths = [dvcio.PROJECT_FILE, dvcio.LOCK_FILE]
    for e in entries:
        for path, _ in e.outs:
            paths.append((PurePosixPath(path).parent / ".gitignore").as_posix())
    return sorted({p for p in paths if (repo.root / p).exists()})


def sync(
    repo: Repo, *, author: str | None = None, message: str | None = None, all_commits: bool = False,
) -> dict[str, Any]:
    """Record a transformation for each `dvc.lock` stage state not recorded yet (with
    `all_commits`, first each past state in the branch's git history)."""
    from dslineage.ops.commit import default_author, record_versions
    from dslineage.ops.lineage_graph import add_record, check_acyclic, load

    raw = dvcio.lock_bytes(repo.root)
    lock = dvcio.parse_lock(raw)
    repo.index.sync()
    past = _history(repo, author, {signature(e) for e in lock.values()}) if all_commits else []
    seen = sql.signatures(repo.index.con)
    new = order([e for e in lock.values() if signature(e) not in seen])
    result: dict[str, Any] = {"transformations": [_summary(r) for r in past], "versions": [], "git_commit": None}
    if past:
        result["git_commit"] = repo.git.head()
    if not new:
        _remember(repo, raw)
        return result
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
        g = load(repo)
        files: list[Path] = []
        try:
            for e in new:
                sig = signature(e)
                rec: dict[str, Any] = {
                    "kind": "transformation",
                    "id": journal.make_id("transformation", e.stage, sig),
                    "timestamp": journal.now(),
                    "stage": e.stage,
                    "cmd": e.cmd,
                    "git_commit": head,
                    "code_dirty": code_dirty(repo, e, by_path),
                    "params": e.params,
                    "inputs": items_for(repo, e.deps, by_path, made),
                    "outputs": items_for(repo, e.outs, by_path, made, metrics),
                    "started": None,
                    "ended": None,
                    "author": who,
                    "source": "sync",
                    "lock_signature": sig,
                }
                check_acyclic(g, rec["id"], edges_of(rec))
                add_record(g, rec["id"], "transformation", rec["timestamp"], rec)
                files.append(journal.write(repo.root, rec))
                records.append(rec)
        except BaseException:
            for f in files:
                f.unlink(missing_ok=True)
            raise
        return files

    stages = ", ".join(e.stage for e in new)
    with txn.begin(repo.root, repo.git, "sync"):
        versions = record_versions(
            repo, items, message or f"dslineage sync: record stage(s) {stages} from dvc.lock", who,
            extra={ds.name: {"stage": _stage_of(new, ds.path)} for ds, _, _ in items},
            extra_paths=pipeline_paths(repo, new), dvc_add=False, on_records=write_records,
        )
    _remember(repo, raw)
    result["transformations"] += [_summary(r) for r in records]
    result["versions"] = versions
    result["git_commit"] = repo.git.head()
    return result


def _history(repo: Repo, author: str | None, current: set[str]) -> list[dict[str, Any]]:
    """Record, in one git commit, a transformation for each stage state of `dvc.lock` in the
    branch's history that no transformation records yet and the work tree's `dvc.lock` does
    not hold (plain `sync` records those, with their versions); oldest commit first."""
    from dslineage.ops.commit import default_author
    from dslineage.ops.lineage_graph import add_record, check_acyclic, load

    if repo.git.head() is None:
        return []
    seen = sql.signatures(repo.index.con) | current
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
        g = load(repo)
        files: list[Path] = []
        try:
            for commit, e, metrics in pending:
                sig = signature(e)
                when = journal.iso_from_epoch(commit.timestamp)
                rec: dict[str, Any] = {
                    "kind": "transformation",
                    "id": journal.make_id("transformation", e.stage, sig),
                    "timestamp": when,
                    "stage": e.stage,
                    "cmd": e.cmd,
                    "git_commit": commit.sha,
                    "code_dirty": [],
                    "params": e.params,
                    "inputs": items_for(repo, e.deps, by_path, {}),
                    "outputs": items_for(repo, e.outs, by_path, {}, metrics),
                    "started": None,
                    "ended": None,
                    "author": who,
                    "source": "sync-history",
                    "lock_signature": sig,
                }
                check_acyclic(g, rec["id"], edges_of(rec))
                add_record(g, rec["id"], "transformation", when, rec)
                files.append(journal.write(repo.root, rec))
                records.append(rec)
        except BaseException:
            for f in files:
                f.unlink(missing_ok=True)
            raise
        t.step("after-journal")
        stages = sorted({r["stage"] for r in records})
        t.commit(
            [f.relative_to(repo.root).as_posix() for f in files],
            f"dslineage sync --all-commits: record {len(records)} past run(s) of {', '.join(stages)} "
            "from dvc.lock history",
        )
    repo.index.sync(force=True)
    return records


def edges_of(rec: dict[str, Any]) -> list[tuple[str, str]]:
    """The graph edges a transformation record adds."""
    edges = [(i["version"], rec["id"]) for i in rec["inputs"] if i.get("version")]
    return edges + [(rec["id"], o["version"]) for o in rec["outputs"] if o.get("version")]


def _stage_of(entries: list[dvcio.LockEntry], path: str) -> str | None:
    for e in entries:
        if any(p == path for p, _ in e.outs):
            return e.stage
    return None


def _summary(rec: dict[str, Any]) -> Transformation:
    return Transformation.from_record(rec)


def _lock_md5(raw: bytes | None) -> str:
    return hashlib.md5(raw).hexdigest() if raw is not None else "none"  # noqa: S324 (a change check)


def _remember(repo: Repo, raw: bytes | None) -> None:
    sql.set_meta(repo.index.con, META_KEY, _lock_md5(raw))


def maybe_sync(repo: Repo) -> tuple[dict[str, Any] | None, str | None]:
    """Sync when `dvc.lock` moved since the last sync: (result or None, warning or None).

    A read command calls this first; if recording fails (no git identity, a missing DVC
    cache object), it goes on with what is recorded and returns the reason as a warning.
    """
    raw = dvcio.lock_bytes(repo.root)
    repo.index.sync()
    if sql.get_meta(repo.index.con, META_KEY) == _lock_md5(raw):
        return None, None
    try:
        result = sync(repo)
    except DslineageError as exc:
        return None, f"dvc.lock changed but could not be recorded ({exc}); run `dslineage sync`"
    return (result if result["transformations"] else None), None
