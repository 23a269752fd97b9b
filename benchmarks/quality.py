"""Benchmark of the quality gates: `python -m benchmarks.quality [--rows N ...]`.

Data as in the core issue: int64 key, five float64 features, a string label of 10
classes (plus a `src` column of 5 subgroups and 0.1% duplicated feature rows, half of
them relabeled). v1 is committed (not timed); v2 changes 1% of labels, adds 0.2% and
removes 0.2% of rows. Timed through the library, each in a fresh process-warm state:
`check` of v2 (the working file) against a full rule set with drift vs v1, `audit` of v1
(duplicates on the five features, imbalance, subgroups by `src`), the audit with
`--against` a 20% held-out set, `drift` v1 → working file, and `commit` of v2 with the
gate on. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RULES = """ds:
  columns: {key: int64, f0: float, f1: float, f2: float, f3: float, f4: float, label: string, src: string}
  allowed_labels: [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9]
  ranges: {f0: [-10, 10], f1: [-10, 10], f2: [-10, 10], f3: [-10, 10], f4: [-10, 10]}
  max_null_fraction: {"*": 0.01}
  unique_key: true
  min_rows_per_class: 1000
  min_class_share: 0.05
  max_class_share: 0.2
  max_drift: {label_js: 0.1, label_psi: 0.2, numeric_psi: 0.2, numeric_ks: 0.1}
"""


def generate(root: Path, rows: int, seed: int = 0) -> tuple[Path, Path, Path]:
    """v1, v2 and a held-out test file (20% of v1's size, 1% of it leaked from v1)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    feats = {f"f{i}": rng.standard_normal(rows) for i in range(5)}
    dup = rng.choice(rows, rows // 1000, replace=False)
    for f in feats.values():
        f[dup] = f[(dup + 1) % rows]
    labels = np.array([f"c{i}" for i in range(10)])[rng.integers(0, 10, rows)]
    labels[dup[::2]] = "c0"
    src = np.array(["web", "lab", "crowd", "partner", "synthetic"])[rng.integers(0, 5, rows)]
    v1 = pa.table({"key": np.arange(rows, dtype=np.int64), **feats, "label": labels, "src": src})
    data = root / "data"
    data.mkdir(parents=True)
    pq.write_table(v1, data / "v1.parquet")
    keep = np.ones(rows, bool)
    keep[rng.choice(rows, rows // 500, replace=False)] = False
    lab2 = labels.copy()
    flip = rng.choice(rows, rows // 100, replace=False)
    lab2[flip] = np.array([f"c{i}" for i in range(10)])[rng.integers(0, 10, len(flip))]
    n_add = rows // 500
    add = {
        "key": np.arange(rows, rows + n_add, dtype=np.int64),
        **{k: rng.standard_normal(n_add) for k in feats},
        "label": labels[:n_add],
        "src": src[:n_add],
    }
    v2 = pa.concat_tables(
        [v1.set_column(v1.schema.get_field_index("label"), "label", pa.array(lab2)).filter(keep), pa.table(add)]
    )
    pq.write_table(v2, data / "v2.parquet")
    n_test = rows // 5
    test = pa.table(
        {
            "key": np.arange(rows * 2, rows * 2 + n_test, dtype=np.int64),
            **{k: rng.standard_normal(n_test) for k in feats},
            "label": labels[:n_test],
            "src": src[:n_test],
        }
    )
    leak = v1.slice(0, n_test // 100).select(test.column_names)
    pq.write_table(pa.concat_tables([test.slice(n_test // 100), leak]), data / "test.parquet")
    return data / "v1.parquet", data / "v2.parquet", data / "test.parquet"


def timed(fn: Any) -> tuple[float, Any]:
    """Seconds taken by fn() and its result."""
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the figures as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dir", default=None, help="work folder (default: a temporary one)")
    args = ap.parse_args(argv)
    from dslineage import Repo

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        Repo.init(root)
        v1, v2, test = generate(root, args.rows)
        target = root / "data" / "ds.parquet"
        os.replace(v1, target)
        (root / ".dslineage" / "checks.yaml").write_text(RULES)
        out: dict[str, Any] = {"rows": args.rows}
        with Repo(root) as repo:
            repo.track(str(target), ["key"], ["label"])
            repo.track(str(test), ["key"], ["label"])
            repo.commit(["ds", "test"], "v1", None)
            os.replace(v2, target)
            out["check_s"], res = timed(lambda: repo.check("ds"))
            out["check_failed"] = [r.rule for r in res.results if not r.passed]
            out["audit_s"], res = timed(lambda: repo.audit("ds@v1", group="src", record=False))
            out["audit_conflicting_groups"] = res.conflicting_duplicates.groups
            out["audit_against_s"], res = timed(lambda: repo.audit("ds@v1", against="test@v1", record=False))
            out["leakage"] = {"by_key": res.leakage.by_key, "by_content": res.leakage.by_content}
            out["check_plus_audit_s"] = out["check_s"] + out["audit_s"]
            out["drift_s"], res = timed(lambda: repo.drift("ds@v1"))
            out["commit_with_gate_s"], _ = timed(lambda: repo.commit(["ds"], "v2", None, no_verify=True))
        out = {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
