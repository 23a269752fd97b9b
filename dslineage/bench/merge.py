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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dslineage.bench import measure, repos
from dslineage.bench.generate import _classes, _copy
from dslineage.bench.params import Layout, Params

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


def run_size(layout: Layout, p: Params, rows: int) -> dict[str, Any]:
    """Commit, merge and conflicts listing at one size (interleaved runs)."""
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
        samples["merge_keyed"].append(measure.task(
            "lib_merge", base=base, ours=ours, theirs=str(v2), out=str(merged), prefer="ours"))
        samples["conflicts"].append(measure.task(
            "lib_merge_conflicts", base=base, ours=ours, theirs=str(files["clash"])))
        print(f"merge {rows} run {r + 1}: " + ", ".join(
            f"{k} {v[-1]['seconds']:.2f} s" for k, v in samples.items()), flush=True)
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
    return out


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """Every size of the `sizes` parameter."""
    return {str(rows): run_size(layout, p, rows) for rows in p.sizes}
