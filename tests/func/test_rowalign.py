"""The commit diff's shortcut for key-sorted parquet files (`store.rowalign`) gives exactly the change
table of the full join, and steps aside whenever it cannot prove that."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dslineage.config import Dataset
from dslineage.store import rowalign, rowdiff, rows

DS = Dataset(name="ds", path="ds.parquet", format="parquet", key=["id"], labels=["label"])
FLOATS = [0.0, -0.0, 1.5, math.nan, -math.nan, math.inf, None]
LABELS = ["cat", "dog", "bird", "", None]


@pytest.fixture(autouse=True)
def _small_files_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """These files are small: let the shortcut take them (it steps aside below `MIN_ROWS` rows)."""
    monkeypatch.setattr(rowalign, "MIN_ROWS", 0)


def _write(path: Path, table_rows: list[dict[str, Any]], group: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [("id", pa.int64()), ("x", pa.float64()), ("n", pa.int32()), ("flag", pa.bool_()), ("label", pa.string())]
    )
    pq.write_table(pa.Table.from_pylist(table_rows, schema=schema), path, row_group_size=group)


def _changes(a: Path, b: Path, *, narrow: bool) -> tuple[list[tuple[Any, ...]], dict[str, Any], bool]:
    """The `_chg` rows (as text, so NaN compares), the summary, and whether the shortcut ran."""
    con = rows.connect({})
    used: list[bool] = []
    real = rowdiff._narrowed

    def spy(*args: Any) -> bool:
        used.append(narrow and real(*args))
        return used[-1]

    rowdiff._narrowed = spy  # type: ignore[assignment]
    try:
        _, summary = rowdiff.compare(con, rows.source(a, DS), rows.source(b, DS), DS, digests=True)
    finally:
        rowdiff._narrowed = real  # type: ignore[assignment]
    got = con.execute("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM _chg ORDER BY k0").fetchall()
    con.close()
    return got, summary, bool(used and used[0])


row = st.fixed_dictionaries(
    {
        "x": st.sampled_from(FLOATS),
        "n": st.sampled_from([0, 1, -7, None]),
        "flag": st.sampled_from([True, False, None]),
        "label": st.sampled_from(LABELS),
    }
)


VALUES = {"x": FLOATS, "n": [0, 1, -7, None], "flag": [True, False, None], "label": LABELS}
edit = st.one_of(
    st.tuples(st.just("set"), st.integers(-60, 60), st.sampled_from(sorted(VALUES)), st.integers(0, 6)),
    st.tuples(st.just("drop"), st.integers(-60, 60), st.just(""), st.just(0)),
    st.tuples(st.just("add"), st.integers(-60, 60), st.just(""), st.just(0)),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    old=st.dictionaries(st.integers(-50, 50), row, max_size=40),
    edits=st.lists(edit, max_size=30),
    groups=st.tuples(st.integers(1, 9), st.integers(1, 9)),
)
def test_shortcut_equals_the_full_join(
    tmp_path: Path, old: dict[int, Any], edits: list[tuple[str, int, str, int]], groups: tuple[int, int]
) -> None:
    """On random sorted files (nulls, NaN, -0.0, empty strings, single values changed, keys removed
    and added, row groups of any size) the narrowed join gives the full join's change table and counts."""
    new = {k: dict(v) for k, v in old.items()}
    for kind, key, column, pick in edits:
        if kind == "drop":
            new.pop(key, None)
        elif kind == "add":
            new.setdefault(key, {"x": 2.5, "n": 3, "flag": False, "label": "new"})
        elif key in new:
            new[key][column] = VALUES[column][pick % len(VALUES[column])]
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    _write(a, [{"id": k, **old[k]} for k in sorted(old)], groups[0])
    _write(b, [{"id": k, **new[k]} for k in sorted(new)], groups[1])
    fast, fast_summary, used = _changes(a, b, narrow=True)
    slow, slow_summary, _ = _changes(a, b, narrow=False)
    assert used
    assert fast == slow
    assert fast_summary == slow_summary


