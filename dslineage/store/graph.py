"""SQL for the lineage graph: the node and edge material, read from the index in bulk.

Only the few fields the graph needs are pulled out of the JSON records (in DuckDB), so a
10,000-node graph loads without parsing every record in Python.
"""

from __future__ import annotations

import json
from typing import Any

# record kinds that become graph nodes besides versions
NODE_KINDS = ("transformation", "experiment", "batch", "revert")


def versions(con: Any) -> list[tuple[str, str, int, str | None, str]]:
    """(id, dataset, seq, parent, timestamp) of every version."""
    rows: list[tuple[str, str, int, str | None, str]] = con.execute(
        "SELECT id, dataset, seq, parent, timestamp FROM versions"
    ).fetchall()
    return rows


_DDL = (
    "CREATE TABLE IF NOT EXISTS lineage_files (file VARCHAR PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS lineage_nodes (file VARCHAR, id VARCHAR, kind VARCHAR, name VARCHAR, "
    "timestamp VARCHAR)",
    "CREATE TABLE IF NOT EXISTS lineage_edges (file VARCHAR, src VARCHAR, dst VARCHAR, kind VARCHAR)",
)

# (kind, name field, [(JSON path of version ids, direction, edge kind)]) of the records
# distilled into lineage_nodes / lineage_edges (constants: nothing here comes from users)
_DISTILL = (
    ("transformation", "$.stage", (("$.inputs[*].version", "in", "input"), ("$.outputs[*].version", "out", "output"))),
    ("experiment", "$.name", (("$.datasets[*].version", "in", "input"),)),
)


def refresh(con: Any) -> None:
    """Bring the distilled node/edge tables in step with the indexed journal files: drop
    what vanished (a branch switch), distill what is new. Cheap when nothing changed."""
    for ddl in _DDL:
        con.execute(ddl)
    gone = "file NOT IN (SELECT file FROM journal_files)"
    stale = con.execute(f"SELECT count(*) FROM lineage_files WHERE {gone}").fetchone()[0]
    if stale:
        for table in ("lineage_files", "lineage_nodes", "lineage_edges"):
            con.execute(f"DELETE FROM {table} WHERE {gone}")
    new = "FROM records r WHERE r.file NOT IN (SELECT file FROM lineage_files)"
    if not con.execute(f"SELECT count(*) {new}").fetchone()[0]:
        return
    for kind, name, lists in _DISTILL:
        con.execute(
            f"INSERT INTO lineage_nodes SELECT r.file, r.id, r.kind, json_extract_string(r.record, '{name}'), "
            f"r.timestamp {new} AND r.kind = '{kind}'"
        )
        for path, way, edge in lists:
            listed = (f"SELECT r.file, r.id, unnest(json_extract_string(r.record, '{path}')) AS v "
                      f"{new} AND r.kind = '{kind}'")
            cols = "file, v, id" if way == "in" else "file, id, v"
            con.execute(f"INSERT INTO lineage_edges SELECT {cols}, '{edge}' FROM ({listed}) WHERE v IS NOT NULL")
    con.execute(f"INSERT INTO lineage_files SELECT DISTINCT r.file {new}")


def nodes(con: Any) -> list[tuple[str, str, str, str]]:
    """(id, kind, name, timestamp) of every transformation and experiment (each id once)."""
    rows: list[tuple[str, str, str, str]] = con.execute(
        "SELECT id, any_value(kind), any_value(name), min(timestamp) FROM lineage_nodes GROUP BY id"
    ).fetchall()
    return rows


def edges(con: Any) -> list[tuple[str, str, str]]:
    """(from, to, kind) of every input/output edge of transformations and experiments."""
    rows: list[tuple[str, str, str]] = con.execute(
        "SELECT DISTINCT src, dst, kind FROM lineage_edges"
    ).fetchall()
    return rows


def node_records(con: Any, kinds: tuple[str, ...] = NODE_KINDS) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(id, kind, timestamp, record) of every record of these kinds, oldest first (each id once)."""
    marks = ", ".join("?" for _ in kinds)
    rows = con.execute(
        f"SELECT id, any_value(kind), min(timestamp), any_value(record) FROM records "
        f"WHERE kind IN ({marks}) GROUP BY id ORDER BY 3, 1",
        list(kinds),
    ).fetchall()
    return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]


def version_batch_links(con: Any) -> list[tuple[str, str]]:
    """(version id, batch id) for versions whose record names the batch(es) they carry."""
    rows = con.execute(
        """
        SELECT id, json_extract_string(record, '$.batch') AS b, json_extract(record, '$.batches') AS bs
        FROM versions
        WHERE contains(record, '"batch')  -- a cheap string test before parsing any JSON
          AND (json_extract_string(record, '$.batch') IS NOT NULL OR json_extract(record, '$.batches') IS NOT NULL)
        """
    ).fetchall()
    links: list[tuple[str, str]] = []
    for vid, one, many in rows:
        if one:
            links.append((vid, one))
        if many:
            for b in json.loads(many) or []:
                if isinstance(b, str):
                    links.append((vid, b))
                elif isinstance(b, dict) and b.get("id"):
                    links.append((vid, str(b["id"])))
    return links


def get_meta(con: Any, key: str) -> str | None:
    """A value the lineage code keeps in the index's meta table (a cache, like the rest)."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(con: Any, key: str, value: str) -> None:
    """Remember a value in the index's meta table."""
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def signatures(con: Any) -> set[str]:
    """The dvc.lock signatures of every recorded transformation (what `sync` has seen)."""
    rows = con.execute(
        "SELECT DISTINCT json_extract_string(record, '$.lock_signature') FROM records "
        "WHERE kind = 'transformation'"
    ).fetchall()
    return {r[0] for r in rows if r[0]}
