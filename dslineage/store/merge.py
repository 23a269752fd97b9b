"""Row-level three-way merge of dataset versions (base, ours, theirs), keyed by the dataset's key.

How, all in DuckDB over the files, never a Python loop over rows:
- Finding the rows to look at. Fast path, when the three schemas are the same and each side
  keeps base's rows in place (as `relabel` does): one POSITIONAL JOIN of the three files keeps
  the rows whose key or any value differs, with the three rows' values: exact, one scan of
  each file, no hash table. Otherwise the keyed path: ONE FULL OUTER JOIN of the three sides
  on the key keeps the rows whose presence or row hash differs from base; the row hash is
  DuckDB's `hash()` of the row's values, computed inside that query and never stored (an md5
  over a canonical text of every value was tried first: 7x the CPU, 3x a whole commit at 5M
  rows), and those rows are then fetched by row number and compared value by value.
- Those few rows are merged cell by cell in SQL (the `_Sql` expressions below).
- The result is ours' Arrow table with the merged cells spliced in (vectorised Arrow), the
  removed rows filtered out and the rows only theirs has appended: ours' row order, theirs'
  order for the appended rows; ours' column order, then the columns only theirs added.
  Parquet files are scanned where they lie; ours is loaded only when there is a result to
  build (a merge that stops with conflicts never reads it whole).

Semantics (a side's cell is "changed" when it differs from base; absent rows have no cells):
- a cell changed on one side takes that side's value; changed identically on both: fine;
  changed differently: a conflict cell;
- a row added on one side is kept; added on both: one row, with a conflict for every cell
  whose values differ; removed on one side and unchanged on the other: removed; removed on
  one side and modified on the other: a `"*row*"` conflict; removed on both: removed;
- columns: one added or dropped on one side is carried (an added column takes that side's
  values, null in rows that side lacks); a column retyped on one side takes the new type
  (values compared as text); the same column added on both with different types, retyped
  differently on both, or dropped on one side while the other changed some of its values,
  raises `SchemaConflictError` (one line naming the column): such a conflict is the
  schema's, not a cell's, and `prefer` does not resolve it;
- no base (`base=None`): every row is an add (equal on both sides, or conflicting cells);
- `resolutions` (key columns, `column`, `value` as JSON text) resolve the listed conflict
  cells first; a `"*row*"` resolution is a JSON object of the row's values or `null` to
  drop the row; entries that name no conflict are ignored. Then `prefer` ("ours" or
  "theirs") resolves every remaining conflict to that side (for a `"*row*"` conflict: that
  side's row, or its removal).
- `conflicts` holds the conflicts left unresolved; `table` is None exactly when there are
  any. For a CSV, cell values are compared and reported as the file's text (keys typed).
- `counts`: `from_ours` = rows ours changed or added that the result keeps with at least one
  of ours' changed cells; `from_theirs` = rows theirs changed or added whose result differs
  from ours and carries at least one of theirs' changed cells; `added` / `removed` = rows of
  the result not in base / of base not in the result (while conflicts remain, counts cover
  what is decided). `theirs_keys` = rows whose merged content differs from ours (absent
  from ours, or a cell of one of ours' columns differs): the merge's change set against
  ours, whose provenance is theirs' side (or a resolution). `label_changes`: when the result
  differs from ours only in label cells of rows ours has (same rows, same schema, parquet
  sides), those rows as `k0..` keys, `o0..` ours' and `n0..` the merged label values, by key
  (what a full diff against ours would find, at O(rows changed)); else None.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dslineage.config import Dataset
from dslineage.errors import DslineageError, ResolutionError, SchemaConflictError, SchemaError
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


def _lit(text: str) -> str:
    """A SQL string literal (for names used as values: map keys, the `column` output)."""
    return "'" + text.replace("'", "''") + "'"


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
        f"TRY_CAST(r.{q(k)} AS {key_types[i]}) = COALESCE(m.ok{i}, m.tk{i}, m.bk{i})"
        for i, k in enumerate(ds.key)
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
        f"(col = {_lit(ROW)} AND json_type(val) NOT IN ('OBJECT', 'NULL'))) LIMIT 1"
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
        row = f"from_json(val, '\"MAP(VARCHAR, JSON)\"')[{_lit(c.name)}]"
        bad = con.execute(
            f"SELECT val FROM (SELECT CASE WHEN col = {_lit(ROW)} THEN {row} ELSE val END AS val FROM _mg_rv "
            f"WHERE col IN ({_lit(c.name)}, {_lit(ROW)})) WHERE val IS NOT NULL AND val <> 'null' "
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


class _Sql:
    """The SQL expressions of the cell-level merge over `_mg_c` (alias m) and `_mg_rm` (r)."""

    def __init__(self, cols: list[_Col], prefer: str | None, resolved: bool) -> None:
        self.cols, self.prefer, self.resolved = cols, prefer, resolved
        self.p = {s: f"(m.r{s} IS NOT NULL)" for s in SIDES}

    def val(self, s: str, c: _Col, final: bool = False) -> str:
        """Side `s`'s value of column `c` (NULL when absent), cast to the result type if `final`."""
        if not c.has(s):
            return f"CAST(NULL AS {c.final})" if final and c.final else "NULL"
        v = f"m.{s}{c.j}"
        if final and c.final and c.types[s] != c.final:
            return f"CAST({v} AS {c.final})"
        return v

    def cmp(self, s: str, c: _Col) -> str:
        v = self.val(s, c)
        return f"CAST({v} AS VARCHAR)" if c.text and c.has(s) else v

    def dist(self, a: str, b: str, c: _Col) -> str:
        return f"({self.cmp(a, c)} IS DISTINCT FROM {self.cmp(b, c)})"

    def changed(self, s: str) -> str:
        """Side `s` changed the row: added it, or changed a cell of a column it shares with base."""
        shared = [self.dist(s, "b", c) for c in self.cols if c.has(s) and c.has("b")]
        edit = " OR ".join(shared) if shared else "false"
        return f"({self.p[s]} AND (NOT {self.p['b']} OR {edit}))"

    def cell_conflict(self, c: _Col) -> str:
        if not (c.has("o") and c.has("t")):
            return "false"
        p = self.p
        return (
            f"({p['o']} AND {p['t']} AND {self.dist('o', 't', c)} AND "
            f"(NOT {p['b']} OR ({self.dist('o', 'b', c)} AND {self.dist('t', 'b', c)})))"
        )

    def merged(self, c: _Col) -> str:
        """The cell's merged value when it is not a conflict."""
        o, t = self.val("o", c, True), self.val("t", c, True)
        if c.has("o") and c.has("t"):
            p = self.p
            return (
                f"CASE WHEN {p['o']} AND {p['t']} AND {p['b']} AND {self.dist('t', 'b', c)} THEN {t} "
                f"WHEN {p['o']} THEN {o} ELSE {t} END"
            )
        return o if c.has("o") else t

    def has_res(self, name: str) -> str:
        if not self.resolved:
            return "false"
        return f"COALESCE(list_contains(r.rc, {_lit(name)}), false)"

    def res(self, name: str) -> str:
        return f"r.rm[{_lit(name)}]"

    def row_conflict(self) -> str:
        p = self.p
        return (
            f"({p['b']} AND (({p['o']} AND NOT {p['t']} AND {self.changed('o')}) OR "
            f"({p['t']} AND NOT {p['o']} AND {self.changed('t')})))"
        )

    def present(self) -> str:
        """Whether the row is in the result (NULL: an unresolved row conflict)."""
        p = self.p
        auto = f"(({p['o']} AND {p['t']}) OR (NOT {p['b']} AND ({p['o']} OR {p['t']})))"
        side = {"ours": p["o"], "theirs": p["t"], None: "NULL"}[self.prefer]
        if self.resolved:
            side = f"CASE WHEN {self.has_res(ROW)} THEN COALESCE({self.res(ROW)}, 'null') <> 'null' ELSE {side} END"
        return f"CASE WHEN _rc THEN ({side}) ELSE {auto} END"

    def value(self, c: _Col) -> str:
        """The result's value of column `c` (resolutions first, then `prefer`, else NULL)."""
        assert c.final is not None
        side = {"ours": self.val("o", c, True), "theirs": self.val("t", c, True), None: "NULL"}[self.prefer]
        parts = []
        if self.resolved:
            row = f"from_json({self.res(ROW)}, '\"MAP(VARCHAR, JSON)\"')[{_lit(c.name)}]"
            parts.append(f"WHEN _rc AND {self.has_res(ROW)} THEN {_json_to(row, c.final)}")
            parts.append(f"WHEN _c{c.j} AND {self.has_res(c.name)} THEN {_json_to(self.res(c.name), c.final)}")
        parts.append(f"WHEN _c{c.j} THEN {side}")
        return f"CASE {' '.join(parts)} ELSE {self.merged(c)} END"


