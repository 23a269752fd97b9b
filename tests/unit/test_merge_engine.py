"""The row-level three-way merge engine (`dslineage.store.merge`), on files, without git."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dslineage.config import Dataset
from dslineage.errors import ResolutionError, SchemaConflictError
from dslineage.store import merge, rows

DS = Dataset(name="train", path="data/train.parquet", format="parquet", key=["id"], labels=["label"])
SCHEMA = pa.schema([("id", pa.int64()), ("x", pa.float64()), ("label", pa.string())])
Table = list[tuple[int, float | None, str | None]]  # (id, x, label) rows in file order


@pytest.fixture
def con() -> Iterator[Any]:
    """A DuckDB connection as the commands open one."""
    c = rows.connect({})
    yield c
    c.close()


def _write(path: Path, data: Table, schema: pa.Schema = SCHEMA, codec: str = "snappy") -> rows.Source:
    cols = list(zip(*data)) if data else [[] for _ in schema.names]
    table = pa.table({n: list(c) for n, c in zip(schema.names, cols)}, schema=schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression=codec)
    return rows.source(path, DS, label=path.name)


def _merge(con: Any, tmp: Path, base: Table | None, ours: Table, theirs: Table, **kw: Any) -> merge.MergeOutcome:
    b = _write(tmp / "base.parquet", base) if base is not None else None
    return merge.merge3(con, b, _write(tmp / "ours.parquet", ours), _write(tmp / "theirs.parquet", theirs), DS, **kw)


def _rows(out: merge.MergeOutcome) -> list[tuple[Any, ...]]:
    assert out.table is not None
    return [tuple(r.values()) for r in out.table.to_pylist()]


def _conflicts(out: merge.MergeOutcome) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in out.conflicts.to_pylist()]


BASE: Table = [(i, float(i), "cat") for i in range(10)]


def _edit(table: Table, changes: dict[int, str | None]) -> Table:
    """`table` with the labels of some ids changed; a None label removes the row."""
    out = []
    for i, x, label in table:
        if i in changes:
            if changes[i] is None:
                continue
            label = changes[i]
        out.append((i, x, label))
    return out


def test_disjoint_edits_take_both_sides(con: Any, tmp_path: Path) -> None:
    """Edits of different rows on the two sides both end up in the merged rows."""
    ours = _edit(BASE, {1: "fox", 2: "fox"})
    theirs = _edit(BASE, {5: "owl"})
    out = _merge(con, tmp_path, BASE, ours, theirs)
    assert out.conflicts.num_rows == 0
    assert _rows(out) == _edit(BASE, {1: "fox", 2: "fox", 5: "owl"})
    assert out.counts == {"from_ours": 2, "from_theirs": 1, "added": 0, "removed": 0}
    assert out.theirs_keys.to_pylist() == [{"id": 5}]


def test_different_columns_of_one_row_merge(con: Any, tmp_path: Path) -> None:
    """Ours changes a row's label, theirs its feature: the row gets both, no conflict."""
    theirs = [(i, 99.0 if i == 3 else x, lab) for i, x, lab in BASE]
    out = _merge(con, tmp_path, BASE, _edit(BASE, {3: "fox"}), theirs)
    assert _rows(out)[3] == (3, 99.0, "fox")
    assert out.counts == {"from_ours": 1, "from_theirs": 1, "added": 0, "removed": 0}


def test_identical_edits_are_not_conflicts(con: Any, tmp_path: Path) -> None:
    """The same cell changed to the same value on both sides merges cleanly, credited to ours."""
    side = _edit(BASE, {4: "owl"})
    out = _merge(con, tmp_path, BASE, side, side)
    assert _rows(out) == side
    assert out.counts == {"from_ours": 1, "from_theirs": 0, "added": 0, "removed": 0}
    assert out.theirs_keys.num_rows == 0


def test_conflicting_cells_are_listed_exactly(con: Any, tmp_path: Path) -> None:
    """Cells changed differently on both sides are listed one by one, and no table is made."""
    ours = [(i, 7.0 if i == 6 else x, "fox" if i in (2, 6) else lab) for i, x, lab in BASE]
    theirs = [(i, 8.0 if i == 6 else x, "owl" if i in (2, 6, 8) else lab) for i, x, lab in BASE]
    out = _merge(con, tmp_path, BASE, ours, theirs)
    assert out.table is None
    assert out.conflicts.column_names == ["id", "column", "base", "ours", "theirs"]
    assert _conflicts(out) == [
        (2, "label", '"cat"', '"fox"', '"owl"'),
        (6, "x", "6.0", "7.0", "8.0"),
        (6, "label", '"cat"', '"fox"', '"owl"'),
    ]


