"""What a directory dataset's edit leaves behind, in a form two runs of it can be compared by:
its part files' bytes and its journal with ids and timestamps made neutral."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

_ID = re.compile(r"[0-9a-f]{40}")


def part_bytes(root: Path) -> dict[str, bytes]:
    """Every part file's bytes by its path under `data/ds`."""
    top = root / "data" / "ds"
    return {p.relative_to(top).as_posix(): p.read_bytes() for p in sorted(top.rglob("*.parquet"))}


def part_rows(data: bytes) -> list[dict[str, Any]]:
    """A part file's rows."""
    return pq.read_table(pa.BufferReader(data)).to_pylist()


def journal_records(root: Path) -> list[Any]:
    """The journal's records and side tables in order, ids replaced by their order of appearance
    and timestamps dropped (both differ between any two runs)."""
    names: dict[str, str] = {}

    def canon(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: canon(v) for k, v in sorted(value.items()) if k != "timestamp"}
        if isinstance(value, list):
            return [canon(v) for v in value]
        if isinstance(value, str):
            for full in _ID.findall(value):
                names.setdefault(full, f"#{len(names)}")
            for full, short in names.items():
                value = value.replace(full, short).replace(full[:12], short)
        return value

    journal = root / ".dslineage" / "journal"
    records = [json.loads(p.read_text()) for p in journal.glob("*.json")]
    records.sort(key=lambda r: (r["timestamp"], r["kind"]))
    for rec in records:
        names.setdefault(rec["id"], f"#{len(names)}")
    out: list[Any] = []
    for rec in records:
        out.append(canon(rec))
        for side in sorted(journal.glob(f"{rec['id'][:12]}.*.parquet")):
            out.append([side.name.split(".", 1)[1], canon(pq.read_table(side).to_pylist())])
    return out
