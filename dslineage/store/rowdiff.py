"""The row-level diff of two dataset files, in DuckDB: which columns compare (`plan`), the
change set (added, removed, relabeled, modified rows, with value digests of the other
changed columns), its counts, the journal's change-set file and samples of changed rows.
Identifiers are quoted with `q()`, values are bound."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dslineage.config import Dataset
from dslineage.errors import FormatError
from dslineage.files import atomic_write
from dslineage.store.rows import Profile, Source, check_keys, is_numeric, literal, plain, q, schema

log = logging.getLogger("dslineage")


@dataclass
class DiffPlan:
    """Column roles for one diff: keys, labels, columns compared, and the schema change."""

    keys: list[str]
    labels: list[str]
    compared: list[str]  # non-key columns present in both versions
    retyped: list[str]
    added_cols: list[str]
    removed_cols: list[str]
    native: list[str] = field(default_factory=list)  # retyped numeric → numeric: compare values


def plan(schema_a: list[dict[str, str]], schema_b: list[dict[str, str]], ds: Dataset) -> DiffPlan:
    """Decide which columns a diff compares, from the two schemas."""
    ta = {c["name"]: c["type"] for c in schema_a}
    tb = {c["name"]: c["type"] for c in schema_b}
    common = [c for c in tb if c in ta and c not in ds.key]
    retyped = [c for c in tb if c in ta and ta[c] != tb[c]]
    return DiffPlan(
        keys=list(ds.key),
        labels=[lab for lab in ds.labels if lab in ta or lab in tb],
        compared=common,
        retyped=retyped,
        added_cols=[c for c in tb if c not in ta],
        removed_cols=[c for c in ta if c not in tb],
        native=[c for c in retyped if is_numeric(ta[c]) and is_numeric(tb[c])],
    )


def _side(col: str, side: str, present: set[str] | dict[str, str], retyped: set[str]) -> str:
    if col not in present:
        return "NULL"
    ref = f"{side}.{q(col)}"
    return f"CAST({ref} AS VARCHAR)" if col in retyped else ref


DIGEST_TYPE = "STRUCT(c VARCHAR, o UBIGINT, n UBIGINT)[]"


def digest_arrow_type() -> Any:
    """The arrow type of a change set's `d` column (`DIGEST_TYPE`)."""
    import pyarrow as pa

    return pa.list_(pa.struct([("c", pa.string()), ("o", pa.uint64()), ("n", pa.uint64())]))


def digest(ref: str, duck_type: str) -> str:
    """SQL for a stable 64-bit digest of a value: the upper half of the md5 of a canonical text.

    Stable across DuckDB versions (unlike `hash()`); NULL for NULL. Two values of one type
    compare equal exactly when their canonical texts do: floats fold -0.0 into 0.0 and every
    NaN into 'nan' (DuckDB compares them so), a TIMESTAMPTZ is its epoch (its text depends on
    the session's time zone).
    """
    base = duck_type.split("(")[0]
    if base in ("FLOAT", "DOUBLE", "REAL"):
        text = f"CASE WHEN isnan({ref}) THEN 'nan' ELSE CAST({ref} + 0 AS VARCHAR) END"
    elif duck_type.startswith("TIMESTAMP WITH TIME ZONE"):
        text = f"CAST(epoch_us({ref}) AS VARCHAR)"
    else:
        text = f"CAST({ref} AS VARCHAR)"
    return f"md5_number_upper({text})"


def _digests(
    p: DiffPlan, types_a: dict[str, str], types_b: dict[str, str], diffs: list[str], a_missing: str, b_missing: str
) -> str:
    """The `d` column: per changed row, the non-label columns it changed with old and new digests
    (every column for an added or removed row), so that change sets fold exactly."""
    items = [(c, d) for c, d in zip(p.compared, diffs) if c not in p.labels and types_a.get(c) == types_b.get(c)]
    if not items:
        return f"CAST([] AS {DIGEST_TYPE}) AS d"
    # each digest only where its column changed (a CASE evaluates its branch on those rows only:
    # casting every double to text and hashing it was most of a narrowed commit's join)
    structs = ", ".join(
        f"CASE WHEN {a_missing} OR {b_missing} OR ({d}) THEN "
        f"{{'c': {literal(c)}, 'o': {digest('a.' + q(c), types_a[c])}, 'n': {digest('b.' + q(c), types_b[c])}}} END"
        for c, d in items
    )
    return f"CAST(list_filter([{structs}], x -> x IS NOT NULL) AS {DIGEST_TYPE}) AS d"