def _row_json(s: str, sql: _Sql, cols: list[_Col]) -> str:
    fields = [f"{_lit(c.name)}: {sql.val(s, c)}" for c in cols if c.has(s)]
    body = f"to_json({{{', '.join(fields)}}})" if fields else "'{}'"
    return f"CASE WHEN {sql.p[s]} THEN {body} END"


def _cell_json(s: str, sql: _Sql, c: _Col) -> str:
    return f"CASE WHEN {sql.p[s]} THEN COALESCE(CAST(to_json({sql.val(s, c)}) AS VARCHAR), 'null') END"


def merge3(
    con: Any,
    base: Source | None,
    ours: Source,
    theirs: Source,
    ds: Dataset,
    *,
    prefer: str | None = None,
    resolutions: Any = None,
) -> MergeOutcome:
    """Three-way merge of `ours` and `theirs` against `base` (None: no common version),
    keyed by `ds.key`; see the module docstring for the rules."""
    import duckdb

    from dslineage.errors import FormatError
    from dslineage.store.labels import arrow

    if prefer not in (None, "ours", "theirs"):
        raise DslineageError(f"prefer must be 'ours' or 'theirs', not {prefer!r}")
    srcs = {"b": base, "o": ours, "t": theirs}
    try:
        ours_table, ours_schema = _expose(con, "o", ours, None)
        loaded = [ours_table]

        def ours_rows() -> Any:  # ours as Arrow, loaded only when needed (not for conflicts)
            if loaded[0] is None:
                loaded[0] = _load(con, ours)
            return loaded[0]

        empty = ours_schema.empty_table().select([k for k in ds.key if k in ours_schema.names])
        schemas = {"o": ours_schema, "b": _expose(con, "b", base, empty)[1], "t": _expose(con, "t", theirs, None)[1]}
        for s in SIDES:
            absent = [k for k in ds.key if k not in schemas[s].names]
            if absent:
                label = srcs[s].label if srcs[s] is not None else _NAMES[s]  # type: ignore[union-attr]
                raise SchemaError(f"{label} has no key column {', '.join(map(repr, absent))}: it cannot be merged")
        types = {s: _types(con, f"_mg_{s}") for s in SIDES}
        order = {s: list(schemas[s].names) for s in SIDES}
        cols = _plan(types, ds, order)
        key_types = [types["o"][k] for k in ds.key]
        out_types = key_types  # key types of the outputs: a CSV's text keys cast to their type
        if _is_csv(ours):
            from dslineage.store.rows import schema

            detected = {c["name"]: c["type"] for c in schema(con, ours)}
            out_types = [detected.get(k, "VARCHAR") for k in ds.key]
        if not _positional(con, ds, cols):
            _find_changed(con, ds, cols)
            _gather(con, ds, cols, ours_rows())
        resolved = _stage_resolutions(con, resolutions, ds, key_types)
        if resolved:
            _check_resolutions(con, cols)
        sql = _Sql(cols, prefer, resolved)
        _check_drops(con, sql, cols)
        _merge_rows(con, ds, cols, sql, resolved)
        conflicts = _conflicts(con, ds, cols, sql, out_types)
        counts = {
            k: int(v) for k, v in zip(
                ("from_ours", "from_theirs", "added", "removed"),
                con.execute(
                    "SELECT count(*) FILTER (WHERE _fo), count(*) FILTER (WHERE _ft), "
                    "count(*) FILTER (WHERE _present AND rb IS NULL), "
                    "count(*) FILTER (WHERE rb IS NOT NULL AND NOT _present) FROM _mg_r"
                ).fetchone(),
            )
        }
        keys_out = _typed_keys(ds, out_types)
        theirs_keys = arrow(con.execute(
            f"SELECT {keys_out} FROM _mg_r WHERE _present AND _dif ORDER BY ALL"
        ))
        table, origin, label_changes = None, None, None
        if conflicts.num_rows == 0:
            table, origin = _assemble(con, ours_rows(), schemas["t"], ds, cols)
            if not any(_is_csv(s) for s in (base, ours, theirs) if s is not None):
                label_changes = _label_changes(con, ds, cols, key_types)
        return MergeOutcome(
            table=table, conflicts=conflicts, counts=counts, theirs_keys=theirs_keys, origin=origin,
            label_changes=label_changes,
        )
    except duckdb.Error as exc:  # e.g. a value that does not fit a column's merged type
        raise FormatError(
            f"cannot merge {ours.label} with {theirs.label}: {str(exc).strip().splitlines()[0][:300]}"
        ) from None
    finally:
        for name in ("_mg_b", "_mg_o", "_mg_t", "_mg_res"):
            con.execute(f"DROP VIEW IF EXISTS {name}")  # registered Arrow tables too
        for name in ("_mg_d", "_mg_c", "_mg_x", "_mg_r", "_mg_rv", "_mg_rm"):
            con.execute(f"DROP TABLE IF EXISTS {name}")


