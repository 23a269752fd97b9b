"""Row-level SQL for annotators' votes, in DuckDB: checking a votes file against a dataset,
one vote per (row, annotator), the per-row outcome of a consensus, and the recorded votes.

The dataset file is registered by `store.labels.register` (`_dsl_f`: typed keys `k0..`,
labels `l0..`). A votes relation has the dataset's key column(s), `annotator`, `label` and
optionally `confidence` and `time`; it is staged as `_dsl_votes` with typed keys `k0..`,
text keys `t0..`, the label as canonical text (cast through the label column's type) and a
dense task number `task` (0..rows voted - 1) for the aggregator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dslineage.config import Dataset
from dslineage.errors import EditError
from dslineage.store.labels import SAMPLE, arrow, sql_type, stage_allowed
from dslineage.store.rows import q

NEEDED = ("annotator", "label")
INT_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")


def _klist(n: int, prefix: str = "", name: str = "k") -> str:
    return ", ".join(f"{prefix}{name}{i}" for i in range(n))


def _keys_eq(n: int, a: str, b: str) -> str:
    return " AND ".join(f"{a}.k{i} = {b}.k{i}" for i in range(n))


_NOT_A_NUMBER = "conf_text IS NOT NULL AND confidence IS NULL"  # a confidence that is not a number
_NOT_ALLOWED = "label NOT IN (SELECT v FROM _dsl_allowed)"


def _check(con: Any, where: str, problem: str, show: str, fix: str, table: str = "_dsl_vin") -> None:
    bad = con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]
    if bad:
        few = con.execute(f"SELECT DISTINCT {show} FROM {table} WHERE {where} LIMIT {SAMPLE}").fetchall()
        shown = ", ".join(",".join("" if v is None else str(v) for v in r) for r in few)
        raise EditError(f"{bad} {problem}: {shown}{' ...' if bad > SAMPLE else ''}; {fix}")


def stage(
    con: Any,
    source: tuple[str, list[Any]],
    ds: Dataset,
    column: str,
    types: dict[str, str],
    allowed: list[Any] | None,
    what: str,
) -> int:
    """Check a votes relation (its SQL and parameters) against the dataset (`_dsl_f`) and stage
    it as `_dsl_votes`.

    One-line `EditError`s: missing columns, no votes, empty or unknown keys, empty annotators,
    labels that are not values of the label column or outside `allowed`, confidences that
    are not numbers. A second vote of an annotator on a row replaces the first (latest
    `time`, then file order). Returns the number of votes read."""
    import duckdb

    src_sql, params = source
    try:
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src_sql}", params).fetchall()]
    except duckdb.Error as exc:
        raise EditError(f"cannot read {what}: {str(exc).splitlines()[0][:200]}") from None
    missing = [c for c in (*ds.key, *NEEDED) if c not in names]
    if missing:
        raise EditError(
            f"{what} has no column {', '.join(missing)} (columns: {', '.join(names[:12])}): votes are one "
            f"row per vote with the key column(s) {', '.join(ds.key)}, annotator and label"
        )
    n = len(ds.key)
    lt = sql_type(column, types[column])
    cols = ["row_number() OVER () AS pos"]
    cols += [f"CAST({q(k)} AS VARCHAR) AS t{i}" for i, k in enumerate(ds.key)]
    cols += [f"TRY_CAST({q(k)} AS {sql_type(k, types[k])}) AS k{i}" for i, k in enumerate(ds.key)]
    cols += [
        "NULLIF(trim(CAST(annotator AS VARCHAR)), '') AS annotator",
        "CAST(label AS VARCHAR) AS label_text",
        f"CAST(TRY_CAST(label AS {lt}) AS VARCHAR) AS label",
    ]
    if "confidence" in names:
        cols += ["CAST(confidence AS VARCHAR) AS conf_text", "TRY_CAST(confidence AS DOUBLE) AS confidence"]
    else:
        cols += ["NULL::VARCHAR AS conf_text", "NULL::DOUBLE AS confidence"]
    cols.append("CAST(time AS VARCHAR) AS time" if "time" in names else "NULL::VARCHAR AS time")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _dsl_vin AS SELECT {', '.join(cols)} FROM {src_sql}", params)
    except duckdb.Error as exc:
        raise EditError(f"cannot read {what}: {str(exc).splitlines()[0][:200]}") from None
    total = con.execute("SELECT count(*) FROM _dsl_vin").fetchone()[0]
    if not total:
        raise EditError(f"{what} has no votes: give one row per vote (key, annotator, label)")
    bad = f"vote(s) in {what} have"
    checks = [  # (which rows fail, the message, what to show of them, how to fix it)
        (
            " OR ".join(f"k{i} IS NULL" for i in range(n)),
            f"{bad} keys that are empty or not valid for {', '.join(ds.key)}",
            _klist(n, name="t"),
            "fix or drop those votes",
        ),
        ("annotator IS NULL", f"{bad} no annotator", _klist(n, name="t"), "name the annotator of every vote"),
        (
            "label IS NULL",
            f"{bad} labels that are empty or not valid {lt} values for column {column!r}",
            "label_text",
            "fix or drop those votes",
        ),
        (_NOT_A_NUMBER, f"confidence value(s) in {what} are not numbers", "conf_text", "use numbers such as 0.8"),
    ]
    if allowed is not None:
        shown = stage_allowed(con, allowed)
        outside = f"{bad} labels outside the allowed labels of {ds.name}.{column} ({shown})"
        checks.append((_NOT_ALLOWED, outside, "label", "fix those votes, or update the allowed labels"))
    for where, message, show, fix in checks:
        _check(con, where, message, show, fix)
    _check(
        con,
        f"NOT EXISTS (SELECT 1 FROM _dsl_f f WHERE {_keys_eq(n, 'f', '_dsl_vin')})",
        f"vote(s) in {what} name keys that are not in {ds.name}",
        _klist(n, name="t"),
        "fix the keys or drop those votes",
    )
    # one vote per (row, annotator): the latest time, then the later line; a GROUP BY, not a window
    keep = "(coalesce(time, ''), pos)"
    int_key = n == 1 and sql_type(ds.key[0], types[ds.key[0]]).upper() in INT_TYPES
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _dsl_votes AS "
        f"SELECT {'CAST(k0 AS BIGINT) AS task, ' if int_key else ''}{_klist(n)}, "
        f"{', '.join(f'any_value(t{i}) AS t{i}' for i in range(n))}, annotator, "
        f"arg_max(label, {keep}) AS label, arg_max(confidence, {keep}) AS confidence, "
        f"arg_max(time, {keep}) AS time FROM _dsl_vin GROUP BY {_klist(n)}, annotator"
    )
    if not int_key:  # a number per row voted (crowd-kit's task; an integer key is its own)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _dsl_tasks AS SELECT *, row_number() OVER () - 1 AS task FROM "
            f"(SELECT DISTINCT {_klist(n)} FROM _dsl_votes)"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _dsl_votes AS SELECT v.*, t.task FROM _dsl_votes v "
            f"JOIN _dsl_tasks t ON {_keys_eq(n, 'v', 't')}"
        )
    return int(total)


def task_frame(con: Any) -> Any:
    """The staged votes as an Arrow table (task, worker, label) in crowd-kit's column names."""
    return arrow(con.execute("SELECT task, annotator AS worker, label FROM _dsl_votes ORDER BY task, annotator"))


