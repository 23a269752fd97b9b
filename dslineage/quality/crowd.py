"""The crowd-kit boundary: aggregate annotators' votes with majority vote, Dawid-Skene, GLAD
or MACE (crowd-kit's own implementations; nothing here re-implements them).

crowd-kit takes and returns pandas objects; this module is the only place that converts:
an Arrow table (task, worker, label) goes in, an Arrow table (task, consensus, posterior)
and a {worker: skill} dict come out.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

METHODS = ("majority", "dawid-skene", "glad", "mace")


@dataclass(frozen=True)
class Aggregate:
    """crowd-kit's result: per task the consensus label and its posterior; per worker the skill
    the method estimates (None for methods without one: Dawid-Skene)."""

    table: Any  # pyarrow Table: task (int64), consensus (text), posterior (double)
    skills: dict[str, float] | None


def allow_pandas() -> None:
    """Lift the CLI's pandas block (`cli.app._NoPandas`, there so DuckDB does not import pandas
    for nothing): crowd-kit needs pandas."""
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "blocks_pandas", False)]


def model(method: str) -> Any:
    """The crowd-kit aggregator for `method`, with its documented defaults (seeded where random)."""
    allow_pandas()
    from crowdkit.aggregation import GLAD, MACE, DawidSkene, MajorityVote

    if method == "majority":
        return MajorityVote()
    if method == "dawid-skene":
        return DawidSkene(n_iter=100)
    if method == "glad":
        return GLAD(n_iter=100, silent=True)
    if method == "mace":
        return MACE(random_state=0)
    raise ValueError(f"unknown method {method!r}")


def _skills(agg: Any, method: str, frame: Any) -> dict[str, float] | None:
    """Per-worker skills from the fitted aggregator: majority vote's `skills_` (agreement with
    the vote), GLAD's `alphas_` (expertise), MACE's competence (`spamming_[:, 1]`, the
    probability of not spamming; rows in the order of `pandas.factorize` of the workers, as
    crowd-kit builds them)."""
    import pandas as pd

    if method == "mace":
        spamming = getattr(agg, "spamming_", None)
        if spamming is None:
            return None
        names = pd.factorize(frame["worker"])[1]
        return {str(w): float(v) for w, v in zip(names, spamming[:, 1])}
    attr = {"majority": "skills_", "glad": "alphas_"}.get(method)  # Dawid-Skene has no skill figure
    s = getattr(agg, attr, None) if attr else None
    if s is None:
        return None
    return {str(k): float(v) for k, v in s.items()}


def aggregate(votes: Any, method: str) -> Aggregate:
    """Fit crowd-kit's `method` to `votes` (Arrow: task, worker, label) and return its labels,
    the probability of each task's label and the workers' skills."""
    import pyarrow as pa

    agg = model(method)
    frame = votes.to_pandas()
    agg.fit(frame)
    labels = agg.labels_
    probas = getattr(agg, "probas_", None)
    tasks = labels.index.to_numpy()
    if probas is not None:
        p = probas.reindex(index=labels.index)
        cols = {c: i for i, c in enumerate(p.columns)}
        values = p.to_numpy()
        import numpy as np

        idx = np.fromiter((cols[v] for v in labels.to_numpy()), dtype=np.int64, count=len(labels))
        posterior = values[np.arange(len(labels)), idx]
    else:
        posterior = [None] * len(labels)
    table = pa.table(
        {
            "task": pa.array(tasks, pa.int64()),
            "consensus": pa.array([str(v) for v in labels.to_numpy()], pa.string()),
            "posterior": pa.array(posterior, pa.float64()),
        }
    )
    return Aggregate(table=table, skills=_skills(agg, method, frame))