def _is_csv(src: Source) -> bool:
    return src.sql.startswith("read_csv(")


def _typed_keys(ds: Dataset, key_types: list[str]) -> str:
    """Key columns `k0..` under their dataset names, as `key_types`."""
    return ", ".join(f"CAST(k{i} AS {key_types[i]}) AS {q(k)}" for i, k in enumerate(ds.key))


def _check_drops(con: Any, sql: _Sql, cols: list[_Col]) -> None:
    """A column dropped on one side while the other changed some of its values: refuse."""
    p = sql.p
    for c in cols:
        if not c.has("b") or c.has("o") == c.has("t"):
            continue
        keep, drop = ("o", "theirs") if c.has("o") else ("t", "ours")
        n = con.execute(
            f"SELECT count(*) FROM _mg_c m WHERE {p['b']} AND {p['o']} AND {p['t']} AND {sql.dist(keep, 'b', c)}"
        ).fetchone()[0]
        if n:
            raise SchemaConflictError(
                f"column {c.name!r} was dropped on {drop} but {_NAMES[keep]} changed it in {n} row(s): "
                "drop it on both sides, or restore it, and merge again"
            )


def _merge_rows(con: Any, ds: Dataset, cols: list[_Col], sql: _Sql, resolved: bool) -> None:
    """Temp table `_mg_r`: per changed row, presence in the result, merged values `v{j}`,
    flags (`_oc`/`_tc` side changed it, `_c{j}` cell conflicts, `_dif` differs from ours)."""
    keys = [f"COALESCE(m.ok{i}, m.tk{i}, m.bk{i}) AS k{i}" for i in range(len(ds.key))]
    flags = [f"{sql.cell_conflict(c)} AS _c{c.j}" for c in cols]
    inner = (
        f"SELECT m.*, {', '.join(keys)}, {sql.changed('o')} AS _oc, {sql.changed('t')} AS _tc, "
        f"{sql.row_conflict()} AS _rc{''.join(', ' + f for f in flags)} FROM _mg_c m"
    )
    join = " LEFT JOIN _mg_rm r ON r.i = m.i" if resolved else ""
    values = [f"{sql.value(c)} AS v{c.j}" for c in cols if c.final is not None]
    values += [
        f"(_c{c.j} AND NOT {sql.has_res(c.name)}) AS _u{c.j}" for c in cols if c.has("o") and c.has("t")
    ]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _mg_x AS SELECT m.*, {sql.present()} AS _present"
        f"{''.join(', ' + v for v in values)} FROM ({inner}) m{join}"
    )
    def same(c: _Col, s: str) -> str:  # the result's cell equals side s's
        v, sv = f"m.v{c.j}", f"m.{s}{c.j}"
        if c.text:
            v, sv = f"CAST({v} AS VARCHAR)", f"CAST({sv} AS VARCHAR)"
        return f"({v} IS NOT DISTINCT FROM {sv})"

    kept = [c for c in cols if c.final is not None]
    # differs from ours: not in ours, or a result cell of a column ours has differs from it
    dif = " OR ".join(["m.ro IS NULL", *(f"NOT {same(c, 'o')}" for c in kept if c.has("o"))])
    # carries a cell the side changed (every cell of a row the side added counts as changed)
    new = {s: [f"((NOT {sql.p['b']} OR {sql.dist(s, 'b', c)}) AND {same(c, s)})" for c in kept if c.has(s)]
           for s in ("o", "t")}
    carries_o = " OR ".join(new["o"]) or "false"
    carries_t = " OR ".join(f"({x} AND (m.ro IS NULL OR NOT {same(c, 'o')}))" if c.has("o") else x
                            for x, c in zip(new["t"], [c for c in kept if c.has("t")])) or "false"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _mg_r AS SELECT m.*, ({dif}) AS _dif, "
        f"COALESCE(_present AND _oc AND ({carries_o}), false) AS _fo, "
        f"COALESCE(_present AND _tc AND ({dif}) AND ({carries_t}), false) AS _ft FROM _mg_x m"
    )


