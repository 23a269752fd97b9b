"""Row-level SQL for label edits, in DuckDB: checking an edit batch, joining it to a dataset
file, splicing the new labels in without reordering the file, revert plans, blame, impact.

The dataset file is loaded once as an Arrow table in file order (CSV as text, so that every
untouched value is written back exactly as it was) and registered as `_dsl_t`; the view
`_dsl_f` exposes its typed key columns `k0..`, raw key columns `r0..` and typed label
columns `l0..`. Identifiers are quoted with `q()`, values are bound, and column types (from
DuckDB's own DESCRIBE) are checked against a pattern before they appear in a CAST.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from dslineage.config import Dataset
from dslineage.errors import EditError, FormatError
from dslineage.store.rows import plain, q

_TYPE = re.compile(r"^[A-Z][A-Z0-9_ ]*(\(\d+(, ?\d+)?\))?$")
SAMPLE = 10  # keys quoted in an error message
OPTIONAL = ("annotator", "reason", "confidence")


def sql_type(name: str, typ: str) -> str:
    """A DuckDB type name safe to splice into CAST (keys and labels are scalar columns)."""
    if not _TYPE.match(typ):
        raise FormatError(f"column {name!r} has type {typ}, which cannot be a key or label for edits")
    return typ


def arrow(cur: Any) -> Any:
    """A DuckDB result as a pyarrow Table (across DuckDB versions)."""
    fetch = getattr(cur, "to_arrow_table", None) or cur.fetch_arrow_table
    return fetch()


def ordered(con: Any) -> Any:
    """Make `con` keep file order through plain scans (relabel must not reorder a file)."""
    con.execute("SET preserve_insertion_order = true")
    return con


def _literal(text: str) -> str:
    """A string literal for the few places DuckDB takes no bound parameter (COPY options)."""
    return "'" + text.replace("'", "''") + "'"


def _keys_eq(a: str, b: str, n: int, left: str = "k", right: str = "k") -> str:
    return " AND ".join(f"{a}.{left}{i} = {b}.{right}{i}" for i in range(n))


def _klist(n: int, prefix: str = "", name: str = "k") -> str:
    return ", ".join(f"{prefix}{name}{i}" for i in range(n))


# -- the dataset file -------------------------------------------------------------------------


def load(con: Any, path: Path, ds: Dataset) -> Any:
    """The file's rows in file order as a pyarrow Table (CSV columns as text)."""
    import duckdb

    try:
        if ds.format == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).read()
        if ds.format == "csv":
            o = ds.csv or {}
            long_lines = o.get("max_line_size")  # lines over 2 MB (see `track`)
            sql = (
                "SELECT * FROM read_csv(?, delim = ?, quote = ?, header = ?, escape = ?, "
                "all_varchar = true, allow_quoted_nulls = false"
                + (", max_line_size = ?)" if long_lines else ")")
            )
            params = [
                str(path), o.get("delimiter") or ",", o.get("quote") or '"',
                bool(o.get("header", True)), o.get("escape") or o.get("quote") or '"',
                *([int(long_lines)] if long_lines else []),
            ]
            return arrow(con.execute(sql, params))
        return arrow(con.execute("SELECT * FROM read_json(?, format = 'newline_delimited')", [str(path)]))
    except (duckdb.Error, OSError) as exc:
        raise FormatError(f"cannot read {ds.path}: {str(exc).splitlines()[0][:200]}") from None
    except Exception as exc:  # pyarrow raises its own types
        raise FormatError(f"cannot read {ds.path}: {str(exc).splitlines()[0][:200]}") from None


def register(con: Any, table: Any, ds: Dataset, types: dict[str, str], text: bool) -> None:
    """Expose `table` as `_dsl_t` and its typed keys/labels as the view `_dsl_f`."""
    con.register("_dsl_t", table)
    register_view(con, ds, types, text)


def register_view(con: Any, ds: Dataset, types: dict[str, str], text: bool = False) -> None:
    """The view `_dsl_f` over the relation `_dsl_t`: typed keys `k0..`, raw keys `r0..`, labels `l0..`.

    `text`: the relation holds CSV text; keys and labels are cast to their DuckDB types.
    """

    def typed(col: str) -> str:
        return f"TRY_CAST({q(col)} AS {sql_type(col, types[col])})" if text else q(col)

    cols = [f"{typed(k)} AS k{i}" for i, k in enumerate(ds.key)]
    cols += [f"{q(k)} AS r{i}" for i, k in enumerate(ds.key)]
    cols += [f"{typed(c)} AS l{j}" for j, c in enumerate(ds.labels)]
    con.execute(f"CREATE OR REPLACE TEMP VIEW _dsl_f AS SELECT {', '.join(cols)} FROM _dsl_t")


