"""Transformation records from `dvc.lock` stage states, shared by `sync`, `run` and `exp`:
a stage state's signature, pipeline order, the input/output items (with the dataset
versions they name), code that differs from its commit, the record itself and writing
records so that the lineage graph stays acyclic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage import dvcio, journal
from dslineage.config import Dataset
from dslineage.core import common

if TYPE_CHECKING:
    from pathlib import Path

    from dslineage.repo import Repo


def signature(entry: dvcio.LockEntry) -> str:
    """A stable id of one stage's `dvc.lock` state (order of deps and outs ignored)."""
    return journal.make_id("dvc.lock", entry.stage, entry.cmd, sorted(entry.deps), sorted(entry.outs), entry.params)


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


def items_for(
    repo: Repo,
    files: tuple[tuple[str, str], ...],
    by_path: dict[str, Dataset],
    made: dict[tuple[str, str], dict[str, Any]],
    metrics: set[str] | None = None,
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
            v = made.get((ds.name, md5)) or common.version_with_md5(repo, ds.name, md5, rev=None)
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


def transformation(
    repo: Repo,
    e: dvcio.LockEntry,
    by_path: dict[str, Dataset],
    made: dict[tuple[str, str], dict[str, Any]],
    metrics: set[str],
    *,
    when: str,
    commit: str | None,
    dirty: list[str],
    who: str,
    source: str,
) -> dict[str, Any]:
    """The transformation record of one `dvc.lock` stage state."""
    sig = signature(e)
    return {
        "kind": "transformation",
        "id": journal.make_id("transformation", e.stage, sig),
        "timestamp": when,
        "stage": e.stage,
        "cmd": e.cmd,
        "git_commit": commit,
        "code_dirty": dirty,
        "params": e.params,
        "inputs": items_for(repo, e.deps, by_path, made),
        "outputs": items_for(repo, e.outs, by_path, made, metrics),
        "started": None,
        "ended": None,
        "author": who,
        "source": source,
        "lock_signature": sig,
    }


def write_transformations(repo: Repo, records: list[dict[str, Any]]) -> list[Path]:
    """Write transformation records to the journal, each checked to keep the lineage graph
    acyclic; all or none (the files written so far are removed on an error)."""
    from dslineage.core.graph import add_record, check_acyclic, load

    g = load(repo)
    files: list[Path] = []
    try:
        for rec in records:
            check_acyclic(g, rec["id"], edges_of(rec))
            add_record(g, rec["id"], "transformation", rec["timestamp"], rec)
            files.append(journal.write(repo.root, rec))
    except BaseException:
        for f in files:
            f.unlink(missing_ok=True)
        raise
    return files


def edges_of(rec: dict[str, Any]) -> list[tuple[str, str]]:
    """The graph edges a transformation record adds."""
    edges = [(i["version"], rec["id"]) for i in rec["inputs"] if i.get("version")]
    return edges + [(rec["id"], o["version"]) for o in rec["outputs"] if o.get("version")]
