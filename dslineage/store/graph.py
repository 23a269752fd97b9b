"""SQL for the lineage graph, over the index (a cache: all of this is rebuilt by `reindex`).

Records are distilled, once per journal file, into two small tables: `lineage_nodes`
(transformations, experiments, batches, and artifacts: every stage input or output that is
not a tracked dataset's version — a file, a directory or a metrics file, by path and md5)
and `lineage_edges` (their input/output edges, and batch → carrying version). An artifact's
id is `artifact:PATH@MD5`; its row keeps the path as `name` and its type (`file`,
`directory`, `metrics`) as `dataset`. A predictions file a review queue was ranked with is a
node `predictions:MD5` (its recorded file name as `name`; none in records older than that
field) with an edge to the queue; an eval record is a node with edges from the version it
scored and from its predictions file. Together with `versions` (and its parent links) they are the
whole graph: a query reads the bare edges in one scan, walks them, and then loads the
attributes of only the nodes it reached.
"""

from __future__ import annotations

import json
from typing import Any

DISTILL_VERSION = "6"  # 6: predictions and eval nodes
_TABLES = ("lineage_files", "lineage_nodes", "lineage_edges")
_DDL = (
    "CREATE TABLE IF NOT EXISTS lineage_files (file VARCHAR PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS lineage_nodes (file VARCHAR, id VARCHAR, kind VARCHAR, name VARCHAR, "
    "dataset VARCHAR, timestamp VARCHAR)",
    "CREATE TABLE IF NOT EXISTS lineage_edges (file VARCHAR, src VARCHAR, dst VARCHAR, kind VARCHAR)",
)
# Every SQL text below is built from these constants only; values are bound.
_NEW = "FROM records r WHERE r.file NOT IN (SELECT file FROM lineage_files)"
_BATCH = "r.kind IN ('batch', 'revert')"
_NODES = (
    # kind, name expression, dataset expression, record filter
    ("transformation", "json_extract_string(r.record, '$.stage')", "NULL", "r.kind = 'transformation'"),
    ("experiment", "json_extract_string(r.record, '$.name')", "NULL", "r.kind = 'experiment'"),
    (
        "batch",
        "CASE WHEN r.kind = 'revert' OR json_extract_string(r.record, '$.op') = 'revert' "
        "OR json_extract_string(r.record, '$.reverts') IS NOT NULL THEN 'revert' ELSE 'batch' END",
        "json_extract_string(r.record, '$.dataset')",
        _BATCH,
    ),
    # a review queue (issue 13): the version it was ranked on -> queue -> the batches reviewing it
    (
        "queue",
        "'queue ' || left(r.id, 10) || ' (' || coalesce(json_extract_string(r.record, '$.method'), '') || ')'",
        "json_extract_string(r.record, '$.dataset')",
        "r.kind = 'queue'",
    ),
    # an eval (issue 13 item 3): the version scored -> eval <- the predictions file scored
    (
        "eval",
        "'eval ' || left(r.id, 10) || coalesce(' (accuracy ' || "
        "printf('%.3f', TRY_CAST(json_extract_string(r.record, '$.accuracy') AS DOUBLE)) || ')', '')",
        "json_extract_string(r.record, '$.dataset')",
        "r.kind = 'eval'",
    ),
)
_LISTS = (
    # record filter, JSON path of a list of ids, edge kind, True: id -> record, False: record -> id
    ("r.kind = 'transformation'", "$.inputs[*].version", "input", True),
    ("r.kind = 'transformation'", "$.outputs[*].version", "output", False),
    ("r.kind = 'experiment'", "$.datasets[*].version", "input", True),
    ("r.kind = 'version'", "$.batches[*]", "output", True),  # batch -> the version carrying it
)
_SCALARS = (
    (
        _BATCH,
        "coalesce(json_extract_string(r.record, '$.base_version'), json_extract_string(r.record, "
        "'$.parent'), json_extract_string(r.record, '$.base'))",
        "input",
        True,
    ),
    (_BATCH, "json_extract_string(r.record, '$.version')", "output", False),
    (_BATCH, "json_extract_string(r.record, '$.reverts')", "reverts", True),
    ("r.kind = 'queue'", "json_extract_string(r.record, '$.version')", "ranked", True),
    ("r.kind = 'queue'", "json_extract_string(r.record, '$.batch')", "queued", True),
    (
        "r.kind IN ('queue', 'eval')",
        "'predictions:' || json_extract_string(r.record, '$.predictions_md5')",
        "input",
        True,
    ),
    ("r.kind = 'eval'", "json_extract_string(r.record, '$.version')", "evaluated", True),
    (_BATCH, "json_extract_string(r.record, '$.queue')", "reviews", True),
)
ARTIFACT = "artifact:"
PREDICTIONS = "predictions:"
_PREDICTIONS = (  # the records whose predictions file is a node: record filter
    "r.kind IN ('queue', 'eval')",
)
_ITEMS = (  # side of a transformation record, edge kind, True: artifact -> record
    ("inputs", "input", True),
    ("outputs", "output", False),
)
EDGES = (
    "(SELECT unnest(parents) AS src, id AS dst, 'parent' AS kind FROM versions "
    "UNION ALL SELECT src, dst, kind FROM lineage_edges)"
)
NODES = (
    "(SELECT id, 'version' AS kind, dataset, seq, NULL AS name, timestamp FROM versions "
    "UNION ALL SELECT id, kind, dataset, NULL, name, timestamp FROM lineage_nodes)"
)