def _label_changes(con: Any, ds: Dataset, cols: list[_Col], key_types: list[str]) -> Any:
    """The result's change set against ours (`k0..`, `o0..`, `n0..`, by key) when it differs
    from ours only in label cells of ours' rows and keeps ours' schema; else None."""
    from dslineage.store.labels import arrow

    by_name = {c.name: c for c in cols}
    if any(c.has("o") != (c.final is not None) or (c.final is not None and c.final != c.types["o"])
           for c in cols) or any(lb not in by_name for lb in ds.labels):
        return None  # a column added, dropped or retyped against ours: the full diff says how
    others = [c for c in cols if c.final is not None and c.name not in ds.labels]
    other_dif = " OR ".join(f"(m.o{c.j} IS DISTINCT FROM m.v{c.j})" for c in others) or "false"
    moved = con.execute(
        "SELECT count(*) FILTER (WHERE m.ro IS NULL AND m._present) "
        "+ count(*) FILTER (WHERE m.ro IS NOT NULL AND NOT COALESCE(m._present, false)) "
        f"+ count(*) FILTER (WHERE m._present AND m._dif AND ({other_dif})) FROM _mg_r m"
    ).fetchone()[0]
    if moved:
        return None  # rows added or removed against ours, or other cells changed
    labels = [by_name[lb] for lb in ds.labels]
    olds = [f"m.o{c.j} AS o{i}" for i, c in enumerate(labels)]
    news = [f"m.v{c.j} AS n{i}" for i, c in enumerate(labels)]
    keys = [f"CAST(m.k{i} AS {t}) AS k{i}" for i, t in enumerate(key_types)]
    order = ", ".join(f"k{i}" for i in range(len(key_types)))
    return arrow(con.execute(
        f"SELECT * FROM (SELECT {', '.join(keys + olds + news)} FROM _mg_r m "
        f"WHERE m._present AND m._dif) ORDER BY {order}"
    ))


