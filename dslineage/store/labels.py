"""A dataset file for label edits, in DuckDB and Arrow: loading it in file order, splicing
new labels in without reordering it, and writing it back in its own format and CSV dialect
(the SQL helpers shared by `edit_batch`, `revert_plan` and `label_history` live here too).

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
from dslineage.errors import FormatError
from dslineage.store.rows import literal, q

_TYPE = re.compile(r"^[A-Z][A-Z0-9_ ]*(\(\d+(, ?\d+)?\))?$")
SAMPLE = 10  # keys quoted in an error message
OPTIONAL = ("annotator", "reason", "confidence")


def sql_type(name: str, typ: str) -> str:
    """A DuckDB type name safe to splice into CAST (keys and labels are scalar columns)."""
    if not _TYPE.match(typ):
        raise FormatError(f"column {name!r} has type {typ}, which cannot be a key or label for edits")
    return typ


def arrow(cur: Any) -> Any:
    """A DuckDB result as a pyarrow Table."""
    return cur.to_arrow_table()


def ordered(con: Any) -> Any:
    """Make `con` keep file order through plain scans (relabel must not reorder a file)."""
    con.execute("SET preserve_insertion_order = true")
    return con


def keys_eq(a: str, b: str, n: int, left: str = "k", right: str = "k") -> str:
    """SQL matching the key columns of relations `a` and `b` (`k0..` unless renamed)."""
    return " AND ".join(f"{a}.{left}{i} = {b}.{right}{i}" for i in range(n))


def klist(n: int, prefix: str = "", name: str = "k") -> str:
    """The key column list `k0, k1, ..` (with a relation prefix or another name)."""
    return ", ".join(f"{prefix}{name}{i}" for i in range(n))


# -- the dataset file -------------------------------------------------------------------------


def stage_allowed(con: Any, allowed: list[Any]) -> str:
    """Stage `allowed` as the temp table `_dsl_allowed` (one VARCHAR column `v`) for a
    `NOT IN (SELECT v FROM _dsl_allowed)` check; returns the list as shown in its message."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _dsl_allowed AS SELECT unnest(?::VARCHAR[]) AS v", [[str(v) for v in allowed]]
    )
    return f"{', '.join(map(str, allowed[:20]))}{' ...' if len(allowed) > 20 else ''}"


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
                "all_varchar = true, allow_quoted_nulls = false" + (", max_line_size = ?)" if long_lines else ")")
            )
            params = [
                str(path),
                o.get("delimiter") or ",",
                o.get("quote") or '"',
                bool(o.get("header", True)),
                o.get("escape") or o.get("quote") or '"',
                *([int(long_lines)] if long_lines else []),
            ]
            return arrow(con.execute(sql, params))
        return arrow(con.execute("SELECT * FROM read_json(?, format = 'newline_delimited')", [str(path)]))
    except (duckdb.Error, OSError) as exc:
        raise FormatError(f"cannot read {ds.path}: {str(exc).splitlines()[0][:200]}") from None
    except Exception as exc:  # pyarrow raises its own types
        raise FormatError(f"cannot read {ds.path}: {str(exc).splitlines()[0][:200]}") from None


def register_file(con: Any, path: Path, ds: Dataset, types: dict[str, str]) -> None:
    """Expose a parquet file as `_dsl_t` (DuckDB reads the columns a query needs, straight from the
    file) and its typed keys/labels as the view `_dsl_f`."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW _dsl_t AS SELECT * FROM read_parquet({literal(str(path))})")
    register_view(con, ds, types)


def read_column(path: Path, ds: Dataset, column: str) -> Any:
    """One column of a parquet file's rows, in file order (Arrow)."""
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).read(columns=[column]).column(column)
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
        needle = pc.binary_join_element_wise(*[pc.cast(c, pa.string()) for c in needles], sep).combine_chunks()
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


def _style(meta: Any) -> tuple[str, int | None]:
    """The compression codec and the row-group size (None: one row group) of the file whose
    footer is `meta`."""
    codec, group = "snappy", None
    if meta.num_row_groups and meta.num_columns:
        codec = str(meta.row_group(0).column(0).compression).lower()
        codec = {"uncompressed": "none"}.get(codec, codec)
        # and its row-group size: a reader (a remote read above all) skips row groups by their statistics
        group = max(meta.row_group(0).num_rows, 1) if meta.num_row_groups > 1 else None
    return codec, group


