"""Row-level SQL for the data-quality gates: null fractions, ranges, duplicates, leakage,
distributions and ratings, all in DuckDB over the dataset files.

Every function takes relation names made by `relation()` (quoted with `q()`); values are
bound parameters. Results come back as small Python structures.
"""

from __future__ import annotations

from typing import Any

from dslineage.errors import FormatError
from dslineage.store.rows import Source, is_numeric, literal, plain, q

_FLOATING = ("FLOAT", "DOUBLE")


def relation(con: Any, src: Source, name: str) -> str:
    """Expose a dataset file as relation `name`: a view over parquet, a temp table otherwise.

    DuckDB cannot bind parameters in a view, so the (fixed) read expression gets its values
    as escaped string literals; CSV and JSON Lines are parsed once into a temp table.
    """
    import duckdb

    try:
        if src.sql.startswith("read_parquet"):
            parts = src.sql.split("?")
            assert len(parts) == len(src.params) + 1
            # a list of paths (a directory's parts) is a list literal, not the text of a list
            lit = [f"[{', '.join(map(literal, v))}]" if isinstance(v, list | tuple) else literal(v) for v in src.params]
            sql = parts[0] + "".join(v + p for v, p in zip(lit, parts[1:]))
            con.execute(f"CREATE OR REPLACE TEMP VIEW {q(name)} AS SELECT * FROM {sql}")
        else:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {q(name)} AS SELECT * FROM {src.sql}", list(src.params))
        con.execute(f"SELECT 1 FROM {q(name)} LIMIT 0")
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0][:300]
        raise FormatError(f"cannot read {src.label}: {first} — check the file, or its --format") from None
    return q(name)


def _missing(col: str, sql_type: str) -> str:
    test = f"{q(col)} IS NULL"
    if sql_type.upper() in _FLOATING:
        test += f" OR isnan({q(col)})"
    return test


def column_stats(
    con: Any, rel: str, types: dict[str, str], nulls: list[str], ranges: dict[str, tuple[Any, Any]]
) -> dict[str, Any]:
    """One scan: row count, null (and NaN) counts, and per ranged column min, max and rows outside."""
    exprs, params = ["count(*)"], []
    for col in nulls:
        exprs.append(f"count(*) FILTER (WHERE {_missing(col, types[col])})")
    for col, (lo, hi) in ranges.items():
        outside = []
        if lo is not None:
            outside.append(f"{q(col)} < ?")
            params.append(lo)
        if hi is not None:
            outside.append(f"{q(col)} > ?")
            params.append(hi)
        nan = f" OR isnan({q(col)})" if types[col].upper() in _FLOATING else ""
        exprs += [f"min({q(col)})", f"max({q(col)})", f"count(*) FILTER (WHERE {' OR '.join(outside) or 'false'}{nan})"]
    row = con.execute(f"SELECT {', '.join(exprs)} FROM {rel}", params).fetchone()
    out: dict[str, Any] = {"rows": row[0], "nulls": {}, "ranges": {}}
    i = 1
    for col in nulls:
        out["nulls"][col] = row[i]
        i += 1
    for col in ranges:
        out["ranges"][col] = {"min": plain(row[i]), "max": plain(row[i + 1]), "outside": row[i + 2]}
        i += 3
    return out


def value_counts(con: Any, rel: str, col: str) -> list[tuple[Any, int]]:
    """(value, rows) per distinct value of a column (nulls included), most frequent first."""
    return [
        (plain(v), n)
        for v, n in con.execute(
            f"SELECT {q(col)}, count(*) FROM {rel} GROUP BY 1 ORDER BY 2 DESC, 1 NULLS LAST"
        ).fetchall()
    ]


def _exprs(cols: list[str], prefix: str = "", casts: dict[str, str] | None = None) -> str:
    return ", ".join(f"{prefix}{q(c)}" + (f"::{casts[c]}" if casts and c in casts else "") for c in cols)


def _hashes(con: Any, rel: str, cols: list[str], casts: dict[str, str] | None = None) -> Any:
    """DuckDB's 64-bit hash of `cols` for every row, as a numpy array (nulls hash alike, -0.0 as 0.0)."""
    return con.execute(f"SELECT hash({_exprs(cols, '', casts)}) AS h FROM {rel}").fetchnumpy()["h"]


