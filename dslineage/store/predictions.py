"""SQL over a model's predictions file and the label versions it is compared with (DuckDB).

A predictions file is loaded once into the temp table `_pred` (`_i`: its row number, the
key columns cast to the dataset's key types, then the file's other columns); each label
version is joined to it by key. Identifiers are quoted with `rows.q`, values bound.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dslineage.store.labels import arrow
from dslineage.store.rows import Source, q

FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_READERS = {
    "csv": "read_csv(?, header = true)",
    "tsv": "read_csv(?, header = true, delim = '\t')",
    "parquet": "read_parquet(?)",
    "jsonl": "read_json(?, format = 'newline_delimited')",
}


def reader(path: Path) -> str | None:
    """The DuckDB table function reading a predictions file (None: an unsupported suffix)."""
    kind = FORMATS.get(path.suffix.lower())
    return _READERS[kind] if kind else None


def columns(con: Any, sql: str, path: Path) -> list[tuple[str, str]]:
    """Column names and DuckDB types of the predictions file."""
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {sql}", [str(path)]).fetchall()]


def load(
    con: Any, sql: str, path: Path, keys: list[str], key_types: dict[str, str], file_types: dict[str, str]
) -> dict[str, int]:
    """Load the file into `_pred` with its keys cast to the dataset's key types (when they
    differ); counts of rows, rows whose key does not cast, and duplicated keys."""
    same = [k for k in keys if file_types.get(k) == key_types[k]]
    casts = ", ".join(q(k) if k in same else f"TRY_CAST({q(k)} AS {key_types[k]}) AS {q(k)}" for k in keys)
    bad = (
        " OR ".join(
            f"({q(k)} IS NOT NULL AND TRY_CAST({q(k)} AS {key_types[k]}) IS NULL)" for k in keys if k not in same
        )
        or "false"
    )
    excluded = [q(k) for k in keys]
    number = "(row_number() OVER ()) - 1"
    if sql == _READERS["parquet"] and "file_row_number" not in file_types:  # 4x faster than a window
        sql, number = "read_parquet(?, file_row_number = true)", "file_row_number"
        excluded.append("file_row_number")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _pred AS SELECT {number} AS _i, {casts}, ({bad}) AS _bad, "
        f"* EXCLUDE ({', '.join(excluded)}) FROM {sql}",
        [str(path)],
    )
    klist = ", ".join(q(k) for k in keys)
    total, bad, nulls = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE _bad), count(*) FILTER (WHERE "
        f"{' OR '.join(f'{q(k)} IS NULL' for k in keys)}) FROM _pred"
    ).fetchone()
    dup = con.execute(
        f"SELECT count(*) FROM (SELECT {klist} FROM _pred GROUP BY {klist} HAVING count(*) > 1)"
    ).fetchone()[0]
    return {"rows": int(total), "bad_keys": int(bad) + int(nulls), "duplicate_keys": int(dup)}


def first_keys(con: Any, keys: list[str], where: str, limit: int = 3) -> list[list[Any]]:
    """A few keys of `_pred` rows matching `where` (for messages)."""
    return [
        list(r)
        for r in con.execute(
            f"SELECT {', '.join(q(k) for k in keys)} FROM _pred WHERE {where} ORDER BY _i LIMIT {int(limit)}"
        ).fetchall()
    ]


def arrays(con: Any, cols: list[str]) -> Any:
    """Columns of `_pred` in file order, as an Arrow table."""
    return arrow(con.execute(f"SELECT {', '.join(q(c) for c in cols)} FROM _pred ORDER BY _i"))


def join_version(con: Any, src: Source, keys: list[str], label: str, group: str | None, names: list[str]) -> Any:
    """The `_pred` rows whose key is in the version (any order): `_i`, `code` (the label's index
    in `names`, null for a null label) and the `group` value as text (`grp`)."""
    import pyarrow as pa

    con.register(
        "_cls", pa.table({"name": pa.array(names, pa.string()), "code": pa.array(range(len(names)), pa.int64())})
    )
    try:
        d = ", ".join(q(k) for k in keys)
        extra = f", CAST({q(group)} AS VARCHAR) AS _g" if group else ""
        on = " AND ".join(f"p.{q(k)} = d.{q(k)}" for k in keys)
        grp = "d._g" if group else "NULL::VARCHAR"
        return arrow(
            con.execute(
                f"SELECT p._i, c.code, {grp} AS grp FROM _pred p "
                f"JOIN (SELECT {d}, CAST({q(label)} AS VARCHAR) AS _l{extra} FROM {src.sql}) d ON {on} "
                f"LEFT JOIN _cls c ON c.name = d._l",
                list(src.params),
            )
        )
    finally:
        con.unregister("_cls")


def key_types(con: Any, src: Source, keys: list[str]) -> dict[str, str]:
    """The DuckDB types of a dataset's key columns."""
    found = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {src.sql}", list(src.params)).fetchall()}
    return {k: found[k] for k in keys if k in found}


def distinct_labels(con: Any, src: Source, label: str) -> list[str]:
    """The label values of a version as text (nulls left out), sorted."""
    return [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT CAST({q(label)} AS VARCHAR) FROM {src.sql} WHERE {q(label)} IS NOT NULL ORDER BY 1",
            list(src.params),
        ).fetchall()
    ]


def key_table(con: Any, keys: list[str], idx: Any) -> Any:
    """The key columns of the `_pred` rows whose row numbers are `idx` (in that order)."""
    import pyarrow as pa

    con.register("_pick", pa.table({"_i": pa.array(idx, pa.int64()), "_r": pa.array(range(len(idx)), pa.int64())}))
    try:
        return arrow(
            con.execute(
                f"SELECT {', '.join('p.' + q(k) for k in keys)} FROM _pick s JOIN _pred p ON p._i = s._i ORDER BY s._r"
            )
        )
    finally:
        con.unregister("_pick")
