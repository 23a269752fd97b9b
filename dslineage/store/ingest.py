"""Keeping the index in step with the journal: `sync()` indexes journal files that appeared
and forgets those that vanished (a branch switch), record by record or — from
`BULK_MIN_FILES` new files — in bulk; change tables are appended to and, past
`CLUSTER_MIN_TAIL` rows, sorted by key. Mixed into `store.index.Index`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dslineage import faults, journal
from dslineage.config import JOURNAL_DIR
from dslineage.errors import DslineageError
from dslineage.store import ingest_bulk
from dslineage.store.ingest_bulk import READ_ONE as _READ_ONE
from dslineage.store.ingest_bulk import BulkSync, changes_table
from dslineage.store.rows import q

CLUSTER_MIN_TAIL = 250_000  # change rows appended before a change table is first sorted by key
BULK_MIN_FILES = 32  # new journal files from which a sync ingests them in bulk (break-even: ~30 at 5 ms each)


class JournalSync(BulkSync):
    """The half of `Index` that ingests journal files (its state is set by `Index.__init__`)."""

    root: Path
    path: Path
    memo: dict[Any, Any]
    _git_commits: Callable[[], dict[str, str]]
    _synced: bool
    _touched: set[str]

    @property
    def con(self) -> Any:
        """The DuckDB connection (`Index.con`)."""
        raise NotImplementedError

    def sync(self, force: bool = False) -> dict[str, int]:
        """Index journal files that appeared, forget those that vanished (branch switch)."""
        if self._synced and not force:
            return {"added": 0, "removed": 0}
        self.memo.clear()
        con = self.con
        on_disk = set(journal.list_files(self.root))
        rows = con.execute("SELECT file, git_commit IS NULL FROM journal_files").fetchall()
        known = {file for file, _ in rows}
        gone, new = sorted(known - on_disk), sorted(on_disk - known)
        if not (gone or new or force or any(pending for _, pending in rows)):
            self._synced = True  # nothing to do: no transaction (a read-only command writes nothing)
            return {"added": 0, "removed": 0}
        bulk = len(new) >= BULK_MIN_FILES
        commits = _Ahead(self._git_commits) if bulk else None  # git log runs while files are read
        try:
            self._apply(gone, new, force=force, bulk=bulk, commits=commits)
        except _BulkFailed:
            # something unusual in a record (a wrong type, a duplicate id, ...): the record-by-
            # record path then fails (or succeeds) exactly as it always did
            self._bulk_cleanup()
            self._apply(gone, new, force=force, bulk=False, commits=commits)
        self._synced = True
        return {"added": len(new), "removed": len(gone)}

    def _apply(self, gone: list[str], new: list[str], *, force: bool, bulk: bool, commits: _Ahead | None) -> None:
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
            self._resolve_commits(commits)
            if force:  # the resync after a write (a fault-injection point)
                faults.fault_point("in-index-sync")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _forget(self, name: str) -> None:
        con = self.con
        for vid, dataset in con.execute("SELECT id, dataset FROM versions WHERE file = ?", [name]).fetchall():
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
        cols = con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [name]).fetchall()
        keys = sorted((c for (c,) in cols if re.fullmatch(r"k\d+", c)), key=lambda c: int(c[1:]))
        order = ", ".join([*keys, "seq"])
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table} ORDER BY {order}")
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [f"sorted:{name}", str(total)])

    def _widen(self, dataset: str, source: str, params: list[Any]) -> None:
        """Add to a dataset's change table the columns a newer change set carries (e.g. `d`,
        the value digests of `store.rows.build_changes`), so `INSERT ... BY NAME` takes it;
        older rows read NULL there."""
        con, name = self.con, f"changes/{dataset}"
        have = {
            c
            for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [name]).fetchall()
        }
        for col, typ, *_ in con.execute(f"DESCRIBE SELECT * FROM {source}", params).fetchall():
            if col not in have and col != "filename":
                con.execute(f"ALTER TABLE {changes_table(dataset)} ADD COLUMN {q(col)} {typ}")

    def _has_table(self, name: str) -> bool:
        row = self.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()
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
        file = ingest_bulk.change_set_name(rec)
        if file is None:
            return None
        path = journal.folder(self.root) / file
        return path if path.exists() else None

    def _ingest_bulk(self, names: list[str]) -> None:
        """Index many journal files at once: one statement per table, the change sets read in
        parallel (`store.ingest_bulk`).

        Every row is computed by `_rows`, as on the one-by-one path, so the index is the same.
        A damaged record fails here with its usual message; any other failure raises
        `_BulkFailed` (the caller then redoes the sync one record at a time, which fails or
        not as it always did).
        """
        folder = journal.folder(self.root)
        records = ingest_bulk.read_records(folder, names)
        try:
            rows: dict[str, list[list[Any]]] = {t: [] for t in ("journal_files", "versions", "tags", "records")}
            changes: dict[str, list[tuple[str, Any, Any]]] = {}  # dataset -> (file, version id, seq)
            sizes: dict[str, int | None] = {}  # change-set name -> bytes, None: it does not exist
            for name, rec in zip(names, records, strict=True):
                files_row, version_row, tag_row, record_row = _rows(name, rec)
                rows["journal_files"].append(files_row)
                rows["records"].append(record_row)
                if tag_row is not None:
                    rows["tags"].append(tag_row)
                if version_row is not None:
                    rows["versions"].append(version_row)
                    file = ingest_bulk.change_set_name(rec)
                    if file is not None and file not in sizes:
                        sizes[file] = ingest_bulk.size_of(folder, file)
                    if file is not None and sizes[file] is not None:
                        changes.setdefault(rec["dataset"], []).append((file, rec["id"], rec["seq"]))
            self._insert_bulk(rows, changes, sizes)
            self._bulk_cleanup()
        except DslineageError:
            raise
        except Exception as exc:
            raise _BulkFailed(str(exc)) from exc

    def _resolve_commits(self, ahead: _Ahead | None = None) -> None:
        """Fill in, for journal files added by a git commit, which commit that was (from
        `ahead`, the answer of `_git_commits` asked for earlier, if given)."""
        con = self.con
        pending = con.execute("SELECT file FROM journal_files WHERE git_commit IS NULL").fetchall()
        if not pending:
            return
        commits = ahead.result() if ahead is not None else self._git_commits()
        prefix = JOURNAL_DIR + "/"
        by_name = {path[len(prefix) :]: sha for path, sha in commits.items() if path.startswith(prefix)}
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


class _BulkFailed(Exception):
    """The bulk path met something only the record-by-record path handles exactly."""


class _Ahead:
    """A call started on a thread now (it waits on a subprocess), its answer collected later."""

    def __init__(self, fn: Callable[[], dict[str, str]]) -> None:
        self._answer: dict[str, str] = {}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], dict[str, str]]) -> None:
        try:
            self._answer = fn()
        except BaseException as exc:  # raised again in the caller's thread by result()
            self._error = exc

    def result(self) -> dict[str, str]:
        """The call's return value (or its exception, raised here)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._answer


