"""`htmlreport` benchmark: `dslineage report` of a `history_rows`-row dataset with
`report_versions` versions (the chain of `chain.py`), whole process, and the page's size.

Targets (issue 14): at 1,000,000 rows and 50 versions the page renders in <= 10 s and stays
<= 5 MB.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks import chain, measure, repos
from benchmarks.params import Layout, Params


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """Build the chain, then time `dslineage report -o page.html` (median of `runs`)."""
    from dslineage.repo import Repo

    rows = p.history_rows
    v1, v2 = layout.pair(rows)
    root = repos.dslineage_repo(layout.work / "htmlreport", v1, v2)
    window = max(1, int(rows * p.relabel_rate))
    t0 = time.perf_counter()
    ch = chain.Chain(root, repos.DATASET, rows, window)
    ch.extend(p.report_versions)
    ch.close()
    with Repo(root) as repo:
        repo.log(repos.DATASET)  # the index catches up with the chain's journal files
    build_s = time.perf_counter() - t0
    page = layout.work / "htmlreport.html"
    cli = [*measure.bin_of("dslineage"), "-C", str(root), "report", repos.DATASET, "-o", str(page)]
    timed = measure.repeat(measure.command, p.runs, cli)
    size = page.stat().st_size
    out: dict[str, Any] = {
        "rows": rows,
        "versions": p.report_versions,
        "build_s": round(build_s, 2),
        "dslineage_cli": timed,
        "html_bytes": size,
    }
    print(
        f"htmlreport: {rows:,} rows, {p.report_versions} versions: {timed['median_s']:.2f} s, {size / 2**20:.2f} MiB",
        flush=True,
    )
    return out
