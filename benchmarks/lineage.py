"""Lineage-graph benchmark: a synthetic repository of D datasets × V versions with a
transformation between neighbouring datasets, then `dslineage lineage` timed end to end.

Dataset d0 has V committed versions; dataset d{i} version j is the output of stage
`s{i}` run on d{i-1}@v{j}. So the graph has D×V version nodes and (D-1)×V transformation
nodes. Journal records are written directly (what `commit`/`run` would write, minus the
data files: a lineage query never reads them) and committed to git in one commit.

    python -m benchmarks lineage            # the pipeline stage (params.yaml: lineage_datasets/versions)
    python -m benchmarks.lineage [--datasets 100] [--versions 100] [--runs 5] [--out FILE]

Wall and CPU seconds are reported: on a loaded machine CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def generate(root: Path, datasets: int, versions: int) -> dict[str, int]:
    """Write the synthetic lineage repository at `root` (created with `dslineage init`)."""
    from dslineage import Repo, config, journal

    Repo.init(root)
    base = 1_700_000_000.0
    schema = [{"name": "id", "type": "BIGINT"}, {"name": "label", "type": "VARCHAR"}]
    ids: dict[tuple[int, int], str] = {}
    written = 0
    for i in range(datasets):
        name = f"d{i}"
        config.save_dataset(
            root, config.Dataset(name=name, path=f"data/{name}.parquet", format="parquet", key=["id"], labels=["label"])
        )
        for j in range(1, versions + 1):
            ts = journal.iso_from_epoch(base + j * 3600 + i)
            md5 = journal.make_id("md5", i, j)[:32]
            vid = journal.make_id("version", name, md5, j)
            ids[(i, j)] = vid
            journal.write(
                root,
                {
                    "kind": "version",
                    "id": vid,
                    "dataset": name,
                    "seq": j,
                    "md5": md5,
                    "parent": ids.get((i, j - 1)),
                    "path": f"data/{name}.parquet",
                    "message": f"v{j}",
                    "author": "Bench <bench@example.com>",
                    "timestamp": ts,
                    "rows": 1000,
                    "schema": schema,
                    "label_distribution": {"label": [{"label": "a", "count": 1000}]},
                    "changes": {"known": True, "added": 0, "removed": 0, "relabeled": 10, "modified": 0},
                },
            )
            written += 1
            if i == 0:
                continue
            tid = journal.make_id("transformation", i, j)
            src = ids[(i - 1, j)]
            journal.write(
                root,
                {
                    "kind": "transformation",
                    "id": tid,
                    "timestamp": journal.iso_from_epoch(base + j * 3600 + i - 0.5),
                    "stage": f"s{i}",
                    "cmd": f"python make_d{i}.py",
                    "git_commit": None,
                    "code_dirty": [],
                    "params": {},
                    "source": "run",
                    "lock_signature": journal.make_id("sig", i, j),
                    "inputs": [
                        {
                            "path": f"data/d{i - 1}.parquet",
                            "md5": "0" * 32,
                            "dataset": f"d{i - 1}",
                            "version": src,
                            "seq": j,
                        }
                    ],
                    "outputs": [
                        {"path": f"data/{name}.parquet", "md5": md5, "dataset": name, "version": vid, "seq": j}
                    ],
                    "started": None,
                    "ended": None,
                    "author": "Bench <bench@example.com>",
                },
            )
            written += 1
    subprocess.run(["git", "add", "-A", ".dslineage"], cwd=root, check=True, capture_output=True)
    subprocess.run(
        ["git", "commit", "-q", "--no-verify", "-m", "synthetic lineage"], cwd=root, check=True, capture_output=True
    )
    return {"versions": datasets * versions, "transformations": (datasets - 1) * versions, "records": written}


def _cli(root: Path, *args: str) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one `dslineage ARGS` process, start-up
    included. CPU time is what the wall time would be on an idle machine (the process is
    single-threaded but for DuckDB's short scans), so it is reported next to it."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "dslineage", "-C", str(root), *args], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"dslineage {' '.join(args)} failed: {proc.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def measure(root: Path, datasets: int, versions: int, runs: int) -> dict[str, Any]:
    """Time the first (index build) and warm lineage queries through the CLI."""
    mid = f"d{datasets // 2}@v{versions // 2}"
    result: dict[str, Any] = {"first_query_s": _cli(root, "lineage", mid, "--json")[0]}
    queries = {
        "both_json": ["lineage", mid, "--json"],
        "leaf_downstream_json": ["lineage", f"d{datasets - 1}@v{versions}", "--downstream", "--json"],
        "downstream_tree": ["lineage", mid, "--downstream", "--format", "tree"],
        "upstream_depth3": ["lineage", mid, "--upstream", "--depth", "3", "--json"],
        "impact_json": ["impact", f"d0@v{versions // 2}", "--json"],
    }
    queries["log_d0_baseline"] = ["log", "d0", "--json"]  # the core's cost of any command here
    queries["help_baseline"] = ["--help"]
    for name, args in queries.items():
        times = [_cli(root, *args) for _ in range(runs)]
        result[f"{name}_median_s"] = round(statistics.median(t[0] for t in times), 3)
        result[f"{name}_median_cpu_s"] = round(statistics.median(t[1] for t in times), 3)
    from dslineage import Repo
    from dslineage.core import graph

    with Repo(root) as repo:
        start = time.perf_counter()
        g = graph.load(repo)
        result["library_whole_graph_load_s"] = round(time.perf_counter() - start, 3)
        result["graph_nodes"] = len(g.nodes)
        result["graph_edges"] = sum(len(v) for v in g.succ.values())
    result["first_query_s"] = round(result["first_query_s"], 3)
    return result


def run(layout: Any, p: Any) -> dict[str, Any]:
    """The pipeline stage: generate `p.lineage_datasets` x `p.lineage_versions` in the work folder, measure
    (median of `p.runs`, at least 3)."""
    import shutil

    root = layout.work / "lineage"
    shutil.rmtree(root, ignore_errors=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    made: dict[str, Any] = generate(root, p.lineage_datasets, p.lineage_versions)
    made["generate_s"] = round(time.perf_counter() - start, 1)
    figures = {
        "datasets": p.lineage_datasets,
        "versions_per_dataset": p.lineage_versions,
        **made,
        **measure(root, p.lineage_datasets, p.lineage_versions, max(p.runs, 3)),
        "load_average": round(os.getloadavg()[0], 1),
    }
    print("lineage: " + ", ".join(f"{k} {v}" for k, v in figures.items() if k.endswith("_s")), flush=True)
    shutil.rmtree(root, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> None:
    """Generate, measure, print (and write) the figures as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=100)
    ap.add_argument("--versions", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    with tempfile.TemporaryDirectory(prefix="dslineage-lineage-bench-") as tmp:
        root = Path(tmp) / "repo"
        start = time.perf_counter()
        made: dict[str, Any] = generate(root, args.datasets, args.versions)
        made["generate_s"] = round(time.perf_counter() - start, 1)
        figures = {
            "datasets": args.datasets,
            "versions_per_dataset": args.versions,
            **made,
            **measure(root, args.datasets, args.versions, args.runs),
        }
    text = json.dumps(figures, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
