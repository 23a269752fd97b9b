"""`history` benchmark: the label timeline of one key at 10, 200 and 1,000 versions.

Library (`Repo(root).history`, a new Repo per call, median over spread keys), the CLI
(`dslineage history ds KEY --json`, whole process), and doltlite's history table on
the same edits (up to `doltlite_history_versions`). See `chain.py` for how the chain is made.
"""

from __future__ import annotations

import os
import time
from typing import Any

from benchmarks import chain, measure, repos
from benchmarks.params import Layout, Params


def _index_bytes(root: Any) -> dict[str, int]:
    from dslineage import config

    jdir = root / config.JOURNAL_DIR
    return {
        "index_bytes": repos.tree_bytes(root / config.INDEX_FILE),
        "journal_bytes": repos.tree_bytes(jdir),
        "change_set_bytes": sum(p.stat().st_size for p in jdir.glob("*.changes.parquet")),
    }


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """History measurements at each chain length in `p.history_versions`."""
    from dslineage.repo import Repo

    rows = p.history_rows
    v1, v2 = layout.pair(rows)
    root = repos.dslineage_repo(layout.work / "history", v1, v2)
    window = max(1, int(rows * p.relabel_rate))
    ch = chain.Chain(root, repos.DATASET, rows, window)
    keys = chain.changed_keys(root, repos.DATASET, p.history_keys)
    dolt = _dolt_setup(layout, p, v1, v2) if measure.have("doltlite") else None
    if dolt is None:
        measure.skipped("history peer doltlite", "doltlite is not installed (pip install -e '.[bench]')")
    out: dict[str, Any] = {"rows": rows, "window": window, "keys": keys}
    for versions in sorted(p.history_versions):
        t0 = time.perf_counter()
        added = ch.extend(versions)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        with Repo(root) as repo:
            repo.log(repos.DATASET)  # the index catches up with the new journal files
        sync_s = time.perf_counter() - t0
        entry: dict[str, Any] = {
            "build_s": build_s,
            "added_versions": added,
            "index_sync_s": sync_s,
            "load": os.getloadavg()[0],
        }  # the machine's load as the timing starts
        entry["dslineage_lib"] = measure.repeat(
            measure.task, p.runs, "lib_history", root=str(root), name=repos.DATASET, keys=keys
        )
        cli = [*measure.bin_of("dslineage"), "-C", str(root), "history", "ds", str(keys[1]), "--json"]
        entry["dslineage_cli"] = measure.repeat(measure.command, p.runs, cli)
        entry.update(_index_bytes(root))
        if dolt is not None:
            entry["doltlite"] = _dolt_history(dolt, p, versions, window, keys)
        out[str(versions)] = entry
        lib = entry["dslineage_lib"]["median_s"]
        print(
            f"history {versions} versions: lib {lib * 1000:.1f} ms/key "
            f"({entry['dslineage_lib']['median_cpu_s'] * 1000:.1f} ms CPU, load {entry['load']:.1f}), "
            f"cli {entry['dslineage_cli']['median_s']:.3f} s, sync {sync_s:.1f} s",
            flush=True,
        )
    ch.close()
    return out


def _dolt_setup(layout: Layout, p: Params, v1: Any, v2: Any) -> str:
    db = layout.work / f"doltlite-history-{p.history_rows}.db"
    for f in db.parent.glob(f"{db.name}*"):
        f.unlink()
    layout.work.mkdir(parents=True, exist_ok=True)
    measure.task("doltlite_load", db=str(db), v1=str(v1), v2=str(v2))
    return str(db)


def _dolt_history(db: str, p: Params, versions: int, window: int, keys: list[int]) -> dict[str, Any]:
    if versions > p.doltlite_history_versions:
        return measure.skipped(
            f"history peer doltlite at {versions} versions",
            f"above doltlite_history_versions={p.doltlite_history_versions} (building its chain takes too long)",
        )
    t0 = time.perf_counter()
    measure.task("doltlite_chain", db=db, versions=versions, window=window, rows=p.history_rows)
    print(f"history: doltlite chain to {versions} versions built in {time.perf_counter() - t0:.1f} s", flush=True)
    res = measure.repeat(measure.task, p.runs, "doltlite_history", db=db, keys=keys)
    return res
