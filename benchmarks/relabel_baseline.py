"""Relabel against its baseline, same run: `python -m benchmarks.relabel_baseline FILE`.

FILE is a generated version (`bench/data/n1000000/v1.parquet`: int64 `key` = row number,
features, a string `label`). Each round builds two fresh repositories holding FILE as v1;
in one, `Repo.relabel` moves `--batch` labels (every k-th key) to the next class; in the
other, the same edit is made the plain way: pyarrow rewrite, `dvc add`, `git commit`.
Prints each round and the median of the same-round ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _fresh(src: Path, scratch: Path) -> Path:
    from dslineage.repo import Repo

    root = Path(tempfile.mkdtemp(dir=scratch))
    for args in (["init", "-q"], ["config", "user.name", "Bench"], ["config", "user.email", "b@example.com"]):
        subprocess.run(["git", "-C", str(root), *args], check=True)
    Repo.init(root)
    (root / "data").mkdir()
    shutil.copyfile(src, root / "data" / "ds.parquet")
    with Repo(root) as repo:
        repo.track(str(root / "data" / "ds.parquet"), ["key"], ["label"])
        repo.commit(["ds"], "v1", None)
    return root


def main() -> None:
    """Run the rounds and print the figures."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dslineage.repo import Repo

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--batch", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    table = pq.read_table(args.file)
    n = table.num_rows
    labels = table.column("label").to_pylist()
    classes = sorted(set(labels))
    keys = list(range(3, n, max(1, n // args.batch)))[: args.batch]
    moved = {k: classes[(classes.index(labels[k]) + 1) % len(classes)] for k in keys}
    scratch = Path(tempfile.mkdtemp(prefix="dslineage-relabel-bench-"))
    ours, base = [], []
    try:
        for i in range(args.rounds):
            root = _fresh(args.file, scratch)
            start = time.perf_counter()
            with Repo(root) as repo:
                repo.relabel("ds", {str(k): v for k, v in moved.items()}, by="bench", reason="bench")
            ours.append(time.perf_counter() - start)
            plain = _fresh(args.file, scratch)
            start = time.perf_counter()
            new = list(labels)
            for k, v in moved.items():
                new[k] = v
            edited = table.set_column(table.schema.get_field_index("label"), "label", pa.array(new))
            tmp = plain / "data" / ".ds.parquet.tmp"
            pq.write_table(edited, tmp)
            os.replace(tmp, plain / "data" / "ds.parquet")
            subprocess.run([sys.executable, "-m", "dvc", "add", "-q", "data/ds.parquet"], cwd=plain, check=True)
            subprocess.run(["git", "add", "data/ds.parquet.dvc", "data/.gitignore"], cwd=plain, check=True)
            subprocess.run(["git", "commit", "-qm", "v2"], cwd=plain, check=True)
            base.append(time.perf_counter() - start)
            print(
                f"round {i}: relabel {ours[-1]:.2f} s, baseline {base[-1]:.2f} s, ratio {ours[-1] / base[-1]:.2f}",
                flush=True,
            )
            shutil.rmtree(root)
            shutil.rmtree(plain)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ratio = statistics.median(a / b for a, b in zip(ours, base))
    print(
        f"{n} rows, {len(moved)} labels: relabel {statistics.median(ours):.2f} s, "
        f"baseline {statistics.median(base):.2f} s, median same-round ratio {ratio:.2f}"
    )


if __name__ == "__main__":
    main()