def get_meta(con: Any, key: str) -> str | None:
    """A value kept in the index's meta table."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(con: Any, key: str, value: str) -> None:
    """Remember a value in the index's meta table."""
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def refresh(con: Any) -> None:
    """Bring the distilled tables in step with the indexed journal files: drop what vanished
    (a branch switch), distill what is new. Three cheap counts when nothing changed."""
    if get_meta(con, "lineage_distill") != DISTILL_VERSION:  # what is distilled changed: start over
        for table in _TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        set_meta(con, "lineage_distill", DISTILL_VERSION)
    for ddl in _DDL:
        con.execute(ddl)
    gone = "file NOT IN (SELECT file FROM journal_files)"
    if con.execute(f"SELECT count(*) FROM lineage_files WHERE {gone}").fetchone()[0]:
        for table in _TABLES:
            con.execute(f"DELETE FROM {table} WHERE {gone}")
    if not con.execute(f"SELECT count(*) {_NEW}").fetchone()[0]:
        return
    for kind, name, dataset, where in _NODES:
        con.execute(
            f"INSERT INTO lineage_nodes SELECT r.file, r.id, '{kind}', {name}, {dataset}, r.timestamp "
            f"{_NEW} AND {where}"
        )
    for where in _PREDICTIONS:
        con.execute(
            f"INSERT INTO lineage_nodes SELECT file, '{PREDICTIONS}' || md5, 'predictions', name, dataset, timestamp "
            "FROM (SELECT r.file, r.timestamp, json_extract_string(r.record, '$.predictions_md5') AS md5, "
            "json_extract_string(r.record, '$.predictions_file') AS name, json_extract_string(r.record, '$.dataset') "
            f"AS dataset {_NEW} AND {where}) WHERE md5 IS NOT NULL"
        )
    for where, path, edge, into in _LISTS:
        _edges(con, f"unnest(json_extract_string(r.record, '{path}'))", where, edge, into)
    for where, expr, edge, into in _SCALARS:
        _edges(con, expr, where, edge, into)
    for side, edge, into in _ITEMS:
        _artifacts(con, side, edge, into)
    con.execute(f"INSERT INTO lineage_files SELECT DISTINCT r.file {_NEW}")


def _edges(con: Any, expr: str, where: str, edge: str, into: bool) -> None:
    cols = "file, v, id" if into else "file, id, v"
    con.execute(
        f"INSERT INTO lineage_edges SELECT {cols}, '{edge}' FROM "
        f"(SELECT r.file, r.id, {expr} AS v {_NEW} AND {where}) WHERE v IS NOT NULL"
    )


def _artifacts(con: Any, side: str, edge: str, into: bool) -> None:
    """Artifact nodes and their edges for the `side` items of new transformations that name
    no dataset version."""
    items = (
        "SELECT file, timestamp, id, path, md5, "
        "CASE WHEN is_metrics THEN 'metrics' WHEN ends_with(md5, '.dir') THEN 'directory' ELSE 'file' END AS type "
        "FROM (SELECT t.file, t.timestamp, t.id, json_extract_string(t.x, '$.path') AS path, "
        "coalesce(json_extract_string(t.x, '$.md5'), '') AS md5, "
        "coalesce(json_extract_string(t.x, '$.metrics') = 'true', false) AS is_metrics, "
        "json_extract_string(t.x, '$.version') AS v "
        f"FROM (SELECT r.file, r.timestamp, r.id, unnest(json_extract(r.record, '$.{side}[*]')) AS x "
        f"{_NEW} AND r.kind = 'transformation') t) WHERE v IS NULL AND path IS NOT NULL"
    )
    node = f"'{ARTIFACT}' || path || '@' || md5"
    con.execute(f"INSERT INTO lineage_nodes SELECT file, {node}, 'artifact', path, type, timestamp FROM ({items})")
    cols = f"file, {node}, id" if into else f"file, id, {node}"
    con.execute(f"INSERT INTO lineage_edges SELECT {cols}, '{edge}' FROM ({items})")