def changes_select(
    a_sql: str,
    b_sql: str,
    p: DiffPlan,
    cols_a: set[str] | dict[str, str],
    cols_b: set[str] | dict[str, str],
    *,
    digests: bool = False,
    join: str = "FULL OUTER",
) -> str:
    """The SELECT of every changed row of A → B (the columns `build_changes` documents), A and B
    given as SQL relations aliased `a` and `b`. `join="INNER"` keeps only keys on both sides
    (what one partition pair contributes for sure, see `store.partdiff`)."""
    rt = set(p.retyped) - set(p.native)  # other retyped columns compare as text
    on = " AND ".join(f"a.{q(k)} = b.{q(k)}" for k in p.keys)
    a_missing = f"a.{q(p.keys[0])} IS NULL"
    b_missing = f"b.{q(p.keys[0])} IS NULL"
    diffs = [f"{_side(c, 'a', cols_a, rt)} IS DISTINCT FROM {_side(c, 'b', cols_b, rt)}" for c in p.compared]
    label_diffs = [f"{_side(c, 'a', cols_a, rt)} IS DISTINCT FROM {_side(c, 'b', cols_b, rt)}" for c in p.labels]
    relabeled = " OR ".join(label_diffs) if label_diffs else "false"
    select = [
        f"CASE WHEN {a_missing} THEN 'added' WHEN {b_missing} THEN 'removed' "
        f"WHEN {relabeled} THEN 'relabeled' ELSE 'modified' END AS change"
    ]
    select += [f"COALESCE(a.{q(k)}, b.{q(k)}) AS k{i}" for i, k in enumerate(p.keys)]
    select += [f"{_side(c, 'a', cols_a, set())} AS o{i}" for i, c in enumerate(p.labels)]
    select += [f"{_side(c, 'b', cols_b, set())} AS n{i}" for i, c in enumerate(p.labels)]
    select += [f"({d}) AS m{i}" for i, d in enumerate(diffs)]
    if digests:
        assert isinstance(cols_a, dict) and isinstance(cols_b, dict)
        select.append(_digests(p, cols_a, cols_b, diffs, a_missing, b_missing))
    where = " OR ".join([a_missing, b_missing, *diffs])
    return f"SELECT {', '.join(select)} FROM {a_sql} AS a {join} JOIN {b_sql} AS b ON {on} WHERE {where}"


def build_changes(
    con: Any,
    a: Source,
    b: Source,
    p: DiffPlan,
    cols_a: set[str] | dict[str, str],
    cols_b: set[str] | dict[str, str],
    table: str = "_chg",
    *,
    digests: bool = False,
) -> None:
    """Materialise every changed row of A → B into temp table `table`.

    Columns: `change` ('added' | 'removed' | 'relabeled' | 'modified'), `k0..` key values,
    `o0..`/`n0..` old and new label values, `m0..` one flag per compared column.
    One FULL OUTER JOIN on the keys, the same work as the hand-written lower bound.
    `digests` (needs `cols_a`/`cols_b` as name → type) adds `d`, see `_digests`.
    """
    import duckdb

    a_sql, b_sql, params = a.sql, b.sql, [*a.params, *b.params]
    narrowed = _narrowed(con, a, b, p, cols_a, cols_b)
    if narrowed:  # only the rows that may differ take part in the join (`store.rowalign`)
        a_sql, b_sql, params = q(_NARROW[0]), q(_NARROW[1]), []
    sql = f"CREATE OR REPLACE TEMP TABLE {q(table)} AS " + changes_select(
        a_sql, b_sql, p, cols_a, cols_b, digests=digests
    )
    try:
        con.execute(sql, params)
    except duckdb.Error as exc:
        raise FormatError(f"cannot diff {a.label} against {b.label}: {str(exc).splitlines()[0][:300]}") from None
    finally:
        if narrowed:
            for name in _NARROW:
                con.unregister(name)


_NARROW = ("_rowalign_a", "_rowalign_b")


