"""Annotator agreement: from a long table of ratings (item, annotator, label) to per-annotator
counts, Krippendorff's alpha (nominal), pairwise Cohen's kappa and the disputed items.

`agreement()` takes any such table, so it is tested on its own (and on the CIFAR-10 crowd
votes); `ratings_from_history()` builds the table from a dataset's relabel batches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage.core import common
from dslineage.quality import stats
from dslineage.store import profile

if TYPE_CHECKING:
    from dslineage.repo import Repo

MAX_PAIRS = 100


def _arrow(ratings: Any) -> Any:
    import pyarrow as pa

    if isinstance(ratings, pa.Table):
        table = ratings
    elif isinstance(ratings, dict):
        table = pa.table(ratings)
    else:
        rows = list(ratings)
        table = pa.table(
            {
                "item": pa.array([str(r[0]) for r in rows], pa.string()),
                "annotator": pa.array([str(r[1]) for r in rows], pa.string()),
                "label": pa.array([None if r[2] is None else str(r[2]) for r in rows], pa.string()),
            }
        )
    missing = {"item", "annotator", "label"} - set(table.column_names)
    if missing:
        raise ValueError(f"ratings need columns item, annotator, label (missing: {', '.join(sorted(missing))})")
    return table.select(["item", "annotator", "label"])


def _value_counts(con: Any) -> tuple[list[str], Any]:
    import numpy as np

    labels, cells = profile.rating_counts(con)
    if len(cells["i"]) == 0:
        return labels, np.zeros((0, len(labels)))
    matrix = np.zeros((int(cells["i"].max()) + 1, len(labels)))
    np.add.at(matrix, (cells["i"], cells["j"]), cells["n"])
    return labels, matrix


def _pairs(con: Any, min_items: int) -> list[dict[str, Any]]:
    import numpy as np

    grouped: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
    for a, b, la, lb, n in profile.rating_pairs(con):
        grouped.setdefault((a, b), []).append((la, lb, n))
    out = []
    for (a, b), cells in grouped.items():
        n = sum(c[2] for c in cells)
        if n < min_items:
            continue
        labels = sorted({c[0] for c in cells} | {c[1] for c in cells})
        pos = {lab: i for i, lab in enumerate(labels)}
        table = np.zeros((len(labels), len(labels)))
        for la, lb, k in cells:
            table[pos[la], pos[lb]] += k
        agree = int(np.trace(table))
        out.append({"a": a, "b": b, "items": n, "agreement": agree / n, "kappa": stats.cohen_kappa(table)})
    return sorted(out, key=lambda p: (-p["items"], p["a"], p["b"]))


def agreement(ratings: Any, *, con: Any = None, examples: int = 20, min_pair_items: int = 2) -> dict[str, Any] | None:
    """Agreement of a long table of ratings (rows of item, annotator, label; last rating of a pair wins).

    Returns None when no item has two ratings. `krippendorff_alpha` is nominal alpha over
    every item with at least two ratings; `pairwise_kappa` lists annotator pairs sharing at
    least `min_pair_items` items (most shared first, at most 100).
    """
    own = con is None
    if own:
        import duckdb

        con = duckdb.connect(":memory:")
    try:
        profile.load_ratings(con, _arrow(ratings))
        labels, matrix = _value_counts(con)
        if matrix.shape[0] == 0:
            return None
        pairs = _pairs(con, min_pair_items)
        n_dis, few = profile.disagreements(con, examples)
        kappas = [p["kappa"] for p in pairs if p["kappa"] is not None]
        return {
            "items": int(matrix.shape[0]),
            "ratings": int(matrix.sum()),
            "labels": labels,
            "annotators": [{"annotator": a, "items": n} for a, n in profile.annotator_counts(con)],
            "krippendorff_alpha": stats.krippendorff_alpha(matrix),
            "pairwise_kappa": pairs[:MAX_PAIRS],
            "pairs": len(pairs),
            "mean_pairwise_kappa": sum(kappas) / len(kappas) if kappas else None,
            "disagreements": {"items": n_dis, "examples": [{"item": i, "votes": v} for i, v in few]},
        }
    finally:
        if own:
            con.close()


def alpha_and_kappa(con: Any, min_pair_items: int = 2) -> tuple[float | None, float | None]:
    """Krippendorff's alpha (nominal) and the mean pairwise Cohen's kappa of the ratings already
    in `con`'s `_ratings` table (as `agreement` computes them, without its listings)."""
    _, matrix = _value_counts(con)
    if matrix.shape[0] == 0:
        return None, None
    kappas = [p["kappa"] for p in _pairs(con, min_pair_items) if p["kappa"] is not None]
    return stats.krippendorff_alpha(matrix), (sum(kappas) / len(kappas) if kappas else None)


def ratings_from_history(repo: Repo, dataset: str, column: str, seq: int | None, *, con: Any) -> Any:
    """The long table of ratings in a dataset's relabel batches of `column`, up to version `seq`.

    Each edited row of a batch (op "relabel"; reverts and rollbacks are not judgements) is
    one rating: (row key, its annotator or else the batch's author, the new label). Batches
    of later versions are left out; `seq` None (the working file) also takes batches not yet
    committed. None when there are no such batches.
    """
    from dslineage import journal

    carried = {b: v["seq"] for v in repo.index.records("version", dataset) for b in v.get("batches") or []}
    head = common.current(repo, dataset)
    chosen, n_keys = [], 0
    for b in repo.index.records("batch", dataset):
        if b.get("op", "relabel") != "relabel" or b.get("column") != column or not b.get("edits"):
            continue
        vseq = carried.get(b["id"])
        if vseq is None and (seq is not None or head is None or b.get("base_version") != head["id"]):
            continue  # not committed: counts only for the working file, and only while pending
        if vseq is not None and seq is not None and vseq > seq:
            continue
        path = journal.folder(repo.root) / b["edits"]
        if path.exists():
            chosen.append((str(path), b.get("author") or "unknown"))
            n_keys = len(b.get("keys") or repo.dataset(dataset).key)
    if not chosen:
        return None
    return profile.batch_ratings(con, chosen, n_keys)
