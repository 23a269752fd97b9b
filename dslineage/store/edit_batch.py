"""Row-level SQL for an edit batch, in DuckDB: checking and staging the edits (one row
per key), joining them to the dataset file loaded by `labels`, and the label-pair check of
`track --label-pair`. Identifiers are quoted with `q()`, values are bound."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from dslineage.config import Dataset
from dslineage.errors import EditError
from dslineage.store.labels import OPTIONAL, SAMPLE, arrow, keys_eq, klist, sql_type, stage_allowed
from dslineage.store.rows import plain, q


def stage(
    con: Any,
    src_sql: str,
    params: list[Any],
    ds: Dataset,
    column: str,
    types: dict[str, str],
    allowed: list[Any] | None,
    what: str,
    *,
    blanks: bool = False,
) -> int:
    """Check an edits relation and stage it, one row per key, as temp table `_dsl_edits`.

    `blanks` (a file editing several label columns): a row with an empty cell in `column`
    leaves that column alone, and no edit at all for the column is no error (returns 0).

    Columns: `k0..` typed keys, `new` (typed like the label column), `annotator`,
    `reason`, `confidence`. Errors name the problem, a few offending rows and the fix.
    Returns the number of edits read (before identical duplicates are merged).
    """
    import duckdb

    try:
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src_sql}", params).fetchall()]
    except duckdb.Error as exc:
        raise EditError(f"cannot read {what}: {str(exc).splitlines()[0][:200]}") from None
    missing = [k for k in ds.key if k not in names]
    label_col = next((c for c in (column, "new_label", "new", "label") if c in names and c not in ds.key), None)
    if missing or label_col is None:
        need = ", ".join(missing + ([] if label_col else [f"{column} (or new_label)"]))
        raise EditError(
            f"{what} has no column {need} (columns: {', '.join(names[:12])}): "
            f"give the key column(s) {', '.join(ds.key)} and the new label"
        )
    lt = sql_type(column, types[column])
    cols = [f"CAST({q(k)} AS VARCHAR) AS t{i}" for i, k in enumerate(ds.key)]
    cols += [f"TRY_CAST({q(k)} AS {sql_type(k, types[k])}) AS k{i}" for i, k in enumerate(ds.key)]
    cols += [f"CAST({q(label_col)} AS VARCHAR) AS new_text", f"TRY_CAST({q(label_col)} AS {lt}) AS new"]
    old_col = next((c for c in (f"old_{column}", "old") if c in names and c not in (*ds.key, label_col)), None)
    if old_col is not None:  # the label each row is expected to have now (`relabel --expect-old`)
        cols += [
            f"CAST({q(old_col)} AS VARCHAR) AS old_text",
            f"TRY_CAST({q(old_col)} AS {lt}) AS expect",
            "true AS expect_given",
        ]
    else:
        cols += ["NULL::VARCHAR AS old_text", f"NULL::{lt} AS expect", "false AS expect_given"]
    for opt in OPTIONAL:
        if opt in names and opt != label_col:
            if opt == "confidence":
                cols += [f"CAST({q(opt)} AS VARCHAR) AS conf_text", f"TRY_CAST({q(opt)} AS DOUBLE) AS confidence"]
            else:
                cols.append(f"CAST({q(opt)} AS VARCHAR) AS {opt}")
        elif opt == "confidence":
            cols += ["NULL::VARCHAR AS conf_text", "NULL::DOUBLE AS confidence"]
        else:
            cols.append(f"NULL::VARCHAR AS {opt}")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _dsl_in AS SELECT {', '.join(cols)} FROM {src_sql}", params)
    except duckdb.Error as exc:
        raise EditError(f"cannot read {what}: {str(exc).splitlines()[0][:200]}") from None
    n = len(ds.key)
    if blanks:
        con.execute("DELETE FROM _dsl_in WHERE new_text IS NULL OR new_text = ''")
    total = con.execute("SELECT count(*) FROM _dsl_in").fetchone()[0]
    if not total and blanks:
        return 0
    if not total:
        raise EditError(f"{what} has no edits: give at least one KEY=LABEL")
    _check(
        con,
        f"{' OR '.join(f'k{i} IS NULL' for i in range(n))}",
        f"key value(s) in {what} are empty or not valid for the key column(s) {', '.join(ds.key)}",
        klist(n, name="t"),
        "fix or drop those edits",
    )
    _check(
        con,
        "new IS NULL",
        f"new label(s) in {what} are empty or not valid {lt} values for column {column!r}",
        "new_text",
        "fix or drop those edits",
    )
    _check(
        con,
        "old_text IS NOT NULL AND expect IS NULL",
        f"old label(s) in {what} are not valid {lt} values for column {column!r}",
        "old_text",
        "fix the old column",
    )
    _check(
        con,
        "conf_text IS NOT NULL AND confidence IS NULL",
        f"confidence value(s) in {what} are not numbers",
        "conf_text",
        "use numbers such as 0.8",
    )
    if allowed is not None:
        shown = stage_allowed(con, allowed)
        _check(
            con,
            "CAST(new AS VARCHAR) NOT IN (SELECT v FROM _dsl_allowed)",
            f"label(s) in {what} are outside the allowed labels of {ds.name}.{column} ({shown})",
            "new_text",
            f"fix the edits, or update labels_allowed in .dslineage/datasets/{ds.name}.yaml",
        )
    clash = con.execute(
        f"SELECT {klist(n, name='t')}, string_agg(DISTINCT new_text, ' / ') FROM _dsl_in "
        f"GROUP BY {klist(n)}, {klist(n, name='t')} HAVING count(DISTINCT new) > 1 "
        f"ORDER BY {klist(n, name='t')} LIMIT {SAMPLE}"
    ).fetchall()
    if clash:
        count = con.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM _dsl_in GROUP BY {klist(n)} HAVING count(DISTINCT new) > 1)"
        ).fetchone()[0]
        shown = "; ".join(f"{','.join(map(str, r[:n]))} → {r[n]}" for r in clash)
        raise EditError(f"conflicting edits for {count} key(s) in {what}: {shown}; keep one new label per key")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_edits AS SELECT {klist(n)}, any_value(new) AS new, "
        "any_value(annotator) AS annotator, any_value(reason) AS reason, any_value(confidence) AS confidence, "
        f"any_value(expect) AS expect, bool_or(expect_given) AS expect_given FROM _dsl_in GROUP BY {klist(n)}"
    )
    return int(total)


def check_expected(con: Any, n_keys: int, label_index: int, required: bool, what: str, ds: Dataset) -> None:
    """Refuse staged edits (`_dsl_edits` from `stage`) whose row no longer has the old label
    the edits file expects (its `old` / `old_<label>` column), so a replay never overwrites
    someone else's later edit unseen. `required` (`--expect-old`): the file must have one."""
    column = ds.labels[int(label_index)]
    given = con.execute("SELECT bool_or(expect_given) FROM _dsl_edits").fetchone()[0]
    if not given:
        if required:
            raise EditError(
                f"--expect-old needs an old-label column in {what}: add a column old_{column} "
                "(or old) with each row's current label, or drop --expect-old"
            )
        return
    where = f"f.l{int(label_index)} IS DISTINCT FROM e.expect"
    joined = f"_dsl_edits e JOIN _dsl_f f ON {keys_eq('e', 'f', n_keys)}"
    count = int(con.execute(f"SELECT count(*) FROM {joined} WHERE {where}").fetchone()[0])
    if not count:
        return
    rows = con.execute(
        f"SELECT {klist(n_keys, 'e.')}, f.l{int(label_index)}, e.expect FROM {joined} WHERE {where} "
        f"ORDER BY {klist(n_keys, 'e.')} LIMIT {SAMPLE}"
    ).fetchall()
    shown = "; ".join(
        f"{','.join(str(plain(v)) for v in r[:n_keys])}: now {_show(r[n_keys])}, expected {_show(r[n_keys + 1])}"
        for r in rows
    )
    raise EditError(
        f"{count} row(s) of {ds.name}.{column} no longer have the old label that {what} expects "
        f"({shown}{' ...' if count > len(rows) else ''}): someone changed them since; review those rows "
        "and update the old column (nothing was changed)"
    )