def test_add_add(con: Any, tmp_path: Path) -> None:
    """Rows added on both sides: identical content gives one row, different cells conflict."""
    same = _merge(con, tmp_path, BASE, [*BASE, (20, 1.0, "new")], [*BASE, (20, 1.0, "new")])
    assert _rows(same) == [*BASE, (20, 1.0, "new")]
    assert same.counts == {"from_ours": 1, "from_theirs": 0, "added": 1, "removed": 0}
    differ = _merge(con, tmp_path, BASE, [*BASE, (20, 1.0, "new")], [*BASE, (20, 1.0, "other")])
    assert differ.table is None
    assert _conflicts(differ) == [(20, "label", None, '"new"', '"other"')]


def test_rows_added_on_one_side_follow_it(con: Any, tmp_path: Path) -> None:
    """Rows only one side added are kept: ours' in place, theirs' appended in theirs' order."""
    ours = [BASE[0], (30, 0.5, "o"), *BASE[1:]]
    theirs = [*BASE, (42, 1.0, "t2"), (41, 2.0, "t1")]
    out = _merge(con, tmp_path, BASE, ours, theirs)
    assert _rows(out) == [*ours, (42, 1.0, "t2"), (41, 2.0, "t1")]
    assert out.counts == {"from_ours": 1, "from_theirs": 2, "added": 3, "removed": 0}
    assert out.theirs_keys.to_pylist() == [{"id": 41}, {"id": 42}]


def test_remove_modify_is_a_row_conflict(con: Any, tmp_path: Path) -> None:
    """A row removed on one side and modified on the other is a "*row*" conflict, both ways."""
    out = _merge(con, tmp_path, BASE, _edit(BASE, {3: None}), _edit(BASE, {3: "owl"}))
    assert out.table is None
    assert _conflicts(out) == [(3, "*row*", '{"x":3.0,"label":"cat"}', None, '{"x":3.0,"label":"owl"}')]
    back = _merge(con, tmp_path, BASE, _edit(BASE, {3: "owl"}), _edit(BASE, {3: None}))
    assert _conflicts(back) == [(3, "*row*", '{"x":3.0,"label":"cat"}', '{"x":3.0,"label":"owl"}', None)]


def test_remove_remove_and_remove_unchanged(con: Any, tmp_path: Path) -> None:
    """Removed on both sides, or on one side with the other unchanged: the row is removed."""
    out = _merge(con, tmp_path, BASE, _edit(BASE, {1: None, 2: None}), _edit(BASE, {2: None, 3: None}))
    assert _rows(out) == _edit(BASE, {1: None, 2: None, 3: None})
    assert out.counts == {"from_ours": 0, "from_theirs": 0, "added": 0, "removed": 3}
    assert out.theirs_keys.num_rows == 0


def test_prefer_resolves_every_conflict(con: Any, tmp_path: Path) -> None:
    """`prefer` takes that side for every conflicting cell and row; other changes still merge."""
    ours = _edit(BASE, {2: "fox", 3: None, 7: "o7"})
    theirs = _edit(BASE, {2: "owl", 3: "owl", 8: "t8"})
    mine = _merge(con, tmp_path, BASE, ours, theirs, prefer="ours")
    assert mine.conflicts.num_rows == 0
    assert _rows(mine) == _edit(BASE, {2: "fox", 3: None, 7: "o7", 8: "t8"})
    assert mine.counts == {"from_ours": 2, "from_theirs": 1, "added": 0, "removed": 1}
    yours = _merge(con, tmp_path, BASE, ours, theirs, prefer="theirs")
    assert _rows(yours) == [*_edit(BASE, {2: "owl", 3: None, 7: "o7", 8: "t8"}), (3, 3.0, "owl")]
    assert yours.counts == {"from_ours": 1, "from_theirs": 3, "added": 0, "removed": 0}
    assert yours.theirs_keys.to_pylist() == [{"id": 2}, {"id": 3}, {"id": 8}]


