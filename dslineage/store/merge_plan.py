"""The three-way merge's inputs and plan (see `store/merge.py` for the whole algorithm):
the result type, each side exposed to DuckDB (parquet scanned in place, other formats
loaded in order), the union of the three schemas with a type per side, the rows to look
at (a positional or keyed pass) and the staged resolutions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dslineage.config import Dataset
from dslineage.errors import ResolutionError, SchemaConflictError, SchemaError
from dslineage.store.rows import Source, literal, q

RN = "__dslineage_merge_rn"
ROW = "*row*"
SIDES = ("b", "o", "t")
_NAMES = {"b": "base", "o": "ours", "t": "theirs"}


@dataclass(frozen=True)
class MergeOutcome:
    """The result of a three-way merge: merged rows (None while conflicts remain), the
    unresolved conflicts, row counts, and the keys of rows whose content comes from theirs."""

    table: Any  # pyarrow.Table | None
    conflicts: Any  # pyarrow.Table: keys, column, base, ours, theirs (JSON text)
    counts: dict[str, int]  # from_ours, from_theirs, added, removed
    theirs_keys: Any  # pyarrow.Table of key columns
    # per merged row, the row of ours it is an unchanged copy of (-1: changed or new), and
    # ours' row count; lets `write_merged` copy a CSV's unchanged lines verbatim (None: unknown)
    origin: Any = field(default=None, repr=False, compare=False)
    # the change set against ours when only labels of ours' rows changed (see the module doc)
    label_changes: Any = field(default=None, repr=False, compare=False)


@dataclass
class _Col:
    """A non-key column of the union of the three schemas, with its DuckDB type per side."""

    name: str
    j: int
    types: dict[str, str | None]  # side → DuckDB type, None when the side lacks the column
    final: str | None = None  # DuckDB type in the result; None: not in the result
    text: bool = False  # types differ between sides: compare values as text

    def has(self, side: str) -> bool:
        """Whether `side` has this column."""
        return self.types[side] is not None


def _text_source(src: Source) -> tuple[str, list[Any]]:
    """A CSV source read as text (every value exactly as written); other formats unchanged."""
    if src.sql.startswith("read_csv(") and src.sql.endswith(")"):
        return src.sql[:-1] + ", all_varchar = true, allow_quoted_nulls = false)", list(src.params)
    return src.sql, list(src.params)


@contextmanager
def _ordered(con: Any) -> Iterator[None]:
    """Scans keep file order inside the block (the connection's setting is restored after)."""
    before = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("SET preserve_insertion_order = true")
    try:
        yield
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if before else 'false'}")


def _load(con: Any, src: Source) -> Any:
    """One side's rows in file order as a pyarrow Table (parquet with its own Arrow schema)."""
    import duckdb

    from dslineage.errors import FormatError
    from dslineage.store.labels import arrow

    try:
        if src.sql.startswith("read_parquet("):
            import pyarrow.parquet as pq

            return pq.ParquetFile(src.params[0]).read()
        sql, params = _text_source(src)
        with _ordered(con):
            return arrow(con.execute(f"SELECT * FROM {sql}", params))
    except (duckdb.Error, OSError) as exc:
        raise FormatError(f"cannot read {src.label}: {str(exc).splitlines()[0][:200]}") from None
    except Exception as exc:  # pyarrow raises its own types
        raise FormatError(f"cannot read {src.label}: {str(exc).splitlines()[0][:200]}") from None


def _with_rn(table: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    return table.append_column(RN, pa.array(np.arange(table.num_rows, dtype=np.int64)))


def _parquet(src: Source | None) -> bool:
    return src is not None and src.sql.startswith("read_parquet(")


def _expose(con: Any, s: str, src: Source | None, empty: Any) -> tuple[Any, Any]:
    """Make side `s` the relation `_mg_{s}` (its columns plus row numbers `RN`).

    A parquet file is scanned where it lies (DuckDB's parallel reader, `file_row_number`);
    other formats are loaded as Arrow in file order. Returns the Arrow table (None for
    parquet) and the side's Arrow schema. No source: `empty` (keys only, no rows).
    """
    import pyarrow.parquet as pq

    if src is None:
        con.register(f"_mg_{s}", _with_rn(empty))
        return empty, empty.schema
    if _parquet(src):
        path = literal(str(src.params[0]))
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW _mg_{s} AS SELECT * EXCLUDE (file_row_number), "
            f"file_row_number AS {q(RN)} FROM read_parquet({path}, file_row_number = true)"
        )
        try:
            return None, pq.read_schema(src.params[0])
        except Exception as exc:  # pyarrow raises its own types
            from dslineage.errors import FormatError

            raise FormatError(f"cannot read {src.label}: {str(exc).splitlines()[0][:200]}") from None
    table = _load(con, src)
    if RN in table.column_names:
        raise SchemaError(f"{src.label} has a column named {RN!r}, which the merge uses itself: rename it")
    con.register(f"_mg_{s}", _with_rn(table))
    return table, table.schema


