"""`diff` benchmark: dslineage (library, CLI) against the DuckDB lower bound and peers.

Per size: one repository with v1 and v2 committed (setup, not timed); then `runs` rounds,
each timing every tool once in turn (interleaved, so machine noise hits all alike). Peers
read the very bytes dslineage reads: the two DVC cache objects. `dslineage_cli` is the
default diff of two committed versions (from the journal, no bytes read: the diff v2's commit
recorded against v1, its parent), as is `dslineage_lib`; `dslineage_lib_bytes` is the library
reading both versions' bytes instead (the path before the fold); `dslineage_lib_working` /
`dslineage_cli_working` diff v1 against the working file (v2's bytes), which must read both
sides: the figure held to <= 1.3x the lower bound, the library's to the join in a process that
imported duckdb already, the command's to the same join run as a whole process
(`duckdb_lower_bound_process`: `python benchmarks/duckdb_join.py A B`, the interpreter's start
and duckdb's import included). Then the committed-version diff is timed at every size and at
`big_rows` (20M, from `bench/data`), the sizes taking turns within each round: `flat` holds the
median of same-round ratios to the smallest size (it must stay flat: <= 1.3x).
"""

from __future__ import annotations

import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

from benchmarks import measure, repos
from benchmarks.params import Layout, Params

PEERS = {"pandas": "pandas", "datacompy_polars": "datacompy", "doltlite": "doltlite"}


def _cache_files(root: Path) -> tuple[str, str]:
    from dslineage.repo import Repo

    with Repo(root) as repo:
        from dslineage import dvcio

        v = {x.seq: x.md5 for x in repo.log(repos.DATASET)}
    return str(dvcio.cache_path(root, v[1])), str(dvcio.cache_path(root, v[2]))


def _check(name: str, got: dict[str, Any] | None, truth: dict[str, int]) -> bool:
    want = {k: truth[k] for k in ("added", "removed", "relabeled")}
    ok = got is not None and {k: got.get(k) for k in want} == want
    if not ok:
        print(f"WARNING diff: {name} disagrees with the ground truth: {got} != {want}", flush=True)
    return ok


def run_size(layout: Layout, p: Params, rows: int, truth: dict[str, int]) -> dict[str, Any]:
    """All diff measurements at one size."""
    v1, v2 = layout.pair(rows)
    root = repos.dslineage_repo(layout.work / f"diff-{rows}", v1, v2)
    a, b = _cache_files(root)
    ds = repos.DATASET
    join = [sys.executable, str(Path(__file__).with_name("duckdb_join.py")), a, b]
    tools: dict[str, Any] = {
        "duckdb_lower_bound": lambda: measure.task("duckdb_diff", a=a, b=b),
        # the same join as a whole process (python, duckdb's import): what a command is held to
        "duckdb_lower_bound_process": lambda: _process(join),
        "dslineage_lib": lambda: measure.task("lib_diff", root=str(root), a=f"{ds}@v1", b=f"{ds}@v2"),
        "dslineage_cli": lambda: _cli(root),
        "dslineage_lib_bytes": lambda: measure.task("lib_diff_bytes", root=str(root), a=f"{ds}@v1", b=f"{ds}@v2"),
        "dslineage_lib_working": lambda: measure.task("lib_diff_working", root=str(root), a=f"{ds}@v1"),
        "dslineage_cli_working": lambda: _cli(root, working=True),
    }
    skipped: dict[str, Any] = {}
    for tool, module in PEERS.items():
        if not measure.have(module) or (tool == "datacompy_polars" and not measure.have("polars")):
            skipped[tool] = measure.skipped(
                f"diff peer {tool}", f"{module} is not installed (pip install -e '.[bench]')"
            )
        elif tool == "doltlite" and rows > p.doltlite_max_rows:
            skipped[tool] = measure.skipped(
                f"diff peer {tool} at {rows}", f"above doltlite_max_rows={p.doltlite_max_rows}"
            )
        elif tool == "doltlite":
            db = layout.work / f"doltlite-{rows}.db"
            for f in db.parent.glob(f"{db.name}*"):
                f.unlink()
            load = measure.task("doltlite_load", db=str(db), v1=a, v2=b)
            commit = load["result"]["v2"]
            print(f"diff: doltlite loaded {rows} rows in {load['seconds']:.1f} s (not timed)", flush=True)
            tools["doltlite"] = lambda db=db, commit=commit: measure.task("doltlite_diff", db=str(db), commit=commit)
        else:
            tools[tool] = lambda name=tool: measure.task(
                "pandas_diff" if name == "pandas" else "datacompy_polars", a=a, b=b
            )
    samples: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
    for r in range(p.runs):
        for tool, fn in tools.items():
            samples[tool].append(fn())
            print(f"diff {rows} run {r + 1}: {tool} {samples[tool][-1]['seconds']:.3f} s", flush=True)
    out: dict[str, Any] = {}
    for tool, s in samples.items():
        out[tool] = measure.summarize(s)
        out[tool]["agrees"] = _check(tool, out[tool]["result"], truth)
        if tool in ("dslineage_cli", "dslineage_cli_working"):
            out[tool]["exact_fold"] = all(s["exact_fold"] for s in samples[tool])
    out.update(skipped)
    pairs_cli = list(zip(samples["dslineage_cli_working"], samples["duckdb_lower_bound_process"]))
    out["dslineage_cli_working"]["paired_ratio_to_process"] = statistics.median(
        s["seconds"] / lb["seconds"] for s, lb in pairs_cli
    )
    out["dslineage_cli_working"]["paired_cpu_ratio_to_process"] = statistics.median(
        s["cpu"] / lb["cpu"] for s, lb in pairs_cli
    )
    base = out["duckdb_lower_bound"]["median_s"]
    for tool in tools:
        out[tool]["ratio_to_lower_bound"] = out[tool]["median_s"] / base
        # the median of same-round ratios: robust when the machine's load changes between rounds
        pairs = list(zip(samples[tool], samples["duckdb_lower_bound"]))
        out[tool]["paired_ratio"] = statistics.median(s["seconds"] / lb["seconds"] for s, lb in pairs)
        out[tool]["paired_cpu_ratio"] = statistics.median(s["cpu"] / lb["cpu"] for s, lb in pairs)
    return out


