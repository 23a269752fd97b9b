"""`scale` benchmark (issue 16): a dataset of `scale_rows` rows in `scale_parts` hive partitions,
against the same rows as one parquet file, in the same run.

Setup (not timed): two fresh repositories, one tracking the directory (`data/ds/part=NNN/`),
one the single file (`data/ds.parquet`), each with v1 committed. Each round then times whole
CLI processes, the two repositories taking turns (the order alternates by round):
`dslineage relabel ds --from EDITS` (an edit batch of `scale_edit_rate` of all rows, every one
in `scale_edit_parts` partitions, committed by the same command), then `dslineage diff ds@vN
ds@vN+1 --json` of the version it made against the one before. Every relabel and diff is
checked against the edits' row count. After the first round, `benchmarks.scale_remote` pushes
both repositories to a SeaweedFS S3 remote it starts and measures a diff of v1 and v2 in clones
with an empty cache. Issue 16's targets: relabel + commit <= 5 s and diff <= 1 s at 100M rows
in 100 partitions; remote bytes read <= 5% of the objects' size. The first round's relabel of the
directory also builds the key -> part index (every part's keys, read once ever): run 3 or more
rounds so that the median is a later round's.

Without directory datasets in the installed code the stage is skipped with a printed reason.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
from pathlib import Path
from typing import Any

from benchmarks import measure, repos
from benchmarks.params import Layout, Params
from benchmarks.scale_data import ScaleData

KINDS = ("directory", "one_file")
REL = {"directory": "data/ds", "one_file": "data/ds.parquet"}


def dsl(root: Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> dict[str, Any]:
    """Time one `dslineage -C ROOT ARGS` process (whole, as a user sees it)."""
    return measure.command([*measure.bin_of("dslineage"), "-C", str(root), *args], env=env, check=check)


def parsed(res: dict[str, Any]) -> dict[str, Any]:
    """The --json output of a measured command (and drop its captured text from the sample)."""
    text = res.pop("stdout", "") or "{}"
    res.pop("stderr", None)
    out: dict[str, Any] = json.loads(text)
    return out


def _repo(root: Path, d: ScaleData, kind: str) -> tuple[Path, float]:
    """A fresh repository tracking the `kind` copy of the data, v1 committed; (root, setup seconds)."""
    from benchmarks import scale_data

    repos.fresh(root)
    dsl(root, "init")
    scale_data.place_tree(d.directory if kind == "directory" else d.one_file, root / REL[kind])
    track = dsl(root, "track", REL[kind], "--key", "key", "--label", "label", "--name", repos.DATASET)
    commit = dsl(root, "commit", repos.DATASET, "-m", "v1: generated")
    return root, track["seconds"] + commit["seconds"]


def _paired(samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {k: measure.summarize(v) for k, v in samples.items()}
    pairs = list(zip(samples["directory"], samples["one_file"]))
    if pairs:
        out["paired_ratio"] = statistics.median(a["seconds"] / b["seconds"] for a, b in pairs)
        out["paired_cpu_ratio"] = statistics.median(a["cpu"] / max(b["cpu"], 1e-9) for a, b in pairs)
    return out


def _restore(root: Path, d: ScaleData, kind: str, source: Path) -> None:
    """Put the touched parts (directory) or the whole file of `source` (a data folder laid out like
    `d.folder`: the generated data, or `d.edited`) into the repository's work tree."""
    from benchmarks import scale_data

    if kind == "one_file":
        scale_data.place_tree(source / "one.parquet", root / REL[kind])
        return
    for rel in d.touched(d.directory):
        scale_data.place_tree(source / "dir" / rel, root / REL[kind] / rel)