def _conflicts(con: Any, ds: Dataset, cols: list[_Col], sql: _Sql, key_types: list[str]) -> Any:
    """The unresolved conflicts: keys, `column`, `base`, `ours`, `theirs` (JSON text), by key."""
    from dslineage.store.labels import arrow

    keys = _typed_keys(ds, key_types)
    parts = []
    if sql.prefer is None:
        parts.append(
            f"SELECT {keys}, {_lit(ROW)} AS {q('column')}, -1 AS _ord, {_row_json('b', sql, cols)} AS base, "
            f"{_row_json('o', sql, cols)} AS ours, {_row_json('t', sql, cols)} AS theirs "
            f"FROM _mg_r m WHERE _rc AND _present IS NULL"
        )
        for c in cols:
            if not (c.has("o") and c.has("t")):
                continue
            parts.append(
                f"SELECT {keys}, {_lit(c.name)}, {c.j}, {_cell_json('b', sql, c)}, {_cell_json('o', sql, c)}, "
                f"{_cell_json('t', sql, c)} FROM _mg_r m WHERE _u{c.j}"
            )
    if not parts:
        parts.append(
            f"SELECT {keys}, NULL::VARCHAR AS {q('column')}, 0 AS _ord, NULL::VARCHAR AS base, "
            "NULL::VARCHAR AS ours, NULL::VARCHAR AS theirs FROM _mg_r m WHERE false"
        )
    names = ", ".join([*(q(k) for k in ds.key), q("column"), "base", "ours", "theirs"])
    order = ", ".join([*(q(k) for k in ds.key), "_ord"])
    return arrow(con.execute(f"SELECT {names} FROM ({' UNION ALL '.join(parts)}) ORDER BY {order}"))


