"""`reindex` benchmark: a cold `dslineage reindex` of a journal of `reindex_records` records.

The journal holds one small tracked dataset (v1 a real commit), then a chain of versions
in exactly the format `dslineage commit` writes (same fields, same id rule, a change set of
`reindex_window` relabelled rows each), and a tag on every 20th version, all committed to
git in one commit. Measured: the CLI (`dslineage reindex --json`, whole process, median of
`runs`), the library's bulk path, and the record-by-record path the index used before bulk
sync (`reindex_old_runs` times, 0 to skip: ~7 ms a record).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks import measure, repos
from benchmarks.params import CLASSES, Layout, Params

TAG_EVERY = 20


def build(root: Path, records: int, window: int, rows: int = 1000) -> int:
    """A repository whose journal has `records` records; returns how many it wrote."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dslineage import journal
    from dslineage.repo import Repo

    repos.fresh(root)
    Repo.init(root)
    labels = [CLASSES[i % len(CLASSES)] for i in range(rows)]
    data = root / repos.FILE
    data.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"key": list(range(rows)), "label": labels}), data)
    with Repo(root) as repo:
        repo.track(str(data), ["key"], ["label"])
        [first] = repo.commit([repos.DATASET], "v1", None)
    head: dict[str, Any] = {k: getattr(first, k) for k in first.keys()}  # the index row, updated per record
    folder = journal.folder(root)
    written = len(journal.list_files(root))
    seq, author = int(head["seq"]), "Bench Runner <bench@example.com>"
    while written < records:
        seq += 1
        ts = journal.now()
        message = f"relabel window {seq}"
        vid = journal.make_id("version", repos.DATASET, head["md5"], head["id"], ts, author, message)
        keys = [(seq * window + i) % rows for i in range(window)]
        old = [labels[k] for k in keys]
        new = [CLASSES[(CLASSES.index(o) + 1) % len(CLASSES)] for o in old]
        for k, n in zip(keys, new, strict=True):
            labels[k] = n
        name = journal.changes_name(vid)
        pq.write_table(
            pa.table({"change": ["relabeled"] * window, "k0": keys, "o0": old, "n0": new}),
            folder / name,
            compression="zstd",
        )
        record = {
            "kind": "version",
            "id": vid,
            "dataset": repos.DATASET,
            "seq": seq,
            "md5": head["md5"],
            "parent": head["id"],
            "parents": [head["id"]],
            "path": head["path"],
            "message": message,
            "author": author,
            "timestamp": ts,
            "rows": rows,
            "schema": head["schema"],
            "label_distribution": head["label_distribution"],
            "changes": {
                "known": True,
                "file": name,
                "keys": ["key"],
                "labels": ["label"],
                "added": 0,
                "removed": 0,
                "relabeled": window,
                "modified": 0,
                "columns": {"label": window},
            },
        }
        _write(folder, record)
        written += 1
        head = {**head, "id": vid}
        if seq % TAG_EVERY == 0 and written < records:
            tag = {
                "kind": "tag",
                "id": journal.make_id("tag", repos.DATASET, f"t{seq}", vid, ts),
                "dataset": repos.DATASET,
                "tag": f"t{seq}",
                "version": vid,
                "author": author,
                "timestamp": ts,
            }
            _write(folder, tag)
            written += 1
    for args in (["add", "-A", "--", ".dslineage/journal"], ["commit", "-q", "-m", f"{written} journal records"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return written


def _write(folder: Path, record: dict[str, Any]) -> None:
    """A journal record as `journal.write` writes it (without its fsync: 20,000 of them)."""
    from dslineage import journal

    record = {"format": journal.FORMAT, **record}
    text = json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    (folder / journal.file_name(record)).write_text(text, encoding="utf-8")


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """Cold reindex of `p.reindex_records` records: CLI, library bulk, library record by record."""
    root = layout.work / "reindex"
    t0 = time.perf_counter()
    records = build(root, p.reindex_records, p.reindex_window)
    # the machine's load (1-minute average) around the timed runs: the figures are read with it
    out: dict[str, Any] = {"records": records, "build_s": time.perf_counter() - t0, "load_before": os.getloadavg()[0]}
    cli = [*measure.bin_of("dslineage"), "-C", str(root), "reindex", "--json"]
    samples = [measure.command(cli) for _ in range(max(p.runs, 3))]
    for sample in samples:
        sample["result"] = json.loads(sample.pop("stdout"))
    out["dslineage_cli"] = measure.summarize(samples)
    out["dslineage_lib"] = measure.repeat(measure.task, max(p.runs, 3), "lib_reindex", root=str(root), bulk=True)
    if p.reindex_old_runs > 0:
        out["record_by_record_lib"] = measure.repeat(
            measure.task, p.reindex_old_runs, "lib_reindex", root=str(root), bulk=False
        )
    else:
        out["record_by_record_lib"] = measure.skipped("reindex record by record", "reindex_old_runs is 0")
    out["load_after"] = os.getloadavg()[0]
    answers = {k: v["result"] for k, v in out.items() if isinstance(v, dict) and "median_s" in v}
    out["agree"] = len({json.dumps(a, sort_keys=True) for a in answers.values()}) == 1
    old = out["record_by_record_lib"].get("median_s")
    print(
        f"reindex {records} records: cli {out['dslineage_cli']['median_s']:.2f} s "
        f"({out['dslineage_cli']['median_cpu_s']:.2f} s CPU), lib {out['dslineage_lib']['median_s']:.2f} s "
        f"({out['dslineage_lib']['median_cpu_s']:.2f} s CPU), load {out['load_before']:.1f}-{out['load_after']:.1f}"
        + (f", record by record {old:.1f} s" if old else "")
        + f" (answers agree: {out['agree']})",
        flush=True,
    )
    return out
