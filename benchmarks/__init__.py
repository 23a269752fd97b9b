"""The benchmark suite, run as the project's own DVC pipeline (root `dvc.yaml`).

Each stage is `python -m benchmarks STAGE`; parameters come from `params.yaml`
(section `bench`). Stages write `bench/parts/STAGE.json`; `report` merges them into
`bench/results.json` (DVC metrics) and draws `bench/scaling.png` (DVC plot).
A peer that is not installed is skipped with a printed line, never silently.
"""

from __future__ import annotations

STAGES = (
    "generate",
    "diff",
    "flatdiff",
    "commit",
    "history",
    "startup",
    "storage",
    "ops",
    "relabel",
    "memlimit",
    "demo",
    "merge",
    "reindex",
    "htmlreport",
    "consensus",
    "annotation",
    "partdiff",
    "lineage",
    "scale",
    "report",
)