def outcome(con: Any, n_keys: int, label_index: int, min_votes: int, min_agreement: float) -> dict[str, int]:
    """Join the aggregate (`_dsl_agg`: task, consensus, posterior) to the votes and the file:
    `_dsl_rows` holds per row voted its votes, agreement (share of votes equal to the
    consensus), current label as text and outcome (queued, confirmed or applied)."""
    n = n_keys
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _dsl_rows AS "
        f"SELECT v.task, {', '.join(f'any_value(v.k{i}) AS k{i}' for i in range(n))}, "
        f"{', '.join(f'any_value(v.t{i}) AS t{i}' for i in range(n))}, count(*) AS votes, "
        "avg(CASE WHEN v.label = a.consensus THEN 1.0 ELSE 0.0 END) AS agreement, "
        "any_value(a.consensus) AS consensus, any_value(a.posterior) AS posterior "
        "FROM _dsl_votes v JOIN _dsl_agg a ON a.task = v.task GROUP BY v.task"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _dsl_rows AS "
        f"SELECT r.*, CAST(f.l{label_index} AS VARCHAR) AS current, CASE "
        "WHEN r.votes < ? OR r.agreement < ? THEN 'queued' "
        f"WHEN CAST(f.l{label_index} AS VARCHAR) IS NOT DISTINCT FROM r.consensus THEN 'confirmed' "
        f"ELSE 'applied' END AS outcome FROM _dsl_rows r JOIN _dsl_f f ON {_keys_eq(n, 'f', 'r')}",
        [min_votes, min_agreement],
    )
    counts = dict(con.execute("SELECT outcome, count(*) FROM _dsl_rows GROUP BY outcome").fetchall())
    return {k: int(counts.get(k, 0)) for k in ("applied", "confirmed", "queued")}


