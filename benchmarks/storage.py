"""`storage` benchmark: bytes per version in the DVC cache, the journal and the index.

Per size: v1, v2 (about 1.4% of rows changed) and v3 (exactly `storage_fixed_changes`
rows relabeled) committed in a fresh repository. DVC stores each version whole; the
journal and the index should grow with the rows changed, not with the dataset.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from benchmarks import repos
from benchmarks.params import CLASSES, Layout, Params


def _relabel_first(src: Path, target: Path, count: int) -> None:
    """Write `src` with the labels of its first `count` keys moved to the next class."""
    import duckdb

    classes = "[" + ", ".join(f"'{c}'" for c in CLASSES) + "]"
    tmp = target.with_name(f".{target.name}.tmp")
    target.parent.mkdir(parents=True, exist_ok=True)  # bench/work/ is not there in a fresh checkout
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT key, f0, f1, f2, f3, f4, CASE WHEN key < {int(count)} "
        f"THEN {classes}[1 + (list_position({classes}, label) % 10)::INTEGER] ELSE label END AS label "
        f"FROM read_parquet('{str(src).replace(chr(39), chr(39) * 2)}') ORDER BY key) "
        f"TO '{str(tmp).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)"
    )
    con.close()
    os.replace(tmp, target)


def _snapshot(root: Path) -> dict[str, int]:
    from dslineage import config, dvcio

    with_index = root / config.INDEX_FILE
    return {
        "dvc_cache": repos.tree_bytes(dvcio.cache_root(root)),
        "journal": repos.tree_bytes(root / config.JOURNAL_DIR),
        "index": repos.tree_bytes(with_index) + repos.tree_bytes(Path(f"{with_index}.wal")),
        "git_objects": repos.tree_bytes(root / ".git" / "objects"),
    }


def run_size(layout: Layout, p: Params, rows: int) -> dict[str, Any]:
    """Bytes added by each of three versions at one size."""
    from dslineage.repo import Repo

    v1, v2 = layout.pair(rows)
    root = layout.work / f"storage-{rows}"
    repos.fresh(root)
    Repo.init(root)
    before = _snapshot(root)
    steps: list[dict[str, Any]] = []
    v3 = layout.work / f"storage-{rows}-v3.parquet"
    _relabel_first(v2, v3, p.storage_fixed_changes)
    for i, src in enumerate((v1, v2, v3), start=1):
        repos.place(src, root)
        with Repo(root) as repo:
            if i == 1:
                repo.track(str(root / repos.FILE), ["key"], ["label"])
            [rec] = repo.commit([repos.DATASET], f"v{i}", None)
            repo.index.con.execute("CHECKPOINT")
        after = _snapshot(root)
        changed = (rec.added or 0) + (rec.removed or 0) + (rec.relabeled or 0) + (rec.modified or 0)
        delta = {k: after[k] - before[k] for k in after}
        steps.append(
            {
                "version": i,
                "changed_rows": changed if i > 1 else 0,
                "file_bytes": src.stat().st_size,
                **{f"{k}_bytes": v for k, v in delta.items()},
            }
        )
        before = after
    v3.unlink()
    for s in steps[1:]:
        s["journal_bytes_per_changed_row"] = s["journal_bytes"] / max(1, s["changed_rows"])
    print(
        f"storage {rows}: "
        + "; ".join(
            f"v{s['version']} changed {s['changed_rows']} dvc +{s['dvc_cache_bytes']} journal +{s['journal_bytes']} "
            f"index +{s['index_bytes']}"
            for s in steps
        ),
        flush=True,
    )
    return {"versions": steps}


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """The storage measurements at every size in `p.sizes`."""
    return {str(rows): run_size(layout, p, rows) for rows in p.sizes}
