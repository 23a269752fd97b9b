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


def node_records(con: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(id, kind, timestamp, record) of every non-version node record, oldest first.

    Duplicate ids (the same record reached through two branches) are returned once.
    """
    kinds = ", ".join("'" + k + "'" for k in NODE_KINDS)
    rows = con.execute(
        f"SELECT id, any_value(kind), min(timestamp), any_value(record) FROM records "
        f"WHERE kind IN ({kinds}) GROUP BY id ORDER BY 3, 1"
    ).fetchall()
    return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]


def version_batch_links(con: Any) -> list[tuple[str, str]]:
    """(version id, batch id) for versions whose record names the batch(es) they carry."""
    rows = con.execute(
        """
        SELECT id, json_extract_string(record, '$.batch') AS b, json_extract(record, '$.batches') AS bs
        FROM versions
        WHERE json_extract_string(record, '$.batch') IS NOT NULL
           OR json_extract(record, '$.batches') IS NOT NULL
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
