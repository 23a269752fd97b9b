"""`annotation` benchmark (issue 13): `review` and `eval` against their baselines.

- `review --method confident-learning` on `annotation_rows` rows × 10 classes (a dataset
  committed once, a probabilities parquet beside it), against calling cleanlab directly on
  the same arrays (`find_label_issues` ranked by self-confidence + `get_label_quality_scores`,
  what `review` calls): target ratio ≤ 2.
- `eval` over `annotation_versions` versions of the same dataset (each relabels 1% of rows),
  no recording (timed again with recording once): target ≤ 10 s.
Timed in this process, median of `runs`; the data is generated here (seeded).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.params import Layout, Params

CLASSES = [f"c{i}" for i in range(10)]


def _data(work: Path, rows: int, seed: int) -> tuple[Any, Any, Path]:
    """Given labels (0..9), probabilities (rows × 10, noisy: 5% of labels flipped) and their parquet."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 10, rows)
    logits = rng.standard_normal((rows, 10)) + 3.0 * np.eye(10)[truth]
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    given = truth.copy()
    flip = rng.choice(rows, rows // 20, replace=False)
    given[flip] = rng.integers(0, 10, len(flip))
    path = work / "pred.parquet"
    pq.write_table(
        pa.table({"key": np.arange(rows, dtype=np.int64), **{f"p_{c}": probs[:, i] for i, c in enumerate(CLASSES)}}),
        path,
    )
    return given, probs, path


def _repo(work: Path, given: Any, versions: int, seed: int) -> Path:
    """A repository with dataset `ds` (key, label) committed `versions` times, 1% relabeled each."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dslineage import Repo

    root = work / "repo"
    root.mkdir(parents=True)
    Repo.init(root)
    data = root / "data" / "ds.parquet"
    data.parent.mkdir()
    rng = np.random.default_rng(seed + 1)
    labels = np.array(CLASSES)[given]
    with Repo(root) as repo:
        for v in range(1, versions + 1):
            if v > 1:
                idx = rng.choice(len(labels), len(labels) // 100, replace=False)
                labels = labels.copy()
                labels[idx] = np.array(CLASSES)[rng.integers(0, 10, len(idx))]
            tmp = data.with_name(".ds.parquet.tmp")
            pq.write_table(pa.table({"key": np.arange(len(labels), dtype=np.int64), "label": labels}), tmp)
            tmp.replace(data)
            if v == 1:
                repo.track(str(data), ["key"], ["label"])
            repo.commit(["ds"], f"v{v}", None)
    return root


def _median(fn: Any, runs: int) -> tuple[float, list[float], Any]:
    secs, out = [], None
    for _ in range(max(1, runs)):
        t = time.perf_counter()
        out = fn()
        secs.append(time.perf_counter() - t)
    return statistics.median(secs), secs, out


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """Build the data and repository, time review vs cleanlab and eval over the versions."""
    import shutil

    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    from dslineage import Repo

    rows, versions = p.annotation_rows, p.annotation_versions
    work = layout.work / "annotation"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    given, probs, pred = _data(work, rows, p.seed)
    root = _repo(work, given, versions, p.seed)
    print(f"annotation {rows} rows: repository with {versions} versions built", flush=True)

    def direct() -> Any:
        ranked = find_label_issues(given, probs, return_indices_ranked_by="self_confidence")
        return ranked, get_label_quality_scores(given, probs, method="self_confidence")

    def review_v1() -> Any:
        with Repo(root) as repo:
            return repo.review("ds@v1", predictions=str(pred), top=1000)

    base_s, base_runs, (ranked, _) = _median(direct, p.runs)
    review_s, review_runs, result = _median(review_v1, p.runs)
    same = [r.key["key"] for r in result.rows] == [int(i) for i in ranked[:1000]]
    print(
        f"annotation review: {review_s:.2f} s vs cleanlab {base_s:.2f} s (ratio {review_s / base_s:.2f}; "
        f"same ranking: {same})",
        flush=True,
    )

    def evaluate() -> Any:
        with Repo(root) as repo:
            return repo.eval("ds", predictions=str(pred), record=False)

    eval_s, eval_runs, ev = _median(evaluate, p.runs)
    t = time.perf_counter()
    with Repo(root) as repo:
        repo.eval("ds", predictions=str(pred))
    recorded_s = time.perf_counter() - t
    print(
        f"annotation eval over {len(ev.versions)} versions: {eval_s:.2f} s ({recorded_s:.2f} s recording)", flush=True
    )
    return {
        "rows": rows,
        "classes": len(CLASSES),
        "versions": versions,
        "review": {
            "median_s": review_s,
            "runs_s": review_runs,
            "flagged": len(ranked),
            "queue_rows": len(result.rows),
            "same_ranking_as_cleanlab": same,
        },
        "cleanlab_direct": {"median_s": base_s, "runs_s": base_runs},
        "review_ratio": review_s / base_s,
        "review_target_ratio": 2.0,
        "eval": {"median_s": eval_s, "runs_s": eval_runs, "recorded_s": recorded_s, "versions": len(ev.versions)},
        "eval_target_s": 10.0,
    }