def splice(table: Any, keys: list[str], column: str, raw_keys: list[Any], values: Any) -> Any:
    """`table` with `column` set to `values` on the rows whose keys are `raw_keys`.

    Vectorised Arrow (hash lookup of each row's key in the edited keys), so file order,
    every other column and the schema (with its metadata) stay exactly as they were.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(values) == 0:
        return table

    def flat(col: Any) -> Any:
        return col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col

    hay_cols = [flat(table.column(k)) for k in keys]
    needles = [pa.chunked_array([raw_keys[i]]).cast(hay_cols[i].type) for i in range(len(keys))]
    if len(keys) == 1:
        hay, needle = hay_cols[0], needles[0].combine_chunks()
    else:
        sep = "\x1f"
        hay = pc.binary_join_element_wise(*[pc.cast(c, pa.string()) for c in hay_cols], sep)
        needle = pc.binary_join_element_wise(
            *[pc.cast(c, pa.string()) for c in needles], sep
        ).combine_chunks()
    idx = pc.index_in(hay, value_set=needle)
    old = table.column(column)
    base = old.type.value_type if pa.types.is_dictionary(old.type) else old.type
    taken = pc.take(pa.chunked_array([values]).cast(base).combine_chunks(), idx)
    merged = pc.if_else(pc.is_valid(idx), taken, flat(old))
    if pa.types.is_dictionary(old.type):
        merged = pc.dictionary_encode(merged).cast(old.type)
    i = table.schema.get_field_index(column)
    return table.set_column(i, table.schema.field(i), merged)


def csv_style(path: Path, quote: str, escape: str, delimiter: str) -> dict[str, Any]:
    """How a CSV file writes its records: the line ending, which columns are always quoted,
    and the bytes of its first record (the header, when it has one)."""
    with open(path, "rb") as fh:
        raw = fh.read(1 << 16)
    text = raw.decode("utf-8", errors="replace")
    records: list[list[bool]] = []
    fields: list[bool] = []
    first_end = -1
    at_start, in_quotes, i = True, False, 0
    while i < len(text) and len(records) < 50:
        ch = text[i]
        if in_quotes:
            if ch == escape and escape != quote and i + 1 < len(text):
                i += 1
            elif ch == quote:
                if escape == quote and text[i + 1 : i + 2] == quote:
                    i += 1
                else:
                    in_quotes = False
        elif at_start and ch == quote:
            fields.append(True)
            in_quotes, at_start = True, False
        elif ch == delimiter:
            if at_start:
                fields.append(False)
            at_start = True
        elif ch == "\n":
            if at_start:
                fields.append(False)
            records.append(fields)
            if first_end < 0:
                first_end = i + 1
            fields, at_start = [], True
        elif at_start and ch != "\r":
            fields.append(False)
            at_start = False
        i += 1
    data = records[1:] if len(records) > 1 else records
    width = max((len(r) for r in data), default=0)
    always = [c for c in range(width) if data and all(c < len(r) and r[c] for r in data)]
    crlf = first_end > 1 and text[first_end - 2] == "\r"
    first = text[:first_end].encode("utf-8") if first_end > 0 and "\ufffd" not in text[:first_end] else None
    return {"newline": "\r\n" if crlf else "\n", "quoted": always, "first_record": first}


def write(con: Any, table: Any, tmp: Path, ds: Dataset, like: Path) -> None:
    """Write `table` to `tmp` in the dataset's format, in the style of the file `like`.

    Parquet keeps the schema (with its metadata) and the compression codec; CSV keeps the
    delimiter, quote and escape characters, the line ending, the always-quoted columns and
    the header line byte for byte; JSON Lines is written by DuckDB.
    """
    if ds.format == "parquet":
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(like).metadata
        codec = "snappy"
        if meta.num_row_groups and meta.num_columns:
            codec = str(meta.row_group(0).column(0).compression).lower()
            codec = {"uncompressed": "none"}.get(codec, codec)
        pq.write_table(table, tmp, compression=codec)
        return
    con.register("_dsl_out", table)
    if ds.format == "jsonl":
        con.execute(f"COPY (SELECT * FROM _dsl_out) TO {_literal(str(tmp))} (FORMAT json)")
        return
    o = ds.csv or {}
    delim, quote = o.get("delimiter") or ",", o.get("quote") or '"'
    escape = o.get("escape") or quote
    style = csv_style(like, quote, escape, delim)
    names = table.column_names
    header = bool(o.get("header", True))
    keep_header = header and style["first_record"] is not None
    opts = [
        "FORMAT csv", f"DELIMITER {_literal(delim)}", f"QUOTE {_literal(quote)}",
        f"ESCAPE {_literal(escape)}", f"HEADER {'true' if header and not keep_header else 'false'}",
    ]
    if style["newline"] == "\r\n":
        opts.append("NEW_LINE '\\r\\n'")
    forced = [q(names[c]) for c in style["quoted"] if c < len(names)]
    if forced:
        opts.append(f"FORCE_QUOTE ({', '.join(forced)})")
    body = tmp.with_name(tmp.name + ".body") if keep_header else tmp
    con.execute(f"COPY (SELECT * FROM _dsl_out) TO {_literal(str(body))} ({', '.join(opts)})")
    if keep_header:
        import shutil

        with open(tmp, "wb") as out, open(body, "rb") as src:
            out.write(style["first_record"])
            shutil.copyfileobj(src, out, 1 << 20)
        body.unlink()


# -- an edit batch ------------------------------------------------------------------------


def stage(
    con: Any,
    src_sql: str,
    params: list[Any],
    ds: Dataset,
    column: str,
    types: dict[str, str],
    allowed: list[Any] | None,
    what: str,
    *,
    blanks: bool = False,
) -> int:
    """Check an edits relation and stage it, one row per key, as temp table `_dsl_edits`.

    `blanks` (a file editing several label columns): a row with an empty cell in `column`
    leaves that column alone, and no edit at all for the column is no error (returns 0).

    Columns: `k0..` typed keys, `new` (typed like the label column), `annotator`,
    `reason`, `confidence`. Errors name the problem, a few offending rows and the fix.
    Returns the number of edits read (before identical duplicates are merged).
    """
    import duckdb

    try:
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src_sql}", params).fetchall()]
    except duckdb.Error as exc:
        raise EditError(f"cannot read {what}: {str(exc).splitlines()[0][:200]}") from None
    missing = [k for k in ds.key if k not in names]
    label_col = next((c for c in (column, "new_label", "new", "label") if c in names and c not in ds.key), None)
    if missing or label_col is None:
        need = ", ".join(missing + ([] if label_col else [f"{column} (or new_label)"]))
        raise EditError(
            f"{what} has no column {need} (columns: {', '.join(names[:12])}): "
            f"give the key column(s) {', '.join(ds.key)} and the new label"
        )
    lt = sql_type(column, types[column])
    cols = [f"CAST({q(k)} AS VARCHAR) AS t{i}" for i, k in enumerate(ds.key)]
    cols += [f"TRY_CAST({q(k)} AS {sql_type(k, types[k])}) AS k{i}" for i, k in enumerate(ds.key)]
    cols += [f"CAST({q(label_col)} AS VARCHAR) AS new_text", f"TRY_CAST({q(label_col)} AS {lt}) AS new"]
    old_col = next((c for c in (f"old_{column}", "old") if c in names and c not in (*ds.key, label_col)), None)
    if old_col is not None:  # the label each row is expected to have now (`relabel --expect-old`)
        cols += [f"CAST({q(old_col)} AS VARCHAR) AS old_text", f"TRY_CAST({q(old_col)} AS {lt}) AS expect",
                 "true AS expect_given"]
    else:
        cols += ["NULL::VARCHAR AS old_text", f"NULL::{lt} AS expect", "false AS expect_given"]
    for opt in OPTIONAL:
        if opt in names and opt != label_col:
            if opt == "confidence":
                cols += [f"CAST({q(opt)} AS VARCHAR) AS conf_text", f"TRY_CAST({q(opt)} AS DOUBLE) AS confidence"]
            else:
                cols.append(f"CAST({q(opt)} AS VARCHAR) AS {opt}")
        elif opt == "confidence":
            cols += ["NULL::VARCHAR AS conf_text", "NULL::DOUBLE AS confidence"]
        else:
            cols.append(f"NULL::VARCHAR AS {opt}")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _dsl_in AS SELECT {', '.join(cols)} FROM {src_sql}", params)
    except duckdb.Error as exc:
        raise EditError(f"cannot read {what}: {str(exc).splitlines()[0][:200]}") from None
    n = len(ds.key)
    if blanks:
        con.execute("DELETE FROM _dsl_in WHERE new_text IS NULL OR new_text = ''")
    total = con.execute("SELECT count(*) FROM _dsl_in").fetchone()[0]
    if not total and blanks:
        return 0
    if not total:
        raise EditError(f"{what} has no edits: give at least one KEY=LABEL")
    _check(con, f"{' OR '.join(f'k{i} IS NULL' for i in range(n))}",
           f"key value(s) in {what} are empty or not valid for the key column(s) {', '.join(ds.key)}",
           _klist(n, name="t"), "fix or drop those edits")
    _check(con, "new IS NULL",
           f"new label(s) in {what} are empty or not valid {lt} values for column {column!r}",
           "new_text", "fix or drop those edits")
    _check(con, "old_text IS NOT NULL AND expect IS NULL",
           f"old label(s) in {what} are not valid {lt} values for column {column!r}",
           "old_text", "fix the old column")
    _check(con, "conf_text IS NOT NULL AND confidence IS NULL",
           f"confidence value(s) in {what} are not numbers", "conf_text", "use numbers such as 0.8")
    if allowed is not None:
        con.execute("CREATE OR REPLACE TEMP TABLE _dsl_allowed AS SELECT unnest(?::VARCHAR[]) AS v",
                    [[str(v) for v in allowed]])
        _check(con, "CAST(new AS VARCHAR) NOT IN (SELECT v FROM _dsl_allowed)",
               f"label(s) in {what} are outside the allowed labels of {ds.name}.{column} "
               f"({', '.join(map(str, allowed[:20]))}{' ...' if len(allowed) > 20 else ''})",
               "new_text", f"fix the edits, or update labels_allowed in .dslineage/datasets/{ds.name}.yaml")
    clash = con.execute(
        f"SELECT {_klist(n, name='t')}, string_agg(DISTINCT new_text, ' / ') FROM _dsl_in "
        f"GROUP BY {_klist(n)}, {_klist(n, name='t')} HAVING count(DISTINCT new) > 1 "
        f"ORDER BY {_klist(n, name='t')} LIMIT {SAMPLE}"
    ).fetchall()
    if clash:
        count = con.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM _dsl_in GROUP BY {_klist(n)} HAVING count(DISTINCT new) > 1)"
        ).fetchone()[0]
        shown = "; ".join(f"{','.join(map(str, r[:n]))} → {r[n]}" for r in clash)
        raise EditError(
            f"conflicting edits for {count} key(s) in {what}: {shown}; keep one new label per key"
        )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_edits AS SELECT {_klist(n)}, any_value(new) AS new, "
        "any_value(annotator) AS annotator, any_value(reason) AS reason, any_value(confidence) AS confidence, "
        f"any_value(expect) AS expect, bool_or(expect_given) AS expect_given FROM _dsl_in GROUP BY {_klist(n)}"
    )
    return int(total)


def check_expected(con: Any, n_keys: int, label_index: int, required: bool, what: str, ds: Dataset) -> None:
    """Refuse staged edits (`_dsl_edits` from `stage`) whose row no longer has the old label
    the edits file expects (its `old` / `old_<label>` column), so a replay never overwrites
    someone else's later edit unseen. `required` (`--expect-old`): the file must have one."""
    column = ds.labels[int(label_index)]
    given = con.execute("SELECT bool_or(expect_given) FROM _dsl_edits").fetchone()[0]
    if not given:
        if required:
            raise EditError(
                f"--expect-old needs an old-label column in {what}: add a column old_{column} "
                "(or old) with each row's current label, or drop --expect-old"
            )
        return
    where = f"f.l{int(label_index)} IS DISTINCT FROM e.expect"
    joined = f"_dsl_edits e JOIN _dsl_f f ON {_keys_eq('e', 'f', n_keys)}"
    count = int(con.execute(f"SELECT count(*) FROM {joined} WHERE {where}").fetchone()[0])
    if not count:
        return
    rows = con.execute(
        f"SELECT {_klist(n_keys, 'e.')}, f.l{int(label_index)}, e.expect FROM {joined} WHERE {where} "
        f"ORDER BY {_klist(n_keys, 'e.')} LIMIT {SAMPLE}"
    ).fetchall()
    shown = "; ".join(
        f"{','.join(str(plain(v)) for v in r[:n_keys])}: now {_show(r[n_keys])}, expected {_show(r[n_keys + 1])}"
        for r in rows
    )
    raise EditError(
        f"{count} row(s) of {ds.name}.{column} no longer have the old label that {what} expects "
        f"({shown}{' ...' if count > len(rows) else ''}): someone changed them since; review those rows "
        "and update the old column (nothing was changed)"
    )


