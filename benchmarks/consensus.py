"""`consensus` benchmark: `Repo.consensus` on N votes against crowd-kit alone on the same votes.

Per size (votes) and method: synthetic votes (5 per row, 10 classes, 50 annotators with
accuracies 0.55-0.95, 5% of the dataset's labels wrong) in a parquet file, and a
dslineage repository with the dataset committed. Each run is a pair in the same moment:
crowd-kit alone (read the votes with pandas, `fit_predict`) and the whole library call
(check the votes, aggregate with crowd-kit, relabel the changed rows as one batch, record
every vote, commit a version) on a fresh copy of the repository. Target: the median of
the pairs' ratios <= 2.
"""

from __future__ import annotations

import shutil
import statistics
from pathlib import Path
from typing import Any

from benchmarks import measure, repos
from benchmarks.params import CLASSES, Layout, Params

PER_ROW = 5
ANNOTATORS = 50


def _files(layout: Layout, p: Params, votes: int) -> tuple[Path, Path]:
    """(dataset parquet, votes parquet) for `votes` votes, generated in DuckDB (seeded)."""
    import duckdb

    rows = max(1, votes // PER_ROW)
    data = layout.work / f"consensus-{votes}-data.parquet"
    path = layout.work / f"consensus-{votes}-votes.parquet"
    if data.exists() and path.exists():
        return data, path
    layout.work.mkdir(parents=True, exist_ok=True)
    classes = "[" + ", ".join(f"'{c}'" for c in CLASSES) + "]"
    con = duckdb.connect()
    con.execute(f"SELECT setseed({(p.seed % 1000) / 1000})")
    con.execute(f"CREATE TABLE truth AS SELECT range AS key, (random() * 10)::INTEGER % 10 AS t FROM range({rows})")
    con.execute(
        f"COPY (SELECT key, {classes}[1 + CASE WHEN random() < 0.05 THEN (t + 1) % 10 ELSE t END] AS label, "
        f"key * 0.5 AS f0 FROM truth ORDER BY key) TO '{_lit(data)}' (FORMAT parquet)"
    )
    con.execute(
        "COPY (SELECT key, 'ann-' || lpad(CAST(a AS VARCHAR), 2, '0') AS annotator, "
        f"{classes}[1 + CASE WHEN random() < 0.55 + 0.4 * a / {ANNOTATORS} THEN t "
        "ELSE (t + 1 + (random() * 9)::INTEGER % 9) % 10 END] AS label "
        f"FROM (SELECT key, t, (key * {PER_ROW} + v) % {ANNOTATORS} AS a FROM truth, range({PER_ROW}) r(v)) "
        f"ORDER BY key, annotator) TO '{_lit(path)}' (FORMAT parquet)"
    )
    con.close()
    return data, path


def _lit(path: Path) -> str:
    return str(path).replace("'", "''")


def _template(layout: Layout, votes: int, data: Path) -> Path:
    """A repository with the dataset committed (copied per run: a consensus changes it)."""
    from dslineage.repo import Repo

    root = layout.work / f"consensus-{votes}-repo"
    repos.fresh(root)
    Repo.init(root)
    shutil.copyfile(data, root / "items.parquet")
    with Repo(root) as repo:
        repo.track(str(root / "items.parquet"), ["key"], ["label"])
        repo.commit(["items"], "v1: generated", None)
    return root


def run_size(layout: Layout, p: Params, votes: int) -> dict[str, Any]:
    """Pairs of (crowd-kit alone, Repo.consensus) per method at one size."""
    data, path = _files(layout, p, votes)
    template = _template(layout, votes, data)
    out: dict[str, Any] = {"votes": votes, "rows": votes // PER_ROW}
    for method in p.consensus_methods:
        alone, lib, ratios = [], [], []
        for r in range(max(3, p.runs)):
            work = layout.work / f"consensus-{votes}-run"
            if work.exists():
                shutil.rmtree(work)
            shutil.copytree(template, work, symlinks=True)
            alone.append(measure.task("crowdkit_alone", votes=str(path), method=method))
            lib.append(measure.task("lib_consensus", root=str(work), name="items", votes=str(path), method=method))
            ratios.append(lib[-1]["seconds"] / alone[-1]["seconds"])
            print(
                f"consensus {votes} {method} run {r + 1}: crowd-kit {alone[-1]['seconds']:.2f} s, "
                f"dslineage {lib[-1]['seconds']:.2f} s ({ratios[-1]:.2f}x)",
                flush=True,
            )
        out[method] = {
            "crowdkit": measure.summarize(alone),
            "dslineage": measure.summarize(lib),
            "paired_ratio": statistics.median(ratios),
            "ratios": [round(x, 3) for x in ratios],
            "applied": lib[-1]["result"]["applied"],
            "agrees": lib[-1]["result"]["rows_voted"] == alone[-1]["result"]["tasks"],
        }
    return out


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """The stage: every size of `consensus_votes`."""
    if not measure.have("crowdkit"):
        return {"skipped": measure.skipped("consensus", "crowd-kit is not installed")}
    return {str(n): run_size(layout, p, n) for n in p.consensus_votes}