def _flat(typ: Any) -> Any:
    import pyarrow as pa

    return typ.value_type if pa.types.is_dictionary(typ) else typ


def _as(values: Any, typ: Any) -> Any:
    """Arrow values (from DuckDB) as type `typ` (dictionary-encoded when `typ` is)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    flat = values.cast(_flat(typ)) if values.type != _flat(typ) else values
    if pa.types.is_dictionary(typ):
        return pc.dictionary_encode(flat).cast(typ)
    return flat


def _patch(col: Any, idx: Any, values: Any) -> Any:
    """`col` with the rows where `idx` is valid replaced by `values[idx]` (file order kept)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    flat_type = _flat(col.type)
    flat = col.cast(flat_type) if pa.types.is_dictionary(col.type) else col
    taken = pc.take(values.cast(flat_type) if values.type != flat_type else values, idx)
    merged = pc.if_else(pc.is_valid(idx), taken, flat)
    if pa.types.is_dictionary(col.type):
        merged = pc.dictionary_encode(merged).cast(col.type)
    return merged


def _assemble(con: Any, ours: Any, theirs_schema: Any, ds: Dataset, cols: list[_Col]) -> tuple[Any, Any]:
    """The merged table: ours' rows in file order, patched where the merge changed them,
    without the rows it removed, then the rows only theirs has (in theirs' order); and the
    `origin` of its rows (see `MergeOutcome`), None when the columns are not ours'."""
    import numpy as np
    import pyarrow as pa

    from dslineage.store.labels import arrow

    n = ours.num_rows
    by_name = {c.name: c for c in cols}
    names = [c for c in ours.column_names if c != RN and (c in ds.key or by_name[c].final is not None)]
    names += [c.name for c in cols if c.final is not None and not c.has("o")]
    added_cols = [c for c in names if c not in ds.key and not by_name[c].has("o")]
    index, theirs_values = None, None
    if added_cols:  # values of columns only theirs has, for ours' rows: one join on the key
        keys = " AND ".join(f"o.{q(k)} = t.{q(k)}" for k in ds.key)
        picked = ", ".join(f"t.{q(c)}" for c in added_cols)
        theirs_values = arrow(con.execute(
            f"SELECT o.{q(RN)} AS {q(RN)}, {picked} FROM _mg_o o JOIN _mg_t t ON {keys}"
        ))
        where = np.full(n, -1, dtype=np.int64)
        where[theirs_values.column(RN).to_numpy()] = np.arange(theirs_values.num_rows, dtype=np.int64)
        index = pa.array(where, mask=where < 0)
    fields, arrays = [], []
    for name in names:
        c = by_name.get(name)
        if c is None or (c.has("o") and c.final == c.types["o"]):
            fld, array = ours.schema.field(name), ours.column(name)
        elif c.has("o"):  # retyped on theirs' side
            fld = theirs_schema.field(name)
            try:
                array = _as(ours.column(name), fld.type)
            except Exception:
                raise SchemaConflictError(
                    f"column {name!r} was retyped to {c.final} on theirs, but ours has values that are "
                    "not: retype them on ours too and merge again"
                ) from None
        else:  # added on theirs' side
            assert theirs_values is not None
            fld = theirs_schema.field(name)
            array = _as(theirs_values.column(name).take(index), fld.type)
        fields.append(fld)
        arrays.append(array)
    vcols = [(i, by_name[name]) for i, name in enumerate(names) if name not in ds.key]
    vsel = ", ".join(f"v{c.j}" for _, c in vcols)
    patched = "_present AND ro IS NOT NULL AND _dif"
    if vcols:  # patch only the columns where some patched row differs from ours
        tests = [
            f"bool_or({'true' if c.text or not c.has('o') else f'v{c.j} IS DISTINCT FROM o{c.j}'})"
            for _, c in vcols
        ]
        differs = con.execute(f"SELECT {', '.join(tests)} FROM _mg_r WHERE {patched}").fetchone()
        pcols = [vc for vc, d in zip(vcols, differs) if d]
    else:
        pcols = []
    psel = "".join(f", v{c.j}" for _, c in pcols)
    patch = arrow(con.execute(f"SELECT ro{psel} FROM _mg_r WHERE {patched}"))
    same_cols = names == [c for c in ours.column_names if c != RN] and all(
        by_name[c].final == by_name[c].types["o"] for c in names if c not in ds.key
    )
    origin = np.arange(n, dtype=np.int64) if same_cols else None
    if origin is not None and patch.num_rows:
        origin[patch.column("ro").to_numpy()] = -1
    if patch.num_rows and pcols:
        where = np.full(n, -1, dtype=np.int64)
        where[patch.column("ro").to_numpy()] = np.arange(patch.num_rows, dtype=np.int64)
        idx = pa.array(where, mask=where < 0)
        for i, c in pcols:
            arrays[i] = _patch(arrays[i], idx, patch.column(f"v{c.j}").combine_chunks())
    fields = [f.with_nullable(True) if not f.nullable and a.null_count else f for f, a in zip(fields, arrays)]
    meta = ours.schema.metadata
    if meta and names != [c for c in ours.column_names if c != RN]:
        meta = {k: v for k, v in meta.items() if k != b"pandas"}
    schema = pa.schema(fields, metadata=meta)
    table = pa.Table.from_arrays(arrays, schema=schema)
    gone = arrow(con.execute("SELECT ro FROM _mg_r WHERE ro IS NOT NULL AND NOT _present"))
    if gone.num_rows:
        keep = np.ones(n, dtype=bool)
        keep[gone.column("ro").to_numpy()] = False
        table = table.filter(pa.array(keep))
        if origin is not None:
            origin = origin[keep]
    ksel = ", ".join(f"k{i}" for i in range(len(ds.key)))
    added = arrow(con.execute(
        f"SELECT {ksel}{', ' + vsel if vsel else ''} FROM _mg_r WHERE _present AND ro IS NULL ORDER BY rt"
    ))
    if added.num_rows:
        extra = []
        for i, name in enumerate(names):
            col = added.column(f"k{ds.key.index(name)}" if name in ds.key else f"v{by_name[name].j}")
            extra.append(_as(col.combine_chunks(), schema.field(i).type))
        table = pa.concat_tables([table, pa.Table.from_arrays(extra, schema=schema)])
        if origin is not None:
            origin = np.concatenate([origin, np.full(added.num_rows, -1, dtype=np.int64)])
    return table, (None if origin is None else {"rows": n, "index": origin})


