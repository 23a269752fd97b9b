"""The key → part index of directory datasets, kept in the DuckDB index: which parts hold a key.

A cache derived from the parts themselves, never from the journal: an entry is one part's
key values, filed under the part's identity (its DVC md5, the key column names and the
partition-folder values of any key column that a folder names), so whatever versions, branches
or datasets share a part, its keys are read once ever. Deleting the index loses nothing (the
next lookup reads the parts again, with the same answers), and `fingerprint()` leaves these
tables out as it does the md5 cache.

Tables: `part_keys` (ident, md5, spec, pid, tbl, rows) lists the parts indexed; each key
signature (the key columns' DuckDB types) has a table of (pid, k0..) rows, inserted one part
at a time in key order, and a table of each part's k0 range (pid, lo, hi). A lookup first
picks the parts whose range holds an edited key, then matches the keys exactly in those parts'
rows only (contiguous, so DuckDB skips every other row group by its pid statistics).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dslineage.store.index import KEY_INDEX_PREFIX
from dslineage.store.labels import sql_type
from dslineage.store.rows import q

_CHUNK = 16  # parts read per INSERT statement (one statement per part was 2.5x slower)
PREFIX = KEY_INDEX_PREFIX  # every table of this index starts so (`Index.fingerprint` skips them)
_DDL = (
    f"CREATE TABLE IF NOT EXISTS {PREFIX} (ident VARCHAR PRIMARY KEY, md5 VARCHAR, spec VARCHAR, "
    "pid INTEGER, tbl VARCHAR, rows BIGINT)"
)


@dataclass(frozen=True)
class PartRef:
    """One part of a directory version: its path inside the directory, DVC md5 and a local file."""

    relpath: str
    md5: str
    path: Path


def _spec(keys: list[str], relpath: str) -> str:
    """What besides the bytes decides a part's key values: the key columns, and the partition
    folders' values of any key column a folder names."""
    from dslineage.store.parts import hive_values

    hive = {c: v for c, v in hive_values(relpath).items() if c in keys}
    return json.dumps({"keys": keys, "hive": hive}, sort_keys=True)


def _ident(md5: str, spec: str) -> str:
    return hashlib.sha256(f"{md5}\n{spec}".encode()).hexdigest()


def _tables(types: list[str]) -> tuple[str, str]:
    """The key table and range table of one key signature (created on first use)."""
    sig = hashlib.sha256(json.dumps(types).encode()).hexdigest()[:16]
    return f"{PREFIX}_{sig}", f"{PREFIX}_{sig}_range"  # `alias` finds the range table by this suffix


def _create(con: Any, keys: list[str], types: dict[str, str]) -> tuple[str, str]:
    typed = [sql_type(k, types[k]) for k in keys]
    tbl, rng = _tables(typed)
    cols = ", ".join(f"k{i} {t}" for i, t in enumerate(typed))
    con.execute(_DDL)
    con.execute(f"CREATE TABLE IF NOT EXISTS {q(tbl)} (pid INTEGER, {cols})")
    con.execute(f"CREATE TABLE IF NOT EXISTS {q(rng)} (pid INTEGER, lo {typed[0]}, hi {typed[0]})")
    return tbl, rng


def pids(con: Any, refs: list[PartRef], keys: list[str], types: dict[str, str]) -> dict[str, int]:
    """relpath -> pid of these parts, reading (once ever) the key columns of parts not indexed yet."""
    tbl, rng = _create(con, keys, types)
    found = indexed(con, refs, keys, types)
    missing = [r for r in refs if r.relpath not in found]
    if missing:
        found.update(_add(con, missing, keys, types, tbl, rng))
    return found


def indexed(con: Any, refs: list[PartRef], keys: list[str], types: dict[str, str]) -> dict[str, int]:
    """relpath -> pid of those of these parts already indexed (nothing is read)."""
    _create(con, keys, types)
    idents = {_ident(r.md5, _spec(keys, r.relpath)): r.relpath for r in refs}
    rows = con.execute(f"SELECT ident, pid FROM {PREFIX} WHERE list_contains(?, ident)", [list(idents)]).fetchall()
    return {idents[i]: int(p) for i, p in rows}


def _next_pid(con: Any) -> int:
    return int(con.execute(f"SELECT coalesce(max(pid), 0) + 1 FROM {PREFIX}").fetchone()[0])