def _show(value: Any) -> str:
    return "∅" if value is None else str(plain(value))


def _check(con: Any, bad: str, problem: str, show: str, fix: str) -> None:
    rows = con.execute(f"SELECT {show} FROM _dsl_in WHERE {bad} LIMIT {SAMPLE}").fetchall()
    if not rows:
        return
    count = con.execute(f"SELECT count(*) FROM _dsl_in WHERE {bad}").fetchone()[0]
    shown = ", ".join(",".join("∅" if v is None else str(v) for v in r) for r in rows)
    raise EditError(f"{count} {problem} (e.g. {shown}{' ...' if count > len(rows) else ''}): {fix}")


def stage_fill(con: Any, n_keys: int, source: int, target: int) -> list[Any]:
    """Stage, as `_dsl_edits`, the edits of label `l{target}` that follow from the applied edits
    of `l{source}` (`_dsl_applied`) through the one-to-one mapping the file holds now (`_dsl_f`).
    Returns the new source values that have no mapping yet (then nothing is staged)."""
    a, b = int(source), int(target)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_edits AS SELECT {_klist(n_keys, 'e.')}, m.b AS new, e.annotator, "
        f"e.reason, e.confidence FROM _dsl_applied e LEFT JOIN (SELECT DISTINCT l{a} AS a, l{b} AS b FROM _dsl_f "
        f"WHERE l{a} IS NOT NULL AND l{b} IS NOT NULL) m ON m.a = e.new"
    )
    rows = con.execute(
        f"SELECT DISTINCT e.new FROM _dsl_applied e ANTI JOIN (SELECT l{a} AS a FROM _dsl_f) m ON m.a = e.new "
        "ORDER BY 1 LIMIT 5"
    ).fetchall()
    return [plain(r[0]) for r in rows]


