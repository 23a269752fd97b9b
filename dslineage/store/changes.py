"""SQL over the journal's change sets (as indexed): a label diff of two versions without their bytes.

A clone that pulled only the latest data still has every version's change set (keys, change
kind, old and new labels). Folding the change sets of the versions between A and B gives,
per key, whether it existed in A and in B and its labels there: exact counts of added,
removed and relabeled rows and exact label transitions. Values of other columns are not in
the journal, so a row whose features changed and changed back still counts as modified.
"""

from __future__ import annotations

import json
from typing import Any

from dslineage.store.index import changes_table
from dslineage.store.rows import plain


def _indexed(con: Any, dataset: str) -> bool:
    """Whether the index holds a change-set table for `dataset`."""
    found = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [f"changes/{dataset}"]).fetchone()[
        0
    ]
    return bool(found)


def _transitions(con: Any, table: str, alias: str, both: str, differs: list[str]) -> list[list[dict[str, Any]]]:
    """Per label column i: its (from, to, count) label transitions among the rows of `table`
    in both versions (`both`) whose label differs (`differs[i]`), most frequent first;
    `alias` prefixes the label columns a{i}/b{i}."""
    return [
        [
            {"from": plain(old), "to": plain(new), "count": n}
            for old, new, n in con.execute(
                f"SELECT {alias}a{i}, {alias}b{i}, count(*) FROM {table} WHERE {both} AND {d} "
                "GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"
            ).fetchall()
        ]
        for i, d in enumerate(differs)
    ]


def fold(con: Any, dataset: str, version_ids: list[str], nkeys: int, nlabels: int) -> dict[str, Any]:
    """Counts, label-column counts and label transitions of the versions `version_ids` combined."""
    empty = {
        "added": 0,
        "removed": 0,
        "relabeled": 0,
        "modified": 0,
        "labels": [0] * nlabels,
        "transitions": [[] for _ in range(nlabels)],
    }
    if not _indexed(con, dataset) or not version_ids:
        return empty
    keys = ", ".join(f"k{i}" for i in range(nkeys))
    olds = "".join(f", fst.o{i} AS a{i}" for i in range(nlabels))
    news = "".join(f", lst.n{i} AS b{i}" for i in range(nlabels))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _fold AS
        WITH ranked AS (
            SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY seq) AS f,
                      row_number() OVER (PARTITION BY {keys} ORDER BY seq DESC) AS l
            FROM {changes_table(dataset)} WHERE list_contains(?::VARCHAR[], version))
        SELECT fst.change <> 'added' AS in_a, lst.change <> 'removed' AS in_b{olds}{news}
        FROM (SELECT * FROM ranked WHERE f = 1) fst
        JOIN (SELECT * FROM ranked WHERE l = 1) lst USING ({keys})""",
        [version_ids],
    )
    try:
        differs = [f"a{i} IS DISTINCT FROM b{i}" for i in range(nlabels)]
        relabeled = " OR ".join(differs) or "false"
        label_counts = "".join(f", count(*) FILTER (WHERE in_a AND in_b AND {d})" for d in differs)
        row = con.execute(
            "SELECT count(*) FILTER (WHERE NOT in_a AND in_b), count(*) FILTER (WHERE in_a AND NOT in_b), "
            f"count(*) FILTER (WHERE in_a AND in_b AND ({relabeled})), "
            f"count(*) FILTER (WHERE in_a AND in_b){label_counts} FROM _fold"
        ).fetchone()
        transitions = _transitions(con, "_fold", "", "in_a AND in_b", differs)
    finally:
        con.execute("DROP TABLE IF EXISTS _fold")
    return {
        "added": int(row[0]),
        "removed": int(row[1]),
        "relabeled": int(row[2]),
        "modified": int(row[3]),
        "labels": [int(v) for v in row[4:]],
        "transitions": transitions,
    }


def chain(con: Any, dataset: str) -> dict[str, dict[str, Any]]:
    """Per version of `dataset`: first parent, seq, schema (JSON text) and whether its change set
    folds exactly (changes known and recorded with value digests, see `rows.build_changes`)."""
    rows = con.execute(
        "SELECT id, parent, seq, schema, changes_known, changes_file, "
        "COALESCE(json_extract(record, '$.changes.digests')::BOOLEAN, false) FROM versions WHERE dataset = ?",
        [dataset],
    ).fetchall()
    return {
        vid: {"parent": parent, "seq": seq, "schema": schema, "exact": bool(known and digests and file)}
        for vid, parent, seq, schema, known, file, digests in rows
    }


def recorded(con: Any, version: str) -> dict[str, Any] | None:
    """The diff against its first parent that a version's commit recorded whole (`added`,
    `removed`, `relabeled`, `modified` — non-label changes only —, per-column `columns` and
    `transitions` in the diff's order), None for a record without it (older, or no change set)."""
    found = con.execute(
        "SELECT json_extract(record, '$.changes') FROM versions WHERE id = ? AND changes_known", [version]
    ).fetchone()
    if found is None or found[0] is None:
        return None
    ch = json.loads(found[0]) if isinstance(found[0], str) else found[0]
    need = ("added", "removed", "relabeled", "modified", "columns", "transitions")
    return ch if all(ch.get(k) is not None for k in need) and ch.get("digests") else None