def _show(value: Any) -> str:
    return "∅" if value is None else str(plain(value))


def _check(con: Any, bad: str, problem: str, show: str, fix: str) -> None:
    rows = con.execute(f"SELECT {show} FROM _dsl_in WHERE {bad} LIMIT {SAMPLE}").fetchall()
    if not rows:
        return
    count = con.execute(f"SELECT count(*) FROM _dsl_in WHERE {bad}").fetchone()[0]
    shown = ", ".join(",".join("∅" if v is None else str(v) for v in r) for r in rows)
    raise EditError(f"{count} {problem} (e.g. {shown}{' ...' if count > len(rows) else ''}): {fix}")


def stage_fill(con: Any, n_keys: int, source: int, target: int) -> list[Any]:
    """Stage, as `_dsl_edits`, the edits of label `l{target}` that follow from the applied edits
    of `l{source}` (`_dsl_applied`) through the one-to-one mapping the file holds now (`_dsl_f`).
    Returns the new source values that have no mapping yet (then nothing is staged)."""
    a, b = int(source), int(target)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_edits AS SELECT {klist(n_keys, 'e.')}, m.b AS new, e.annotator, "
        f"e.reason, e.confidence FROM _dsl_applied e LEFT JOIN (SELECT DISTINCT l{a} AS a, l{b} AS b FROM _dsl_f "
        f"WHERE l{a} IS NOT NULL AND l{b} IS NOT NULL) m ON m.a = e.new"
    )
    rows = con.execute(
        f"SELECT DISTINCT e.new FROM _dsl_applied e ANTI JOIN (SELECT l{a} AS a FROM _dsl_f) m ON m.a = e.new "
        "ORDER BY 1 LIMIT 5"
    ).fetchall()
    return [plain(r[0]) for r in rows]


