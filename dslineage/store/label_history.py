"""Row-level SQL for `blame`, key history and `impact`, run on the index connection (they
read its change tables and the batches' edits files)."""

from __future__ import annotations

from typing import Any

from dslineage.config import Dataset
from dslineage.store.labels import arrow, keys_eq, klist
from dslineage.store.rows import plain, q

BLAME_COLUMNS = ("label", "version", "seq", "batch", "author", "reason", "timestamp", "restored_by")


def key_alias(name: str) -> str:
    """The blame output column of a key column (prefixed when it collides with a fixed one)."""
    return f"key.{name}" if name in BLAME_COLUMNS else name


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
            f"setters AS (SELECT {klist(n, 'c.')}, arg_max(ch.vidx, c.seq) AS vidx FROM {changes} c "
            "JOIN _dsl_chain ch ON ch.id = c.version "
            f"WHERE c.change = 'added' OR (c.change = 'relabeled' AND c.o{j} IS DISTINCT FROM c.n{j}) "
            f"GROUP BY {klist(n, 'c.')})"
        )
    else:
        ctes.append(
            f"setters AS (SELECT {', '.join(f'NULL AS k{i}' for i in range(n))}, NULL::INTEGER AS vidx WHERE false)"
        )
    hit = "false"
    if edit_files:
        coded = (
            "FROM read_parquet(?, filename = true, union_by_name = true) e "
            "JOIN _dsl_batches b ON b.file = e.filename "
            "LEFT JOIN _dsl_names na ON na.name = e.annotator LEFT JOIN _dsl_names nr ON nr.name = e.reason"
        )
        if shared:  # a version carrying several batches: the latest (highest bidx) edit of a key wins
            ctes.append(
                f"edits AS (SELECT b.vidx, {klist(n, 'e.')}, {{'b': max(b.bidx), "
                "'a': arg_max(COALESCE(na.idx, b.aidx, -1), b.bidx), "
                "'r': arg_max(COALESCE(nr.idx, b.ridx, -1), b.bidx), "
                f"'t': arg_max(b.tidx, b.bidx), 'n': arg_max(e.new, b.bidx)}} AS w {coded} "
                f"GROUP BY b.vidx, {klist(n, 'e.')})"
            )
        else:  # keys are unique within a batch: no aggregation needed
            ctes.append(
                f"edits AS (SELECT b.vidx, {klist(n, 'e.')}, {{'b': b.bidx, 'a': COALESCE(na.idx, b.aidx, -1), "
                f"'r': COALESCE(nr.idx, b.ridx, -1), 't': b.tidx, 'n': e.new}} AS w {coded})"
            )
        params.append(edit_files)
        on_e = " AND ".join(f"e.k{i} = s.k{i}" for i in range(n))
        ctes.append(
            f"info AS (SELECT {klist(n, 's.')}, s.vidx, ch.seq, ch.aidx, ch.tidx, e.w FROM setters s "
            f"JOIN _dsl_chain ch ON ch.vidx = s.vidx LEFT JOIN edits e ON e.vidx = s.vidx AND {on_e})"
        )
        hit = f"(i.w.b IS NOT NULL AND i.w.n IS NOT DISTINCT FROM f.{label})"
    else:
        ctes.append(
            f"info AS (SELECT {klist(n, 's.')}, s.vidx, ch.seq, ch.aidx, ch.tidx, "
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
    ks = klist(n_keys, "e.")
    on = " AND ".join(f"src.k{i} = rv.k{i}" for i in range(n_keys))
    return arrow(
        con.execute(
            f"WITH e AS (SELECT b.bidx, b.vidx, b.tidx, {ks}, CAST(e.new AS VARCHAR) AS new, "
            "COALESCE(na.idx, b.aidx, -1) AS a, COALESCE(nr.idx, b.ridx, -1) AS r "
            "FROM read_parquet(?, filename = true, union_by_name = true) e JOIN _dsl_batches b ON b.file = e.filename "
            "LEFT JOIN _dsl_names na ON na.name = e.annotator LEFT JOIN _dsl_names nr ON nr.name = e.reason) "
            f"SELECT rv.bidx AS rbidx, {klist(n_keys, 'rv.')}, "
            "arg_max({'b': src.bidx, 'v': src.vidx, 'a': src.a, 'r': src.r, 't': src.tidx}, src.bidx) AS w "
            f"FROM e rv JOIN e src ON {on} AND src.bidx < rv.bidx AND src.new IS NOT DISTINCT FROM rv.new "
            "WHERE list_contains(?::INTEGER[], rv.bidx) AND NOT list_contains(?::INTEGER[], src.bidx) "
            f"GROUP BY rv.bidx, {klist(n_keys, 'rv.')}",
            [edit_files, list(reverts), list(reverts)],
        )
    )


def key_provenance(con: Any, edit_files: list[str], key: list[Any]) -> list[dict[str, Any]]:
    """Every edit of one key in the given batch edits files (`_dsl_batches` maps file → batch)."""
    if not edit_files:
        return []
    from dslineage.store.rows import duckdb_module

    duckdb = duckdb_module()  # `history` skips the package's import (see there)
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
        f"WITH ev AS (SELECT c.version, {klist(n_keys, 'c.')} FROM {changes} c "
        f"SEMI JOIN read_parquet(?) e ON {keys_eq('c', 'e', n_keys)} "
        f"WHERE c.change = 'removed' OR (c.change = 'relabeled' AND c.o{j} IS DISTINCT FROM c.n{j})) "
        f"SELECT p.version, count(DISTINCT ({klist(n_keys, 'ev.')})) FROM _dsl_paths p "
        "JOIN ev ON ev.version = p.ancestor GROUP BY p.version",
        [edits_file],
    ).fetchall()
    return {v: int(n) for v, n in rows}