def write_parquet(table: Any, sink: Any, meta: Any) -> None:
    """Write `table` as parquet to `sink` (a path or a writable file) with the compression codec
    and the row-group size of the file whose footer is `meta` (a relabel rewrites a part in its own
    style, in the command's process or in an engine's task: the same bytes either way)."""
    import pyarrow.parquet as pq

    codec, group = _style(meta)
    pq.write_table(table, sink, compression=codec, row_group_size=group)


def streams(path: Path) -> bool:
    """Whether `rewrite_parquet` streams `path` (a parquet file of several row groups)."""
    import pyarrow.parquet as pq

    return bool(pq.ParquetFile(path).metadata.num_row_groups > 1)


def rewrite_parquet(path: Path, tmp: Path, ds: Dataset, edits: list[tuple[str, list[Any], Any]]) -> str:
    """Write `path`'s rows to `tmp` with label edits spliced in (`splice`, for each (column, raw
    keys, values) of `edits`), one row group at a time, the next one read and spliced on a thread
    meanwhile; the md5 of the bytes written. The same bytes as `write` of the whole edited table
    (the style of `write_parquet`: the table `load` reads holds one chunk per row group, so each
    row group written is the same chunks either way), without holding the file in memory: the
    write runs beside the reading instead of after it."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.parquet as pq

    from dslineage import dvcio

    source = pq.ParquetFile(path)
    codec, group = _style(source.metadata)
    n = source.metadata.num_row_groups

    def edited(i: int) -> Any:  # row group i, read and spliced on the pool's thread
        block = source.read_row_group(i)
        for column, raw_keys, values in edits:
            block = splice(block, ds.key, column, raw_keys, values)
        return block

    with ThreadPoolExecutor(1, thread_name_prefix="dslineage-rewrite") as pool, dvcio.HashingFile(tmp) as sink:
        with pq.ParquetWriter(sink, source.schema_arrow, compression=codec) as writer:
            ahead = pool.submit(edited, 0) if n else None
            held: Any = None  # rows read, not written yet (fewer than `group`)
            for i in range(n):
                assert ahead is not None
                block = ahead.result()
                ahead = pool.submit(edited, i + 1) if i + 1 < n else None
                held = block if held is None else pa.concat_tables([held, block])
                while group is not None and held.num_rows >= group:
                    writer.write_table(held.slice(0, group), row_group_size=group)
                    held = held.slice(group)
            if held is not None and held.num_rows:
                writer.write_table(held, row_group_size=group)
    return sink.md5()


def write(con: Any, table: Any, tmp: Path, ds: Dataset, like: Path) -> str | None:
    """Write `table` to `tmp` in the dataset's format, in the style of the file `like`; the md5
    of the bytes written when it was computed on the way (parquet), else None.

    Parquet keeps the schema (with its metadata), the compression codec and the row-group size; CSV keeps the
    delimiter, quote and escape characters, the line ending, the always-quoted columns and
    the header line byte for byte; JSON Lines is written by DuckDB.
    """
    if ds.format == "parquet":
        import pyarrow.parquet as pq

        from dslineage import dvcio

        with dvcio.HashingFile(tmp) as sink:
            write_parquet(table, sink, pq.ParquetFile(like).metadata)
        return sink.md5()
    con.register("_dsl_out", table)
    if ds.format == "jsonl":
        con.execute(f"COPY (SELECT * FROM _dsl_out) TO {literal(str(tmp))} (FORMAT json)")
        return None
    o = ds.csv or {}
    delim, quote = o.get("delimiter") or ",", o.get("quote") or '"'
    escape = o.get("escape") or quote
    style = csv_style(like, quote, escape, delim)
    names = table.column_names
    header = bool(o.get("header", True))
    keep_header = header and style["first_record"] is not None
    opts = [
        "FORMAT csv",
        f"DELIMITER {literal(delim)}",
        f"QUOTE {literal(quote)}",
        f"ESCAPE {literal(escape)}",
        f"HEADER {'true' if header and not keep_header else 'false'}",
    ]
    if style["newline"] == "\r\n":
        opts.append("NEW_LINE '\\r\\n'")
    forced = [q(names[c]) for c in style["quoted"] if c < len(names)]
    if forced:
        opts.append(f"FORCE_QUOTE ({', '.join(forced)})")
    body = tmp.with_name(tmp.name + ".body") if keep_header else tmp
    con.execute(f"COPY (SELECT * FROM _dsl_out) TO {literal(str(body))} ({', '.join(opts)})")
    if keep_header:
        import shutil

        with open(tmp, "wb") as out, open(body, "rb") as src:
            out.write(style["first_record"])
            shutil.copyfileobj(src, out, 1 << 20)
        body.unlink()
    return None