def stage_rows(con: Any, source: str, n_keys: int) -> None:
    """Stage edits computed in SQL (a relation with `k0.., new`) as `_dsl_edits`."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_edits AS SELECT {_klist(n_keys)}, new, "
        f"NULL::VARCHAR AS annotator, NULL::VARCHAR AS reason, NULL::DOUBLE AS confidence FROM {source}"
    )


def join(con: Any, n_keys: int, label_index: int, text: bool) -> dict[str, Any]:
    """Join `_dsl_edits` to the file: applied edits into `_dsl_applied`; counts and missing keys."""
    raw = ", ".join(f"f.r{i}" for i in range(n_keys))
    new_raw = "CAST(e.new AS VARCHAR)" if text else "e.new"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_j AS SELECT {_klist(n_keys, 'e.')}, {raw}, "
        f"f.l{label_index} AS old, e.new, {new_raw} AS new_raw, e.annotator, e.reason, e.confidence, "
        f"f.k0 IS NOT NULL AS present FROM _dsl_edits e LEFT JOIN _dsl_f f ON {_keys_eq('e', 'f', n_keys)}"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _dsl_applied AS SELECT * FROM _dsl_j "
        "WHERE present AND old IS DISTINCT FROM new"
    )
    applied, noop, missing = con.execute(
        "SELECT count(*) FILTER (WHERE present AND old IS DISTINCT FROM new), "
        "count(*) FILTER (WHERE present AND old IS NOT DISTINCT FROM new), "
        "count(*) FILTER (WHERE NOT present) FROM _dsl_j"
    ).fetchone()
    missing_keys = con.execute(
        f"SELECT {_klist(n_keys)} FROM _dsl_j WHERE NOT present ORDER BY {_klist(n_keys)} LIMIT 100"
    ).fetchall()
    return {
        "applied": int(applied), "noop": int(noop), "missing": int(missing),
        "missing_keys": [[plain(v) for v in r] for r in missing_keys],
    }


def noop_keys(con: Any, n_keys: int) -> list[list[Any]]:
    """Keys of the joined edits (`_dsl_j`) that set a row's label to the label it has."""
    return [[plain(v) for v in r] for r in con.execute(
        f"SELECT {_klist(n_keys)} FROM _dsl_j WHERE present AND old IS NOT DISTINCT FROM new ORDER BY {_klist(n_keys)}"
    ).fetchall()]


