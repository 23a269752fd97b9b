"""`relabel` benchmark: `Repo.relabel` of `ops_batch` labels against the same edit made the plain way.

Each round starts two fresh repositories holding generated version 1 (setup, not timed): in one,
dslineage's library relabels the batch (one batch, committed: `lib_relabel`); in the other, a
plain git + DVC repository, the same edits are made as `benchmarks/relabel_baseline.py` makes them
(the baseline of issue 15's 1.73x: the labels as a Python list, the file rewritten with pyarrow),
then `dvc add` + `git commit` (`plain_relabel`). The figure is the median of same-round ratios
(target at 5M rows: <= 1.5x). `python -m benchmarks.relabel_baseline FILE` does the same in one
process, for profiling.
"""

from __future__ import annotations

import shutil
import statistics
from typing import Any

from benchmarks import measure, repos
from benchmarks.ops import _edits
from benchmarks.params import Layout, Params


def run_size(layout: Layout, p: Params, rows: int) -> dict[str, Any]:
    """Relabel against its baseline at one size, interleaved rounds."""
    v1, _ = layout.pair(rows)
    edits = str(_edits(layout, rows, p.ops_batch, version=1))
    ours, plain = layout.work / f"relabel-{rows}-dslineage", layout.work / f"relabel-{rows}-plain"
    samples: dict[str, list[dict[str, Any]]] = {"dslineage_lib": [], "pyarrow_dvc_add_git_commit": []}
    for r in range(max(p.runs, 3)):
        repos.dslineage_repo(ours, v1)
        repos.settle()
        samples["dslineage_lib"].append(measure.task("lib_relabel", root=str(ours), name=repos.DATASET, edits=edits))
        repos.dvc_repo(plain, v1)
        repos.settle()
        samples["pyarrow_dvc_add_git_commit"].append(
            measure.task("plain_relabel", root=str(plain), file=repos.FILE, edits=edits)
        )
        a, b = samples["dslineage_lib"][-1], samples["pyarrow_dvc_add_git_commit"][-1]
        print(
            f"relabel {rows} run {r + 1}: dslineage {a['seconds']:.2f} s, baseline {b['seconds']:.2f} s, "
            f"ratio {a['seconds'] / b['seconds']:.2f}",
            flush=True,
        )
    out: dict[str, Any] = {tool: measure.summarize(s) for tool, s in samples.items()}
    pairs = list(zip(samples["dslineage_lib"], samples["pyarrow_dvc_add_git_commit"]))
    out["paired_ratio"] = statistics.median(a["seconds"] / b["seconds"] for a, b in pairs)
    out["paired_cpu_ratio"] = statistics.median(a["cpu"] / b["cpu"] for a, b in pairs)
    out["agrees"] = out["dslineage_lib"]["result"]["applied"] == out["pyarrow_dvc_add_git_commit"]["result"]["applied"]
    out["batch"] = p.ops_batch
    for root in (ours, plain):
        shutil.rmtree(root, ignore_errors=True)
    return out


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """The relabel benchmark at every size in `p.sizes`."""
    return {str(rows): run_size(layout, p, rows) for rows in p.sizes}
