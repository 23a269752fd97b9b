"""The SQL of the three-way merge's cell-by-cell decisions (see `store/merge.py`): the
merged value, conflict and provenance expressions per column (`_Sql`), dropped-column
checks, the merged rows, the label-only change set and the conflict table."""

from __future__ import annotations

from typing import Any

from dslineage.config import Dataset
from dslineage.errors import SchemaConflictError
from dslineage.store.merge_plan import _NAMES, ROW, SIDES, _Col, _json_to
from dslineage.store.rows import Source, literal, q


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
        return f"COALESCE(list_contains(r.rc, {literal(name)}), false)"

    def res(self, name: str) -> str:
        return f"r.rm[{literal(name)}]"

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
            row = f"from_json({self.res(ROW)}, '\"MAP(VARCHAR, JSON)\"')[{literal(c.name)}]"
            parts.append(f"WHEN _rc AND {self.has_res(ROW)} THEN {_json_to(row, c.final)}")
            parts.append(f"WHEN _c{c.j} AND {self.has_res(c.name)} THEN {_json_to(self.res(c.name), c.final)}")
        parts.append(f"WHEN _c{c.j} THEN {side}")
        return f"CASE {' '.join(parts)} ELSE {self.merged(c)} END"


def _row_json(s: str, sql: _Sql, cols: list[_Col]) -> str:
    fields = [f"{literal(c.name)}: {sql.val(s, c)}" for c in cols if c.has(s)]
    body = f"to_json({{{', '.join(fields)}}})" if fields else "'{}'"
    return f"CASE WHEN {sql.p[s]} THEN {body} END"


def _cell_json(s: str, sql: _Sql, c: _Col) -> str:
    return f"CASE WHEN {sql.p[s]} THEN COALESCE(CAST(to_json({sql.val(s, c)}) AS VARCHAR), 'null') END"


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
    values += [f"(_c{c.j} AND NOT {sql.has_res(c.name)}) AS _u{c.j}" for c in cols if c.has("o") and c.has("t")]
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
    new = {
        s: [f"((NOT {sql.p['b']} OR {sql.dist(s, 'b', c)}) AND {same(c, s)})" for c in kept if c.has(s)]
        for s in ("o", "t")
    }
    carries_o = " OR ".join(new["o"]) or "false"
    carries_t = (
        " OR ".join(
            f"({x} AND (m.ro IS NULL OR NOT {same(c, 'o')}))" if c.has("o") else x
            for x, c in zip(new["t"], [c for c in kept if c.has("t")])
        )
        or "false"
    )
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
    if any(
        c.has("o") != (c.final is not None) or (c.final is not None and c.final != c.types["o"]) for c in cols
    ) or any(lb not in by_name for lb in ds.labels):
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
    return arrow(
        con.execute(
            f"SELECT * FROM (SELECT {', '.join(keys + olds + news)} FROM _mg_r m "
            f"WHERE m._present AND m._dif) ORDER BY {order}"
        )
    )


def _conflicts(con: Any, ds: Dataset, cols: list[_Col], sql: _Sql, key_types: list[str]) -> Any:
    """The unresolved conflicts: keys, `column`, `base`, `ours`, `theirs` (JSON text), by key."""
    from dslineage.store.labels import arrow

    keys = _typed_keys(ds, key_types)
    parts = []
    if sql.prefer is None:
        parts.append(
            f"SELECT {keys}, {literal(ROW)} AS {q('column')}, -1 AS _ord, {_row_json('b', sql, cols)} AS base, "
            f"{_row_json('o', sql, cols)} AS ours, {_row_json('t', sql, cols)} AS theirs "
            f"FROM _mg_r m WHERE _rc AND _present IS NULL"
        )
        for c in cols:
            if not (c.has("o") and c.has("t")):
                continue
            parts.append(
                f"SELECT {keys}, {literal(c.name)}, {c.j}, {_cell_json('b', sql, c)}, {_cell_json('o', sql, c)}, "
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