def _narrow(con: Any, rel: str, cols: list[str], hashes: Any, name: str, casts: dict[str, str] | None = None) -> str:
    """Temp table `name`: the rows of `rel` whose hash of `cols` is one of `hashes` (few)."""
    import pyarrow as pa

    con.register("_hs", pa.table({"h": pa.array(hashes, pa.uint64())}))
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {q(name)} AS SELECT r.* FROM {rel} r "
            f"SEMI JOIN _hs ON hash({_exprs(cols, 'r.', casts)}) = _hs.h"
        )
    finally:
        con.unregister("_hs")
    return q(name)


def repeated(con: Any, rel: str, cols: list[str], name: str) -> str:
    """Temp table `name` of the rows whose values on `cols` may occur more than once.

    Candidates are the rows whose hash occurs twice or more: numpy sorts the 64-bit hashes
    (a 5M-row hash aggregate with 5M groups is ~10x slower here); callers then group the
    few candidates exactly, so a hash collision can never be reported as a duplicate.
    """
    import numpy as np

    h = np.sort(_hashes(con, rel, cols))
    return _narrow(con, rel, cols, _distinct(h[1:][h[1:] == h[:-1]]), name)


def _distinct(sorted_values: Any) -> Any:
    """The distinct values of a sorted array (np.unique on 5M uint64 takes seconds; this doesn't)."""
    import numpy as np

    if len(sorted_values) == 0:
        return sorted_values
    return sorted_values[np.concatenate(([True], sorted_values[1:] != sorted_values[:-1]))]


def _common(a: Any, b: Any) -> Any:
    """Values present in both arrays, sorted and distinct (np.intersect1d/isin are ~100x slower on
    millions of uint64 here)."""
    import numpy as np

    sa, sb = np.sort(a), np.sort(b)
    if len(sa) == 0 or len(sb) == 0:
        return sa[:0]
    idx = np.minimum(np.searchsorted(sb, sa), len(sb) - 1)
    return _distinct(sa[sb[idx] == sa])


def duplicated(con: Any, rel: str, cols: list[str], limit: int = 5) -> tuple[int, list[list[Any]]]:
    """How many value combinations of `cols` occur more than once, and a few of them."""
    cand = repeated(con, rel, cols, "_dupc")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dup AS SELECT {_exprs(cols)}, count(*) AS n FROM {cand} "
        "GROUP BY ALL HAVING count(*) > 1"
    )
    total = con.execute("SELECT count(*) FROM _dup").fetchone()[0]
    few = con.execute(f"SELECT * FROM _dup ORDER BY n DESC LIMIT {int(limit)}").fetchall()
    return total, [[plain(v) for v in r] for r in few]


def sorted_values(con: Any, rel: str, col: str) -> tuple[Any, int]:
    """A numeric column's values as a sorted float64 numpy array, without nulls and NaN, and
    how many rows were null or NaN. (numpy's vectorised sort beats ORDER BY plus the fetch.)"""
    import numpy as np

    x = f"{q(col)}::DOUBLE"
    values = con.execute(f"SELECT {x} AS x FROM {rel} WHERE {x} IS NOT NULL AND NOT isnan({x})").fetchnumpy()["x"]
    total = con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0]
    arr = np.sort(np.asarray(values, dtype=np.float64))
    return arr, int(total - len(arr))


def conflicting_duplicates(
    con: Any, rel: str, on: list[str], labels: list[str], keys: list[str], limit: int = 10
) -> dict[str, Any]:
    """Groups of rows identical on `on` but with more than one distinct label (tuple)."""
    return conflicts_among(con, repeated(con, rel, on, "_confc"), on, labels, keys, limit)