def _edit(roots: dict[str, Path], d: ScaleData, p: Params, kind: str, relabel: bool, r: int) -> dict[str, Any]:
    """The timed edit of round `r`: `relabel --from` (committed by it), or, where relabel is not
    available, the edited files put in place and `dslineage commit`."""
    from benchmarks import scale_data

    if relabel:
        res = dsl(
            roots[kind],
            "relabel",
            repos.DATASET,
            "--from",
            str(d.edits),
            "--reason",
            "bench",
            "-m",
            f"relabel run {r + 1}",
            "--json",
        )
        res["result"] = {"applied": parsed(res).get("applied")}
        return res
    _restore(roots[kind], d, kind, scale_data.generate_edited(d, p).edited)
    res = dsl(roots[kind], "commit", repos.DATASET, "-m", f"edited run {r + 1}", "--json")
    parsed(res)
    return res


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """Generate, set up both repositories, run the rounds (and the remote part); the figures."""
    from benchmarks import scale_data, scale_remote

    if p.scale_rows <= 0:
        return measure.skipped("scale", "scale_rows is 0 (set scale_rows to run it)")
    load_start = [round(x, 2) for x in os.getloadavg()]
    d = scale_data.generate(layout, p)
    edited = scale_data.count(d.edits)
    out: dict[str, Any] = {
        "rows": d.rows,
        "parts": d.parts,
        "edit_parts": list(d.edit_parts),
        "edited_rows": edited,
        "bytes": {"directory": repos.tree_bytes(d.directory), "one_file": d.one_file.stat().st_size},
        "load_average": {"start": load_start},
    }
    print(
        f"scale: {d.rows:,} rows in {d.parts} partitions, {edited:,} edited rows in partitions "
        f"{list(d.edit_parts)}, {out['bytes']}",
        flush=True,
    )
    roots: dict[str, Path] = {}
    setup: dict[str, float] = {}
    try:
        for kind in KINDS:
            roots[kind], setup[kind] = _repo(layout.work / f"scale-{kind}", d, kind)
    except measure.TaskFailed as exc:
        return {**out, **measure.skipped("scale", f"setting up the repositories failed: {exc}")}
    out["setup_s"] = setup
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {
        op: {k: [] for k in KINDS} for op in ("relabel_commit", "diff", "commit")
    }
    edit_op = "relabel_commit"
    agrees = True
    seq = 1
    for r in range(max(1, p.scale_runs)):
        order = KINDS if r % 2 == 0 else KINDS[::-1]
        for kind in order:
            try:
                res = _edit(roots, d, p, kind, edit_op == "relabel_commit", r)
            except measure.TaskFailed as exc:
                if r or edit_op != "relabel_commit" or kind != "directory":  # round 0 starts with it
                    raise
                out["relabel_commit"] = measure.skipped("scale relabel", f"relabel of the directory failed: {exc}")
                edit_op = "commit_edited"  # the same edit as files + `dslineage commit`, for both layouts
                samples[edit_op] = {k: [] for k in KINDS}
                del samples["relabel_commit"]
                res = _edit(roots, d, p, kind, False, r)
            agrees &= res["result"]["applied"] == edited if "result" in res else True  # relabel's own count
            samples[edit_op][kind].append(res)
        for kind in order:
            res = dsl(roots[kind], "diff", f"{repos.DATASET}@v{seq}", f"{repos.DATASET}@v{seq + 1}", "--json")
            rows = parsed(res).get("rows", {})
            agrees &= rows.get("relabeled") == edited
            res["result"] = rows
            samples["diff"][kind].append(res)
        if r == 0:
            out["remote"] = scale_remote.run(layout, p, roots, out["bytes"], edited)
        for kind in order:  # back to the generated data: the same rows changed back, C parts rewritten
            _restore(roots[kind], d, kind, d.folder)
            samples["commit"][kind].append(dsl(roots[kind], "commit", repos.DATASET, "-m", f"restore {r + 1}"))
        seq += 2
        print(
            f"scale run {r + 1}: "
            + "; ".join(
                f"{op} " + ", ".join(f"{k} {v[k][-1]['seconds']:.2f} s" for k in KINDS)
                for op, v in samples.items()
                if v["directory"]
            ),
            flush=True,
        )
    for op, v in samples.items():
        if v["directory"]:
            out[op] = _paired(v)
    out["agrees"] = agrees
    out["load_average"]["end"] = [round(x, 2) for x in os.getloadavg()]
    out["disk_bytes"] = {k: repos.tree_bytes(v) for k, v in roots.items()}
    for root in roots.values():
        shutil.rmtree(root, ignore_errors=True)  # the one-file repository holds a copy per version
    return out


def summary(res: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, float | None, float, str]]]:
    """(summary, targets as (name, value, limit, unit)) of the stage's part, for `report`."""
    if "diff" not in res:
        return {}, []
    what = f"{res['rows']:,} rows, {res['parts']} partitions, {res['edited_rows']:,} rows in {len(res['edit_parts'])}"
    s: dict[str, Any] = {
        "rows": res["rows"],
        "parts": res["parts"],
        "edited_rows": res["edited_rows"],
        "agrees": res.get("agrees"),
        "load_average": res.get("load_average"),
    }
    for op in ("relabel_commit", "commit_edited", "commit", "diff"):
        for kind in KINDS:
            fig = (res.get(op) or {}).get(kind) or {}
            s[f"{op}_{kind}_s"] = fig.get("median_s")
            s[f"{op}_{kind}_cpu_s"] = fig.get("median_cpu_s")
        s[f"{op}_paired_ratio"] = (res.get(op) or {}).get("paired_ratio")
    targets: list[tuple[str, float | None, float, str]] = [
        (f"scale: relabel + commit <= 5 s ({what}, CLI)", s["relabel_commit_directory_s"], 5.0, "s"),
        (
            f"scale: commit of the {len(res['edit_parts'])} rewritten partitions <= 5 s ({what}, CLI)",
            s["commit_directory_s"],
            5.0,
            "s",
        ),
        (f"scale: diff of the two versions <= 1 s ({what}, CLI)", s["diff_directory_s"], 1.0, "s"),
    ]
    remote = res.get("remote") or {}
    frac: float | None = None
    for kind in KINDS:
        rows = (remote.get(kind) or {}).get("diff_rows") or {}
        got = (rows.get("result") or {}).get("fraction_read")
        s[f"remote_{kind}_fraction_read"] = got
        s[f"remote_{kind}_diff_s"] = rows.get("median_s")
        if kind == "directory":
            frac = got
    targets.append(
        (
            f"scale: bytes read from S3 for a remote diff <= 5% of the versions' size ({what})",
            None if frac is None else 100 * frac,
            5.0,
            "%",
        )
    )
    return s, targets
