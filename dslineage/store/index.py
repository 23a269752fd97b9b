"""The DuckDB index: a rebuildable cache of the journal, never a source of truth.

Its content is a function of the set of journal files in the work tree (plus the git
commits that added them), so `reindex` — delete and sync from scratch — answers
identically. `sync()` runs before every query and only reads files it has not seen.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dslineage.config import INDEX_FILE
from dslineage.store.ingest import JournalSync, changes_table  # noqa: F401  (callers name it here)
from dslineage.store.rows import duckdb_module, q

SCHEMA_VERSION = "2"  # 2: versions.parents

_DDL = [
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS journal_files (
        file VARCHAR PRIMARY KEY, kind VARCHAR, id VARCHAR, git_commit VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS versions (
        id VARCHAR PRIMARY KEY, dataset VARCHAR, seq INTEGER, md5 VARCHAR, parent VARCHAR,
        parents VARCHAR[], path VARCHAR, message VARCHAR, author VARCHAR, timestamp VARCHAR, rows BIGINT,
        schema VARCHAR, label_distribution VARCHAR, added BIGINT, removed BIGINT,
        relabeled BIGINT, modified BIGINT, changes_known BOOLEAN, changes_file VARCHAR,
        imported_commit VARCHAR, file VARCHAR, record VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS tags (
        dataset VARCHAR, tag VARCHAR, version VARCHAR, timestamp VARCHAR, file VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS records (
        id VARCHAR, kind VARCHAR, dataset VARCHAR, timestamp VARCHAR, file VARCHAR,
        record VARCHAR)""",
    "CREATE TABLE IF NOT EXISTS file_md5 (path VARCHAR PRIMARY KEY, stat VARCHAR, md5 VARCHAR)",
]


CACHE_TABLES = {"meta", "file_md5"}  # not derived from the journal: left out of `fingerprint()`
KEY_INDEX_PREFIX = "part_keys"  # nor the key -> part index (`store.keyindex`): derived from the parts

# a version's columns and the git commit that added its record (journal_files.file is a key:
# a join, which DuckDB answers in half the time of a correlated subquery); conditions name `v.`
_SELECT_VERSIONS = (
    "SELECT v.id, v.dataset, v.seq, v.md5, v.parent, v.parents, v.path, v.message, v.author, v.timestamp, "
    "v.rows, v.schema, v.label_distribution, v.added, v.removed, v.relabeled, v.modified, v.changes_known, "
    "v.changes_file, COALESCE(v.imported_commit, j.git_commit) AS git_commit "
    "FROM versions v LEFT JOIN journal_files j ON j.file = v.file"
)
# what the file was last given, in `meta`: when it matches, opening the index runs no DDL (so
# a read-only command writes nothing and its close needs no checkpoint)
_DDL_KEY = hashlib.sha256("\n".join(_DDL).encode()).hexdigest()[:16]


