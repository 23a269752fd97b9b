"""An audit's statistics of a directory dataset, computed by engine tasks over batches of parts
and reduced on the client to exactly what `store.profile` computes over the union of the parts.

* `part_stats` (one task per batch of parts, about four batches per engine slot): the counts of
  every value of each label column, the (group, label) counts, and the sorted 64-bit hashes of
  the duplicate columns' values;
* the client sums the counts (`value_counts`, `crosstab`, same order as `profile`'s) and finds
  the hashes seen twice or more across all parts (duplicates may sit in different parts);
* `part_rows` (second round, only the batches holding such a hash): the rows with one of those
  hashes, from which `profile.conflicts_among` groups the duplicates exactly, as locally.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dslineage.store.partdiff import part_select, task_error
from dslineage.store.parttask import TaskReads, task_cursor
from dslineage.store.profile import _distinct, conflicts_among
from dslineage.store.rows import plain, q


def _hash(cols: list[str]) -> str:
    return f"hash({', '.join(q(c) for c in cols)})"  # as profile._hashes: nulls hash alike


def _select(con: Any, parts: list[tuple[str, str]], names: list[str], cols: dict[str, str]) -> str:
    """The rows (columns `names`) of several parts: one scan each, UNION ALL."""
    return " UNION ALL ".join(f"({part_select(con, rel, loc, names, cols)})" for rel, loc in parts)


def _where(parts: list[tuple[str, str]]) -> str:
    return f"part {parts[0][0]}" if len(parts) == 1 else f"parts {parts[0][0]} .. {parts[-1][0]}"


def part_stats(
    parts: list[tuple[str, str]],
    names: list[str],
    cols: dict[str, str],
    labels: list[str],
    group: str | None,
    dup_cols: list[str],
    threads: int | None,
    reads: Any = None,
) -> tuple[list[Any], Any, Any, TaskReads]:
    """One task over a few parts ((relpath, location) each): ([(value, n) table per label column],
    (g, l, n) table of `group` × the first label or None, sorted uint64 hashes of `dup_cols` or
    None, what it read from the remote)."""
    import duckdb
    import numpy as np

    with task_cursor(threads, reads, [loc for _, loc in parts]) as (con, tally):
        try:
            con.execute(f"CREATE TEMP TABLE t AS {_select(con, parts, names, cols)}")
            counts = [
                con.execute(f"SELECT {q(c)} AS v, count(*) AS n FROM t GROUP BY 1").to_arrow_table() for c in labels
            ]
            cross = None
            if group is not None and labels:
                cross = con.execute(
                    f"SELECT {q(group)} AS g, {q(labels[0])} AS l, count(*) AS n FROM t GROUP BY 1, 2"
                ).to_arrow_table()
            hashes = None
            if dup_cols:
                hashes = np.sort(con.execute(f"SELECT {_hash(dup_cols)} AS h FROM t").fetchnumpy()["h"])
            return counts, cross, hashes, tally.reads()
        except duckdb.Error as exc:
            raise task_error(f"audit {_where(parts)}", [loc for _, loc in parts], exc, tally, reads) from None


def part_rows(
    parts: list[tuple[str, str]],
    names: list[str],
    cols: dict[str, str],
    dup_cols: list[str],
    hashes: Any,
    threads: int | None,
    reads: Any = None,
) -> tuple[Any, TaskReads]:
    """One task: the rows (columns `names`) of a few parts whose hash of `dup_cols` is one of `hashes`."""
    import duckdb
    import numpy as np
    import pyarrow as pa

    with task_cursor(threads, reads, [loc for _, loc in parts]) as (con, tally):
        try:
            # a fresh (aligned) copy: an unpickled array's buffer may be misaligned for Arrow's scanner
            con.register("_hs", pa.table({"h": pa.array(np.array(hashes, dtype=np.uint64), pa.uint64())}))
            select = _select(con, parts, names, cols)
            got = con.execute(f"SELECT r.* FROM ({select}) AS r SEMI JOIN _hs ON {_hash(dup_cols)} = _hs.h")
            return got.to_arrow_table(), tally.reads()
        except duckdb.Error as exc:
            raise task_error(f"audit {_where(parts)}", [loc for _, loc in parts], exc, tally, reads) from None


def repeated_hashes(hashes: Sequence[Any]) -> Any:
    """The hashes that occur twice or more across the parts' sorted hash arrays."""
    import numpy as np

    h = np.sort(np.concatenate(hashes)) if hashes else np.zeros(0, np.uint64)
    return _distinct(h[1:][h[1:] == h[:-1]])


def holding(hashes: Any, wanted: Any) -> bool:
    """Whether a part's sorted hashes hold any of the `wanted` (sorted, distinct) ones."""
    import numpy as np

    if len(hashes) == 0 or len(wanted) == 0:
        return False
    idx = np.minimum(np.searchsorted(hashes, wanted), len(hashes) - 1)
    return bool((hashes[idx] == wanted).any())


def _summed(con: Any, tables: list[Any], by: str, order: str) -> list[tuple[Any, ...]]:
    """Sum the `n` of the tasks' tables by columns `by`, ordered by `order` (profile's order)."""
    import pyarrow as pa

    if not tables:
        return []
    con.register("_ps", pa.concat_tables(tables, promote_options="permissive").combine_chunks())
    try:
        found = con.execute(f"SELECT {by}, CAST(sum(n) AS BIGINT) FROM _ps GROUP BY ALL ORDER BY {order}").fetchall()
    finally:
        con.unregister("_ps")
    return [tuple(plain(v) for v in row[:-1]) + (int(row[-1]),) for row in found]


def value_counts(con: Any, tables: list[Any]) -> list[tuple[Any, int]]:
    """`profile.value_counts` from the tasks' (value, n) tables."""
    return [(v, n) for v, n in _summed(con, tables, "v", "2 DESC, 1 NULLS LAST")]


def crosstab(con: Any, tables: list[Any]) -> list[tuple[Any, Any, int]]:
    """`profile.crosstab` from the tasks' (group, label, n) tables."""
    return [(g, lab, n) for g, lab, n in _summed(con, tables, "g, l", "1, 2")]


def conflicting_duplicates(
    con: Any, rows_found: list[Any], on: list[str], labels: list[str], keys: list[str], limit: int
) -> dict[str, Any]:
    """`profile.conflicting_duplicates` from the candidate rows the second round found."""
    import pyarrow as pa

    names = list(dict.fromkeys([*on, *labels, *keys]))
    if rows_found:
        con.register("_pr", pa.concat_tables(rows_found, promote_options="permissive").combine_chunks())
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE _confc AS SELECT * FROM _pr")
        finally:
            con.unregister("_pr")
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _confc AS SELECT " + ", ".join(f"NULL AS {q(c)}" for c in names) + " LIMIT 0"
        )
    return conflicts_among(con, q("_confc"), on, labels, keys, limit)
