"""Data of the `scale` stage: one seeded dataset written twice (a directory of hive partitions
and one file), and the relabel edits confined to two partitions.

Columns: `key` (int64, 0..R-1), `f0..f2` (float32 in [0, 1)), `label` (one of 10 classes) and
`part` (int32: key * P // R, contiguous key ranges). The directory holds `part=NNN/data_0.parquet`
(hive: `part` is read back as a column); the one file holds the same rows and columns. Every
value is a hash of (seed, key, purpose) computed by DuckDB (`COPY ... PARTITION_BY`), so a run
is deterministic and fast. Kept under `bench/work/scale-data/` (gitignored, never a DVC output:
`bench/data` is the `generate` stage's output, which `dvc repro` would hash into the cache).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.generate import _classes, _copy
from benchmarks.params import Layout, Params

FEATURES = 3


@dataclass(frozen=True)
class ScaleData:
    """Where one size's data lives, and which partitions the edits touch."""

    folder: Path
    rows: int
    parts: int
    edit_parts: tuple[int, ...]

    @property
    def directory(self) -> Path:
        """The directory dataset (hive partitions `part=NNN/`)."""
        return self.folder / "dir"

    @property
    def one_file(self) -> Path:
        """The same rows as one parquet file (the baseline)."""
        return self.folder / "one.parquet"

    @property
    def edits(self) -> Path:
        """The edits file (key, label): the edited rows' labels moved one class on."""
        return self.folder / "edits.parquet"

    @property
    def edited(self) -> Path:
        """The edits applied as files: `dir/part=NNN/` (the touched parts only) and `one.parquet`."""
        return self.folder / "edited"

    def touched(self, base: Path) -> list[Path]:
        """The touched partitions' files under `base` (a directory layout), relative to it."""
        return [f.relative_to(base) for x in self.edit_parts for f in sorted((base / f"part={x}").glob("*.parquet"))]


def _sql(rows: int, parts: int, seed: int) -> str:
    feats = ", ".join(
        f"((hash(hash(i, {seed}, {j})) >> 40)::DOUBLE / 16777216.0)::FLOAT AS f{j}" for j in range(FEATURES)
    )
    return (
        f"SELECT i::BIGINT AS key, {feats}, {_classes()}[1 + (hash(hash(i, {seed}, 9)) % 10)::INTEGER] AS label, "
        f"(i * {int(parts)} // {int(rows)})::INTEGER AS part FROM range(0, {int(rows)}) t(i)"
    )


def layout_of(layout: Layout, p: Params) -> ScaleData:
    """The data folder of the configured size; the edits touch `scale_edit_parts` partitions
    spread evenly over the key range."""
    n = max(1, min(p.scale_edit_parts, p.scale_parts))
    touched = tuple(sorted({(i * p.scale_parts) // (n + 1) for i in range(1, n + 1)}))
    return ScaleData(
        layout.work / "scale-data" / f"n{p.scale_rows}-p{p.scale_parts}-s{p.seed}", p.scale_rows, p.scale_parts, touched
    )


def generate(layout: Layout, p: Params) -> ScaleData:
    """Write (once: kept between runs) the directory, the one file and the edits files."""
    import duckdb

    d = layout_of(layout, p)
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = false")
        if not d.directory.exists():
            tmp = d.folder / ".dir.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.parent.mkdir(parents=True, exist_ok=True)
            path = str(tmp).replace("'", "''")
            con.execute(
                f"COPY ({_sql(d.rows, d.parts, p.seed)}) TO '{path}' "
                "(FORMAT parquet, COMPRESSION snappy, PARTITION_BY (part))"
            )
            os.replace(tmp, d.directory)
        if not d.one_file.exists():  # in key order (the range's order, kept), like the parts' row groups
            con.execute("SET preserve_insertion_order = true")
            _copy(con, _sql(d.rows, d.parts, p.seed), d.one_file)
        if not d.edits.exists():
            _copy(con, edits_sql(d, p) + " ORDER BY key", d.edits)
    finally:
        con.close()
    return d


def generate_edited(d: ScaleData, p: Params) -> ScaleData:
    """Write (once) the edits applied as files: new versions of the touched parts, and of the one
    file (what a user's own script would write before `dslineage commit`)."""
    import duckdb

    con = duckdb.connect()
    try:
        src = "'" + str(d.one_file).replace("'", "''") + "'"
        label = f"CASE WHEN {_edited_where(d, p)} THEN {_moved()} ELSE label END AS label"
        feats = ", ".join(f"f{j}" for j in range(FEATURES))
        for rel in d.touched(d.directory):
            target = d.edited / "dir" / rel
            if not target.exists():
                part = int(rel.parts[0].split("=", 1)[1])
                _copy(
                    con,
                    f"SELECT key, {feats}, {label} FROM read_parquet({src}) WHERE part = {part} ORDER BY key",
                    target,
                )
        if not (d.edited / "one.parquet").exists():
            _copy(
                con,
                f"SELECT key, {feats}, {label}, part FROM read_parquet({src}) ORDER BY key",
                d.edited / "one.parquet",
            )
    finally:
        con.close()
    return d


def _moved() -> str:
    return f"{_classes()}[1 + (list_position({_classes()}, label) % 10)::INTEGER]"


def _edited_where(d: ScaleData, p: Params) -> str:
    """`scale_edit_rate` of all rows, every one in a touched partition: every k-th key of their
    contiguous key ranges."""
    inside = (d.rows // d.parts) * len(d.edit_parts)
    stride = max(1, round(inside / max(1.0, p.scale_edit_rate * d.rows)))
    parts = ", ".join(str(x) for x in d.edit_parts)
    return f"part IN ({parts}) AND key % {stride} = {stride // 2}"


def edits_sql(d: ScaleData, p: Params) -> str:
    """The edits (key, label): each edited row's label moved one class on."""
    src = "'" + str(d.one_file).replace("'", "''") + "'"
    return f"SELECT key, {_moved()} AS label FROM read_parquet({src}) WHERE {_edited_where(d, p)}"


def count(path: Path) -> int:
    """Rows of a parquet file."""
    import duckdb

    con = duckdb.connect()
    try:
        row = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


def place_tree(src: Path, dest: Path) -> None:
    """Put a generated file or directory into a repository as hard links (copies across file
    systems): no extra disk. Safe because nothing modifies a dataset file in place (the project's
    rule): a relabel writes a new file and renames it over the link."""
    if dest.exists():
        shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)

    def link(s: str, t: str) -> Any:
        try:
            os.link(s, t)
        except OSError:
            shutil.copy2(s, t)
        return t

    if src.is_dir():
        shutil.copytree(src, dest, copy_function=link)
    else:
        link(str(src), str(dest))