def fold_exact(
    con: Any,
    dataset: str,
    back: list[str],
    forward: list[str],
    nkeys: int,
    labels: list[str],
    compared: list[str],
    *,
    changed: int | None = 0,
) -> dict[str, Any]:
    """The exact diff A → B from change sets: `back` are the versions from A down to a common
    ancestor (their events undone, newest first), `forward` those from it up to B.

    Per key, the first and the last event between A and B give whether it exists in A and in
    B and its labels there; per column, the first event that touched it gives the digest of
    its value in A and the last one its digest in B: the column is modified iff they differ.
    Every change set must carry `d` (see `rows.build_changes`). `compared` are the columns a
    byte-level diff compares (labels among them); counts come back in that order.
    `changed` (a count, or None for all) adds `changed`: a pyarrow table of the first changed
    rows by key (`k0..`, `change`), as the byte-level diff's changes table has them.
    """
    nlabels = len(labels)
    empty: dict[str, Any] = {
        "added": 0,
        "removed": 0,
        "relabeled": 0,
        "modified": 0,
        "columns": {},
        "transitions": [[] for _ in range(nlabels)],
    }
    if not _indexed(con, dataset) or not (back or forward):
        if changed != 0:
            import pyarrow as pa

            empty["changed"] = pa.table(
                {**{f"k{i}": pa.array([]) for i in range(nkeys)}, "change": pa.array([], pa.string())}
            )
        return empty
    keys = ", ".join(f"k{i}" for i in range(nkeys))
    is_back = "list_contains(?::VARCHAR[], version)"
    labs = "".join(
        f", CASE WHEN {is_back} THEN n{i} ELSE o{i} END AS o{i}, CASE WHEN {is_back} THEN o{i} ELSE n{i} END AS n{i}"
        for i in range(nlabels)
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _ev AS
        SELECT {keys}, CASE WHEN {is_back} THEN -seq ELSE 1000000000000 + seq END AS ord,
            CASE WHEN NOT {is_back} THEN change WHEN change = 'added' THEN 'removed'
                 WHEN change = 'removed' THEN 'added' ELSE change END AS change{labs},
            CASE WHEN {is_back} THEN list_transform(d, e_ -> {{'c': e_.c, 'o': e_.n, 'n': e_.o}}) ELSE d END AS d
        FROM {changes_table(dataset)} WHERE list_contains(?::VARCHAR[], version)""",
        [back] * (3 + 2 * nlabels) + [back + forward],
    )
    try:
        firsts = "".join(f", arg_min_null(o{i}, ord) AS a{i}, arg_max_null(n{i}, ord) AS b{i}" for i in range(nlabels))
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _fx AS
            SELECT {keys}, arg_min_null(change, ord) <> 'added' AS in_a,
                   arg_max_null(change, ord) <> 'removed' AS in_b{firsts}
            FROM _ev GROUP BY {keys}"""
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _fc AS
            SELECT {keys}, c FROM (
                SELECT {keys}, x.c AS c, arg_min_null(x.o, ord) AS va, arg_max_null(x.n, ord) AS vb
                FROM (SELECT {keys}, ord, unnest(d) AS x FROM _ev) GROUP BY {keys}, x.c)
            WHERE va IS DISTINCT FROM vb AND list_contains(?::VARCHAR[], c)""",
            [[c for c in compared if c not in labels]],
        )
        differs = [f"f.a{i} IS DISTINCT FROM f.b{i}" for i in range(nlabels)]
        relabeled = " OR ".join(differs) or "false"
        both = "f.in_a AND f.in_b"
        on = " AND ".join(f"f.k{i} = c.k{i}" for i in range(nkeys))
        row = con.execute(
            f"""SELECT count(*) FILTER (WHERE NOT f.in_a AND f.in_b), count(*) FILTER (WHERE f.in_a AND NOT f.in_b),
                count(*) FILTER (WHERE {both} AND ({relabeled})),
                count(*) FILTER (WHERE {both} AND (({relabeled})
                                 OR EXISTS (SELECT 1 FROM _fc c WHERE {on})))
                {"".join(f", count(*) FILTER (WHERE {both} AND {d})" for d in differs)}
            FROM _fx f"""
        ).fetchone()
        per_column = dict(
            con.execute(f"SELECT c.c, count(*) FROM _fc c JOIN _fx f ON {on} WHERE {both} GROUP BY 1").fetchall()
        )
        transitions = _transitions(con, "_fx f", "f.", both, differs)
        rows_changed = None
        if changed != 0:
            fk = ", ".join(f"f.k{i}" for i in range(nkeys))
            lim = f" LIMIT {int(changed)}" if changed is not None else ""
            rows_changed = con.execute(
                f"""SELECT {fk}, CASE WHEN NOT f.in_a THEN 'added' WHEN NOT f.in_b THEN 'removed'
                    WHEN {relabeled} THEN 'relabeled' ELSE 'modified' END AS change
                FROM _fx f WHERE f.in_a <> f.in_b OR ({both} AND (({relabeled})
                                 OR EXISTS (SELECT 1 FROM _fc c WHERE {on})))
                ORDER BY {fk}{lim}"""
            ).to_arrow_table()
    finally:
        for t in ("_ev", "_fx", "_fc"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    label_counts = dict(zip(labels, (int(v) for v in row[4:])))
    counts = {c: label_counts[c] if c in label_counts else int(per_column.get(c, 0)) for c in compared}
    return {
        "added": int(row[0]),
        "removed": int(row[1]),
        "relabeled": int(row[2]),
        "modified": int(row[3]),
        "columns": {c: n for c, n in counts.items() if n},
        "transitions": transitions,
        **({"changed": rows_changed} if rows_changed is not None else {}),
    }