NodeRow = tuple[str, str, "str | None", "int | None", "str | None", str]


def node_rows(con: Any, ids: list[str] | None = None) -> list[NodeRow]:
    """(id, kind, dataset, seq, name, timestamp) of every node, or of these ids. An id recorded
    in two journal files (merged from two branches) may come twice, with the same content."""
    if ids is None:
        rows: list[NodeRow] = con.execute(f"SELECT * FROM {NODES}").fetchall()
        return rows
    rows = con.execute(f"SELECT * FROM {NODES} WHERE id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchall()
    return rows


def edge_rows(con: Any, ids: list[str] | None = None) -> list[tuple[str, str, str]]:
    """(from, to, kind) of every edge, or of the edges between these ids."""
    if ids is None:
        rows: list[tuple[str, str, str]] = con.execute(f"SELECT * FROM {EDGES}").fetchall()
        return rows
    rows = con.execute(
        f"WITH i AS (SELECT unnest(?::VARCHAR[]) AS id) SELECT * FROM {EDGES} e "
        "WHERE e.src IN (SELECT id FROM i) AND e.dst IN (SELECT id FROM i)",
        [ids],
    ).fetchall()
    return rows


def adjacency_rows(con: Any) -> list[tuple[str, str, str, str | None]]:
    """(from, to, kind, dataset) of every edge; dataset only on "parent" edges (both ends are
    versions of it; a merge version has one per parent). A query walks these in Python: one
    scan, however far the walk goes (a recursive CTE re-joins the edges at every step of a
    100-step-deep closure)."""
    rows: list[tuple[str, str, str, str | None]] = con.execute(
        "SELECT unnest(parents), id, 'parent', dataset FROM versions "
        "UNION ALL SELECT src, dst, kind, NULL FROM lineage_edges"
    ).fetchall()
    return rows


def named(con: Any, kind: str, name: str) -> list[tuple[str, str]]:
    """(id, timestamp) of the transformations of a stage / runs of an experiment name."""
    rows: list[tuple[str, str]] = con.execute(
        "SELECT DISTINCT id, timestamp FROM lineage_nodes WHERE kind = ? AND name = ?", [kind, name]
    ).fetchall()
    return rows


def with_prefix(con: Any, prefix: str) -> list[tuple[str, str]]:
    """(id, kind) of the nodes whose id starts with `prefix`."""
    rows: list[tuple[str, str]] = con.execute(
        f"SELECT DISTINCT id, kind FROM {NODES} WHERE starts_with(id, ?)", [prefix]
    ).fetchall()
    return rows


def groups(con: Any, kind: str, names: list[str]) -> list[tuple[str, str, str]]:
    """(name, id, timestamp) of every transformation (by stage) / experiment run (by name) /
    version (by dataset) of these names."""
    if kind == "version":
        sql = "SELECT dataset, id, timestamp FROM versions WHERE dataset IN (SELECT unnest(?::VARCHAR[]))"
        rows: list[tuple[str, str, str]] = con.execute(sql, [names]).fetchall()
        return rows
    rows = con.execute(
        "SELECT DISTINCT name, id, timestamp FROM lineage_nodes WHERE kind = ? AND name IN "
        "(SELECT unnest(?::VARCHAR[]))",
        [kind, names],
    ).fetchall()
    return rows


def carriers(con: Any, batch_ids: list[str]) -> dict[str, str]:
    """batch id -> the version that carries it (for the batches that are committed)."""
    rows = con.execute(
        "SELECT src, dst FROM lineage_edges WHERE kind = 'output' AND src IN (SELECT unnest(?::VARCHAR[]))", [batch_ids]
    ).fetchall()
    return {a: b for a, b in rows}


def reverted(con: Any, batch_ids: list[str]) -> set[str]:
    """Those of these batches that a revert undid."""
    rows = con.execute(
        "SELECT DISTINCT src FROM lineage_edges WHERE kind = 'reverts' AND src IN (SELECT unnest(?::VARCHAR[]))",
        [batch_ids],
    ).fetchall()
    return {r[0] for r in rows}


def signatures(con: Any) -> set[str]:
    """The dvc.lock signatures of every recorded transformation (what `sync` has seen)."""
    rows = con.execute(
        "SELECT DISTINCT json_extract_string(record, '$.lock_signature') FROM records WHERE kind = 'transformation'"
    ).fetchall()
    return {r[0] for r in rows if r[0]}


def records(con: Any, ids: list[str]) -> list[dict[str, Any]]:
    """The full journal records of these ids (each once)."""
    rows = con.execute(
        "SELECT any_value(record) FROM records WHERE id IN (SELECT unnest(?::VARCHAR[])) GROUP BY id", [ids]
    ).fetchall()
    return [json.loads(r[0]) for r in rows]