def _narrowed(
    con: Any, a: Source, b: Source, p: DiffPlan, cols_a: set[str] | dict[str, str], cols_b: set[str] | dict[str, str]
) -> bool:
    """Register as `_NARROW` the rows of A and B that may differ, when both are local parquet
    files sorted by one integer key (`store.rowalign`) and DuckDB sees those rows with the types
    it reads from the files; False when the whole files must be joined."""
    from dslineage.store import rowalign

    if not isinstance(cols_a, dict) or not isinstance(cols_b, dict):
        return False
    files = rowalign.applies(con, a, b, p.keys, p.compared, p.retyped, cols_a, cols_b)
    if files is None:
        return False
    try:
        found = rowalign.changed_rows(files, p.keys[0], {c: cols_a[c] for c in p.compared})
    except (LookupError, TypeError, ValueError, OSError, NotImplementedError) as exc:
        # pyarrow reads a column differently from DuckDB (or cannot read it): join the whole files
        log.debug("rowalign skipped: %s", exc)
        return False
    if found is None:
        return False
    for name, rows_ in zip(_NARROW, found):
        con.register(name, rows_)
    seen = [dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {q(n)})").fetchall()) for n in _NARROW]
    want = {c: cols_a[c] for c in [*p.keys, *p.compared]}
    if any(s != want for s in seen):
        for name in _NARROW:
            con.unregister(name)
        return False
    return True


def compare(
    con: Any, a: Source, b: Source, ds: Dataset, schema_b: list[dict[str, str]] | None = None, *, digests: bool = False
) -> tuple[DiffPlan, dict[str, Any]]:
    """Diff A → B: plan the columns from both schemas, materialise the changed rows into
    `_chg` (see `build_changes`; `digests` for a commit's change set) and summarise them
    (see `summarize_changes`)."""
    sa = schema(con, a)
    sb = schema_b if schema_b is not None else schema(con, b)
    p = plan(sa, sb, ds)
    build_changes(con, a, b, p, {c["name"]: c["type"] for c in sa}, {c["name"]: c["type"] for c in sb}, digests=digests)
    return p, summarize_changes(con, p)


def summarize_changes(con: Any, p: DiffPlan, table: str = "_chg") -> dict[str, Any]:
    """Counts, per-column modified counts and label transitions from a changes table."""
    t = q(table)
    counts = dict(con.execute(f"SELECT change, count(*) FROM {t} GROUP BY 1").fetchall())
    columns: dict[str, int] = {}
    if p.compared:
        sums = ", ".join(f"count(*) FILTER (WHERE m{i})" for i in range(len(p.compared)))
        values = con.execute(f"SELECT {sums} FROM {t} WHERE change IN ('relabeled', 'modified')").fetchone()
        columns = {c: int(v) for c, v in zip(p.compared, values) if v}
    return {
        "added": int(counts.get("added", 0)),
        "removed": int(counts.get("removed", 0)),
        "relabeled": int(counts.get("relabeled", 0)),
        "modified": int(counts.get("modified", 0)),
        "columns": columns,
        "label_transitions": label_transitions(con, p.labels, table),
    }


def label_transitions(con: Any, labels: list[str], table: str = "_chg") -> list[dict[str, Any]]:
    """Per label column (in order), its (from, to, count) transitions among a changes table's
    relabeled rows, most frequent first: the diff's `label_transitions`."""
    t = q(table)
    return [
        {"column": label, "from": plain(old), "to": plain(new), "count": n}
        for i, label in enumerate(labels)
        for old, new, n in con.execute(
            f"SELECT o{i}, n{i}, count(*) FROM {t} WHERE change = 'relabeled' "
            f"AND o{i} IS DISTINCT FROM n{i} GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"
        ).fetchall()
    ]


