"""`memlimit` check: a diff of `big_rows` rows reading both versions' bytes (`fold=False`, the path a
diff against a working file takes; a committed-version diff is folded from the change sets and reads
none) completes with DuckDB's memory limit set (DSLINEAGE_MEMORY_LIMIT, default 1GB), spilling to
`.dslineage/tmp`. The pair is `generate`'s (`bench/data`, shared with the `diff` stage). Off unless
`big_rows` > 0 in params.yaml (a 20M-row pair is ~1.8 GB, its repository ~2.7 GB more).
"""

from __future__ import annotations

import shutil
from typing import Any

from benchmarks import measure, repos
from benchmarks.generate import counts
from benchmarks.params import Layout, Params


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """Commit both versions of the big pair, then time the byte-level diff under the limit."""
    if p.big_rows <= 0:
        return measure.skipped("memlimit", "big_rows is 0 in params.yaml (set it to 20000000 to run)")
    rows = p.big_rows
    v1, v2 = layout.pair(rows)
    if not v2.exists():  # run alone (`python -m benchmarks memlimit --set big_rows=...`): a scratch pair
        from benchmarks.generate import generate_pair

        v1, v2 = generate_pair(Layout(layout.work / "big"), rows, p)
    truth = counts(v1, v2)
    root = repos.dslineage_repo(layout.work / f"memlimit-{rows}", v1, v2)
    env = {"DSLINEAGE_MEMORY_LIMIT": p.big_memory_limit}
    lib = measure.repeat(measure.task, p.runs, "lib_diff_bytes", task_env=env, root=str(root), a="ds@v1", b="ds@v2")
    lower = measure.repeat(measure.task, p.runs, "duckdb_diff", a=str(v1), b=str(v2))
    want = {k: truth[k] for k in ("added", "removed", "relabeled")}
    out = {
        "rows": rows,
        "memory_limit": p.big_memory_limit,
        "dslineage_lib": lib,
        "duckdb_lower_bound_unlimited": lower,
        "agrees": lib["result"] == want,
        "truth": truth,
    }
    print(
        f"memlimit {rows}: lib {lib['median_s']:.2f} s, peak RSS {lib['rss_bytes'] / 2**30:.2f} GiB "
        f"with memory_limit={p.big_memory_limit}; lower bound (no limit) {lower['median_s']:.2f} s",
        flush=True,
    )
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(layout.work / "big", ignore_errors=True)
    return out