def known_changes(con: Any, n_keys: int, n_labels: int, edits: dict[int, Any]) -> Any:
    """`k0.., o0.., n0..` (every label column, old and new) of the rows the edits change, from
    `_dsl_f`; `edits` maps a label index to its applied edits (Arrow: `k0.., new`)."""
    for j, t in edits.items():
        con.register(f"_dsl_kc{int(j)}", t)
    union = " UNION ".join(f"SELECT {_klist(n_keys)} FROM _dsl_kc{int(j)}" for j in edits)
    joins = " ".join(f"LEFT JOIN _dsl_kc{int(j)} e{int(j)} ON {_keys_eq('u', f'e{int(j)}', n_keys)}" for j in edits)
    olds = [f"f.l{j} AS o{j}" for j in range(n_labels)]
    news = [f"CASE WHEN e{j}.k0 IS NOT NULL THEN e{j}.new ELSE f.l{j} END AS n{j}" if j in edits
            else f"f.l{j} AS n{j}" for j in range(n_labels)]
    return arrow(con.execute(
        f"SELECT {_klist(n_keys, 'u.')}, {', '.join(olds + news)} FROM ({union}) u "
        f"JOIN _dsl_f f ON {_keys_eq('u', 'f', n_keys)} {joins} ORDER BY {_klist(n_keys, 'u.')}"
    ))


def applied_columns(con: Any, n_keys: int) -> tuple[list[Any], Any]:
    """The raw keys and new values of `_dsl_applied`, as Arrow arrays, for `splice`."""
    t = arrow(con.execute(f"SELECT {_klist(n_keys, name='r')}, new_raw FROM _dsl_applied"))
    return [t.column(f"r{i}").combine_chunks() for i in range(n_keys)], t.column("new_raw").combine_chunks()


def transitions(con: Any, limit: int = 50) -> list[dict[str, Any]]:
    """old → new label counts of `_dsl_applied`, most frequent first."""
    rows = con.execute(
        f"SELECT old, new, count(*) FROM _dsl_applied GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT {int(limit)}"
    ).fetchall()
    return [{"from": plain(a), "to": plain(b), "count": int(n)} for a, b, n in rows]


def applied_edits(con: Any, n_keys: int) -> Any:
    """The batch's per-row edits (keys, old and new label, annotator, reason, confidence), by key."""
    return arrow(con.execute(
        f"SELECT {_klist(n_keys)}, old, new, annotator, reason, confidence FROM _dsl_applied "
        f"ORDER BY {_klist(n_keys)}"
    ))


def table_exists(con: Any, name: str) -> bool:
    """Whether the database behind `con` has a table called `name`."""
    row = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()
    return bool(row and row[0])


def read_edits(con: Any, path: Path, limit: int | None = None) -> Any:
    """A batch's edits file as a pyarrow Table, ordered by key."""
    names = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
    keys = [c for c in names if re.fullmatch(r"k\d+", c)]
    lim = f" LIMIT {int(limit)}" if limit is not None else ""
    return arrow(con.execute(f"SELECT * FROM read_parquet(?) ORDER BY {', '.join(keys)}{lim}", [str(path)]))


# -- label pairs (`track --label-pair A=B`: two label columns that map one-to-one) ----------


def pair_conflicts(
    con: Any, after: tuple[str, list[Any]], a: str, b: str, before: tuple[str, list[Any]] | None = None,
) -> list[tuple[Any, Any, Any, Any]]:
    """Value pairs of columns `a`, `b` in the relation `after` that break the one-to-one mapping
    learnt from `before` and `after` together (only pairs new in `after` are reported, so a
    consistent `before` blames the edit). Each: (a value, b value, the b that a value has
    elsewhere or None, the a that b value has elsewhere or None); at most 5. Values as text."""
    qa, qb = q(a), q(b)

    def distinct(rel: tuple[str, list[Any]]) -> str:
        return (f"SELECT DISTINCT CAST({qa} AS VARCHAR) AS a, CAST({qb} AS VARCHAR) AS b FROM {rel[0]} "
                f"WHERE {qa} IS NOT NULL AND {qb} IS NOT NULL")

    old = distinct(before) if before else "SELECT NULL::VARCHAR AS a, NULL::VARCHAR AS b WHERE false"
    params = [*after[1], *(before[1] if before else [])]
    rows = con.execute(
        f"WITH new AS ({distinct(after)}), old AS ({old}), m AS (SELECT * FROM new UNION SELECT * FROM old) "
        "SELECT n.a, n.b, (SELECT min(m.b) FROM m WHERE m.a = n.a AND m.b <> n.b), "
        "(SELECT min(m.a) FROM m WHERE m.b = n.b AND m.a <> n.a) "
        "FROM (SELECT * FROM new EXCEPT SELECT * FROM old) n "
        "WHERE n.a IN (SELECT a FROM m GROUP BY a HAVING count(*) > 1) "
        "OR n.b IN (SELECT b FROM m GROUP BY b HAVING count(*) > 1) ORDER BY 1, 2 LIMIT 5",
        params,
    ).fetchall()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def pair_text(conflicts: list[tuple[Any, Any, Any, Any]], a: str, b: str) -> str:
    """The first conflicts of `pair_conflicts` in words, for a one-line error."""
    out = []
    for x, y, other_b, other_a in conflicts[:3]:
        why = [f"{a} {x} is {b} {other_b}" if other_b is not None else "",
               f"{b} {y} is {a} {other_a}" if other_a is not None else ""]
        out.append(f"{a} {x} with {b} {y} ({'; '.join(w for w in why if w)})")
    return "; ".join(out)


