"""`diff` benchmark: dslineage (library, CLI) against the DuckDB lower bound and peers.

Per size: one repository with v1 and v2 committed (setup, not timed); then `runs` rounds,
each timing every tool once in turn (interleaved, so machine noise hits all alike). Peers
read the very bytes dslineage reads: the two DVC cache objects. `dslineage_cli` is the
default diff of two committed versions (folded exactly from the change sets, no bytes read),
as is `dslineage_lib`; `dslineage_lib_bytes` is the library reading both versions' bytes
instead (the path before the fold; a diff against a working file still takes it). With
`big_rows` set, the committed-version diff is also timed at that size (it must stay flat:
`flat_ratio` = its median over the smallest size's).
"""

from __future__ import annotations

import statistics
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
    tools: dict[str, Any] = {
        "duckdb_lower_bound": lambda: measure.task("duckdb_diff", a=a, b=b),
        "dslineage_lib": lambda: measure.task("lib_diff", root=str(root), a=f"{ds}@v1", b=f"{ds}@v2"),
        "dslineage_cli": lambda: _cli(root),
        "dslineage_lib_bytes": lambda: measure.task("lib_diff_bytes", root=str(root), a=f"{ds}@v1", b=f"{ds}@v2"),
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
        if tool == "dslineage_cli":
            out[tool]["exact_fold"] = all(s["exact_fold"] for s in samples[tool])
    out.update(skipped)
    base = out["duckdb_lower_bound"]["median_s"]
    for tool in tools:
        out[tool]["ratio_to_lower_bound"] = out[tool]["median_s"] / base
        # the median of same-round ratios: robust when the machine's load changes between rounds
        pairs = list(zip(samples[tool], samples["duckdb_lower_bound"]))
        out[tool]["paired_ratio"] = statistics.median(s["seconds"] / lb["seconds"] for s, lb in pairs)
        out[tool]["paired_cpu_ratio"] = statistics.median(s["cpu"] / lb["cpu"] for s, lb in pairs)
    return out


def _cli(root: Path) -> dict[str, Any]:
    """`dslineage diff ds@v1 ds@v2 --json` as a user runs it (wall clock, whole process)."""
    import json

    res = measure.command(
        [*measure.bin_of("dslineage"), "-C", str(root), "diff", "ds@v1", "ds@v2", "--json"]
    )
    out = json.loads(res["stdout"])
    rows = out["rows"]
    res["result"] = {k: rows[k] for k in ("added", "removed", "relabeled")}
    res["exact_fold"] = bool(out.get("exact"))  # answered from the change sets, not the bytes
    return res


def run_committed(
    layout: Layout, p: Params, rows: int, truth: dict[str, int], pair: tuple[Path, Path]
) -> dict[str, Any]:
    """Only the committed-version diff through the CLI (folded) at the big size."""
    root = repos.dslineage_repo(layout.work / f"diff-{rows}", *pair)
    samples = [_cli(root) for _ in range(p.runs)]
    out: dict[str, Any] = {"dslineage_cli": measure.summarize(samples)}
    out["dslineage_cli"]["agrees"] = _check("dslineage_cli", out["dslineage_cli"]["result"], truth)
    out["dslineage_cli"]["exact_fold"] = all(s["exact_fold"] for s in samples)
    print(f"diff {rows}: dslineage_cli median {out['dslineage_cli']['median_s']:.3f} s", flush=True)
    return out


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """The diff benchmark at every size in `p.sizes`."""
    from benchmarks.generate import counts

    out: dict[str, Any] = {}
    for rows in p.sizes:
        truth = counts(*layout.pair(rows))
        out[str(rows)] = {"truth": truth, **run_size(layout, p, rows, truth)}
    if p.big_rows > 0 and p.big_rows not in p.sizes:
        import shutil

        from benchmarks.generate import generate_pair

        big = Layout(layout.work / "big")
        pair = generate_pair(big, p.big_rows, p)
        truth = counts(*pair)
        out[str(p.big_rows)] = {"truth": truth, **run_committed(layout, p, p.big_rows, truth, pair)}
        shutil.rmtree(big.base, ignore_errors=True)
    sizes = sorted(int(s) for s in out)
    if len(sizes) > 1:  # the folded diff does not grow with the dataset
        small = out[str(sizes[0])]["dslineage_cli"]["median_s"]
        out["flat_ratio"] = {str(n): out[str(n)]["dslineage_cli"]["median_s"] / small for n in sizes[1:]}
    return out
