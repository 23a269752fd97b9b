"""Building the three-way merge's result in Arrow (see `store/merge.py`): ours' table with
the merged cells spliced in (vectorised), removed rows filtered out, theirs' new rows and
columns appended, each value cast to the column's final type."""

from __future__ import annotations

from typing import Any

from dslineage.config import Dataset
from dslineage.errors import SchemaConflictError
from dslineage.store.merge_plan import RN, _Col
from dslineage.store.rows import q


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
        theirs_values = arrow(con.execute(f"SELECT o.{q(RN)} AS {q(RN)}, {picked} FROM _mg_o o JOIN _mg_t t ON {keys}"))
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
            f"bool_or({'true' if c.text or not c.has('o') else f'v{c.j} IS DISTINCT FROM o{c.j}'})" for _, c in vcols
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
    added = arrow(
        con.execute(f"SELECT {ksel}{', ' + vsel if vsel else ''} FROM _mg_r WHERE _present AND ro IS NULL ORDER BY rt")
    )
    if added.num_rows:
        extra = []
        for i, name in enumerate(names):
            col = added.column(f"k{ds.key.index(name)}" if name in ds.key else f"v{by_name[name].j}")
            extra.append(_as(col.combine_chunks(), schema.field(i).type))
        table = pa.concat_tables([table, pa.Table.from_arrays(extra, schema=schema)])
        if origin is not None:
            origin = np.concatenate([origin, np.full(added.num_rows, -1, dtype=np.int64)])
    return table, (None if origin is None else {"rows": n, "index": origin})