def write_merged(con: Any, outcome: MergeOutcome, ours_path: Path, tmp: Path, ds: Dataset) -> None:
    """Write the merged rows to `tmp` in the format, schema and codec of `ours_path`; the
    caller renames `tmp` into place.

    Parquet keeps ours' Arrow schema (metadata included) and compression codec; JSON Lines
    is written by DuckDB. A CSV copies ours' lines verbatim for every row the merge left
    unchanged and writes changed and added rows in ours' dialect (delimiter, quote, line
    ending, always-quoted columns), so its bytes differ only where rows did; when ours'
    records and lines do not correspond one to one (quoted line breaks, a missing final line
    break) or the columns changed, the whole file is written in ours' dialect instead, as
    `relabel` does.
    """
    from dslineage.store import labels

    if outcome.table is None:
        raise DslineageError(
            f"{ds.name} has {outcome.conflicts.num_rows} unresolved conflict(s): resolve them before writing"
        )
    with _ordered(con):
        if ds.format == "csv" and outcome.origin is not None and _write_csv_lines(con, outcome, ours_path, tmp, ds):
            return
        labels.write(con, outcome.table, tmp, ds, ours_path)


def _write_csv_lines(con: Any, outcome: MergeOutcome, ours_path: Path, tmp: Path, ds: Dataset) -> bool:
    """Write a CSV merge result by copying ours' unchanged lines; False when ours' lines are
    not one record each (the caller then rewrites the whole file)."""
    import numpy as np

    from dslineage.store import labels

    raw = ours_path.read_bytes()
    header = bool((ds.csv or {}).get("header", True))
    if not raw.endswith(b"\n"):
        return False
    ends = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == 10) + 1
    if len(ends) != outcome.origin["rows"] + (1 if header else 0):
        return False  # a quoted line break, or blank lines: lines are not records
    starts = np.concatenate([[0], ends[:-1]])
    origin = outcome.origin["index"]
    changed = np.flatnonzero(origin < 0)
    fresh: list[bytes] = []
    if len(changed):
        part = tmp.with_name(tmp.name + ".rows")
        try:
            labels.write(con, outcome.table.take(changed), part, ds, ours_path)
            body = part.read_bytes()
        finally:
            part.unlink(missing_ok=True)
        fresh = body.splitlines(keepends=True)[1 if header else 0:]
        if len(fresh) != len(changed):
            return False  # a changed value holds a line break
    first = 1 if header else 0
    # runs of consecutive output rows copied from consecutive lines of ours
    breaks = np.flatnonzero((origin[1:] != origin[:-1] + 1) | (origin[1:] < 0) | (origin[:-1] < 0)) + 1
    bounds = np.concatenate([[0], breaks, [len(origin)]]).astype(np.int64)
    with open(tmp, "wb") as out:
        if header:
            out.write(raw[: int(ends[0])])
        k = 0
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            if a == b:
                continue
            if origin[a] < 0:
                out.write(b"".join(fresh[k : k + (b - a)]))
                k += b - a
            else:
                lo, hi = int(origin[a]) + first, int(origin[b - 1]) + first
                out.write(raw[int(starts[lo]) : int(ends[hi])])
    return True