def conflicts_among(
    con: Any, cand: str, on: list[str], labels: list[str], keys: list[str], limit: int = 10
) -> dict[str, Any]:
    """`conflicting_duplicates` of the candidate rows `cand` (every row whose values on `on` may
    repeat; found here by `repeated`, or part by part by `store.partstats`)."""
    feats = ", ".join(q(c) for c in on)
    lab = q(labels[0]) if len(labels) == 1 else "row(" + ", ".join(q(c) for c in labels) + ")"
    key = q(keys[0]) if len(keys) == 1 else "row(" + ", ".join(q(c) for c in keys) + ")"
    # min <> max is "more than one distinct label" without a DISTINCT aggregate (nulls ignored alike)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _conf AS SELECT {feats}, count(*) AS n, "
        f"(min({lab}) <> max({lab})) AS conflict FROM {cand} GROUP BY ALL HAVING count(*) > 1"
    )
    dup_groups, dup_rows, groups, rows = con.execute(
        "SELECT count(*), COALESCE(sum(n), 0), count(*) FILTER (WHERE conflict), "
        "COALESCE(sum(n) FILTER (WHERE conflict), 0) FROM _conf"
    ).fetchone()
    on_match = " AND ".join(f"r.{q(c)} IS NOT DISTINCT FROM g.{q(c)}" for c in on)
    sample = con.execute(
        f"""SELECT g.n, list({key} ORDER BY {key})[1:20], map_entries(histogram({lab}))
            FROM (SELECT row_number() OVER () AS gid, * FROM
                  (SELECT * FROM _conf WHERE conflict ORDER BY n DESC LIMIT {int(limit)})) g
            JOIN {cand} r ON {on_match} GROUP BY g.gid, g.n ORDER BY g.n DESC, g.gid"""
    ).fetchall()

    def label(value: Any) -> Any:  # several label columns: {column: value}
        if len(labels) == 1:
            return plain(value)
        return {c: plain(v) for c, v in zip(labels, value.values() if isinstance(value, dict) else value)}

    # labels: [{"label": value (or {column: value}), "count": rows}], most rows first
    examples = [
        {
            "rows": n,
            "keys": [plain(k) for k in ks],
            "labels": sorted(
                ({"label": label(e["key"]), "count": int(e["value"])} for e in hist),
                key=lambda x: (-x["count"], str(x["label"])),
            ),
        }
        for n, ks, hist in sample
    ]
    return {
        "groups": groups,
        "rows": int(rows),
        "duplicate_groups": dup_groups,
        "duplicate_rows": int(dup_rows),
        "examples": examples,
    }


def overlap(
    con: Any, rel_a: str, rel_b: str, cols: list[str], casts: dict[str, str] | None = None, limit: int = 10
) -> tuple[int, list[Any]]:
    """Rows of A whose values on `cols` appear in B (nulls match nulls), and a few of them.

    Hashes narrow both sides to the rows that may match (numpy intersects them); the match
    itself is exact. `casts` gives a common type for columns typed differently in A and B.
    """
    common = _common(_hashes(con, rel_a, cols, casts), _hashes(con, rel_b, cols, casts))
    la = _narrow(con, rel_a, cols, common, "_la", casts)
    lb = _narrow(con, rel_b, cols, common, "_lb", casts)
    on = " AND ".join(f"a.{q(c)} IS NOT DISTINCT FROM b.{q(c)}" for c in cols)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _leak AS SELECT {_exprs(cols, 'a.')} "
        f"FROM {la} a SEMI JOIN (SELECT DISTINCT {_exprs(cols)} FROM {lb}) b ON {on}"
    )
    n = con.execute("SELECT count(*) FROM _leak").fetchone()[0]
    few = con.execute(f"SELECT * FROM _leak LIMIT {int(limit)}").fetchall()
    return n, [[plain(v) for v in r] for r in few]


def common_types(types_a: dict[str, str], types_b: dict[str, str], cols: list[str]) -> dict[str, str]:
    """For columns typed differently in two files: DOUBLE when both are numbers, else VARCHAR."""
    return {
        c: "DOUBLE" if is_numeric(types_a[c]) and is_numeric(types_b[c]) else "VARCHAR"
        for c in cols
        if types_a[c] != types_b[c]
    }


