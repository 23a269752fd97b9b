"""Type names in the `columns` rule: generic families, pyarrow names, or DuckDB types."""

from __future__ import annotations

from dslineage.store.rows import INTEGER_TYPES, NUMERIC_TYPES

_FAMILIES: dict[str, tuple[str, ...]] = {
    "int": INTEGER_TYPES,
    "integer": INTEGER_TYPES,
    "float": ("FLOAT", "DOUBLE"),
    "string": ("VARCHAR",),
    "str": ("VARCHAR",),
    "text": ("VARCHAR",),
    "bool": ("BOOLEAN",),
    "boolean": ("BOOLEAN",),
    "number": NUMERIC_TYPES,
    "numeric": NUMERIC_TYPES,
    "timestamp": ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"),
}
_ALIASES = {
    "int8": "TINYINT",
    "int16": "SMALLINT",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "uint8": "UTINYINT",
    "uint16": "USMALLINT",
    "uint32": "UINTEGER",
    "uint64": "UBIGINT",
    "float32": "FLOAT",
    "float64": "DOUBLE",
    "double": "DOUBLE",
    "large_string": "VARCHAR",
    "utf8": "VARCHAR",
    "date": "DATE",
}


def type_matches(spec: str, actual: str) -> bool:
    """Whether a column's DuckDB type satisfies a `columns` rule type.

    Generic names match a family ('int'/'integer' any integer width, 'float', 'number',
    'string', 'bool', 'timestamp', 'any'); pyarrow names match their one DuckDB type
    ('int64' is BIGINT); anything else must equal the DuckDB type, ignoring case.
    """
    low = spec.strip().lower()
    base = actual.upper().split("(")[0].strip()
    if low == "any":
        return True
    if low in _FAMILIES:
        return base in _FAMILIES[low]
    if low in _ALIASES:
        return base == _ALIASES[low]
    return " ".join(spec.upper().split()) == " ".join(actual.upper().split())
