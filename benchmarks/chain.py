"""A long version chain for the history benchmark, written the way `commit` writes it.

Versions 1 and 2 are real commits of the generated pair. Versions 3..N are journal
records plus change sets in exactly the format `dslineage commit` writes (same fields,
same id rule, same parquet columns), each relabeling the next window of
`relabel_rate * rows` keys, committed to git in one commit per batch and then indexed
by the normal sync. They reuse v2's bytes (DVC object), which keeps a 1,000-version
chain of a million-row dataset to minutes; `history` reads only the index and, for a key
never changed, the latest version's bytes, which hold that key's true labels.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from benchmarks.params import CLASSES
from dslineage import journal


class Chain:
    """Extends the version chain of dataset `name` in repository `root`."""

    def __init__(self, root: Path, name: str, rows: int, window: int) -> None:
        import duckdb

        from dslineage import dvcio
        from dslineage.repo import Repo

        self.root, self.name, self.rows, self.window = root, name, rows, window
        with Repo(root) as repo:
            versions = repo.index.versions(name)
        head = max(versions, key=lambda v: v["seq"])
        self.head = {
            **head,
            "schema": json.loads(head["schema"]),
            "label_distribution": json.loads(head["label_distribution"]),
        }
        self.con = duckdb.connect()
        self.con.execute(
            "CREATE TABLE state AS SELECT key, label FROM read_parquet(?)", [str(dvcio.cache_path(root, head["md5"]))]
        )
        self.classes = "[" + ", ".join(f"'{c}'" for c in CLASSES) + "]"

    @property
    def seq(self) -> int:
        """The number of versions so far."""
        return int(self.head["seq"])

    def extend(self, versions: int) -> int:
        """Add versions until there are `versions`; one git commit for the batch. Returns how many."""
        folder = journal.folder(self.root)
        written: list[Path] = []
        while self.seq < versions:
            written += self._one(folder)
        if written:
            rel = [p.relative_to(self.root).as_posix() for p in written]
            subprocess.run(["git", "add", "--", *rel], cwd=self.root, check=True, capture_output=True)
            subprocess.run(
                ["git", "commit", "-q", "-m", f"history chain up to v{self.seq}"],
                cwd=self.root,
                check=True,
                capture_output=True,
            )
        return len(written) // 2

    def _one(self, folder: Path) -> list[Path]:
        seq = self.seq + 1
        start = (seq * self.window) % self.rows
        ts = journal.now()
        author, message = "Bench Runner <bench@example.com>", f"relabel window {seq}"
        vid = journal.make_id("version", self.name, self.head["md5"], self.head["id"], ts, author, message)
        name = journal.changes_name(vid)
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE chg AS SELECT 'relabeled' AS change, key AS k0, label AS o0, "
            f"{self.classes}[1 + ((key + ?) % 10)::INTEGER] AS n0 FROM state "
            "WHERE key >= ? AND key < ? AND label <> n0",
            [label_offset(seq, self.rows, self.window), start, start + self.window],
        )
        counted = self.con.execute("SELECT count(*) FROM chg").fetchone()
        assert counted is not None
        n = int(counted[0])
        target = str(folder / name).replace("'", "''")
        self.con.execute(f"COPY (SELECT * FROM chg ORDER BY k0) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
        self.con.execute("UPDATE state SET label = chg.n0 FROM chg WHERE state.key = chg.k0")
        record = {
            "kind": "version",
            "id": vid,
            "dataset": self.name,
            "seq": seq,
            "md5": self.head["md5"],
            "parent": self.head["id"],
            "path": self.head["path"],
            "message": message,
            "author": author,
            "timestamp": ts,
            "rows": self.head["rows"],
            "schema": self.head["schema"],
            "label_distribution": self.head["label_distribution"],
            "changes": {
                "known": True,
                "file": name,
                "keys": ["key"],
                "labels": ["label"],
                "added": 0,
                "removed": 0,
                "relabeled": n,
                "modified": 0,
                "columns": {"label": n} if n else {},
            },
        }
        jfile = journal.write(self.root, record)
        self.head = {**record, "id": vid}
        return [jfile, folder / name]

    def close(self) -> None:
        """Release the DuckDB connection."""
        self.con.close()


def label_offset(seq: int, rows: int, window: int) -> int:
    """Version `seq` gives key k the class (k + offset) % 10: the offset shifts by one each time
    the windows wrap around the key space, so a key revisited always gets a new label."""
    return seq + seq // max(1, rows // window)


def changed_keys(root: Path, name: str, count: int) -> list[int]:
    """`count` keys spread over the key space (some changed often, some never)."""
    from dslineage.repo import Repo

    with Repo(root) as repo:
        head = max(repo.index.versions(name), key=lambda v: v["seq"])
    step = max(1, int(head["rows"]) // max(1, count))
    return [i * step + 7 for i in range(count)]