def check_keys_by_diff(
    con: Any, src: Source, ds: Dataset, prof: Profile, parent_rows: int, summary: dict[str, Any], table: str = "_chg"
) -> None:
    """Prove the new file's keys non-null and unique from its diff against a valid parent.

    With parent keys unique, a FULL OUTER JOIN gives rows(new) = rows(parent) - removed +
    added exactly when no parent key occurs twice in the new file; a key new to the file
    shows up among the few `added` rows, where nulls and repeats are cheap to find. Only
    when that fails (or the key is a float, where NaN needs care) is the whole file scanned
    again, by `check_keys`, which raises the usual error. Saves a GROUP BY over every key.
    """
    floats = any(c["name"] in ds.key and c["type"] in ("DOUBLE", "FLOAT") for c in prof.schema)
    ok = not floats and prof.rows == parent_rows - summary["removed"] + summary["added"]
    if ok and summary["added"]:
        ks = ", ".join(f"k{i}" for i in range(len(ds.key)))
        nulls = " OR ".join(f"k{i} IS NULL" for i in range(len(ds.key)))
        bad = con.execute(
            f"SELECT count(*) FILTER (WHERE {nulls}), count(*) - count(DISTINCT ({ks})) "
            f"FROM {q(table)} WHERE change = 'added'"
        ).fetchone()
        ok = not any(bad)
    if not ok:
        check_keys(con, src, ds, prof.schema)


def write_changes(con: Any, path: Path, p: DiffPlan, table: str = "_chg", *, digests: bool = False) -> None:
    """Write the journal's compact change set: change kind, keys, old/new labels and (with
    `digests`) the changed non-label columns' old/new value digests."""
    cols = ["change"]
    cols += [f"k{i}" for i in range(len(p.keys))]
    cols += [f"o{i}" for i in range(len(p.labels))] + [f"n{i}" for i in range(len(p.labels))]
    cols += ["d"] if digests else []
    order = ", ".join(f"k{i}" for i in range(len(p.keys)))
    atomic_write(
        path,
        lambda tmp: con.execute(
            f"COPY (SELECT {', '.join(cols)} FROM {q(table)} ORDER BY {order}) TO "
            f"{literal(tmp)} (FORMAT parquet, COMPRESSION zstd)"
        ),
    )


def sample_changes(
    con: Any,
    p: DiffPlan,
    a: Source,
    b: Source,
    limit: int | None,
    table: str = "_chg",
    *,
    key_range: tuple[Any, Any] | None = None,
    key_in: list[Any] | None = None,
) -> Any:
    """Changed rows with every old and new value, as a pyarrow table (all rows if no limit).

    `key_range` (lowest, highest value of the first key column among the changed rows) lets
    DuckDB skip the row groups of both files outside it: a few rows read, not whole files.
    `key_in` (every changed value of a single key column, a few) skips every row group that
    holds none of them, however far apart they are (what a remote read pays for).
    """
    keys = [q(k) for k in p.keys]
    on_a = " AND ".join(f"a.{k} = c.k{i}" for i, k in enumerate(keys))
    on_b = " AND ".join(f"b.{k} = c.k{i}" for i, k in enumerate(keys))
    cols = [f"c.k{i} AS {k}" for i, k in enumerate(keys)] + ["c.change AS change"]
    names = [c for c in p.compared]
    for col in names:
        cols.append(f"a.{q(col)} AS {q('old.' + col)}")
        cols.append(f"b.{q(col)} AS {q('new.' + col)}")
    for col in p.removed_cols:
        cols.append(f"a.{q(col)} AS {q('old.' + col)}")
    for col in p.added_cols:
        cols.append(f"b.{q(col)} AS {q('new.' + col)}")
    inner = ", ".join(f"k{i}" for i in range(len(keys)))
    order = ", ".join(f"c.k{i}" for i in range(len(keys)))
    lim = f" LIMIT {int(limit)}" if limit is not None else ""
    src_a, src_b, params_a, params_b = a.sql, b.sql, list(a.params), list(b.params)
    bounds: list[Any] = list(key_in) if key_in else list(key_range) if key_range is not None else []
    if bounds:
        within = (
            f" WHERE {keys[0]} IN ({', '.join('?' * len(bounds))})" if key_in else f" WHERE {keys[0]} BETWEEN ? AND ?"
        )
        src_a, src_b = f"(SELECT * FROM {a.sql}{within})", f"(SELECT * FROM {b.sql}{within})"
        params_a, params_b = [*params_a, *bounds], [*params_b, *bounds]
    sql = (
        f"SELECT {', '.join(cols)} FROM (SELECT * FROM {q(table)} ORDER BY {inner}{lim}) AS c "
        f"LEFT JOIN {src_a} AS a ON {on_a} LEFT JOIN {src_b} AS b ON {on_b} ORDER BY {order}"
    )
    return con.execute(sql, [*params_a, *params_b]).to_arrow_table()
