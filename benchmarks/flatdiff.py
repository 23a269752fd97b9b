"""`flatdiff` benchmark: the diff of two committed versions (answered from the journal, no bytes read: v2's
commit recorded its diff against v1, its parent) must not grow with the dataset: the same number of changed
rows at every size.

Per size in `sizes` and `big_rows` (1M, 5M, 20M; generated version 1 from `bench/data`): a repository
with v1 and a v2 that relabels exactly `relabel_rate` x the smallest size rows (10,000: what v2 of
the smallest dataset changes), both committed (setup, not timed). Then `runs` rounds, the sizes
taking turns in each, time `dslineage diff ds@v1 ds@v2 --json` (whole process) and `Repo.diff`
(library). The figure is each size's time over the smallest size's, the median of same-round
ratios (target: 20M <= 1.3x 1M). The `diff` stage times the same at 1% of each dataset (changes
growing with it) in its `flat` section.
"""

from __future__ import annotations

import shutil
import statistics
from pathlib import Path
from typing import Any

from benchmarks import measure, repos
from benchmarks.diff import _check, _cli
from benchmarks.params import Layout, Params
from benchmarks.storage import _relabel_first


def _repo(layout: Layout, rows: int, changes: int) -> Path:
    """The repository of one size: v1 and v1 with its first `changes` keys relabeled, committed."""
    v1, _ = layout.pair(rows)
    edited = layout.work / f"flatdiff-{rows}-v2.parquet"
    _relabel_first(v1, edited, changes)
    root = repos.dslineage_repo(layout.work / f"flatdiff-{rows}", v1, edited)
    edited.unlink()
    return root


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """The committed-version diff at every size, sizes in turns, the same changed rows at each."""
    sizes = sorted({*p.sizes, *([p.big_rows] if p.big_rows > 0 else [])})
    changes = int(min(sizes) * p.relabel_rate)
    truth = {"added": 0, "removed": 0, "relabeled": changes}
    roots = {}
    for n in sizes:
        roots[n] = _repo(layout, n, changes)
        print(f"flatdiff: {n} rows, {changes} relabeled, committed", flush=True)
    ds = repos.DATASET
    tools = {
        "dslineage_cli": lambda root: _cli(root),
        "dslineage_lib": lambda root: measure.task("lib_diff", root=str(root), a=f"{ds}@v1", b=f"{ds}@v2"),
    }
    samples: dict[str, dict[int, list[dict[str, Any]]]] = {t: {n: [] for n in sizes} for t in tools}
    for r in range(max(p.runs, 3)):
        for n in sizes:
            for tool, fn in tools.items():
                samples[tool][n].append(fn(roots[n]))
                print(f"flatdiff {n} run {r + 1}: {tool} {samples[tool][n][-1]['seconds']:.3f} s", flush=True)
    out: dict[str, Any] = {"changed_rows": changes, "sizes": {}}
    for tool, by_size in samples.items():
        for n, s in by_size.items():
            entry = out["sizes"].setdefault(str(n), {})[tool] = measure.summarize(s)
            entry["agrees"] = _check(f"{tool} at {n}", entry["result"], truth)
            entry["exact_fold"] = all(x.get("exact_fold", True) for x in s)
            pairs = list(zip(s, by_size[sizes[0]]))
            entry["paired_ratio_to_smallest"] = statistics.median(a["seconds"] / b["seconds"] for a, b in pairs)
            entry["paired_cpu_ratio_to_smallest"] = statistics.median(a["cpu"] / b["cpu"] for a, b in pairs)
    for root in roots.values():
        shutil.rmtree(root, ignore_errors=True)  # ~2.7 GB at 20M rows
    return out