def stage_rows(con: Any, source: str, n_keys: int) -> None:
    """Stage edits computed in SQL (a relation with `k0.., new`) as `_dsl_edits`."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_edits AS SELECT {klist(n_keys)}, new, "
        f"NULL::VARCHAR AS annotator, NULL::VARCHAR AS reason, NULL::DOUBLE AS confidence FROM {source}"
    )


def join(con: Any, n_keys: int, label_index: int, text: bool) -> dict[str, Any]:
    """Join `_dsl_edits` to the file: applied edits into `_dsl_applied`; counts and missing keys."""
    raw = ", ".join(f"f.r{i}" for i in range(n_keys))
    new_raw = "CAST(e.new AS VARCHAR)" if text else "e.new"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_j AS SELECT {klist(n_keys, 'e.')}, {raw}, "
        f"f.l{label_index} AS old, e.new, {new_raw} AS new_raw, e.annotator, e.reason, e.confidence, "
        f"f.k0 IS NOT NULL AS present FROM _dsl_edits e LEFT JOIN _dsl_f f ON {keys_eq('e', 'f', n_keys)}"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _dsl_applied AS SELECT * FROM _dsl_j WHERE present AND old IS DISTINCT FROM new"
    )
    applied, noop, missing = con.execute(
        "SELECT count(*) FILTER (WHERE present AND old IS DISTINCT FROM new), "
        "count(*) FILTER (WHERE present AND old IS NOT DISTINCT FROM new), "
        "count(*) FILTER (WHERE NOT present) FROM _dsl_j"
    ).fetchone()
    missing_keys = con.execute(
        f"SELECT {klist(n_keys)} FROM _dsl_j WHERE NOT present ORDER BY {klist(n_keys)} LIMIT 100"
    ).fetchall()
    return {
        "applied": int(applied),
        "noop": int(noop),
        "missing": int(missing),
        "missing_keys": [[plain(v) for v in r] for r in missing_keys],
    }


def noop_keys(con: Any, n_keys: int) -> list[list[Any]]:
    """Keys of the joined edits (`_dsl_j`) that set a row's label to the label it has."""
    return [
        [plain(v) for v in r]
        for r in con.execute(
            f"SELECT {klist(n_keys)} FROM _dsl_j WHERE present AND old IS NOT DISTINCT FROM new "
            f"ORDER BY {klist(n_keys)}"
        ).fetchall()
    ]


def known_changes(con: Any, n_keys: int, n_labels: int, edits: dict[int, Any]) -> Any:
    """`k0.., o0.., n0..` (every label column, old and new) of the rows the edits change, from
    `_dsl_f`; `edits` maps a label index to its applied edits (Arrow: `k0.., new`)."""
    for j, t in edits.items():
        con.register(f"_dsl_kc{int(j)}", t)
    union = " UNION ".join(f"SELECT {klist(n_keys)} FROM _dsl_kc{int(j)}" for j in edits)
    joins = " ".join(f"LEFT JOIN _dsl_kc{int(j)} e{int(j)} ON {keys_eq('u', f'e{int(j)}', n_keys)}" for j in edits)
    olds = [f"f.l{j} AS o{j}" for j in range(n_labels)]
    news = [
        f"CASE WHEN e{j}.k0 IS NOT NULL THEN e{j}.new ELSE f.l{j} END AS n{j}" if j in edits else f"f.l{j} AS n{j}"
        for j in range(n_labels)
    ]
    return arrow(
        con.execute(
            f"SELECT {klist(n_keys, 'u.')}, {', '.join(olds + news)} FROM ({union}) u "
            f"JOIN _dsl_f f ON {keys_eq('u', 'f', n_keys)} {joins} ORDER BY {klist(n_keys, 'u.')}"
        )
    )


