"""`ops` benchmark: relabel and revert of a `ops_batch`-row batch, blame over all rows.

These commands come from the labels/lineage issue; each is measured only when the
library has it (`Repo.relabel`, `Repo.revert`, `Repo.blame`), otherwise skipped with a line.
"""

from __future__ import annotations

from typing import Any

from dslineage.bench import measure
from dslineage.bench.params import Layout, Params


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """Measure what exists; say what does not."""
    from dslineage.repo import Repo

    out: dict[str, Any] = {}
    for verb in ("relabel", "revert", "blame"):
        if not hasattr(Repo, verb):
            out[verb] = measure.skipped(f"ops {verb}", f"Repo.{verb} does not exist yet (issue 3)")
            continue
        out[verb] = measure.skipped(f"ops {verb}", "not wired into the benchmark yet")
    return out
