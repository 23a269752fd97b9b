"""`commit` benchmark: `dslineage commit` of v2 against plain `dvc add` + `git commit`.

Each run starts from a fresh repository holding v1 (setup, not timed), puts v2's bytes in
place, and times only the commit: `dslineage commit ds -m ...` as a command (and through
the library), against `dvc add FILE` followed by `git add` + `git commit` of the `.dvc`
file (and DVC's `.gitignore`) in a plain git + DVC repository.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from benchmarks import measure, repos
from benchmarks.params import Layout, Params


def _dslineage_cli(root: Path, v1: Path, v2: Path) -> dict[str, Any]:
    repos.dslineage_repo(root, v1)
    repos.place(v2, root)
    repos.settle()
    return measure.command([*measure.bin_of("dslineage"), "-C", str(root), "commit", "ds", "-m", "v2"])


def _dslineage_lib(root: Path, v1: Path, v2: Path) -> dict[str, Any]:
    repos.dslineage_repo(root, v1)
    repos.place(v2, root)
    repos.settle()
    return measure.task("lib_commit", root=str(root), name=repos.DATASET, message="v2")


def _plain(root: Path, v1: Path, v2: Path) -> dict[str, Any]:
    repos.dvc_repo(root, v1)
    repos.place(v2, root)
    repos.settle()
    add = measure.command([*measure.bin_of("dvc"), "add", "-q", repos.FILE], cwd=root)
    stage = measure.command(["git", "add", f"{repos.FILE}.dvc", "data/.gitignore"], cwd=root)
    com = measure.command(["git", "commit", "-q", "-m", "v2"], cwd=root)
    return {
        "seconds": add["seconds"] + stage["seconds"] + com["seconds"],
        "cpu": add["cpu"] + stage["cpu"] + com["cpu"],
        "rss": max(add["rss"], stage["rss"], com["rss"]),
        "result": {"dvc_add_s": add["seconds"], "git_s": stage["seconds"] + com["seconds"]},
    }


def run_size(layout: Layout, p: Params, rows: int) -> dict[str, Any]:
    """Commit measurements at one size (interleaved runs)."""
    v1, v2 = layout.pair(rows)
    tools = {"dvc_add_git_commit": _plain, "dslineage_cli": _dslineage_cli, "dslineage_lib": _dslineage_lib}
    samples: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
    for r in range(p.runs):
        for tool, fn in tools.items():
            samples[tool].append(fn(layout.work / f"commit-{rows}-{tool}", v1, v2))
            print(f"commit {rows} run {r + 1}: {tool} {samples[tool][-1]['seconds']:.3f} s", flush=True)
    out = {tool: measure.summarize(s) for tool, s in samples.items()}
    base = out["dvc_add_git_commit"]["median_s"]
    for tool in tools:
        out[tool]["ratio_to_dvc_git"] = out[tool]["median_s"] / base
        pairs = list(zip(samples[tool], samples["dvc_add_git_commit"]))
        out[tool]["paired_ratio"] = statistics.median(s["seconds"] / b["seconds"] for s, b in pairs)
        out[tool]["paired_cpu_ratio"] = statistics.median(s["cpu"] / b["cpu"] for s, b in pairs)
    return out


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """The commit benchmark at every size in `p.sizes`."""
    return {str(rows): run_size(layout, p, rows) for rows in p.sizes}