def test_unsorted_keys_fall_back_to_the_full_join(tmp_path: Path) -> None:
    """A file whose keys do not strictly increase is joined whole, with the same answer."""
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    base = {"x": 1.0, "n": 1, "flag": True, "label": "cat"}
    _write(a, [{"id": k, **base} for k in (1, 2, 3)], 2)
    _write(b, [{"id": k, **base, "label": "dog" if k == 2 else "cat"} for k in (3, 2, 1)], 2)
    fast, summary, used = _changes(a, b, narrow=True)
    assert not used
    assert summary["relabeled"] == 1
    assert fast == _changes(a, b, narrow=False)[0]


@pytest.mark.parametrize("case", ["two keys", "other types", "csv", "many files"])
def test_shortcut_does_not_apply(tmp_path: Path, case: str) -> None:
    """Composite keys, columns of another type on each side, non-parquet sources and a list of files
    (a directory's parts, however long the list) are not narrowed."""
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    _write(a, [{"id": 1, "x": 1.0, "n": 1, "flag": True, "label": "cat"}], 1)
    _write(b, [{"id": 1, "x": 1.0, "n": 1, "flag": True, "label": "dog"}], 1)
    types = {"id": "BIGINT", "x": "DOUBLE", "n": "INTEGER", "flag": "BOOLEAN", "label": "VARCHAR"}
    src_a, src_b, keys, types_b = rows.source(a, DS), rows.source(b, DS), ["id"], dict(types)
    if case == "two keys":
        keys = ["id", "n"]
    elif case == "other types":
        types_b["n"] = "BIGINT"
    elif case == "csv":
        src_a = rows.Source("read_csv(?)", (str(a),), "a")
    else:  # 100 part paths: their text is longer than a file name may be
        src_a = rows.Source("read_parquet(?)", ([str(tmp_path / f"part-{i:04d}.parquet") for i in range(100)],), "a")
    con = rows.connect({})
    assert rowalign.applies(con, src_a, src_b, keys, ["x", "label"], [], types, types_b) is None
    assert rowalign.applies(con, rows.source(a, DS), src_b, ["id"], ["x", "label"], [], types, types) is not None


def test_files_with_fewer_rows_than_min_rows_are_joined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below `MIN_ROWS` rows in either file DuckDB's join is the quicker path: no shortcut."""
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    _write(a, [{"id": k, "x": 1.0, "n": 1, "flag": True, "label": "cat"} for k in range(4)], 2)
    _write(b, [{"id": k, "x": 1.0, "n": 1, "flag": True, "label": "dog"} for k in range(3)], 2)
    types = {"id": "BIGINT", "x": "DOUBLE", "n": "INTEGER", "flag": "BOOLEAN", "label": "VARCHAR"}
    con = rows.connect({})
    args = (rows.source(a, DS), rows.source(b, DS), ["id"], ["x", "label"], [], types, types)
    monkeypatch.setattr(rowalign, "MIN_ROWS", 3)
    assert rowalign.applies(con, *args) is not None
    monkeypatch.setattr(rowalign, "MIN_ROWS", 4)
    assert rowalign.applies(con, *args) is None
    assert _changes(a, b, narrow=True)[2] is False


@pytest.mark.parametrize("column, value", [("x", 0.0), ("n", 0), ("flag", False), ("label", "")])
def test_a_value_nulled_or_filled_is_a_change(tmp_path: Path, column: str, value: Any) -> None:
    """A zero, false or empty value that becomes null (and a null that becomes one) is a change,
    whatever bits the null slot holds."""
    base = {"x": 1.0, "n": 1, "flag": True, "label": "cat"}
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    _write(a, [{"id": k, **base, column: value if k == 1 else None if k == 2 else base[column]} for k in (1, 2, 3)], 2)
    _write(b, [{"id": k, **base, column: None if k == 1 else value if k == 2 else base[column]} for k in (1, 2, 3)], 2)
    fast, summary, used = _changes(a, b, narrow=True)
    assert used
    assert summary["relabeled" if column == "label" else "modified"] == 2
    assert fast == _changes(a, b, narrow=False)[0]