def applied_columns(con: Any, n_keys: int) -> tuple[list[Any], Any]:
    """The raw keys and new values of `_dsl_applied`, as Arrow arrays, for `splice`."""
    t = arrow(con.execute(f"SELECT {klist(n_keys, name='r')}, new_raw FROM _dsl_applied"))
    return [t.column(f"r{i}").combine_chunks() for i in range(n_keys)], t.column("new_raw").combine_chunks()


def transitions(con: Any, limit: int = 50) -> list[dict[str, Any]]:
    """old → new label counts of `_dsl_applied`, most frequent first."""
    rows = con.execute(
        f"SELECT old, new, count(*) FROM _dsl_applied GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT {int(limit)}"
    ).fetchall()
    return [{"from": plain(a), "to": plain(b), "count": int(n)} for a, b, n in rows]


def applied_edits(con: Any, n_keys: int) -> Any:
    """The batch's per-row edits (keys, old and new label, annotator, reason, confidence), by key."""
    return arrow(
        con.execute(
            f"SELECT {klist(n_keys)}, old, new, annotator, reason, confidence FROM _dsl_applied "
            f"ORDER BY {klist(n_keys)}"
        )
    )


def table_exists(con: Any, name: str) -> bool:
    """Whether the database behind `con` has a table called `name`."""
    row = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()
    return bool(row and row[0])


def read_edits(con: Any, path: Path, limit: int | None = None) -> Any:
    """A batch's edits file as a pyarrow Table, ordered by key."""
    names = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
    keys = [c for c in names if re.fullmatch(r"k\d+", c)]
    lim = f" LIMIT {int(limit)}" if limit is not None else ""
    return arrow(con.execute(f"SELECT * FROM read_parquet(?) ORDER BY {', '.join(keys)}{lim}", [str(path)]))


# -- label pairs (`track --label-pair A=B`: two label columns that map one-to-one) ----------


def pair_conflicts(
    con: Any, after: tuple[str, list[Any]], a: str, b: str, before: tuple[str, list[Any]] | None = None
) -> list[tuple[Any, Any, Any, Any]]:
    """Value pairs of columns `a`, `b` in the relation `after` that break the one-to-one mapping
    learnt from `before` and `after` together (only pairs new in `after` are reported, so a
    consistent `before` blames the edit). Each: (a value, b value, the b that a value has
    elsewhere or None, the a that b value has elsewhere or None); at most 5. Values as text."""
    qa, qb = q(a), q(b)

    def distinct(rel: tuple[str, list[Any]]) -> str:
        return (
            f"SELECT DISTINCT CAST({qa} AS VARCHAR) AS a, CAST({qb} AS VARCHAR) AS b FROM {rel[0]} "
            f"WHERE {qa} IS NOT NULL AND {qb} IS NOT NULL"
        )

    old = distinct(before) if before else "SELECT NULL::VARCHAR AS a, NULL::VARCHAR AS b WHERE false"
    params = [*after[1], *(before[1] if before else [])]
    rows = con.execute(
        f"WITH new AS ({distinct(after)}), old AS ({old}), m AS (SELECT * FROM new UNION SELECT * FROM old) "
        "SELECT n.a, n.b, (SELECT min(m.b) FROM m WHERE m.a = n.a AND m.b <> n.b), "
        "(SELECT min(m.a) FROM m WHERE m.b = n.b AND m.a <> n.a) "
        "FROM (SELECT * FROM new EXCEPT SELECT * FROM old) n "
        "WHERE n.a IN (SELECT a FROM m GROUP BY a HAVING count(*) > 1) "
        "OR n.b IN (SELECT b FROM m GROUP BY b HAVING count(*) > 1) ORDER BY 1, 2 LIMIT 5",
        params,
    ).fetchall()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def pair_text(conflicts: list[tuple[Any, Any, Any, Any]], a: str, b: str) -> str:
    """The first conflicts of `pair_conflicts` in words, for a one-line error."""
    out = []
    for x, y, other_b, other_a in conflicts[:3]:
        why = [
            f"{a} {x} is {b} {other_b}" if other_b is not None else "",
            f"{b} {y} is {a} {other_a}" if other_a is not None else "",
        ]
        out.append(f"{a} {x} with {b} {y} ({'; '.join(w for w in why if w)})")
    return "; ".join(out)
