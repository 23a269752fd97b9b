"""`ops` benchmark: relabel and revert of a `ops_batch`-row batch, blame over all rows.

Per size: a repository with v1 and v2 committed; each run relabels `ops_batch` keys
spread over the file (one batch, committed) and reverts that batch (library, one child
process each); blame of `ds@latest` over every row, against doltlite's blame table.
Commands the library lacks are skipped with a printed line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks import measure, repos
from benchmarks.params import CLASSES, Layout, Params


def _edits(layout: Layout, rows: int, batch: int, version: int = 2) -> Path:
    """A parquet file of `batch` edits (key, label) of generated version 1 or 2: every k-th key moved to the
    next class."""
    import duckdb

    src = layout.pair(rows)[version - 1]
    target = layout.work / f"ops-{rows}-edits{'' if version == 2 else f'-v{version}'}.parquet"
    step = max(1, rows // batch)
    classes = "[" + ", ".join(f"'{c}'" for c in CLASSES) + "]"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT key, {classes}[1 + (list_position({classes}, label) % 10)::INTEGER] AS label "
        f"FROM read_parquet(?) WHERE key % {step} = 3 ORDER BY key LIMIT {int(batch)}) "
        f"TO '{str(target).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)",
        [str(src)],
    )
    con.close()
    return target


def run_size(layout: Layout, p: Params, rows: int) -> dict[str, Any]:
    """Relabel, revert and blame at one size."""
    from dslineage.repo import Repo

    v1, v2 = layout.pair(rows)
    root = repos.dslineage_repo(layout.work / f"ops-{rows}", v1, v2)
    out: dict[str, Any] = {}
    have = {verb: hasattr(Repo, verb) for verb in ("relabel", "revert", "blame")}
    for verb, ok in have.items():
        if not ok:
            out[verb] = measure.skipped(f"ops {verb}", f"Repo.{verb} does not exist yet (issue 3)")
    if have["relabel"]:
        edits = str(_edits(layout, rows, p.ops_batch))
        rel, rev = [], []
        for r in range(p.runs):
            rel.append(measure.task("lib_relabel", root=str(root), name=repos.DATASET, edits=edits))
            if have["revert"]:
                rev.append(measure.task("lib_revert", root=str(root), target=rel[-1]["result"]["batch"]))
            print(
                f"ops {rows} run {r + 1}: relabel {rel[-1]['seconds']:.2f} s"
                + (f", revert {rev[-1]['seconds']:.2f} s" if rev else ""),
                flush=True,
            )
        out["relabel"] = measure.summarize(rel)
        if rev:
            out["revert"] = measure.summarize(rev)
    if have["blame"]:
        out["blame"] = measure.repeat(measure.task, p.runs, "lib_blame", root=str(root), ref="ds@latest")
        print(f"ops {rows}: blame {out['blame']['median_s']:.2f} s", flush=True)
        out["doltlite_blame"] = _dolt_blame(layout, p, rows)
    return out


def _dolt_blame(layout: Layout, p: Params, rows: int) -> dict[str, Any]:
    if not measure.have("doltlite"):
        return measure.skipped("ops peer doltlite blame", "doltlite is not installed (pip install -e '.[bench]')")
    if rows > p.doltlite_max_rows:
        return measure.skipped(f"ops peer doltlite blame at {rows}", f"above doltlite_max_rows={p.doltlite_max_rows}")
    db = layout.work / f"doltlite-{rows}.db"
    if not db.exists():
        v1, v2 = layout.pair(rows)
        measure.task("doltlite_load", db=str(db), v1=str(v1), v2=str(v2))
    res = measure.repeat(measure.task, p.runs, "doltlite_blame", db=str(db))
    print(f"ops {rows}: doltlite blame {res['median_s']:.2f} s", flush=True)
    return res


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """The ops benchmark at every size in `p.sizes`."""
    return {str(rows): run_size(layout, p, rows) for rows in p.sizes}