def _types(con: Any, name: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {q(name)}").fetchall()}


def _plan(types: dict[str, dict[str, str]], ds: Dataset, order: dict[str, list[str]]) -> list[_Col]:
    """The union of the non-key columns with their types per side, and their fate in the result."""
    names: list[str] = []
    for side in ("o", "t", "b"):
        names += [c for c in order[side] if c not in ds.key and c not in names]
    cols = []
    for j, name in enumerate(names):
        col = _Col(name, j, {s: types[s].get(name) for s in SIDES})
        tb, to, tt = (col.types[s] for s in SIDES)
        if to is not None and tt is not None:
            if to == tt or tt == tb:
                col.final = to
            elif to == tb:
                col.final = tt
            else:
                how = "added on both sides" if tb is None else f"retyped from {tb} on both sides"
                raise SchemaConflictError(
                    f"column {name!r} was {how} with different types ({to} in ours, {tt} in theirs): "
                    "give it one type on one side and merge again"
                )
        elif tb is None:
            col.final = to or tt  # added on one side only
        col.text = len({t for t in (tb, to, tt) if t is not None}) > 1
        cols.append(col)
    return cols


def _hash(cols: list[str]) -> str:
    if not cols:
        return "0"
    return f"hash({', '.join(q(c) for c in cols)})"


def _find_changed(con: Any, ds: Dataset, cols: list[_Col]) -> None:
    """Temp table `_mg_d(rb, ro, rt)`: row numbers of every key whose presence or row hash
    differs between base and either side (one FULL OUTER JOIN of the three on the key)."""
    so = [c.name for c in cols if c.has("b") and c.has("o")]
    st = [c.name for c in cols if c.has("b") and c.has("t")]
    keys = [q(k) for k in ds.key]
    kl = ", ".join(keys)
    on_o = " AND ".join(f"b.{k} = o.{k}" for k in keys)
    on_t = " AND ".join(f"COALESCE(b.{k}, o.{k}) = t.{k}" for k in keys)
    ht = _hash(st) if st != so else "NULL"
    sql = (
        "CREATE OR REPLACE TEMP TABLE _mg_d AS SELECT row_number() OVER () AS i, b.rn AS rb, o.rn AS ro, t.rn AS rt "
        f"FROM (SELECT {kl}, {q(RN)} AS rn, {_hash(so)} AS ho, {ht} AS ht FROM _mg_b) b "
        f"FULL JOIN (SELECT {kl}, {q(RN)} AS rn, {_hash(so)} AS h FROM _mg_o) o ON {on_o} "
        f"FULL JOIN (SELECT {kl}, {q(RN)} AS rn, {_hash(st)} AS h FROM _mg_t) t ON {on_t} "
        "WHERE b.rn IS NULL OR o.rn IS NULL OR t.rn IS NULL OR b.ho <> o.h OR "
        f"{'b.ho' if st == so else 'b.ht'} <> t.h"
    )
    con.execute(sql)


def _positional(con: Any, ds: Dataset, cols: list[_Col]) -> bool:
    """The fast path for sides that kept base's rows in place (as `relabel` does): build
    `_mg_c` from ONE scan of the three files side by side (POSITIONAL JOIN) that keeps only
    the rows where a key or any value differs, with all three rows' values: exact, and no
    hash join or second scan is needed.

    Taken only when the three schemas are the same, the row counts equal and every key sits
    at the same position on all sides; otherwise False (nothing kept), and the caller takes
    the keyed path.
    """
    if not all(c.has("b") and c.has("o") and c.has("t") and not c.text for c in cols):
        return False
    counts = {s: con.execute(f"SELECT count(*) FROM _mg_{s}").fetchone()[0] for s in SIDES}
    if not counts["b"] or len(set(counts.values())) != 1:
        return False
    keys = [q(k) for k in ds.key]
    moved = " OR ".join(f"b.{k} IS DISTINCT FROM {s}.{k}" for k in keys for s in ("o", "t"))
    differs = " OR ".join(
        [moved, *(f"b.{q(c.name)} IS DISTINCT FROM {s}.{q(c.name)}" for c in cols for s in ("o", "t"))]
    )
    select = ["row_number() OVER () AS i", *(f"b.{q(RN)} AS r{s}" for s in SIDES), f"({moved}) AS _moved"]
    for s in SIDES:
        select += [f"{s}.{k} AS {s}k{i}" for i, k in enumerate(keys)]
        select += [f"{s}.{q(c.name)} AS {s}{c.j}" for c in cols]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _mg_c AS SELECT {', '.join(select)} "
        f"FROM _mg_b b POSITIONAL JOIN _mg_o o POSITIONAL JOIN _mg_t t WHERE {differs}"
    )
    if con.execute("SELECT count(*) FROM _mg_c WHERE _moved").fetchone()[0]:
        con.execute("DROP TABLE _mg_c")
        return False
    return True