# -- revert -------------------------------------------------------------------------------


def target_from_batch(con: Any, path: Path | str, n_keys: int, *, forward: bool = False) -> None:
    """The label changes a batch made, as `_dsl_target(k0.., before, after)`.

    `path`: the batch's edits file, or the name of a relation registered on `con` with the
    same columns. `forward` (cherry-pick) swaps the sides: `plan_revert` then re-applies the
    batch to rows that still have its old label, instead of undoing it.
    """
    src, params = ("read_parquet(?)", [str(path)]) if isinstance(path, Path) else (q(path), [])
    before, after = ("new", "old") if forward else ("old", "new")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_target AS SELECT {_klist(n_keys)}, {before} AS before, "
        f"{after} AS after FROM {src}",
        params,
    )


def target_from_changes(con: Any, path: Path, n_keys: int, label_index: int) -> int:
    """The changes a version made to one label column, as `_dsl_target`; returns their count."""
    i = int(label_index)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_target AS SELECT {_klist(n_keys)}, o{i} AS before, n{i} AS after "
        f"FROM read_parquet(?) WHERE change = 'relabeled' AND o{i} IS DISTINCT FROM n{i}",
        [str(path)],
    )
    return int(con.execute("SELECT count(*) FROM _dsl_target").fetchone()[0])


def plan_revert(
    con: Any, n_keys: int, label_index: int, force: bool, *, settled_ok: bool = False
) -> dict[str, Any]:
    """Classify the target's rows against the file and stage the revert edits.

    A row is restored when it still has the label the target gave it; a conflict when
    its label changed since (kept, or with `force` set back anyway); skipped when gone.
    `settled_ok` (cherry-pick): a row that already has the label it would get is no
    conflict but `settled` (nothing to do).
    """
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_rv AS SELECT {_klist(n_keys, 't.')}, t.before, t.after, "
        f"f.l{int(label_index)} AS cur, f.k0 IS NOT NULL AS present FROM _dsl_target t "
        f"LEFT JOIN _dsl_f f ON {_keys_eq('t', 'f', n_keys)}"
    )
    settled = "(cur IS NOT DISTINCT FROM before AND cur IS DISTINCT FROM after)" if settled_ok else "false"
    clash = f"present AND cur IS DISTINCT FROM after AND NOT {settled}"
    restore, conflicts, skipped, done = con.execute(
        "SELECT count(*) FILTER (WHERE present AND cur IS NOT DISTINCT FROM after), "
        f"count(*) FILTER (WHERE {clash}), "
        f"count(*) FILTER (WHERE NOT present), count(*) FILTER (WHERE present AND {settled}) FROM _dsl_rv"
    ).fetchone()
    ks = _klist(n_keys)
    conflict_rows = con.execute(
        f"SELECT {ks}, cur, after, before FROM _dsl_rv WHERE {clash} ORDER BY {ks}"
    ).fetchall()
    skipped_rows = con.execute(f"SELECT {ks} FROM _dsl_rv WHERE NOT present ORDER BY {ks}").fetchall()
    chosen = "present" if force else "present AND cur IS NOT DISTINCT FROM after"
    stage_rows(con, f"(SELECT {ks}, before AS new FROM _dsl_rv WHERE {chosen})", n_keys)
    return {
        "restore": int(restore), "conflicts": int(conflicts), "skipped": int(skipped), "settled": int(done),
        "conflict_rows": [
            ([plain(v) for v in r[:n_keys]], plain(r[n_keys]), plain(r[n_keys + 1]), plain(r[n_keys + 2]))
            for r in conflict_rows
        ],
        "skipped_keys": [[plain(v) for v in r] for r in skipped_rows],
    }