def applied_relation(con: Any, ds: Dataset, column: str, annotator: str, reason: str | None) -> str:
    """Expose the applied rows as the edits relation `_dsl_cons_edits` (key columns under their
    dataset names, the consensus as `new_label`, annotator, reason, confidence = posterior)."""
    keys = ", ".join(f"t{i} AS {q(k)}" for i, k in enumerate(ds.key))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_cons_edits AS SELECT {keys}, consensus AS new_label, "
        "? AS annotator, ? AS reason, CAST(posterior AS VARCHAR) AS confidence "
        "FROM _dsl_rows WHERE outcome = 'applied' ORDER BY task",
        [annotator, reason],
    )
    return "_dsl_cons_edits"


def per_annotator(con: Any) -> list[tuple[str, int, float]]:
    """(annotator, votes, share of their votes equal to the consensus), by annotator."""
    return [
        (str(a), int(n), float(acc))
        for a, n, acc in con.execute(
            "SELECT v.annotator, count(*), avg(CASE WHEN v.label = r.consensus THEN 1.0 ELSE 0.0 END) "
            "FROM _dsl_votes v JOIN _dsl_rows r ON r.task = v.task GROUP BY v.annotator ORDER BY v.annotator"
        ).fetchall()
    ]


def ratings(con: Any) -> None:
    """The staged votes as the ratings table `_ratings` (item, annotator, label) that
    `quality.agreement.alpha_and_kappa` reads (one vote per item and annotator already)."""
    con.execute("CREATE OR REPLACE TEMP TABLE _ratings AS SELECT task AS item, annotator, label FROM _dsl_votes")


def write_votes(con: Any, n_keys: int, tmp: Path) -> None:
    """Write every staged vote with its row's consensus, posterior, agreement and outcome as
    zstd parquet (k0.., annotator, label, confidence, time, consensus, posterior, agreement, outcome)."""
    con.execute(
        f"COPY (SELECT {_klist(n_keys, 'v.')}, v.annotator, v.label, v.confidence, v.time, r.consensus, "
        "r.posterior, r.agreement, r.outcome FROM _dsl_votes v JOIN _dsl_rows r ON r.task = v.task) "
        f"TO '{_path_literal(tmp)}' (FORMAT parquet, COMPRESSION zstd)"
    )


