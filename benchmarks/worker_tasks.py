"""More measured tasks of `benchmarks.worker` (registered in its TASKS when `worker.main` imports this
module): the diff of a version against the working file, and relabel's plain baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.worker import Timed, _task


@_task
def lib_diff_working(root: str, a: str) -> Timed:
    """dslineage's library: `Repo(root).diff(a, None)`, version `a` against the working file (both read as bytes)."""
    import duckdb  # noqa: F401
    import pyarrow  # noqa: F401

    from dslineage.repo import Repo

    def run() -> Any:
        rows = Repo(root).diff(a, None).rows
        return {"added": rows.added, "removed": rows.removed, "relabeled": rows.relabeled}

    return run


@_task
def plain_relabel(root: str, file: str, edits: str) -> Timed:
    """relabel's baseline in a plain git + DVC repository, as `benchmarks/relabel_baseline.py` makes it (the
    baseline of issue 15's figures): the file's table, its labels as a list and the edits read before the clock;
    timed: the labels set in the list, the column replaced, the file rewritten with pyarrow, `dvc add`, `git add`
    and `git commit`."""
    import subprocess

    import pyarrow as pa
    import pyarrow.parquet as pq

    from benchmarks.measure import bin_of

    target = Path(root) / file
    table = pq.read_table(target)
    labels = table.column("label").to_pylist()
    edit = pq.read_table(edits).to_pydict()
    moved = dict(zip(edit["key"], edit["label"]))  # generated keys are row numbers

    def run() -> Any:
        new = list(labels)
        for k, v in moved.items():
            new[k] = v
        edited = table.set_column(table.schema.get_field_index("label"), "label", pa.array(new))
        tmp = target.with_name(f".{target.name}.tmp")
        pq.write_table(edited, tmp)
        tmp.replace(target)
        for argv in (
            [*bin_of("dvc"), "add", "-q", file],
            ["git", "add", f"{file}.dvc"],
            ["git", "commit", "-q", "-m", "relabel"],
        ):
            subprocess.run(argv, cwd=root, check=True, capture_output=True)
        return {"applied": len(moved)}

    return run