def test_resolutions_resolve_listed_cells(con: Any, tmp_path: Path) -> None:
    """Listed resolutions set cells and rows; unlisted conflicts stay until resolved."""
    ours = _edit(BASE, {2: "fox", 3: None, 4: "o4"})
    theirs = _edit(BASE, {2: "owl", 3: "owl", 4: "t4"})
    res = pa.table({"id": [2, 3], "column": ["label", "*row*"], "value": ['"emu"', '{"x": 30, "label": "yak"}']})
    partial = _merge(con, tmp_path, BASE, ours, theirs, resolutions=res)
    assert partial.table is None
    assert _conflicts(partial) == [(4, "label", '"cat"', '"o4"', '"t4"')]
    res = pa.concat_tables([res, pa.table({"id": [4], "column": ["label"], "value": ["null"]})])
    done = _merge(con, tmp_path, BASE, ours, theirs, resolutions=res)
    got = _rows(done)
    assert got[:3] == [(0, 0.0, "cat"), (1, 1.0, "cat"), (2, 2.0, "emu")]
    assert (4, 4.0, None) in got and got[-1] == (3, 30.0, "yak")
    dropped = pa.table({"id": ["3", "2", "4"], "column": ["*row*", "label", "label"], "value": ["null", '"a"', '"b"']})
    gone = _merge(con, tmp_path, BASE, ours, theirs, resolutions=dropped)
    assert [r[0] for r in _rows(gone)] == [0, 1, 2, 4, 5, 6, 7, 8, 9]


def test_resolution_of_wrong_type_is_one_line(con: Any, tmp_path: Path) -> None:
    """A resolution value that does not fit the column is refused with a message naming it."""
    ours = [(i, 7.0 if i == 6 else x, lab) for i, x, lab in BASE]
    theirs = [(i, 8.0 if i == 6 else x, lab) for i, x, lab in BASE]
    res = pa.table({"id": [6], "column": ["x"], "value": ['"seven"']})
    with pytest.raises(ResolutionError, match="'x'"):
        _merge(con, tmp_path, BASE, ours, theirs, resolutions=res)
    with pytest.raises(ResolutionError, match="value"):
        _merge(con, tmp_path, BASE, ours, theirs, resolutions=pa.table({"id": [6], "column": ["x"]}))