def crosstab(con: Any, rel: str, group: str, label: str) -> list[tuple[Any, Any, int]]:
    """(group value, label, rows) for every combination present."""
    return [
        (plain(g), plain(lab), n)
        for g, lab, n in con.execute(
            f"SELECT {q(group)}, {q(label)}, count(*) FROM {rel} GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    ]


def load_ratings(con: Any, table: Any) -> None:
    """Keep a long (item, annotator, label) Arrow table as `_ratings`: one rating per item and
    annotator, the last one in table order winning."""
    import pyarrow as pa

    table = table.append_column("ord_", pa.array(range(table.num_rows), pa.int64()))
    con.register("_ratings_in", table)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ratings AS SELECT item::VARCHAR AS item, "
            "annotator::VARCHAR AS annotator, arg_max(label::VARCHAR, ord_) AS label FROM _ratings_in "
            "WHERE item IS NOT NULL AND annotator IS NOT NULL AND label IS NOT NULL GROUP BY 1, 2"
        )
    finally:
        con.unregister("_ratings_in")


def rating_counts(con: Any) -> tuple[list[str], Any]:
    """Labels seen, and numpy columns (item index, label index, ratings) of the items rated
    by at least two annotators (item indexes 0..n-1, label indexes into the labels)."""
    labels = [r[0] for r in con.execute("SELECT DISTINCT label FROM _ratings ORDER BY 1").fetchall()]
    cells = con.execute(
        "SELECT (dense_rank() OVER (ORDER BY item) - 1)::BIGINT AS i, "
        "(list_position(?::VARCHAR[], label) - 1)::BIGINT AS j, n FROM "
        "(SELECT item, label, count(*) AS n FROM _ratings WHERE item IN "
        "(SELECT item FROM _ratings GROUP BY 1 HAVING count(*) > 1) GROUP BY 1, 2)",
        [labels],
    ).fetchnumpy()
    return labels, cells


def annotator_counts(con: Any) -> list[tuple[str, int]]:
    """(annotator, items rated), busiest first."""
    return con.execute("SELECT annotator, count(*) FROM _ratings GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()


def rating_pairs(con: Any) -> list[tuple[str, str, str, str, int]]:
    """(annotator 1, annotator 2, label 1, label 2, items) over items both rated."""
    return con.execute(
        "SELECT x.annotator, y.annotator, x.label, y.label, count(*) FROM _ratings x "
        "JOIN _ratings y ON x.item = y.item AND x.annotator < y.annotator GROUP BY ALL ORDER BY 1, 2, 3, 4"
    ).fetchall()


def disagreements(con: Any, limit: int) -> tuple[int, list[tuple[str, dict[str, int]]]]:
    """Items whose annotators gave more than one label: how many, and the first few with votes."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _dis AS SELECT item, histogram(label) AS votes FROM _ratings "
        "GROUP BY 1 HAVING count(DISTINCT label) > 1"
    )
    n = con.execute("SELECT count(*) FROM _dis").fetchone()[0]
    few = con.execute(f"SELECT item, votes FROM _dis ORDER BY item LIMIT {int(limit)}").fetchall()
    return n, [(item, dict(votes)) for item, votes in few]


def batch_ratings(con: Any, batches: list[tuple[str, str]], n_keys: int) -> Any:
    """Ratings (item, annotator, label) from relabel batches' edits files, oldest batch first.

    `batches` lists (edits file, batch author) in time order; a row's own `annotator` wins
    over the batch author. The item is the key as text (a list for composite keys).
    """
    import pyarrow as pa

    con.register(
        "_rb",
        pa.table(
            {"file": [f for f, _ in batches], "author": [a for _, a in batches], "ord": list(range(len(batches)))}
        ),
    )
    keys = ", ".join(f"k{i}" for i in range(n_keys))
    item = "k0::VARCHAR" if n_keys == 1 else f"list_value({keys})::VARCHAR"
    try:
        return con.execute(
            f"SELECT {item} AS item, COALESCE(e.annotator::VARCHAR, b.author) AS annotator, "
            "e.new::VARCHAR AS label FROM read_parquet(?, filename = true, union_by_name = true) e "
            "JOIN _rb b ON e.filename = b.file ORDER BY b.ord",
            [[f for f, _ in batches]],
        ).to_arrow_table()
    finally:
        con.unregister("_rb")
