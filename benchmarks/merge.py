"""`merge` benchmark: the row-level three-way merge of two branches of a dataset, against a commit.

Per size: base = v1 of the generated dataset; ours relabels the 1% of keys with
`key % 100 = 1` and theirs the disjoint 1% with `key % 100 = 2`, each to the next class;
`clash` relabels ours' keys to the class after that (every such key a conflicting cell).
Measured library-level, each run in a child process: one `dslineage commit` of ours over
base (a fresh repository with base committed: the reference); the merge engine on base,
ours and theirs (`store.merge.merge3` and `write_merged`, the per-dataset work of
`dslineage merge` and of the git merge driver); the same against generate's v2 as theirs
(relabels, adds and removes rows: the keyed path, not the positional one; `prefer="ours"`
for the rows both relabelled); and the conflicts listing (`merge3` of ours against clash,
every conflicting cell listed). Issue 10's targets: merge <= 2x one commit,
conflicts listing <= 3 s, at 5M rows.

And the whole commands, as a user runs them (CLI processes, real git + DVC repositories
built fresh, setup not timed): `dslineage merge theirs` in a repository whose branches
committed ours and theirs over base, against `dslineage commit` of ours over base in the
same run (`cli_merge`, `cli_commit`); and `dslineage merge --conflicts ds --json` of a merge
of ours with clash stopped on its conflicting cells (`cli_conflicts`, 1% of the rows).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from benchmarks import measure, repos
from benchmarks.generate import _classes, _copy
from benchmarks.params import Layout, Params

RATE = 100  # one key in RATE relabelled on each side: 1%


def _side(v1: Path, residue: int, shift: int) -> str:
    """v1 with the labels of keys `key % RATE = residue` moved `shift` classes on."""
    src = "'" + str(v1).replace("'", "''") + "'"
    moved = f"{_classes()}[1 + ((list_position({_classes()}, label) - 1 + {int(shift)}) % 10)::INTEGER]"
    return (
        f"SELECT key, f0, f1, f2, f3, f4, CASE WHEN key % {RATE} = {int(residue)} THEN {moved} "
        f"ELSE label END AS label FROM read_parquet({src}) ORDER BY key"
    )


def sides(layout: Layout, rows: int) -> dict[str, Path]:
    """Write (once) ours, theirs and clash for the `rows`-row dataset; base is its v1."""
    import duckdb

    v1, _ = layout.pair(rows)
    out = {"base": v1}
    con = duckdb.connect()
    try:
        for name, residue, shift in (("ours", 1, 1), ("theirs", 2, 1), ("clash", 1, 2)):
            path = layout.work / f"merge-{rows}-{name}.parquet"
            if not path.exists():
                _copy(con, _side(v1, residue, shift), path)
            out[name] = path
    finally:
        con.close()
    return out


def _cli(root: Path, *args: str) -> dict[str, Any]:
    return measure.command([*measure.bin_of("dslineage"), "-C", str(root), *args])


def run_cli(layout: Layout, p: Params, rows: int) -> dict[str, Any]:
    """The `dslineage merge` and `merge --conflicts` commands against one `dslineage commit`
    (interleaved runs, fresh repositories each run)."""
    import json

    files = sides(layout, rows)
    base, ours, theirs, clash = (files[k] for k in ("base", "ours", "theirs", "clash"))
    samples: dict[str, list[dict[str, Any]]] = {"cli_commit": [], "cli_merge": [], "cli_conflicts": []}
    stopped = repos.branched_repo(layout.work / f"merge-{rows}-cli-stopped", base, ours, clash, "clash")
    stop = measure.command([*measure.bin_of("dslineage"), "-C", str(stopped), "merge", "clash", "--json"], check=False)
    if json.loads(stop["stdout"] or "{}").get("state") != "conflicts":
        raise measure.TaskFailed(f"the merge of clash did not stop on conflicts: {stop['stderr'].strip()[-300:]}")
    for r in range(p.runs):
        root = repos.dslineage_repo(layout.work / f"merge-{rows}-cli-commit", base)
        repos.place(ours, root)
        samples["cli_commit"].append(_cli(root, "commit", repos.DATASET, "-m", "ours", "--json"))
        root = repos.branched_repo(layout.work / f"merge-{rows}-cli-merge", base, ours, theirs, "theirs")
        samples["cli_merge"].append(_cli(root, "merge", "theirs", "-m", "merge theirs", "--json"))
        samples["cli_conflicts"].append(_cli(stopped, "merge", "--conflicts", repos.DATASET, "--json"))
        print(
            f"merge {rows} cli run {r + 1}: " + ", ".join(f"{k} {v[-1]['seconds']:.2f} s" for k, v in samples.items()),
            flush=True,
        )
    merged = json.loads(samples["cli_merge"][-1]["stdout"])
    listed = json.loads(samples["cli_conflicts"][-1]["stdout"])
    for runs in samples.values():
        for one in runs:
            one.pop("stdout", None)
            one.pop("stderr", None)
    out: dict[str, Any] = {k: measure.summarize(v) for k, v in samples.items()}
    out["cli_merge"]["ratio_to_commit"] = out["cli_merge"]["median_s"] / out["cli_commit"]["median_s"]
    pairs = zip(samples["cli_merge"], samples["cli_commit"])
    out["cli_merge"]["paired_ratio"] = statistics.median(m["seconds"] / c["seconds"] for m, c in pairs)
    out["cli_merge"]["result"] = {"state": merged["state"], "rows": merged["merged"][0]["rows"]}
    out["cli_conflicts"]["result"] = {"cells": len(listed["conflicts"])}
    out["cli_agrees"] = (
        merged["state"] == "merged"
        and abs(merged["merged"][0]["rows"]["from_theirs"] - rows // RATE) <= 1
        and abs(len(listed["conflicts"]) - rows // RATE) <= 1
    )
    return out


def run_size(layout: Layout, p: Params, rows: int) -> dict[str, Any]:
    """Commit, merge and conflicts listing at one size (interleaved runs), library and CLI."""
    files = sides(layout, rows)
    merged = layout.work / f"merge-{rows}-merged.parquet"
    base, ours, theirs = (str(files[k]) for k in ("base", "ours", "theirs"))
    samples: dict[str, list[dict[str, Any]]] = {"commit": [], "merge": [], "merge_keyed": [], "conflicts": []}
    _, v2 = layout.pair(rows)
    for r in range(p.runs):
        root = repos.dslineage_repo(layout.work / f"merge-{rows}-commit", files["base"])
        repos.place(files["ours"], root)
        samples["commit"].append(measure.task("lib_commit", root=str(root), name=repos.DATASET, message="ours"))
        samples["merge"].append(measure.task("lib_merge", base=base, ours=ours, theirs=theirs, out=str(merged)))
        samples["merge_keyed"].append(
            measure.task("lib_merge", base=base, ours=ours, theirs=str(v2), out=str(merged), prefer="ours")
        )
        samples["conflicts"].append(
            measure.task("lib_merge_conflicts", base=base, ours=ours, theirs=str(files["clash"]))
        )
        print(
            f"merge {rows} run {r + 1}: " + ", ".join(f"{k} {v[-1]['seconds']:.2f} s" for k, v in samples.items()),
            flush=True,
        )
    merged.unlink(missing_ok=True)
    out = {k: measure.summarize(v) for k, v in samples.items()}
    for name in ("merge", "merge_keyed"):
        out[name]["ratio_to_commit"] = out[name]["median_s"] / out["commit"]["median_s"]
    cpu_c, cpu_m = out["commit"]["median_cpu_s"], out["merge"]["median_cpu_s"]
    out["merge"]["cpu_ratio_to_commit"] = cpu_m / cpu_c if cpu_c and cpu_m else None
    expected = {"changed_each_side": rows // RATE}
    res_m, res_c = out["merge"]["result"], out["conflicts"]["result"]
    out["agrees"] = (
        abs(res_m["from_ours"] - expected["changed_each_side"]) <= 1
        and abs(res_m["from_theirs"] - expected["changed_each_side"]) <= 1
        and res_m["conflicts"] == 0
        and abs(res_c["conflicts"] - expected["changed_each_side"]) <= 1
    )
    out.update(run_cli(layout, p, rows))
    return out


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """Every size of the `sizes` parameter."""
    return {str(rows): run_size(layout, p, rows) for rows in p.sizes}