def _process(argv: list[str]) -> dict[str, Any]:
    """A command's measurement with its JSON output (the counts) as the result."""
    import json

    res = measure.command(argv)
    res["result"] = json.loads(res.pop("stdout"))
    return res


def _cli(root: Path, *, working: bool = False) -> dict[str, Any]:
    """`dslineage diff ds@v1 ds@v2 --json` as a user runs it (wall clock, whole process); with `working`,
    `dslineage diff ds@v1 --json` against the working file."""
    import json

    refs = ["ds@v1"] if working else ["ds@v1", "ds@v2"]
    res = measure.command([*measure.bin_of("dslineage"), "-C", str(root), "diff", *refs, "--json"])
    out = json.loads(res["stdout"])
    rows = out["rows"]
    res["result"] = {k: rows[k] for k in ("added", "removed", "relabeled")}
    res["exact_fold"] = bool(out.get("exact"))  # answered from the change sets, not the bytes
    return res


def run_flat(layout: Layout, p: Params, truths: dict[int, dict[str, int]]) -> dict[str, Any]:
    """The committed-version diff (folded, CLI and library) at every size, the sizes taking turns in each round;
    the ratio of each size to the smallest is the median of same-round ratios."""
    roots = {n: layout.work / f"diff-{n}" for n in truths}
    for n, root in roots.items():
        if not (root / ".dslineage").exists():  # the big size: no peers, its repository made here
            repos.dslineage_repo(root, *layout.pair(n))
    ds = repos.DATASET
    tools = {
        "dslineage_cli": lambda root: _cli(root),
        "dslineage_lib": lambda root: measure.task("lib_diff", root=str(root), a=f"{ds}@v1", b=f"{ds}@v2"),
    }
    samples: dict[str, dict[int, list[dict[str, Any]]]] = {t: {n: [] for n in roots} for t in tools}
    for r in range(p.runs):
        for n, root in sorted(roots.items()):
            for tool, fn in tools.items():
                samples[tool][n].append(fn(root))
                print(f"diff flat {n} run {r + 1}: {tool} {samples[tool][n][-1]['seconds']:.3f} s", flush=True)
    small = min(roots)
    out: dict[str, Any] = {}
    for tool, by_size in samples.items():
        for n, s in by_size.items():
            entry = out.setdefault(str(n), {})[tool] = measure.summarize(s)
            entry["agrees"] = _check(f"{tool} at {n}", entry["result"], truths[n])
            entry["exact_fold"] = all(x.get("exact_fold", True) for x in s)
            pairs = list(zip(s, by_size[small]))
            entry["paired_ratio_to_smallest"] = statistics.median(a["seconds"] / b["seconds"] for a, b in pairs)
            entry["paired_cpu_ratio_to_smallest"] = statistics.median(a["cpu"] / b["cpu"] for a, b in pairs)
    for n, root in roots.items():
        if n not in p.sizes:
            shutil.rmtree(root, ignore_errors=True)  # ~2.7 GB at 20M rows
    return out


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """The diff benchmark at every size in `p.sizes`, then the committed-version diff's flatness up to `big_rows`."""
    from benchmarks.generate import counts

    out: dict[str, Any] = {}
    truths: dict[int, dict[str, int]] = {}
    for rows in p.sizes:
        truths[rows] = counts(*layout.pair(rows))
        out[str(rows)] = {"truth": truths[rows], **run_size(layout, p, rows, truths[rows])}
    if p.big_rows > 0 and p.big_rows not in p.sizes:
        truths[p.big_rows] = counts(*layout.pair(p.big_rows))  # generated by the `generate` stage
    if len(truths) > 1:  # the folded diff does not grow with the dataset
        out["flat"] = run_flat(layout, p, truths)
        out["flat_ratio"] = {
            n: v["dslineage_cli"]["paired_ratio_to_smallest"] for n, v in out["flat"].items() if int(n) != min(truths)
        }
    return out