def _rows(name: str, rec: dict[str, Any]) -> tuple[list[Any], list[Any] | None, list[Any] | None, list[Any]]:
    """The rows one journal record adds: to journal_files, versions, tags and records."""
    kind = rec.get("kind")
    files_row = [name, kind, rec.get("id"), None]
    version_row = tag_row = None
    text = json.dumps(rec)
    if kind == "version":
        ch = rec.get("changes") or {}
        version_row = [
            rec["id"],
            rec["dataset"],
            rec["seq"],
            rec["md5"],
            rec.get("parent"),
            journal.parents(rec),
            rec["path"],
            rec.get("message", ""),
            rec.get("author", ""),
            rec["timestamp"],
            rec.get("rows"),
            json.dumps(rec.get("schema")),
            json.dumps(rec.get("label_distribution")),
            ch.get("added"),
            ch.get("removed"),
            ch.get("relabeled"),
            ch.get("modified"),
            bool(ch.get("known", False)),
            ch.get("file"),
            rec.get("imported_commit"),
            name,
            text,
        ]
    elif kind == "tag":
        tag_row = [rec["dataset"], rec["tag"], rec["version"], rec["timestamp"], name]
    record_row = [rec.get("id"), kind, rec.get("dataset"), rec.get("timestamp"), name, text]
    return files_row, version_row, tag_row, record_row
