"""Row-level SQL over dataset files: scans, validation and the row diff, all in DuckDB.

Identifiers are always quoted with `q()` and values are bound parameters; a column may be
called `a"; DROP TABLE x` and a label may be any unicode string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dslineage.config import Dataset
from dslineage.errors import FormatError, SchemaError


def q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Source:
    """A dataset file as DuckDB reads it: a table-function expression plus its bound values."""

    sql: str
    params: tuple[Any, ...]
    label: str  # for messages: the path or version shown to the user


LONG_LINES = 1 << 28  # max_line_size for CSV files with lines over DuckDB's default 2 MB


def source(path: Path | str, ds: Dataset, label: str | None = None) -> Source:
    """How DuckDB reads `path` (a file, or a URL of a registered filesystem) in the format registered for `ds`."""
    name = label or str(path)
    if ds.format == "parquet":
        return Source("read_parquet(?)", (str(path),), name)
    if ds.format == "jsonl":
        return Source("read_json(?, format = 'newline_delimited')", (str(path),), name)
    opts = ds.csv or {}
    long_lines = opts.get("max_line_size")  # set by `track` for files with lines over 2 MB
    return Source(
        "read_csv(?, delim = ?, quote = ?, header = ?, escape = ?" + (", max_line_size = ?)" if long_lines else ")"),
        (
            str(path),
            opts.get("delimiter", ","),
            opts.get("quote", '"'),
            bool(opts.get("header", True)),
            opts.get("escape", '"'),
            *((int(long_lines),) if long_lines else ()),
        ),
        name,
    )


def duckdb_module() -> Any:
    """DuckDB's compiled module: `_duckdb` where the package ships it apart (duckdb >= 1.5), the
    `duckdb` package otherwise. Same connections and exception classes (the package re-exports
    them); a read command then skips the package's `import importlib.metadata`, made only to
    read its own version (~0.04 s CPU, a sixth of `log`'s). Code that imports `duckdb` later
    gets the same module underneath."""
    import importlib

    try:
        return importlib.import_module("_duckdb")
    except ImportError:  # pragma: no cover - duckdb 1.4 keeps it inside the package
        return importlib.import_module("duckdb")


def connect(settings: dict[str, Any], temp_dir: Path | None = None) -> Any:
    """An in-memory DuckDB connection for row work, with the repository's memory settings."""
    import duckdb

    con = duckdb.connect(":memory:")
    if settings.get("memory_limit"):
        con.execute("SET memory_limit = ?", [str(settings["memory_limit"])])
    if settings.get("threads"):
        con.execute("SET threads = ?", [int(settings["threads"])])
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
        con.execute("SET temp_directory = ?", [str(temp_dir)])
    con.execute("SET preserve_insertion_order = false")
    return con


def not_utf8(path: str | Path) -> str | None:
    """Where a text file stops being UTF-8 ("byte 0xe9 at offset 12"), or None if it is."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 24)
    except OSError:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4 and len(head) == 1 << 24:
            return None  # a character cut by the 16 MB window
        return f"byte 0x{head[exc.start]:02x} at offset {exc.start}"
    return None


def _fail(src: Source, exc: Exception) -> FormatError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if src.sql.startswith("read_csv"):
        where = not_utf8(src.params[0])
        if where:
            return FormatError(
                f"cannot read {src.label}: it is not UTF-8 text ({where}); convert it, e.g. `iconv -f latin1 -t utf-8`"
            )
    return FormatError(f"cannot read {src.label}: {first[:300]} — check the file, or its --format")


def schema(con: Any, src: Source) -> list[dict[str, str]]:
    """Column names and DuckDB types of a dataset file."""
    import duckdb

    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {src.sql}", list(src.params)).fetchall()
    except duckdb.Error as exc:
        raise _fail(src, exc) from None
    return [{"name": r[0], "type": r[1]} for r in rows]


@dataclass
class Profile:
    """What a commit records about a dataset file: size, schema and label distribution."""

    rows: int
    schema: list[dict[str, str]]
    label_distribution: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def validate(con: Any, src: Source, ds: Dataset) -> list[dict[str, str]]:
    """Check that key and label columns exist and keys are non-null and unique."""
    cols = check_columns(con, src, ds)
    check_keys(con, src, ds, cols)
    return cols


def check_columns(con: Any, src: Source, ds: Dataset) -> list[dict[str, str]]:
    """The file's schema, after checking that it has the key and label columns."""
    cols = schema(con, src)
    names = [c["name"] for c in cols]
    if not names:
        raise FormatError(f"{src.label} has no columns: is the file empty?")
    missing = [c for c in ds.key + ds.labels if c not in names]
    if missing:
        raise SchemaError(
            f"{src.label} has no column {', '.join(map(repr, missing))} "
            f"(columns: {', '.join(names[:20])}{' ...' if len(names) > 20 else ''}); "
            "fix --key/--label"
        )
    return cols


def check_keys(con: Any, src: Source, ds: Dataset, cols: list[dict[str, str]]) -> None:
    """Scan the file: keys must be non-null (and not NaN) and unique; else say which."""
    import duckdb

    keys = ", ".join(q(k) for k in ds.key)
    null_test = " OR ".join(f"{q(k)} IS NULL" for k in ds.key)
    nan_test = " OR ".join(
        f"isnan({q(c['name'])})" for c in cols if c["name"] in ds.key and c["type"] in ("DOUBLE", "FLOAT")
    )
    if nan_test:
        null_test = f"{null_test} OR {nan_test}"
    try:
        nulls = con.execute(f"SELECT count(*) FROM {src.sql} WHERE {null_test}", list(src.params)).fetchone()[0]
        if nulls:
            raise SchemaError(
                f"{src.label}: {nulls} row(s) have a null key in ({', '.join(ds.key)}); "
                "fill or drop them, or choose other --key columns"
            )
        dups = con.execute(
            f"SELECT {keys}, count(*) AS n FROM {src.sql} GROUP BY ALL HAVING count(*) > 1 ORDER BY n DESC LIMIT 5",
            list(src.params),
        ).fetchall()
        if dups:
            total = con.execute(
                f"SELECT count(*) FROM (SELECT {keys} FROM {src.sql} GROUP BY ALL HAVING count(*) > 1)",
                list(src.params),
            ).fetchone()[0]
            shown = "; ".join(",".join(str(v) for v in row[:-1]) + f" ×{row[-1]}" for row in dups)
            raise SchemaError(
                f"{src.label}: {total} key value(s) of ({', '.join(ds.key)}) are duplicated, "
                f"e.g. {shown}; keys must be unique: deduplicate or choose other --key columns"
            )
    except duckdb.Error as exc:
        raise _fail(src, exc) from None


def profile(con: Any, src: Source, ds: Dataset, *, keys: bool = True) -> Profile:
    """Validate a dataset file and measure its row count and label distribution.

    `keys=False` leaves out the key scan (null and duplicate keys): for a new version
    diffed against a valid parent, `check_keys_by_diff` proves the same from the diff.
    """
    import duckdb

    cols = validate(con, src, ds) if keys else check_columns(con, src, ds)
    try:
        rows = con.execute(f"SELECT count(*) FROM {src.sql}", list(src.params)).fetchone()[0]
        dist: dict[str, list[dict[str, Any]]] = {}
        for label in ds.labels:
            counts = con.execute(
                f"SELECT {q(label)}, count(*) FROM {src.sql} GROUP BY 1 ORDER BY 2 DESC, 1", list(src.params)
            ).fetchall()
            dist[label] = [{"label": plain(v), "count": n} for v, n in counts]
    except duckdb.Error as exc:
        raise _fail(src, exc) from None
    return Profile(rows=rows, schema=cols, label_distribution=dist)


def plain(value: Any) -> Any:
    """A JSON-friendly value (DuckDB may hand back Decimal, date, etc.)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


# DuckDB's integer and number types (also the `int` and `number` families of the `columns` rule)
INTEGER_TYPES: tuple[str, ...] = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")
INTEGER_TYPES += ("UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT")
NUMERIC_TYPES = (*INTEGER_TYPES, "FLOAT", "DOUBLE", "DECIMAL")


def is_numeric(duck_type: str) -> bool:
    """Whether a DuckDB type is a number (integer, floating point or decimal; int64 → float64
    keeps values comparable as numbers)."""
    return duck_type.upper().split("(")[0] in NUMERIC_TYPES


def literal(value: Any) -> str:
    """An SQL literal, for the few places DuckDB takes no bound parameter (COPY targets and
    options, views, column names inside a list literal): a bool as true/false, anything
    else as an escaped string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "'" + str(value).replace("'", "''") + "'"


def key_rows(con: Any, src: Source, ds: Dataset, key: list[Any]) -> tuple[list[Any], dict[str, Any]] | None:
    """The typed key and label values of the row with key `key` in a file, or None."""
    duckdb = duckdb_module()  # `history` of a row with no events reads it: no package import

    where = " AND ".join(f"{q(k)} = ?" for k in ds.key)
    cols = ", ".join(q(c) for c in ds.key + ds.labels)
    try:
        row = con.execute(f"SELECT {cols} FROM {src.sql} WHERE {where} LIMIT 1", [*src.params, *key]).fetchone()
    except duckdb.ConversionException:
        return None
    if row is None:
        return None
    n = len(ds.key)
    return [plain(v) for v in row[:n]], {c: plain(v) for c, v in zip(ds.labels, row[n:])}