def write_queue(con: Any, ds: Dataset, tmp: Path) -> int:
    """Write the queued rows in the review-queue shape (key columns under their dataset names,
    label = current, suggested = consensus, score = 1 - agreement, rank 1 = least agreed)."""
    keys = ", ".join(f"k{i} AS {q(k)}" for i, k in enumerate(ds.key))
    con.execute(
        f"COPY (SELECT {keys}, current AS label, consensus AS suggested, CAST(1 - agreement AS DOUBLE) AS score, "
        f"CAST(row_number() OVER (ORDER BY agreement, posterior, {_klist(len(ds.key))}) AS BIGINT) AS rank "
        f"FROM _dsl_rows WHERE outcome = 'queued' ORDER BY rank) TO '{_path_literal(tmp)}' "
        "(FORMAT parquet, COMPRESSION zstd)"
    )
    return int(con.execute("SELECT count(*) FROM _dsl_rows WHERE outcome = 'queued'").fetchone()[0])


def _path_literal(path: Path) -> str:
    return str(path).replace("'", "''")


def recorded(con: Any, files: list[tuple[str, str]], n_keys: int) -> None:
    """Load recorded votes files [(path, record id)] as `_dsl_rec` (record, item, annotator,
    label, consensus)."""
    import pyarrow as pa

    con.register("_dsl_rec_files", pa.table({"file": [f for f, _ in files], "record": [r for _, r in files]}))
    item = f"concat_ws(chr(31), {', '.join(f'CAST(k{i} AS VARCHAR)' for i in range(n_keys))})"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _dsl_rec AS SELECT f.record, "
        f"{item} AS item, v.annotator, v.label, v.consensus FROM read_parquet(?, filename = true, "
        "union_by_name = true) v JOIN _dsl_rec_files f ON f.file = v.filename",
        [[f for f, _ in files]],
    )


def recorded_per_annotator(con: Any) -> list[tuple[str, int, int, float]]:
    """(annotator, votes, consensus rounds voted in, share of votes equal to the consensus)."""
    return [
        (str(a), int(n), int(b), float(acc))
        for a, n, b, acc in con.execute(
            "SELECT annotator, count(*), count(DISTINCT record), "
            "avg(CASE WHEN label = consensus THEN 1.0 ELSE 0.0 END) "
            "FROM _dsl_rec GROUP BY annotator ORDER BY annotator"
        ).fetchall()
    ]


def recorded_counts(con: Any) -> list[tuple[str, str, int]]:
    """(record, annotator, votes) of the recorded votes."""
    return [
        (str(r), str(a), int(n))
        for r, a, n in con.execute(
            "SELECT record, annotator, count(*) FROM _dsl_rec GROUP BY record, annotator"
        ).fetchall()
    ]


def recorded_ratings(con: Any) -> Any:
    """The recorded votes as ratings (item, annotator, label)."""
    return arrow(con.execute("SELECT item, annotator, label FROM _dsl_rec"))


def edits_with_votes(con: Any, edits: Path, votes: Path, n_keys: int, limit: int | None = None) -> Any:
    """A consensus batch's edits file (ordered by key, the first `limit` rows) joined with its
    recorded votes, as a pyarrow Table: the edits' columns, then per row `_dsl_votes`
    ({annotator: label}, by annotator), `_dsl_agreement`, `_dsl_posterior` and `_dsl_voted`
    (null for a row the votes file does not hold)."""
    keys = _klist(n_keys)
    lim = f" LIMIT {int(limit)}" if limit is not None else ""
    return arrow(
        con.execute(
            f"""WITH e AS (SELECT * FROM read_parquet(?) ORDER BY {keys}{lim}),
                 v AS (SELECT {_klist(n_keys, "x.")},
                              map_from_entries(list((x.annotator, x.label) ORDER BY x.annotator)) AS _dsl_votes,
                              any_value(x.agreement) AS _dsl_agreement, any_value(x.posterior) AS _dsl_posterior,
                              true AS _dsl_voted
                       FROM read_parquet(?) x SEMI JOIN e ON {_keys_eq(n_keys, "x", "e")}
                       GROUP BY {_klist(n_keys, "x.")})
            SELECT e.*, v._dsl_votes, v._dsl_agreement, v._dsl_posterior, v._dsl_voted
            FROM e LEFT JOIN v ON {_keys_eq(n_keys, "e", "v")} ORDER BY {_klist(n_keys, "e.")}""",
            [str(edits), str(votes)],
        )
    )