def test_sides_in_base_order_skip_the_keyed_join(con: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relabels keep rows in place: the merge compares positions and never joins on the key."""

    def keyed(*args: Any) -> None:
        raise AssertionError("the keyed path ran")

    monkeypatch.setattr(merge, "_find_changed", keyed)
    out = _merge(con, tmp_path, BASE, _edit(BASE, {1: "fox"}), _edit(BASE, {2: "owl"}))
    assert _rows(out) == _edit(BASE, {1: "fox", 2: "owl"})


def test_reordered_side_is_merged_by_key(con: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A side that moved rows (same count, other order) is matched by key, in ours' order."""
    ours = list(reversed(_edit(BASE, {1: "fox"})))
    out = _merge(con, tmp_path, BASE, ours, _edit(BASE, {2: "owl"}))
    assert _rows(out) == list(reversed(_edit(BASE, {1: "fox", 2: "owl"})))
    assert out.counts == {"from_ours": 1, "from_theirs": 1, "added": 0, "removed": 0}
    swapped = [BASE[1], BASE[0], *BASE[2:]]
    out = _merge(con, tmp_path, BASE, _edit(BASE, {5: "fox"}), swapped)
    assert _rows(out) == _edit(BASE, {5: "fox"}) and out.theirs_keys.num_rows == 0


def test_no_base_treats_everything_as_added(con: Any, tmp_path: Path) -> None:
    """Without a common version, equal rows merge and rows that differ conflict."""
    ours = BASE[:5]
    theirs = [*BASE[:4], (4, 4.0, "dog"), (11, 1.0, "t")]
    out = _merge(con, tmp_path, None, ours, theirs)
    assert _conflicts(out) == [(4, "label", None, '"cat"', '"dog"')]
    done = _merge(con, tmp_path, None, ours, theirs, prefer="ours")
    assert _rows(done) == [*ours, (11, 1.0, "t")]
    assert done.counts == {"from_ours": 5, "from_theirs": 1, "added": 6, "removed": 0}


def test_column_added_on_one_side_is_carried(con: Any, tmp_path: Path) -> None:
    """A column theirs added comes with its values (null in rows theirs lacks), after ours'."""
    wide = pa.schema([*SCHEMA, ("score", pa.int32())])
    _write(tmp_path / "base.parquet", BASE)
    ours = _write(tmp_path / "ours.parquet", [*_edit(BASE, {1: "fox"}), (50, 0.0, "o")])
    tb = pa.table(
        {
            "id": range(10),
            "x": [float(i) for i in range(10)],
            "label": ["cat"] * 9 + ["owl"],
            "score": pa.array(range(100, 110), pa.int32()),
        },
        schema=wide,
    )
    pq.write_table(tb, tmp_path / "theirs.parquet")
    out = merge.merge3(
        con, rows.source(tmp_path / "base.parquet", DS), ours, rows.source(tmp_path / "theirs.parquet", DS), DS
    )
    assert out.table is not None and out.table.schema.field("score").type == pa.int32()
    got = out.table.to_pylist()
    assert out.table.column_names == ["id", "x", "label", "score"]
    assert got[1] == {"id": 1, "x": 1.0, "label": "fox", "score": 101}
    assert got[9] == {"id": 9, "x": 9.0, "label": "owl", "score": 109}
    assert got[10] == {"id": 50, "x": 0.0, "label": "o", "score": None}


def test_column_dropped_on_one_side_is_carried(con: Any, tmp_path: Path) -> None:
    """A column ours dropped stays dropped; theirs' label edits still merge."""
    narrow = pa.schema([("id", pa.int64()), ("label", pa.string())])
    _write(tmp_path / "base.parquet", BASE)
    pq.write_table(pa.table({"id": range(10), "label": ["cat"] * 10}, schema=narrow), tmp_path / "ours.parquet")
    theirs = _write(tmp_path / "theirs.parquet", _edit(BASE, {2: "owl"}))
    out = merge.merge3(
        con, rows.source(tmp_path / "base.parquet", DS), rows.source(tmp_path / "ours.parquet", DS), theirs, DS
    )
    assert out.table is not None and out.table.column_names == ["id", "label"]
    assert out.table.column("label").to_pylist()[2] == "owl"


def test_column_retyped_on_one_side_takes_the_new_type(con: Any, tmp_path: Path) -> None:
    """Theirs retyped `x` (double → int64): the result has theirs' type and values, ours' labels."""
    _write(tmp_path / "base.parquet", BASE)
    ours = _write(tmp_path / "ours.parquet", _edit(BASE, {2: "fox"}))
    ints = pa.schema([("id", pa.int64()), ("x", pa.int64()), ("label", pa.string())])
    pq.write_table(
        pa.table({"id": range(10), "x": range(10), "label": ["cat"] * 10}, schema=ints), tmp_path / "theirs.parquet"
    )
    out = merge.merge3(
        con, rows.source(tmp_path / "base.parquet", DS), ours, rows.source(tmp_path / "theirs.parquet", DS), DS
    )
    assert out.table is not None and out.table.schema.field("x").type == pa.int64()
    assert _rows(out) == [(i, i, "fox" if i == 2 else "cat") for i in range(10)]
    strings = pa.schema([("id", pa.int64()), ("x", pa.string()), ("label", pa.string())])
    pq.write_table(
        pa.table({"id": range(10), "x": [str(i) for i in range(10)], "label": ["cat"] * 10}, schema=strings),
        tmp_path / "ours.parquet",
    )
    with pytest.raises(SchemaConflictError, match="'x' was retyped from DOUBLE on both sides"):
        merge.merge3(
            con,
            rows.source(tmp_path / "base.parquet", DS),
            rows.source(tmp_path / "ours.parquet", DS),
            rows.source(tmp_path / "theirs.parquet", DS),
            DS,
        )


def test_resolutions_first_then_prefer(con: Any, tmp_path: Path) -> None:
    """Listed resolutions win; `prefer` settles the conflicts they leave."""
    ours = _edit(BASE, {2: "fox", 4: "o4"})
    theirs = _edit(BASE, {2: "owl", 4: "t4"})
    res = pa.table({"id": [2], "column": ["label"], "value": ['"emu"']})
    out = _merge(con, tmp_path, BASE, ours, theirs, resolutions=res, prefer="theirs")
    assert _rows(out) == _edit(BASE, {2: "emu", 4: "t4"})
    assert out.theirs_keys.to_pylist() == [{"id": 2}, {"id": 4}]


def test_incompatible_schema_changes_are_refused(con: Any, tmp_path: Path) -> None:
    """Same column added with two types, or dropped on one side and edited on the other: one line."""
    _write(tmp_path / "base.parquet", BASE)
    for side, typ in (("ours", pa.int64()), ("theirs", pa.string())):
        t = pa.table(
            {
                "id": range(10),
                "x": [float(i) for i in range(10)],
                "label": ["cat"] * 10,
                "extra": pa.array([None] * 10, typ),
            }
        )
        pq.write_table(t, tmp_path / f"{side}.parquet")
    src = {s: rows.source(tmp_path / f"{s}.parquet", DS) for s in ("base", "ours", "theirs")}
    with pytest.raises(SchemaConflictError, match="'extra'.*added on both sides"):
        merge.merge3(con, src["base"], src["ours"], src["theirs"], DS)
    pq.write_table(pa.table({"id": range(10), "label": ["cat"] * 10}), tmp_path / "ours.parquet")
    _write(tmp_path / "theirs.parquet", [(i, 5.5 if i == 2 else x, lab) for i, x, lab in BASE])
    with pytest.raises(SchemaConflictError, match="'x' was dropped on ours but theirs changed it in 1 row"):
        merge.merge3(con, src["base"], src["ours"], src["theirs"], DS)


def test_parquet_schema_and_codec_kept(con: Any, tmp_path: Path) -> None:
    """The written file has ours' Arrow schema (metadata, dictionary column) and codec."""
    schema = pa.schema(
        [("id", pa.int64()), ("x", pa.float32()), ("label", pa.dictionary(pa.int32(), pa.string()))],
        metadata={b"origin": b"lab"},
    )

    def table(changes: dict[int, str | None]) -> pa.Table:
        data = _edit(BASE, changes)
        return pa.table(
            {"id": [r[0] for r in data], "x": [r[1] for r in data], "label": [r[2] for r in data]}, schema=schema
        )

    src = {}
    for side, changes in (("base", {}), ("ours", {1: "fox"}), ("theirs", {2: "owl", 3: None})):
        pq.write_table(table(changes), tmp_path / f"{side}.parquet", compression="zstd")
        src[side] = rows.source(tmp_path / f"{side}.parquet", DS)
    with_new = pa.concat_tables(
        [table({2: "owl", 3: None}), pa.table({"id": [77], "x": [0.5], "label": ["new"]}, schema=schema)]
    )
    pq.write_table(with_new, tmp_path / "theirs.parquet", compression="zstd")
    out = merge.merge3(con, src["base"], src["ours"], src["theirs"], DS)
    merge.write_merged(con, out, tmp_path / "ours.parquet", tmp_path / "merged.parquet", DS)
    written = pq.ParquetFile(tmp_path / "merged.parquet")
    assert written.schema_arrow.equals(schema, check_metadata=True)
    assert written.metadata.row_group(0).column(2).compression == "ZSTD"
    assert written.read().column("label").to_pylist() == ["cat", "fox", "owl", *["cat"] * 6, "new"]


CSV_DS = Dataset(
    name="train",
    path="data/train.csv",
    format="csv",
    key=["id"],
    labels=["label"],
    csv={"delimiter": ";", "quote": '"', "header": True},
)


def test_csv_bytes_kept_outside_changed_rows(con: Any, tmp_path: Path) -> None:
    """A CSV merge keeps ours' header, dialect, quoting and line ending; only merged rows change."""
    header = b'"id";"x";"label"\r\n'

    def line(i: int, label: str, x: str = "1.50") -> bytes:
        return f'{i};{x};"{label}"\r\n'.encode()

    base = [line(i, "c;at") for i in range(8)]
    base[3] = b'3;"1.50";bare\r\n'  # quoted unlike its neighbours: a full rewrite would change it
    ours = list(base)
    ours[1] = line(1, "fox")
    theirs = list(base)
    theirs[5] = line(5, 'o"wl'.replace('"', '""'))
    del theirs[6]
    theirs.append(line(9, "new", "2.0"))
    src = {}
    for side, lines in (("base", base), ("ours", ours), ("theirs", theirs)):
        (tmp_path / f"{side}.csv").write_bytes(header + b"".join(lines))
        src[side] = rows.source(tmp_path / f"{side}.csv", CSV_DS)
    out = merge.merge3(con, src["base"], src["ours"], src["theirs"], CSV_DS)
    assert out.theirs_keys.to_pylist() == [{"id": 5}, {"id": 9}]
    merge.write_merged(con, out, tmp_path / "ours.csv", tmp_path / "merged.csv", CSV_DS)
    expected = list(ours)
    expected[5] = theirs[5]
    del expected[6]
    # changed and new rows in ours' dialect: `label` is not always quoted in ours, so only when needed
    assert (tmp_path / "merged.csv").read_bytes() == header + b"".join(expected) + b"9;2.0;new\r\n"


def test_csv_with_line_breaks_in_values_is_rewritten(con: Any, tmp_path: Path) -> None:
    """When ours' records span lines, the CSV is written whole in ours' dialect, values intact."""
    ds = Dataset(name="c", path="c.csv", format="csv", key=["id"], labels=["label"], csv={"header": True})
    texts = {
        "base": 'id,label\n1,"two\nlines"\n2,b\n',
        "ours": 'id,label\n1,"two\nlines"\n2,B\n',
        "theirs": 'id,label\n1,"two\nlines"\n2,b\n3,c\n',
    }
    src = {}
    for side, text in texts.items():
        (tmp_path / f"{side}.csv").write_text(text)
        src[side] = rows.source(tmp_path / f"{side}.csv", ds)
    out = merge.merge3(con, src["base"], src["ours"], src["theirs"], ds)
    merge.write_merged(con, out, tmp_path / "ours.csv", tmp_path / "m.csv", ds)
    assert (tmp_path / "m.csv").read_text() == 'id,label\n1,"two\nlines"\n2,B\n3,c\n'


@pytest.mark.parametrize("final_newline", [True, False])
def test_csv_without_header(con: Any, tmp_path: Path, final_newline: bool) -> None:
    """A headerless CSV merges and is written line by line; a missing final line break is tolerated."""
    ds = Dataset(name="c", path="c.csv", format="csv", key=["column0"], labels=["column1"], csv={"header": False})
    end = "\n" if final_newline else ""
    texts = {"base": "1,a\n2,b\n3,c" + end, "ours": "1,A\n2,b\n3,c" + end, "theirs": "1,a\n2,b\n3,C\n4,d" + end}
    src = {}
    for side, text in texts.items():
        (tmp_path / f"{side}.csv").write_text(text)
        src[side] = rows.source(tmp_path / f"{side}.csv", ds)
    out = merge.merge3(con, src["base"], src["ours"], src["theirs"], ds)
    merge.write_merged(con, out, tmp_path / "ours.csv", tmp_path / "m.csv", ds)
    assert (tmp_path / "m.csv").read_text() == "1,A\n2,b\n3,C\n4,d\n"


def test_jsonl_and_composite_keys(con: Any, tmp_path: Path) -> None:
    """JSON Lines with a two-column key and an awkward column name merge like any other format."""
    ds = Dataset(name="j", path="j.jsonl", format="jsonl", key=["a", 'b"; x'], labels=["lab el"])

    def write(side: str, recs: list[tuple[int, str, str]]) -> rows.Source:
        path = tmp_path / f"{side}.jsonl"
        path.write_text("".join(json.dumps({"a": a, 'b"; x': b, "lab el": v}) + "\n" for a, b, v in recs))
        return rows.source(path, ds)

    base = [(1, "p", "x"), (1, "q", "x"), (2, "p", "x")]
    out = merge.merge3(
        con,
        write("base", base),
        write("ours", [(1, "p", "o"), *base[1:]]),
        write("theirs", [*base[:2], (2, "p", "t")]),
        ds,
    )
    merge.write_merged(con, out, tmp_path / "ours.jsonl", tmp_path / "m.jsonl", ds)
    lines = [json.loads(s) for s in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert [r["lab el"] for r in lines] == ["o", "x", "t"]
    assert out.theirs_keys.to_pylist() == [{"a": 2, 'b"; x': "p"}]


# -- property: the engine against a brute-force three-way merge ---------------------------

VALUES = st.sampled_from([None, "a", "b", "c"])
Rows = list[tuple[int, tuple[Any, Any]]]  # (key, (u, v)) in file order
TWO = pa.schema([("id", pa.int64()), ("u", pa.string()), ("v", pa.string())])
PROP_DS = Dataset(name="p", path="p.parquet", format="parquet", key=["id"], labels=["u"])


@st.composite
def side_of(draw: Any, base: Rows) -> Rows:
    """A side: base with random cell edits and removals, new keys added, rows shuffled a little."""
    out: Rows = []
    for k, (u, v) in base:
        kind = draw(st.sampled_from(["keep", "keep", "u", "v", "both", "remove"]))
        if kind == "remove":
            continue
        u = draw(VALUES) if kind in ("u", "both") else u
        v = draw(VALUES) if kind in ("v", "both") else v
        out.append((k, (u, v)))
    for k in draw(st.lists(st.integers(5, 8), unique=True, max_size=3)):
        out.insert(draw(st.integers(0, len(out))), (k, (draw(VALUES), draw(VALUES))))
    return out


def brute_merge(base: Rows | None, ours: Rows, theirs: Rows, prefer: str | None) -> dict[str, Any]:
    """The expected merge, row by row and cell by cell in plain Python."""
    bd, od, td = dict(base or []), dict(ours), dict(theirs)
    cols = (0, 1)
    names = ("u", "v")
    result: dict[int, tuple[Any, Any]] = {}
    conflicts = []
    for k in [*od, *(k for k in td if k not in od), *(k for k in bd if k not in od and k not in td)]:
        b, o, t = bd.get(k), od.get(k), td.get(k)
        if o is not None and t is not None:
            cells = []
            for c in cols:
                changed_o = b is None or o[c] != b[c]
                changed_t = b is None or t[c] != b[c]
                if o[c] != t[c] and changed_o and changed_t:
                    conflicts.append(
                        (k, names[c], None if b is None else json.dumps(b[c]), json.dumps(o[c]), json.dumps(t[c]))
                    )
                    cells.append(t[c] if prefer == "theirs" else o[c])
                else:
                    cells.append(t[c] if b is not None and t[c] != b[c] else o[c])
            result[k] = (cells[0], cells[1])
        elif b is None:
            result[k] = o if o is not None else t  # type: ignore[assignment]
        elif (o is not None and o != b) or (t is not None and t != b):

            def js(r: Any) -> Any:
                return None if r is None else json.dumps({"u": r[0], "v": r[1]}, separators=(",", ":"))

            conflicts.append((k, "*row*", js(b), js(o), js(t)))
            kept = o if prefer == "ours" else t
            if kept is not None:
                result[k] = kept
    order = [k for k in od if k in result] + [k for k in td if k in result and k not in od]

    def carries(side: dict[int, Any], k: int, c: int) -> bool:
        return k in side and (k not in bd or side[k][c] != bd[k][c]) and result[k][c] == side[k][c]

    counts = {
        "from_ours": sum(
            1 for k in order if k in od and (k not in bd or od[k] != bd[k]) and any(carries(od, k, c) for c in cols)
        ),
        "from_theirs": sum(
            1
            for k in order
            if k in td
            and (k not in bd or td[k] != bd[k])
            and (k not in od or result[k] != od[k])
            and any(carries(td, k, c) and (k not in od or result[k][c] != od[k][c]) for c in cols)
        ),
        "added": sum(1 for k in result if k not in bd),
        "removed": sum(1 for k in bd if k not in result),
    }
    theirs_keys = sorted(k for k in result if k not in od or result[k] != od[k])
    if prefer is not None:
        conflicts = []
    return {
        "rows": [(k, *result[k]) for k in order],
        "conflicts": sorted(conflicts, key=lambda c: (c[0], -1 if c[1] == "*row*" else names.index(c[1]))),
        "counts": counts,
        "theirs_keys": theirs_keys,
    }


PROP_CSV = Dataset(name="p", path="p.csv", format="csv", key=["id"], labels=["u"], csv={"header": True})


def _csv_text(data: Rows) -> str:
    return "id,u,v\n" + "".join(f"{k},{u or ''},{v or ''}\n" for k, (u, v) in data)


def _write_rows(path: Path, data: Rows) -> rows.Source:
    tmp = path.with_name(f".{path.name}.tmp")
    if path.suffix == ".csv":
        tmp.write_text(_csv_text(data))
        os.replace(tmp, path)
        return rows.source(path, PROP_CSV)
    table = pa.table(
        {"id": [k for k, _ in data], "u": [r[0] for _, r in data], "v": [r[1] for _, r in data]}, schema=TWO
    )
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return rows.source(path, PROP_DS)


@st.composite
def cases(draw: Any) -> tuple[Rows | None, Rows, Rows, str | None]:
    """A random base (or none), two sides derived from it, and a `prefer` choice."""
    keys = draw(st.lists(st.integers(0, 4), unique=True, max_size=5))
    base: Rows = [(k, (draw(VALUES), draw(VALUES))) for k in keys]
    ours, theirs = draw(side_of(base)), draw(side_of(base))
    no_base = draw(st.booleans()) and draw(st.booleans())
    return (None if no_base else base), ours, theirs, draw(st.sampled_from([None, "ours", "theirs"]))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@settings(max_examples=50, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_merge_matches_brute_force(
    con: Any, tmp_path: Path, fmt: str, case: tuple[Rows | None, Rows, Rows, str | None]
) -> None:
    """Merged rows (in order), conflicts, counts and theirs' keys equal a brute-force merge
    (parquet, and CSV whose merged file is byte for byte the expected rows' text)."""
    base, ours, theirs, prefer = case
    ds = PROP_DS if fmt == "parquet" else PROP_CSV
    b = _write_rows(tmp_path / f"b.{fmt}", base) if base is not None else None
    out = merge.merge3(
        con, b, _write_rows(tmp_path / f"o.{fmt}", ours), _write_rows(tmp_path / f"t.{fmt}", theirs), ds, prefer=prefer
    )
    want = brute_merge(base, ours, theirs, prefer)
    got = [(str(c[0]), *c[1:]) for c in _conflicts(out)]
    assert got == [(str(c[0]), *c[1:]) for c in want["conflicts"]]
    if want["conflicts"]:
        assert out.table is None
        return
    assert out.counts == want["counts"]
    assert [str(r["id"]) for r in out.theirs_keys.to_pylist()] == [str(k) for k in want["theirs_keys"]]
    if fmt == "parquet":
        assert _rows(out) == want["rows"]
    else:
        merge.write_merged(con, out, tmp_path / "o.csv", tmp_path / "m.csv", ds)
        expected = [(k, (u, v)) for k, u, v in want["rows"]]
        assert (tmp_path / "m.csv").read_text() == _csv_text(expected)


def test_label_changes_only_when_the_result_differs_from_ours_in_labels(con: Any, tmp_path: Path) -> None:
    """`label_changes` lists the relabelled rows against ours (keys, ours' and merged label) when
    only labels of ours' rows changed; a row added or a non-label cell changed gives None."""
    ours = _edit(BASE, {1: "fox"})
    out = _merge(con, tmp_path / "a", BASE, ours, _edit(BASE, {5: "owl", 7: "emu"}))
    assert out.label_changes is not None
    assert out.label_changes.to_pylist() == [{"k0": 5, "o0": "cat", "n0": "owl"}, {"k0": 7, "o0": "cat", "n0": "emu"}]
    added = _merge(con, tmp_path / "b", BASE, ours, [*BASE, (10, 10.0, "cat")])
    assert added.table is not None and added.label_changes is None
    other = [(i, x + 1 if i == 3 else x, lab) for i, x, lab in BASE]
    moved = _merge(con, tmp_path / "c", BASE, ours, other)
    assert moved.table is not None and moved.label_changes is None
    removed = _merge(con, tmp_path / "d", BASE, ours, _edit(BASE, {4: None}))
    assert removed.table is not None and removed.label_changes is None
    assert _merge(con, tmp_path / "e", BASE, ours, ours).label_changes.num_rows == 0


def test_merged_file_hashed_while_written(tmp_path: Path) -> None:
    """`ops.merge_file._hashed_while_written` gives the md5 of what pyarrow wrote, and None (hash it
    again) when the writer replaced the file instead of appending to it."""
    import hashlib

    from dslineage.ops.merge_file import _hashed_while_written

    table = pa.table({"id": list(range(200_000)), "label": ["cat", "dog"] * 100_000})
    path = tmp_path / "m.parquet"
    md5 = _hashed_while_written(path, lambda: pq.write_table(table, path, row_group_size=10_000))
    assert md5 == hashlib.md5(path.read_bytes()).hexdigest()

    def replace() -> None:
        other = tmp_path / "other.parquet"
        pq.write_table(table, other)
        os.replace(other, path)

    assert _hashed_while_written(path, replace) is None


def test_sides_of_a_merging_state_reads_its_md5s_and_keeps_the_settlement() -> None:
    """`Sides.of` takes base, ours and theirs from a merging state's `*_md5` keys (no base: None)
    and carries the settlement it is given."""
    from dslineage.ops.merge_sides import Sides

    state = {"dataset": "t", "state": "conflicts", "ours_md5": "a" * 32, "theirs_md5": "b" * 32}
    assert Sides.of(state) == Sides(None, "a" * 32, "b" * 32)
    got = Sides.of({**state, "base_md5": "c" * 32}, prefer="theirs")
    assert (got.base, got.ours, got.theirs, got.prefer, got.resolutions) == (
        "c" * 32,
        "a" * 32,
        "b" * 32,
        "theirs",
        None,
    )