def carry_provenance(con: Any, relation: str, n_keys: int, author: str | None, reason: str | None) -> None:
    """Give the staged `_dsl_edits` the per-row annotator, reason and confidence of the batch
    edits registered as `relation` (the batch's own author and reason where a row has none)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_edits AS SELECT {_klist(n_keys, 'e.')}, e.new, "
        "CAST(COALESCE(s.annotator, ?) AS VARCHAR) AS annotator, CAST(COALESCE(s.reason, ?) AS VARCHAR) AS reason, "
        f"CAST(s.confidence AS DOUBLE) AS confidence FROM _dsl_edits e LEFT JOIN {q(relation)} s "
        f"ON {_keys_eq('e', 's', n_keys)}",
        [author, reason],
    )


def still_applied(con: Any, path: Path, n_keys: int, label_index: int) -> int:
    """How many rows of a batch's edits file still carry the batch's new label in `_dsl_f`."""
    return int(con.execute(
        f"SELECT count(*) FROM read_parquet(?) e JOIN _dsl_f f ON {_keys_eq('e', 'f', n_keys)} "
        f"WHERE f.l{int(label_index)} IS NOT DISTINCT FROM e.new",
        [str(path)],
    ).fetchone()[0])


BLAME_COLUMNS = ("label", "version", "seq", "batch", "author", "reason", "timestamp", "restored_by")


def key_alias(name: str) -> str:
    """The blame output column of a key column (prefixed when it collides with a fixed one)."""
    return f"key.{name}" if name in BLAME_COLUMNS else name


# -- blame, history and impact (run on the index connection: they read its change tables) --


def blame_names(con: Any, edit_files: list[str]) -> list[str]:
    """Distinct annotators and reasons written in batch edits files (for the blame codes)."""
    if not edit_files:
        return []
    rows = con.execute(
        "SELECT DISTINCT v FROM (SELECT unnest([annotator, reason]) AS v FROM "
        "read_parquet(?, union_by_name = true)) WHERE v IS NOT NULL ORDER BY v",
        [edit_files],
    ).fetchall()
    return [r[0] for r in rows]


def blame(
    con: Any,
    src_sql: str,
    src_params: list[Any],
    ds: Dataset,
    label_index: int,
    changes: str | None,
    edit_files: list[str],
    root: dict[str, int],
    since_seq: int | None,
    filters: dict[str, Any],
    shared: bool = False,
) -> Any:
    """For every row of a version: codes of the version, batch, author, reason and time that
    set its label (ONE query; the caller turns codes into dictionary columns).

    Per key, from the small side: the last label-setting event along the ancestry (change
    table joined to the registered `_dsl_chain`: id, seq, vidx, aidx, tidx) and the batch
    that made it (edits files of the batches in `_dsl_batches`: file, vidx, bidx, aidx, ridx,
    tidx, timestamp; texts coded by `_dsl_names`: name, idx). The version's rows then need a
    single hash join; a row with no event gets `root` (vidx, aidx, tidx, seq of the first
    version). Integer codes instead of 40-character ids keep every output row a few bytes.
    `filters`: label (text), batches / authors (lists of codes). `shared`: some version
    carries several batches (bidx must then grow with time: the latest edit of a key wins).
    """
    n, j = len(ds.key), int(label_index)
    key_out = ", ".join(f"f.{q(k)} AS {q(key_alias(k))}" for k in ds.key)
    on_i = " AND ".join(f"i.k{i} = f.{q(k)}" for i, k in enumerate(ds.key))
    label = q(ds.labels[j])
    params: list[Any] = []
    ctes = []
    if changes:
        ctes.append(
            f"setters AS (SELECT {_klist(n, 'c.')}, arg_max(ch.vidx, c.seq) AS vidx FROM {changes} c "
            "JOIN _dsl_chain ch ON ch.id = c.version "
            f"WHERE c.change = 'added' OR (c.change = 'relabeled' AND c.o{j} IS DISTINCT FROM c.n{j}) "
            f"GROUP BY {_klist(n, 'c.')})"
        )
    else:
        ctes.append(f"setters AS (SELECT {', '.join(f'NULL AS k{i}' for i in range(n))}, "
                    "NULL::INTEGER AS vidx WHERE false)")
    hit = "false"
    if edit_files:
        coded = (
            "FROM read_parquet(?, filename = true, union_by_name = true) e "
            "JOIN _dsl_batches b ON b.file = e.filename "
            "LEFT JOIN _dsl_names na ON na.name = e.annotator LEFT JOIN _dsl_names nr ON nr.name = e.reason"
        )
        if shared:  # a version carrying several batches: the latest (highest bidx) edit of a key wins
            ctes.append(
                f"edits AS (SELECT b.vidx, {_klist(n, 'e.')}, {{'b': max(b.bidx), "
                "'a': arg_max(COALESCE(na.idx, b.aidx, -1), b.bidx), "
                "'r': arg_max(COALESCE(nr.idx, b.ridx, -1), b.bidx), "
                f"'t': arg_max(b.tidx, b.bidx), 'n': arg_max(e.new, b.bidx)}} AS w {coded} "
                f"GROUP BY b.vidx, {_klist(n, 'e.')})"
            )
        else:  # keys are unique within a batch: no aggregation needed
            ctes.append(
                f"edits AS (SELECT b.vidx, {_klist(n, 'e.')}, {{'b': b.bidx, 'a': COALESCE(na.idx, b.aidx, -1), "
                f"'r': COALESCE(nr.idx, b.ridx, -1), 't': b.tidx, 'n': e.new}} AS w {coded})"
            )
        params.append(edit_files)
        on_e = " AND ".join(f"e.k{i} = s.k{i}" for i in range(n))
        ctes.append(
            f"info AS (SELECT {_klist(n, 's.')}, s.vidx, ch.seq, ch.aidx, ch.tidx, e.w FROM setters s "
            f"JOIN _dsl_chain ch ON ch.vidx = s.vidx LEFT JOIN edits e ON e.vidx = s.vidx AND {on_e})"
        )
        hit = f"(i.w.b IS NOT NULL AND i.w.n IS NOT DISTINCT FROM f.{label})"
    else:
        ctes.append(
            f"info AS (SELECT {_klist(n, 's.')}, s.vidx, ch.seq, ch.aidx, ch.tidx, "
            "NULL::STRUCT(b INTEGER, a INTEGER, r INTEGER, t INTEGER) AS w FROM setters s "
            "JOIN _dsl_chain ch ON ch.vidx = s.vidx)"
        )
    r = {k: int(v) for k, v in root.items()}
    cols = {
        "vidx": f"COALESCE(i.vidx, {r['vidx']})",
        "bidx": f"CASE WHEN {hit} THEN i.w.b END",
        "aidx": f"CASE WHEN {hit} THEN NULLIF(i.w.a, -1) ELSE COALESCE(i.aidx, {r['aidx']}) END",
        "ridx": f"CASE WHEN {hit} THEN NULLIF(i.w.r, -1) END",
        "tidx": f"CASE WHEN {hit} THEN i.w.t ELSE COALESCE(i.tidx, {r['tidx']}) END",
    }
    where: list[str] = ["true"]
    filter_params: list[Any] = []
    if filters.get("label") is not None:
        where.append(f"CAST(f.{label} AS VARCHAR) = ?")
        filter_params.append(str(filters["label"]))
    if filters.get("batches") is not None:
        where.append(f"list_contains(?::INTEGER[], {cols['bidx']})")
        filter_params.append(list(filters["batches"]))
    if filters.get("authors") is not None:
        where.append(f"list_contains(?::INTEGER[], {cols['aidx']})")
        filter_params.append(list(filters["authors"]))
    if since_seq is not None:
        where.append(f"COALESCE(i.seq, {r['seq']}) > {int(since_seq)}")
    select = ", ".join(f"({expr})::INTEGER AS {name}" for name, expr in cols.items())
    sql = (
        f"WITH {', '.join(ctes)} SELECT {key_out}, f.{label} AS label, {select} "
        f"FROM {src_sql} f LEFT JOIN info i ON {on_i} WHERE {' AND '.join(where)}"
    )
    return arrow(con.execute(sql, [*params, *src_params, *filter_params]))


def restored_sources(con: Any, edit_files: list[str], n_keys: int, reverts: list[int]) -> Any:
    """For each edit of a revert batch (bidx in `reverts`): the latest earlier non-revert batch
    that set the same key to the same label — the batch whose value the revert restored.

    Reads the blame relations `_dsl_batches` and `_dsl_names`. Columns: rbidx, k0.., bidx,
    vidx, aidx, ridx, tidx (a key whose restored value no batch set is absent)."""
    ks = _klist(n_keys, "e.")
    on = " AND ".join(f"src.k{i} = rv.k{i}" for i in range(n_keys))
    return arrow(con.execute(
        f"WITH e AS (SELECT b.bidx, b.vidx, b.tidx, {ks}, CAST(e.new AS VARCHAR) AS new, "
        "COALESCE(na.idx, b.aidx, -1) AS a, COALESCE(nr.idx, b.ridx, -1) AS r "
        "FROM read_parquet(?, filename = true, union_by_name = true) e JOIN _dsl_batches b ON b.file = e.filename "
        "LEFT JOIN _dsl_names na ON na.name = e.annotator LEFT JOIN _dsl_names nr ON nr.name = e.reason) "
        f"SELECT rv.bidx AS rbidx, {_klist(n_keys, 'rv.')}, "
        "arg_max({'b': src.bidx, 'v': src.vidx, 'a': src.a, 'r': src.r, 't': src.tidx}, src.bidx) AS w "
        f"FROM e rv JOIN e src ON {on} AND src.bidx < rv.bidx AND src.new IS NOT DISTINCT FROM rv.new "
        "WHERE list_contains(?::INTEGER[], rv.bidx) AND NOT list_contains(?::INTEGER[], src.bidx) "
        f"GROUP BY rv.bidx, {_klist(n_keys, 'rv.')}",
        [edit_files, list(reverts), list(reverts)],
    ))


def key_provenance(con: Any, edit_files: list[str], key: list[Any]) -> list[dict[str, Any]]:
    """Every edit of one key in the given batch edits files (`_dsl_batches` maps file → batch)."""
    if not edit_files:
        return []
    import duckdb

    where = " AND ".join(f"e.k{i} = ?" for i in range(len(key)))
    try:
        cur = con.execute(
            "SELECT b.id AS batch, b.version AS version, e.new AS new, "
            "COALESCE(e.annotator, b.author) AS annotator, COALESCE(e.reason, b.reason) AS reason, "
            "e.confidence AS confidence, b.timestamp AS timestamp "
            "FROM read_parquet(?, filename = true, union_by_name = true) e "
            f"JOIN _dsl_batches b ON b.file = e.filename WHERE {where} ORDER BY b.timestamp",
            [edit_files, *key],
        )
    except duckdb.ConversionException:
        return []
    names = [d[0] for d in cur.description]
    return [dict(zip(names, (plain(v) for v in r))) for r in cur.fetchall()]


def impact(con: Any, changes: str | None, edits_file: str, n_keys: int, label_index: int) -> dict[str, int]:
    """Per later version (temp table `_dsl_paths`: version, ancestor — the versions after the
    batch's up to and including it), how many of the batch's rows lost its label by then."""
    if not changes:
        return {}
    j = int(label_index)
    rows = con.execute(
        f"WITH ev AS (SELECT c.version, {_klist(n_keys, 'c.')} FROM {changes} c "
        f"SEMI JOIN read_parquet(?) e ON {_keys_eq('c', 'e', n_keys)} "
        f"WHERE c.change = 'removed' OR (c.change = 'relabeled' AND c.o{j} IS DISTINCT FROM c.n{j})) "
        f"SELECT p.version, count(DISTINCT ({_klist(n_keys, 'ev.')})) FROM _dsl_paths p "
        "JOIN ev ON ev.version = p.ancestor GROUP BY p.version",
        [edits_file],
    ).fetchall()
    return {v: int(n) for v, n in rows}
