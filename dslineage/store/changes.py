"""SQL over the journal's change sets (as indexed): a label diff of two versions without their bytes.

A clone that pulled only the latest data still has every version's change set (keys, change
kind, old and new labels). Folding the change sets of the versions between A and B gives,
per key, whether it existed in A and in B and its labels there: exact counts of added,
removed and relabeled rows and exact label transitions. Values of other columns are not in
the journal, so a row whose features changed and changed back still counts as modified.
"""

from __future__ import annotations

from typing import Any

from dslineage.store.index import changes_table
from dslineage.store.rows import plain


def fold(con: Any, dataset: str, version_ids: list[str], nkeys: int, nlabels: int) -> dict[str, Any]:
    """Counts, label-column counts and label transitions of the versions `version_ids` combined."""
    empty = {"added": 0, "removed": 0, "relabeled": 0, "modified": 0, "labels": [0] * nlabels,
             "transitions": [[] for _ in range(nlabels)]}
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [f"changes/{dataset}"]
    ).fetchone()[0]
    if not exists or not version_ids:
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
        transitions = [
            [
                {"from": plain(old), "to": plain(new), "count": n}
                for old, new, n in con.execute(
                    f"SELECT a{i}, b{i}, count(*) FROM _fold WHERE in_a AND in_b AND {differs[i]} "
                    "GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"
                ).fetchall()
            ]
            for i in range(nlabels)
        ]
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
