"""The DuckDB index: a rebuildable cache of the journal, never a source of truth.

Its content is a function of the set of journal files in the work tree (plus the git
commits that added them), so `reindex` — delete and sync from scratch — answers
identically. `sync()` runs before every query and only reads files it has not seen.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dslineage import journal, txn
from dslineage.config import INDEX_FILE, JOURNAL_DIR
from dslineage.errors import DslineageError
from dslineage.store.rows import q

SCHEMA_VERSION = "2"  # 2: versions.parents
CLUSTER_MIN_TAIL = 250_000  # change rows appended before a change table is first sorted by key

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

BULK_MIN_FILES = 32  # new journal files from which a sync ingests them in bulk (break-even: ~30 at 5 ms each)
BULK_PARQUET_FILES = 2000  # change sets per read_parquet (DuckDB holds each one's metadata until the end)
_READ_ONE = "read_parquet(?, hive_partitioning = false)"

CACHE_TABLES = {"meta", "file_md5"}  # not derived from the journal: left out of `fingerprint()`

VERSION_COLUMNS = (
    "id, dataset, seq, md5, parent, parents, path, message, author, timestamp, rows, schema, "
    "label_distribution, added, removed, relabeled, modified, changes_known, changes_file, "
    "COALESCE(imported_commit, (SELECT git_commit FROM journal_files j WHERE j.file = v.file)) "
    "AS git_commit"
)


def changes_table(dataset: str) -> str:
    """The quoted name of a dataset's row-change table."""
    return q(f"changes/{dataset}")