def _add(con: Any, refs: list[PartRef], keys: list[str], types: dict[str, str], tbl: str, rng: str) -> dict[str, int]:
    """Read these parts' key columns (DuckDB, a few parts per statement) and file each under a
    new pid, in one transaction."""
    from dslineage.store import parts

    cast = ", ".join(f"CAST({q(k)} AS {sql_type(k, types[k])})" for k in keys)
    out: dict[str, int] = {}
    first = pid = _next_pid(con)
    con.execute("BEGIN TRANSACTION")
    try:
        for at in range(0, len(refs), _CHUNK):
            scans, params = [], []
            for r in refs[at : at + _CHUNK]:
                src = parts.source([(r.relpath, r.path)], r.relpath)
                scans.append(f"SELECT {int(pid)}, {cast} FROM {src.sql}")
                params += list(src.params)
                con.execute(
                    f"INSERT INTO {PREFIX} VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        _ident(r.md5, _spec(keys, r.relpath)),
                        r.md5,
                        _spec(keys, r.relpath),
                        pid,
                        tbl,
                        parts.row_count([r.path]),
                    ],
                )
                out[r.relpath] = pid
                pid += 1
            con.execute(f"INSERT INTO {q(tbl)} {' UNION ALL '.join(scans)}", params)
        con.execute(
            f"INSERT INTO {q(rng)} SELECT pid, min(k0), max(k0) FROM {q(tbl)} "
            f"WHERE pid BETWEEN {int(first)} AND {int(pid) - 1} GROUP BY pid"
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return out


def alias(con: Any, relpath: str, old_md5: str, new_md5: str, keys: list[str]) -> None:
    """File the part `relpath` with md5 `new_md5`, which holds exactly the keys of its indexed
    version `old_md5` (a label edit rewrote it), under those keys without reading it; nothing
    when the old part is not indexed (or the index has no table yet) or the new one is."""
    import duckdb

    spec = _spec(keys, relpath)
    try:
        row = con.execute(f"SELECT pid, tbl FROM {PREFIX} WHERE ident = ?", [_ident(old_md5, spec)]).fetchone()
        if row is None or con.execute(f"SELECT 1 FROM {PREFIX} WHERE ident = ?", [_ident(new_md5, spec)]).fetchone():
            return
    except duckdb.CatalogException:
        return
    old_pid, tbl = int(row[0]), str(row[1])
    pid = _next_pid(con)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"INSERT INTO {q(tbl)} SELECT {pid}, * EXCLUDE (pid) FROM {q(tbl)} WHERE pid = {old_pid}")
        con.execute(
            f"INSERT INTO {q(tbl + '_range')} SELECT {pid}, lo, hi FROM {q(tbl + '_range')} WHERE pid = {old_pid}"
        )
        con.execute(
            f"INSERT INTO {PREFIX} SELECT ?, ?, ?, ?, tbl, rows FROM {PREFIX} WHERE pid = {old_pid}",
            [_ident(new_md5, spec), new_md5, spec, pid],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def added_keys(con: Any, n_keys: int, table: str = "_chg") -> Any:
    """The keys a change set adds (its `added` rows), as Arrow k0.."""
    from dslineage.store.labels import arrow, klist

    return arrow(con.execute(f"SELECT {klist(n_keys)} FROM {q(table)} WHERE change = 'added'"))


def staged_keys(con: Any, n_keys: int) -> Any:
    """The distinct keys of the staged edits (`_dsl_edits` of `edit_batch.stage`), as Arrow k0.."""
    from dslineage.store.labels import arrow, klist

    return arrow(con.execute(f"SELECT DISTINCT {klist(n_keys)} FROM _dsl_edits"))


def holding(con: Any, pid_of: dict[str, int], keys: list[str], types: dict[str, str], wanted: Any) -> set[str]:
    """The relpaths (of `pid_of`'s parts) holding any of the `wanted` keys (Arrow: k0.. typed
    like the key columns); parts are picked by their k0 range first, then matched exactly."""
    tbl, rng = _create(con, keys, types)
    if not pid_of or wanted.num_rows == 0:
        return set()
    relpath_of = {p: rel for rel, p in pid_of.items()}
    con.register("_dsl_wanted", wanted)
    try:
        lo, hi = con.execute("SELECT min(k0), max(k0) FROM _dsl_wanted").fetchone()
        candidates = [
            int(p)
            for (p,) in con.execute(
                f"SELECT pid FROM {q(rng)} WHERE list_contains(?, pid) AND lo <= ? AND hi >= ? "
                f"AND EXISTS (SELECT 1 FROM _dsl_wanted w WHERE w.k0 BETWEEN lo AND hi)",
                [list(relpath_of), hi, lo],
            ).fetchall()
        ]
        hit: set[int] = set()
        on = " AND ".join(f"t.k{i} = w.k{i}" for i in range(len(keys)))
        for pid in sorted(candidates):  # one part's contiguous rows at a time: pruned by pid statistics
            row = con.execute(  # the pid as a literal (an int): a bound parameter is not pushed into the scan
                f"SELECT 1 FROM {q(tbl)} t SEMI JOIN _dsl_wanted w ON {on} WHERE t.pid = {int(pid)} LIMIT 1"
            ).fetchone()
            if row:
                hit.add(pid)
    finally:
        con.unregister("_dsl_wanted")
    return {relpath_of[p] for p in hit}