class Index(JournalSync):
    """One open DuckDB index file, kept in step with the journal by `sync()`."""

    def __init__(self, root: Path, git_commits: Callable[[], dict[str, str]], path: Path | None = None) -> None:
        self.root = root
        self.path = path or root / INDEX_FILE
        self._git_commits = git_commits
        self._con: Any = None
        self._synced = False
        self._touched: set[str] = set()  # datasets whose change tables a sync appended to
        self._md5s: dict[str, tuple[str, str]] | None = None  # `file_md5` as read by this connection
        # answers derived from the index and git (e.g. a dataset's current version), kept
        # until the next sync that does work or `close()`: one command's worth
        self.memo: dict[Any, Any] = {}
        # Record kinds other modules add (batches, transformations, ...) land in `records`.

    @property
    def con(self) -> Any:
        """The DuckDB connection, opened (and the schema created) on first use."""
        if self._con is None:
            duckdb = duckdb_module()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = duckdb.connect(str(self.path))
            stored: dict[str, str] = {}
            try:
                meta = "SELECT key, value FROM meta WHERE key IN ('schema', 'ddl')"
                stored = dict(self._con.execute(meta).fetchall())
            except duckdb.Error:
                pass
            if stored.get("schema") not in (None, SCHEMA_VERSION):
                self._con.close()
                self.path.unlink()
                self._con = duckdb.connect(str(self.path))
                stored = {}
            if stored != {"schema": SCHEMA_VERSION, "ddl": _DDL_KEY}:  # a new file, or new tables
                self._con.execute(";\n".join(_DDL))
                self._con.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema', ?), ('ddl', ?)", [SCHEMA_VERSION, _DDL_KEY]
                )
        return self._con

    def close(self) -> None:
        """Close the connection (the next use reopens it)."""
        if self._con is not None:
            self._con.close()
            self._con = None
            self._synced = False
        self._md5s = None
        self.memo.clear()

    def drop(self) -> None:
        """Delete the index file entirely (reindex starts from here)."""
        self.close()
        for suffix in ("", ".wal"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                p.unlink()

    def fingerprint(self) -> dict[str, tuple[int, int]]:
        """Row count and an order-independent hash of every table derived from the journal
        (not `meta` or the md5 cache): two indexes of the same journal have equal prints."""
        result: dict[str, tuple[int, int]] = {}
        names = self.con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1").fetchall()
        for (name,) in names:
            if name in CACHE_TABLES or name.startswith(KEY_INDEX_PREFIX):  # caches of the data, not the journal
                continue
            n, h = self.con.execute(f"SELECT count(*), sum(hash(t)) FROM {q(name)} t").fetchone()
            result[name] = (int(n), int(h or 0))
        return result

    # -- small cache of file md5s (like DVC's state db) -----------------------------------

    def cached_md5(self, path: str, stat: str) -> str | None:
        """The md5 remembered for `path` if its stat signature is unchanged (the table is read once
        per open connection: a directory dataset asks for each of its parts, several times a command)."""
        if self._md5s is None:
            rows = self.con.execute("SELECT path, stat, md5 FROM file_md5").fetchall()
            self._md5s = {p: (s, m) for p, s, m in rows}
        hit = self._md5s.get(path)
        return hit[1] if hit is not None and hit[0] == stat else None

    def remember_md5(self, path: str, stat: str, md5: str) -> None:
        """Remember the md5 of `path` for this stat signature."""
        self.con.execute("INSERT OR REPLACE INTO file_md5 VALUES (?, ?, ?)", [path, stat, md5])
        if self._md5s is not None:
            self._md5s[path] = (stat, md5)

    # -- queries --------------------------------------------------------------------------

    def versions(self, dataset: str | None = None) -> list[dict[str, Any]]:
        """Versions (of one dataset or all), newest first."""
        self.sync()
        where, params = ("WHERE v.dataset = ?", [dataset]) if dataset else ("", [])
        cur = self.con.execute(f"{_SELECT_VERSIONS} {where} ORDER BY v.timestamp DESC, v.seq DESC, v.id DESC", params)
        return _dicts(cur)

    def version_count(self) -> int:
        """How many versions the index holds (of every dataset)."""
        self.sync()
        return int(self.con.execute("SELECT count(*) FROM versions").fetchone()[0])

    def versions_in(self, dataset: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Some versions of a dataset, by id (one query; not every version of a long chain)."""
        self.sync()
        if not ids:
            return {}
        cur = self.con.execute(f"{_SELECT_VERSIONS} WHERE v.dataset = ? AND list_contains(?, v.id)", [dataset, ids])
        return {v["id"]: v for v in _dicts(cur)}

    def version_links(self, dataset: str) -> dict[str, dict[str, Any]]:
        """id → {"seq", "parent", "parents"} of every version of a dataset (the graph only)."""
        self.sync()
        cur = self.con.execute("SELECT id, seq, parent, parents FROM versions WHERE dataset = ?", [dataset])
        return {v["id"]: v for v in _dicts(cur)}

    def versions_with_md5(self, dataset: str, md5: str) -> list[dict[str, Any]]:
        """The versions of a dataset whose bytes have this md5 (usually one)."""
        self.sync()
        cur = self.con.execute(f"{_SELECT_VERSIONS} WHERE v.dataset = ? AND v.md5 = ?", [dataset, md5])
        return _dicts(cur)

    def edge_version(self, dataset: str, *, last: bool) -> dict[str, Any] | None:
        """The latest version (highest seq, then newest, then highest id) or the first one."""
        self.sync()
        order = "v.seq DESC, v.timestamp DESC, v.id DESC" if last else "v.seq, v.timestamp, v.id DESC"
        cur = self.con.execute(f"{_SELECT_VERSIONS} WHERE v.dataset = ? ORDER BY {order} LIMIT 1", [dataset])
        rows = _dicts(cur)
        return rows[0] if rows else None

    def version(self, vid: str) -> dict[str, Any] | None:
        """One version by full id."""
        self.sync()
        cur = self.con.execute(f"{_SELECT_VERSIONS} WHERE v.id = ?", [vid])
        rows = _dicts(cur)
        return rows[0] if rows else None

    def tags(self, dataset: str) -> dict[str, str]:
        """Tag name → version id (the newest record wins when a tag was moved)."""
        self.sync()
        rows = self.con.execute(
            "SELECT tag, version FROM tags WHERE dataset = ? ORDER BY timestamp", [dataset]
        ).fetchall()
        return {tag: vid for tag, vid in rows}

    def tags_of(self, vid: str) -> list[str]:
        """Tags currently pointing at a version."""
        self.sync()
        row = self.con.execute("SELECT dataset FROM versions WHERE id = ?", [vid]).fetchone()
        if not row:
            return []
        return sorted(t for t, v in self.tags(row[0]).items() if v == vid)

    def records(self, kind: str, dataset: str | None = None) -> list[dict[str, Any]]:
        """Journal records of a kind (batches, transformations, ...), oldest first."""
        self.sync()
        where = "WHERE kind = ?" + (" AND dataset = ?" if dataset else "")
        params = [kind] + ([dataset] if dataset else [])
        rows = self.con.execute(f"SELECT record FROM records {where} ORDER BY timestamp, id", params).fetchall()
        return [json.loads(r[0]) for r in rows]

    def key_events(self, dataset: str, key: list[Any]) -> list[dict[str, Any]]:
        """Row-level change events of one key, by version seq."""
        self.sync()
        duckdb = duckdb_module()
        where = " AND ".join(f"c.k{i} = ?" for i in range(len(key)))
        try:
            # no join with versions: it kept DuckDB from skipping row groups by the key (20 ms
            # vs 2-4 ms on 9.9M sorted rows); callers break seq ties by the version's timestamp
            cur = self.con.execute(
                f"SELECT c.* FROM {changes_table(dataset)} c WHERE {where} ORDER BY c.seq", list(key)
            )
        except duckdb.ConversionException:
            return []  # the value cannot be a key of this dataset: no events
        except duckdb.CatalogException:
            if self._has_table(f"changes/{dataset}"):
                raise
            return []  # no change table (yet): no events (asked after the fact: it costs a query)
        return _dicts(cur)


def _dicts(cur: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]