class Index:
    """One open DuckDB index file, kept in step with the journal by `sync()`."""

    def __init__(
        self, root: Path, git_commits: Callable[[], dict[str, str]], path: Path | None = None
    ) -> None:
        self.root = root
        self.path = path or root / INDEX_FILE
        self._git_commits = git_commits
        self._con: Any = None
        self._synced = False
        self._touched: set[str] = set()  # datasets whose change tables a sync appended to
        # answers derived from the index and git (e.g. a dataset's current version), kept
        # until the next sync that does work or `close()`: one command's worth
        self.memo: dict[Any, Any] = {}
        # Record kinds other modules add (batches, transformations, ...) land in `records`.

    @property
    def con(self) -> Any:
        """The DuckDB connection, opened (and the schema created) on first use."""
        if self._con is None:
            import duckdb

            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = duckdb.connect(str(self.path))
            version = None
            try:
                row = self._con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                version = row[0] if row else None
            except duckdb.Error:
                pass
            if version not in (None, SCHEMA_VERSION):
                self._con.close()
                self.path.unlink()
                self._con = duckdb.connect(str(self.path))
            for ddl in _DDL:
                self._con.execute(ddl)
            if version != SCHEMA_VERSION:  # a read-only command then writes nothing (no checkpoint)
                self._con.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema', ?)", [SCHEMA_VERSION]
                )
        return self._con

    def close(self) -> None:
        """Close the connection (the next use reopens it)."""
        if self._con is not None:
            self._con.close()
            self._con = None
            self._synced = False
        self.memo.clear()

    def drop(self) -> None:
        """Delete the index file entirely (reindex starts from here)."""
        self.close()
        for suffix in ("", ".wal"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                p.unlink()

    # -- keeping in step with the journal -------------------------------------------------

    def sync(self, force: bool = False) -> dict[str, int]:
        """Index journal files that appeared, forget those that vanished (branch switch)."""
        if self._synced and not force:
            return {"added": 0, "removed": 0}
        self.memo.clear()
        con = self.con
        on_disk = set(journal.list_files(self.root))
        known = {r[0] for r in con.execute("SELECT file FROM journal_files").fetchall()}
        gone, new = sorted(known - on_disk), sorted(on_disk - known)
        try:
            self._apply(gone, new, force=force, bulk=len(new) >= BULK_MIN_FILES)
        except _BulkFailed:
            # something unusual in a record (a wrong type, a duplicate id, ...): the record-by-
            # record path then fails (or succeeds) exactly as it always did
            self._bulk_cleanup()
            self._apply(gone, new, force=force, bulk=False)
        self._synced = True
        return {"added": len(new), "removed": len(gone)}

    def _apply(self, gone: list[str], new: list[str], *, force: bool, bulk: bool) -> None:
        """One transaction: forget `gone`, ingest `new` (in bulk or one by one), then tidy up."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            for name in gone:
                self._forget(name)
            self._touched = set()
            if bulk:
                self._ingest_bulk(new)
            else:
                for name in new:
                    self._ingest(name)
            for dataset in sorted(self._touched):
                self._cluster(dataset)
            self._resolve_commits()
            if force:  # the resync after a write (a fault-injection point)
                txn.fault_point("in-index-sync")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _forget(self, name: str) -> None:
        con = self.con
        for (vid, dataset) in con.execute(
            "SELECT id, dataset FROM versions WHERE file = ?", [name]
        ).fetchall():
            if self._has_table(f"changes/{dataset}"):
                con.execute(f"DELETE FROM {changes_table(dataset)} WHERE version = ?", [vid])
        for table in ("versions", "tags", "records"):
            con.execute(f"DELETE FROM {table} WHERE file = ?", [name])
        con.execute("DELETE FROM journal_files WHERE file = ?", [name])

    def _cluster(self, dataset: str) -> None:
        """Keep a change table sorted by key: a sorted part, then the rows appended since.

        A one-key lookup then skips the sorted part's row groups by their min/max (9.9M
        change rows: 25-30 ms for a full scan, 2-4 ms sorted). The tail is merged in, by one
        rewrite of the table, once it outgrows a quarter of the sorted part, so the cost of
        sorting stays proportional to the rows ingested. Row order never changes an answer.
        """
        name = f"changes/{dataset}"
        if not self._has_table(name):
            return
        con, table = self.con, changes_table(dataset)
        total = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        row = con.execute("SELECT value FROM meta WHERE key = ?", [f"sorted:{name}"]).fetchone()
        done = min(int(row[0]) if row else 0, total)
        if total - done <= max(CLUSTER_MIN_TAIL, done // 4):
            return
        cols = con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [name]
        ).fetchall()
        keys = sorted((c for (c,) in cols if re.fullmatch(r"k\d+", c)), key=lambda c: int(c[1:]))
        order = ", ".join([*keys, "seq"])
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table} ORDER BY {order}")
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [f"sorted:{name}", str(total)])

    def _widen(self, dataset: str, source: str, params: list[Any]) -> None:
        """Add to a dataset's change table the columns a newer change set carries (e.g. `d`,
        the value digests of `store.rows.build_changes`), so `INSERT ... BY NAME` takes it;
        older rows read NULL there."""
        con, name = self.con, f"changes/{dataset}"
        have = {c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [name]
        ).fetchall()}
        for col, typ, *_ in con.execute(f"DESCRIBE SELECT * FROM {source}", params).fetchall():
            if col not in have and col != "filename":
                con.execute(f"ALTER TABLE {changes_table(dataset)} ADD COLUMN {q(col)} {typ}")

    def _has_table(self, name: str) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]
        ).fetchone()
        return bool(row and row[0])

    def _ingest(self, name: str) -> None:
        """Index one journal file (a few small statements: the path for a few new files)."""
        con = self.con
        rec = journal.read(journal.folder(self.root) / name)
        files_row, version_row, tag_row, record_row = _rows(name, rec)
        con.execute("INSERT INTO journal_files VALUES (?, ?, ?, ?)", files_row)
        if version_row is not None:
            con.execute(f"INSERT INTO versions VALUES ({', '.join('?' * len(version_row))})", version_row)
            source = self._change_set(rec)
            if source is not None:
                table = changes_table(rec["dataset"])
                self._touched.add(rec["dataset"])
                select = f"SELECT ? AS version, ? AS seq, * FROM {_READ_ONE}"
                params = [rec["id"], rec["seq"], str(source)]
                if self._has_table(f"changes/{rec['dataset']}"):
                    self._widen(rec["dataset"], _READ_ONE, [str(source)])
                    con.execute(f"INSERT INTO {table} BY NAME {select}", params)
                else:
                    con.execute(f"CREATE TABLE {table} AS {select}", params)
        if tag_row is not None:
            con.execute("INSERT INTO tags VALUES (?, ?, ?, ?, ?)", tag_row)
        con.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)", record_row)

    def _change_set(self, rec: dict[str, Any]) -> Path | None:
        """The change-set file of a version record, if it names one that exists."""
        file = (rec.get("changes") or {}).get("file")
        if not file or not isinstance(file, str) or "/" in file or "\\" in file or file.startswith("."):
            return None  # none, or not a plain file name in the journal folder (fsck reports it)
        path = journal.folder(self.root) / file
        return path if path.exists() else None

    def _ingest_bulk(self, names: list[str]) -> None:
        """Index many journal files at once: one statement per table, one per dataset's changes.

        Every row is computed by `_rows`, as on the one-by-one path, so the index is the same;
        the change sets are read by one `read_parquet` over all of a dataset's files. A damaged
        record fails here with its usual message; any other failure raises `_BulkFailed` (the
        caller then redoes the sync one record at a time, which fails or not as it always did).
        """
        folder = journal.folder(self.root)
        records = [journal.read(folder / name) for name in names]
        try:
            self._insert_bulk(names, records)
        except DslineageError:
            raise
        except Exception as exc:
            raise _BulkFailed(str(exc)) from exc

    def _insert_bulk(self, names: list[str], records: list[dict[str, Any]]) -> None:
        import pyarrow as pa

        con = self.con
        schemas = _bulk_schemas()
        rows: dict[str, list[list[Any]]] = {t: [] for t in schemas}
        changes: dict[str, list[tuple[str, Any, Any]]] = {}  # dataset -> (file, version id, seq)
        for name, rec in zip(names, records, strict=True):
            files_row, version_row, tag_row, record_row = _rows(name, rec)
            rows["journal_files"].append(files_row)
            rows["records"].append(record_row)
            if tag_row is not None:
                rows["tags"].append(tag_row)
            if version_row is not None:
                rows["versions"].append(version_row)
                source = self._change_set(rec)
                if source is not None:
                    changes.setdefault(rec["dataset"], []).append((str(source), rec["id"], rec["seq"]))
        for table, schema in schemas.items():
            if not rows[table]:
                continue
            columns = list(zip(*rows[table], strict=True))
            # strict conversion: a value of another type (DuckDB would cast it) is a _BulkFailed
            arrow = pa.table([pa.array(c, type=t) for c, t in zip(columns, schema, strict=True)],
                             names=[f"c{i}" for i in range(len(schema))])
            con.register("_bulk_rows", arrow)
            con.execute(f"INSERT INTO {table} SELECT * FROM _bulk_rows")
            con.unregister("_bulk_rows")
        for dataset, sources in changes.items():
            self._touched.add(dataset)
            table = changes_table(dataset)
            if not self._has_table(f"changes/{dataset}"):
                first, vid, seq = sources.pop(0)  # the table takes the first change set's types
                con.execute(f"CREATE TABLE {table} AS SELECT ? AS version, ? AS seq, * FROM {_READ_ONE}",
                            [vid, seq, first])
            if not sources:
                continue
            files, vids, seqs = (list(c) for c in zip(*sources, strict=True))
            # each file's rows get their version's id and seq (a file two versions name, twice);
            # BY NAME casts to the table's types as inserting the files one by one does. JSON
            # text and an Arrow table, not list parameters: the client probes each list element.
            con.register("_bulk_sources", pa.table({"file": files, "version": vids, "seq": seqs}))
            distinct = sorted(set(files))
            # DuckDB's cache of file blocks would keep every small change set it reads (~30 kB
            # each, and 25% more CPU): off while reading them in bulk
            con.execute("SET enable_external_file_cache = false")
            for i in range(0, len(distinct), BULK_PARQUET_FILES):
                self._widen(dataset, "read_parquet(from_json(?, '[\"VARCHAR\"]'), union_by_name = true, "
                            "hive_partitioning = false)", [json.dumps(distinct[i:i + BULK_PARQUET_FILES])])
                con.execute(
                    f"INSERT INTO {table} BY NAME SELECT m.version, m.seq, p.* EXCLUDE (filename) "
                    "FROM read_parquet(from_json(?, '[\"VARCHAR\"]'), union_by_name = true, "
                    "filename = true, hive_partitioning = false) p JOIN _bulk_sources m ON p.filename = m.file",
                    [json.dumps(distinct[i:i + BULK_PARQUET_FILES])],
                )
            self._bulk_cleanup()

    def _bulk_cleanup(self) -> None:
        """Undo what the bulk path set on the connection (after a failure: once rolled back)."""
        con = self.con
        con.execute("RESET enable_external_file_cache")
        for view in ("_bulk_rows", "_bulk_sources"):
            with contextlib.suppress(Exception):  # not registered (any more)
                con.unregister(view)

    def _resolve_commits(self) -> None:
        """Fill in, for journal files added by a git commit, which commit that was."""
        con = self.con
        pending = con.execute("SELECT file FROM journal_files WHERE git_commit IS NULL").fetchall()
        if not pending:
            return
        commits = self._git_commits()
        prefix = JOURNAL_DIR + "/"
        by_name = {path[len(prefix):]: sha for path, sha in commits.items() if path.startswith(prefix)}
        found = [(name, by_name[name]) for (name,) in pending if name in by_name]
        if found:
            names, shas = (list(c) for c in zip(*found, strict=True))
            # one JSON text, not two list parameters (the client probes every element of a list)
            con.execute(
                "UPDATE journal_files SET git_commit = m.sha FROM (SELECT unnest(from_json(?, "
                "'[\"VARCHAR\"]')) AS file, unnest(from_json(?, '[\"VARCHAR\"]')) AS sha) m "
                "WHERE journal_files.file = m.file",
                [json.dumps(names), json.dumps(shas)],
            )

    def fingerprint(self) -> dict[str, tuple[int, int]]:
        """Row count and an order-independent hash of every table derived from the journal
        (not `meta` or the md5 cache): two indexes of the same journal have equal prints."""
        result: dict[str, tuple[int, int]] = {}
        names = self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1"
        ).fetchall()
        for (name,) in names:
            if name in CACHE_TABLES:
                continue
            n, h = self.con.execute(f"SELECT count(*), sum(hash(t)) FROM {q(name)} t").fetchone()
            result[name] = (int(n), int(h or 0))
        return result

    # -- small cache of file md5s (like DVC's state db) -----------------------------------

    def cached_md5(self, path: str, stat: str) -> str | None:
        """The md5 remembered for `path` if its stat signature is unchanged."""
        row = self.con.execute(
            "SELECT md5 FROM file_md5 WHERE path = ? AND stat = ?", [path, stat]
        ).fetchone()
        return row[0] if row else None

    def remember_md5(self, path: str, stat: str, md5: str) -> None:
        """Remember the md5 of `path` for this stat signature."""
        self.con.execute("INSERT OR REPLACE INTO file_md5 VALUES (?, ?, ?)", [path, stat, md5])

    # -- queries --------------------------------------------------------------------------

    def versions(self, dataset: str | None = None) -> list[dict[str, Any]]:
        """Versions (of one dataset or all), newest first."""
        self.sync()
        where, params = ("WHERE dataset = ?", [dataset]) if dataset else ("", [])
        cur = self.con.execute(
            f"SELECT {VERSION_COLUMNS} FROM versions v {where} "
            "ORDER BY timestamp DESC, seq DESC, id DESC",
            params,
        )
        return _dicts(cur)

    def versions_in(self, dataset: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Some versions of a dataset, by id (one query; not every version of a long chain)."""
        self.sync()
        if not ids:
            return {}
        cur = self.con.execute(
            f"SELECT {VERSION_COLUMNS} FROM versions v WHERE dataset = ? AND list_contains(?, id)",
            [dataset, ids],
        )
        return {v["id"]: v for v in _dicts(cur)}

    def version_links(self, dataset: str) -> dict[str, dict[str, Any]]:
        """id → {"seq", "parent", "parents"} of every version of a dataset (the graph only)."""
        self.sync()
        cur = self.con.execute(
            "SELECT id, seq, parent, parents FROM versions WHERE dataset = ?", [dataset]
        )
        return {v["id"]: v for v in _dicts(cur)}

    def versions_with_md5(self, dataset: str, md5: str) -> list[dict[str, Any]]:
        """The versions of a dataset whose bytes have this md5 (usually one)."""
        self.sync()
        cur = self.con.execute(
            f"SELECT {VERSION_COLUMNS} FROM versions v WHERE dataset = ? AND md5 = ?", [dataset, md5]
        )
        return _dicts(cur)

    def edge_version(self, dataset: str, *, last: bool) -> dict[str, Any] | None:
        """The latest version (highest seq, then newest, then highest id) or the first one."""
        self.sync()
        order = "seq DESC, timestamp DESC, id DESC" if last else "seq, timestamp, id DESC"
        cur = self.con.execute(
            f"SELECT {VERSION_COLUMNS} FROM versions v WHERE dataset = ? ORDER BY {order} LIMIT 1", [dataset]
        )
        rows = _dicts(cur)
        return rows[0] if rows else None

    def version(self, vid: str) -> dict[str, Any] | None:
        """One version by full id."""
        self.sync()
        cur = self.con.execute(f"SELECT {VERSION_COLUMNS} FROM versions v WHERE id = ?", [vid])
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
        rows = self.con.execute(
            f"SELECT record FROM records {where} ORDER BY timestamp, id", params
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def key_events(self, dataset: str, key: list[Any]) -> list[dict[str, Any]]:
        """Row-level change events of one key, by version seq."""
        self.sync()
        if not self._has_table(f"changes/{dataset}"):
            return []
        import duckdb

        where = " AND ".join(f"c.k{i} = ?" for i in range(len(key)))
        try:
            # no join with versions: it kept DuckDB from skipping row groups by the key (20 ms
            # vs 2-4 ms on 9.9M sorted rows); callers break seq ties by the version's timestamp
            cur = self.con.execute(
                f"SELECT c.* FROM {changes_table(dataset)} c WHERE {where} ORDER BY c.seq",
                list(key),
            )
        except duckdb.ConversionException:
            return []  # the value cannot be a key of this dataset: no events
        return _dicts(cur)


class _BulkFailed(Exception):
    """The bulk path met something only the record-by-record path handles exactly."""


def _bulk_schemas() -> dict[str, list[Any]]:
    """The Arrow type of each column of the tables `_rows` fills, in the tables' order."""
    import pyarrow as pa

    text, big = pa.string(), pa.int64()
    return {
        "journal_files": [text] * 4,
        "versions": [text, text, pa.int32(), text, text, pa.list_(text), text, text, text, text, big,
                     text, text, big, big, big, big, pa.bool_(), text, text, text, text],
        "tags": [text] * 5,
        "records": [text] * 6,
    }


def _rows(
    name: str, rec: dict[str, Any]
) -> tuple[list[Any], list[Any] | None, list[Any] | None, list[Any]]:
    """The rows one journal record adds: to journal_files, versions, tags and records."""
    kind = rec.get("kind")
    files_row = [name, kind, rec.get("id"), None]
    version_row = tag_row = None
    if kind == "version":
        ch = rec.get("changes") or {}
        version_row = [
            rec["id"], rec["dataset"], rec["seq"], rec["md5"], rec.get("parent"),
            journal.parents(rec), rec["path"],
            rec.get("message", ""), rec.get("author", ""), rec["timestamp"], rec.get("rows"),
            json.dumps(rec.get("schema")), json.dumps(rec.get("label_distribution")),
            ch.get("added"), ch.get("removed"), ch.get("relabeled"), ch.get("modified"),
            bool(ch.get("known", False)), ch.get("file"), rec.get("imported_commit"), name,
            json.dumps(rec),
        ]
    elif kind == "tag":
        tag_row = [rec["dataset"], rec["tag"], rec["version"], rec["timestamp"], name]
    record_row = [rec.get("id"), kind, rec.get("dataset"), rec.get("timestamp"), name, json.dumps(rec)]
    return files_row, version_row, tag_row, record_row


def _dicts(cur: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]
