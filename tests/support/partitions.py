"""Random partitioned datasets (two versions as directories of parquet parts) and the reference
diff over the unions of their parts, for the per-partition diff tests (local pool and Dask)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dslineage.config import Dataset

LABELS = ["cat", "dog", "bird", "ému 🦤", 'a"b', None]
FLOATS = [0.0, -0.0, 1.5, -2.25, float("nan"), None, 3.0]
DS = Dataset(name="parts", path="parts", format="parquet", key=["id"], labels=["label"])
Row = dict[str, Any]


@dataclass
class Version:
    """One version: relative part path -> its rows (each row a dict without the hive column)."""

    parts: dict[str, list[Row]]
    schema: pa.Schema


def _row(rnd: random.Random, key: int) -> Row:
    return {
        "id": key,
        "label": rnd.choice(LABELS),
        "x": rnd.choice(FLOATS),
        "s": rnd.choice(["a", "b", None, "ça"]),
        "n": rnd.randint(-3, 3),
    }


def _part_name(i: int, hive: bool) -> str:
    return f"grp=g{i}/part-0.parquet" if hive else f"part-{i:03d}.parquet"


def random_versions(rnd: random.Random, *, hive: bool = False) -> tuple[Version, Version]:
    """Version A (random rows in 1-4 parts) and B: A with rows relabeled, edited, changed back,
    removed, re-added elsewhere, moved between parts (edited or not), new keys, new and deleted
    parts, and maybe a schema-compatible change (a column added, dropped or retyped)."""
    n_parts = rnd.randint(1, 4)
    a_parts: dict[str, list[Row]] = {_part_name(i, hive): [] for i in range(n_parts)}
    for key in rnd.sample(range(200), rnd.randint(1, 40)):
        a_parts[rnd.choice(list(a_parts))].append(_row(rnd, key))
    a_parts = {k: v for k, v in a_parts.items() if v}
    names_b = list(a_parts)
    if rnd.random() < 0.4:  # a new part
        names_b.append(_part_name(n_parts + rnd.randint(0, 2), hive))
    if len(names_b) > 1 and rnd.random() < 0.3:  # a deleted part: its rows move or go
        names_b.remove(rnd.choice(names_b))
    b_parts: dict[str, list[Row]] = {name: [] for name in names_b}
    for name, rows in a_parts.items():
        for row in rows:
            op = rnd.choice(["keep"] * 5 + ["relabel", "edit", "back", "remove", "move", "move_edit"])
            new = dict(row)
            where = name if name in b_parts else rnd.choice([*names_b, None])
            if op == "remove" or where is None:
                continue
            if op == "relabel":
                new["label"] = rnd.choice(LABELS)
            elif op in ("edit", "move_edit"):
                col = rnd.choice(["x", "s", "n", "label"])
                new[col] = _row(rnd, 0)[col]
            if op in ("move", "move_edit"):
                where = rnd.choice(names_b)
            b_parts[where].append(new)  # "back": the part is rewritten, the row is as it was
    for key in rnd.sample(range(200, 260), rnd.randint(0, 6)):
        b_parts[rnd.choice(names_b)].append(_row(rnd, key))
    b_parts = {k: v for k, v in b_parts.items() if v}
    if not b_parts:
        b_parts = {names_b[0]: [_row(rnd, 999)]}
    schema_a = pa.schema(
        [("id", pa.int64()), ("label", pa.string()), ("x", pa.float64()), ("s", pa.string()), ("n", pa.int32())]
    )
    change = rnd.choice(["none", "none", "add", "drop", "widen", "text"])
    fields = list(schema_a)
    if change == "add":
        fields.append(pa.field("extra", pa.int64()))
        for rows in b_parts.values():
            for row in rows:
                row["extra"] = rnd.choice([1, 2, None])
    elif change == "drop":
        fields = [f for f in fields if f.name != "s"]
    elif change in ("widen", "text"):
        fields[4] = pa.field("n", pa.int64() if change == "widen" else pa.string())
        if change == "text":
            for rows in b_parts.values():
                for row in rows:
                    row["n"] = None if row["n"] is None else str(row["n"])
    return Version(a_parts, schema_a), Version(b_parts, pa.schema(fields))


def write_version(root: Path, v: Version) -> dict[str, Path]:
    """Write each part (rows sorted by key) under `root`; relative path -> file."""
    files = {}
    for rel, rows in v.parts.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = sorted(rows, key=lambda r: r["id"])
        pq.write_table(
            pa.Table.from_pylist([{f.name: r.get(f.name) for f in v.schema} for r in rows], schema=v.schema), path
        )
        files[rel] = path
    return files


def pairs_of(
    a: Version, b: Version, files_a: dict[str, Path], files_b: dict[str, Path], rnd: random.Random
) -> list[tuple[str, str | None, str | None]]:
    """The (relpath, old, new) pairs; a part with identical rows on both sides is left out at random
    (as a caller comparing manifests would), the rest always present."""
    pairs = []
    for rel in sorted(files_a.keys() | files_b.keys()):
        same = (
            rel in a.parts
            and rel in b.parts
            and a.schema == b.schema
            and (sorted(a.parts[rel], key=lambda r: r["id"]) == sorted(b.parts[rel], key=lambda r: r["id"]))
        )
        if same and rnd.random() < 0.5:
            continue
        old, new = files_a.get(rel), files_b.get(rel)
        pairs.append((rel, str(old) if old else None, str(new) if new else None))
    return pairs


def union_source(files: dict[str, Path], hive: bool) -> Any:
    """The reference: one DuckDB scan over every part of a version."""
    from dslineage.store.rows import Source

    paths = [str(p) for p in files.values()]
    return Source(f"read_parquet(?, union_by_name = true, hive_partitioning = {str(hive).lower()})", (paths,), "union")


def rows_of(con: Any, table: str) -> tuple[list[Any], list[Any]]:
    """A change table's column types and its rows, sorted."""
    types = [(r[0], r[1]) for r in con.execute(f'DESCRIBE "{table}"').fetchall()]
    return types, con.execute(f'SELECT * FROM "{table}" ORDER BY ALL').fetchall()