def _gather(con: Any, ds: Dataset, cols: list[_Col], ours: Any) -> None:
    """Temp table `_mg_c`: the changed rows of the three sides side by side, fetched by row
    number (ours' by an Arrow `take` from the loaded table, base's and theirs' by a scan that
    keeps only those rows). Columns: `i` (row id), `rb`/`ro`/`rt`, keys `bk0..`/`ok0..`/`tk0..`,
    values `b{j}`/`o{j}`/`t{j}`."""
    from dslineage.store.labels import arrow

    want = arrow(con.execute("SELECT i, ro FROM _mg_d WHERE ro IS NOT NULL"))
    taken = ours.select([*ds.key, *(c.name for c in cols if c.has("o"))]).take(want.column("ro"))
    con.register("_mg_ot", taken.append_column("__i", want.column("i")))
    select = ["d.i", "d.rb", "d.ro", "d.rt"]
    joins = []
    for s in SIDES:
        select += [f"{s}.{q(k)} AS {s}k{i}" for i, k in enumerate(ds.key)]
        select += [f"{s}.{q(c.name)} AS {s}{c.j}" for c in cols if c.has(s)]
        if s == "o":
            joins.append("LEFT JOIN _mg_ot o ON o.__i = d.i")
        else:
            joins.append(
                f"LEFT JOIN (SELECT * FROM _mg_{s} WHERE {q(RN)} IN (SELECT r{s} FROM _mg_d)) {s} "
                f"ON {s}.{q(RN)} = d.r{s}"
            )
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _mg_c AS SELECT {', '.join(select)} FROM _mg_d d {' '.join(joins)}")
    finally:
        con.execute("DROP VIEW IF EXISTS _mg_ot")


def _stage_resolutions(con: Any, resolutions: Any, ds: Dataset, key_types: list[str]) -> bool:
    """Temp table `_mg_rm(i, rc, rm)`: per changed row, the resolved column names and a
    map column → JSON value. False when there are no resolutions."""
    if resolutions is None or resolutions.num_rows == 0:
        return False
    missing = [c for c in [*ds.key, "column", "value"] if c not in resolutions.column_names]
    if missing:
        raise ResolutionError(
            f"the resolutions have no column {', '.join(map(repr, missing))}: give the key column(s) "
            f"{', '.join(ds.key)}, `column` and `value` (JSON text)"
        )
    con.register("_mg_res", resolutions.select([*ds.key, "column", "value"]))
    on = " AND ".join(
        f"TRY_CAST(r.{q(k)} AS {key_types[i]}) = COALESCE(m.ok{i}, m.tk{i}, m.bk{i})" for i, k in enumerate(ds.key)
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _mg_rv AS SELECT m.i, CAST(r.column AS VARCHAR) AS col, "
        "any_value(CAST(r.value AS VARCHAR)) AS val "
        f"FROM _mg_c m JOIN _mg_res r ON {on} GROUP BY m.i, col"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _mg_rm AS SELECT i, list(col) AS rc, "
        "map_from_entries(list({'k': col, 'v': val})) AS rm FROM _mg_rv GROUP BY i"
    )
    return True


def _check_resolutions(con: Any, cols: list[_Col]) -> None:
    """Refuse resolution values that are not JSON, or not of their column's type."""
    bad = con.execute(
        "SELECT col, val FROM _mg_rv WHERE val IS NOT NULL AND (NOT json_valid(val) OR "
        f"(col = {literal(ROW)} AND json_type(val) NOT IN ('OBJECT', 'NULL'))) LIMIT 1"
    ).fetchone()
    if bad:
        raise ResolutionError(
            f"resolution value {bad[1][:80]!r} for column {bad[0]!r} is not JSON "
            f"{'(a row needs an object or null)' if bad[0] == ROW else ''}: write values as JSON text, "
            'e.g. "cat", 3 or null'
        )
    for c in cols:
        if c.final is None or c.final == "VARCHAR":
            continue
        row = f"from_json(val, '\"MAP(VARCHAR, JSON)\"')[{literal(c.name)}]"
        bad = con.execute(
            f"SELECT val FROM (SELECT CASE WHEN col = {literal(ROW)} THEN {row} ELSE val END AS val FROM _mg_rv "
            f"WHERE col IN ({literal(c.name)}, {literal(ROW)})) WHERE val IS NOT NULL AND val <> 'null' "
            f"AND TRY_CAST(CAST(val AS JSON) AS {c.final}) IS NULL LIMIT 1"
        ).fetchone()
        if bad:
            raise ResolutionError(
                f"resolution value {bad[0][:80]} for column {c.name!r} is not a {c.final}: fix it in the resolutions"
            )


def _json_to(expr: str, typ: str) -> str:
    """A JSON text `expr` as a value of DuckDB type `typ` (JSON null → NULL)."""
    if typ == "VARCHAR":
        return f"json_extract_string({expr}, '$')"
    return f"CAST(CAST({expr} AS JSON) AS {typ})"
