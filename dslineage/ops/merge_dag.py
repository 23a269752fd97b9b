"""The version DAG of a dataset as a merge reads it: the best common ancestor of two versions
(the base of a row-level merge) and the edit batches a merge version carries over from theirs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage.config import Dataset
from dslineage.core import common

if TYPE_CHECKING:
    from dslineage.repo import Repo


def dag(repo: Repo, ds: Dataset) -> dict[str, dict[str, Any]]:
    """Every version record of a dataset by id (with `parents`, `batches`)."""
    return {r["id"]: r for r in repo.index.records("version", ds.name)}


def ancestors(dag: dict[str, dict[str, Any]], vid: str) -> set[str]:
    """`vid` and every version of `dag` reachable from it along parents."""
    return set(common.ancestors(dag, vid))


def dag_base(repo: Repo, ds: Dataset, ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any] | None:
    """The best common ancestor of two versions in the version DAG (deepest first)."""
    graph = dag(repo, ds)
    common_ids = ancestors(graph, ours["id"]) & ancestors(graph, theirs["id"])
    best = [graph[v] for v in common_ids if v in graph]
    if not best:
        return None
    top = max(best, key=lambda r: (r["seq"], r["timestamp"]))
    return repo.index.version(top["id"])


def carried_batches(repo: Repo, ds: Dataset, ours_id: str, theirs_id: str) -> list[str]:
    """Edit batches of the versions on theirs' side only (their rows keep that provenance)."""
    graph = dag(repo, ds)
    mine = ancestors(graph, ours_id)
    out: list[str] = []
    for vid in sorted(ancestors(graph, theirs_id) - mine, key=lambda v: (graph.get(v, {}).get("seq", 0), v)):
        for b in graph.get(vid, {}).get("batches") or []:
            if b not in out:
                out.append(b)
    return out