def both_ways(tmp: Path, rnd: random.Random, engine: Any, *, hive: bool, digests: bool) -> tuple[Any, Any, Any]:
    """Random versions under `tmp`, diffed by `rowdiff.build_changes` over the unions and by
    `partdiff.build_changes_parts` on `engine`: (reference rows, per-partition rows, the plan)."""
    from dslineage.store import partdiff, rowdiff
    from dslineage.store.rows import connect, schema

    a, b = random_versions(rnd, hive=hive)
    files_a, files_b = write_version(tmp / "a", a), write_version(tmp / "b", b)
    con = connect({})
    src_a, src_b = union_source(files_a, hive), union_source(files_b, hive)
    sa, sb = schema(con, src_a), schema(con, src_b)
    p = rowdiff.plan(sa, sb, DS)
    cols_a, cols_b = {c["name"]: c["type"] for c in sa}, {c["name"]: c["type"] for c in sb}
    rowdiff.build_changes(con, src_a, src_b, p, cols_a, cols_b, table="_ref", digests=digests)
    pairs = pairs_of(a, b, files_a, files_b, rnd)
    partdiff.build_changes_parts(con, pairs, p, cols_a, cols_b, engine=engine, digests=digests)
    ref, got = rows_of(con, "_ref"), rows_of(con, "_chg")
    con.close()
    return ref, got, p


SPLITS = {"train": range(0, 30), "val": range(30, 40), "test": range(40, 50)}


def split_part(root: Path, split: str) -> Path:
    """The one parquet file of partition `split=...` of dataset `data/ds`."""
    return root / "data" / "ds" / f"split={split}" / "part-0.parquet"


def tracked_splits(root: Path, *, with_x: bool = False) -> Path:
    """`data/ds` tracked and committed as v1: three hive partitions (SPLITS, 50 rows, every
    label 'cat'; with `with_x` a float column x = id / 2 too)."""
    from dslineage import Repo
    from tests.support import write_parquet

    for split, ids in SPLITS.items():
        data: dict[str, list[Any]] = {"id": list(ids), "label": ["cat"] * len(ids)}
        if with_x:
            data = {"id": data["id"], "x": [i / 2 for i in ids], "label": data["label"]}
        write_parquet(split_part(root, split), data)
    with Repo(root) as repo:
        repo.track(str(root / "data" / "ds"), ["id"], ["label"])
        repo.commit(["ds"], "first version", None)
    return root
