"""Helpers for the label tests: a small tracked dataset and its labels read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tests.support.repos import write_parquet

ANIMALS = ["cat", "dog", "bird"]


def add_dataset(root: Path, name: str, n: int = 12, **options: Any) -> Path:
    """`data/NAME.parquet` (id, x, label = cat/dog/bird by id % 3), tracked and committed as v1."""
    from dslineage import Repo

    path = write_parquet(
        root / "data" / f"{name}.parquet",
        {"id": list(range(n)), "x": [i / 2 for i in range(n)], "label": [ANIMALS[i % 3] for i in range(n)]},
    )
    with Repo(root) as repo:
        repo.track(str(path), ["id"], ["label"], **options)
        repo.commit([name], "v1", None)
    return path


def labels_of(path: Path, key: str = "id", label: str = "label") -> dict[Any, Any]:
    """key → label of a parquet file."""
    t = pq.read_table(path)
    return dict(zip(t.column(key).to_pylist(), t.column(label).to_pylist()))
