"""Label edits of a directory dataset narrowed to the parts they touch (issue 16).

`relabel` of a directory whose working parts are its current version's loads the key and label
columns of only the parts that hold an edited key (found through the key → part index,
`store.keyindex`, which reads a part's keys once ever), instead of every part's. What the edit
session computed over the whole table it takes from elsewhere: the label rules' class counts
from the current version's label distribution (the index has it from the journal), and the
edited rows are all in the loaded parts, so joins, no-op and missing counts are the same.
Declared label pairs (`track --label-pair`) are checked against the mapping of the whole
dataset: such datasets, a working directory that is not the current version (`--force`,
pending batches) and file datasets keep the full session (`ops.edit_session.Session`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dslineage.config import DIR_FORMAT, Dataset
from dslineage.core import common
from dslineage.ops.edit_session import Session
from dslineage.store import keyindex, parts

if TYPE_CHECKING:
    from dslineage.repo import Repo


def open_session(repo: Repo, ds: Dataset, *, force: bool = False) -> Session:
    """The edit session `relabel` uses: narrowed to the touched parts for a directory dataset."""
    return NarrowSession(repo, ds, force=force) if ds.format == DIR_FORMAT else Session(repo, ds, force=force)


class NarrowSession(Session):
    """An edit session over a directory dataset that loads a part only once a staged edit's key
    is in it; where narrowing does not apply it loads every part, as `Session` does."""

    refs: list[keyindex.PartRef]
    pid_of: dict[str, int]
    loaded: set[str]

    def _load_dir(self) -> tuple[Any, list[parts.Span]]:
        head = self.head
        self.narrow = bool(
            not self.ds.label_pairs
            and self.md5 is not None
            and self.md5 == head["md5"]
            and not self.pending
            and head.get("label_distribution")
        )
        if not self.narrow:
            return super()._load_dir()
        top = common.working_path(self.repo, self.ds)
        self.refs = [
            keyindex.PartRef(p.relpath, p.md5, top / p.relpath) for p in common.working_parts(self.repo, self.ds) or []
        ]
        self.pid_of = keyindex.pids(self.repo.index.con, self.refs, self.ds.key, self.types)
        self.loaded = set()
        return self._load()

    def _load(self) -> tuple[Any, list[parts.Span]]:
        """The key and label columns of the loaded parts (in manifest order), and their spans."""
        columns = list(dict.fromkeys(self.ds.key + self.ds.labels))
        items = [(r.relpath, r.path) for r in self.refs if r.relpath in self.loaded]
        if items:
            return parts.load(items, columns)
        return parts.empty((self.refs[0].relpath, self.refs[0].path), columns), []  # no part yet: no rows

    def _cover(self) -> None:
        """Load the parts holding the staged edits' keys too (a key in no part stays missing)."""
        from dslineage.store import labels

        if not self.narrow:
            return
        wanted = keyindex.staged_keys(self.con, len(self.ds.key))
        need = keyindex.holding(self.repo.index.con, self.pid_of, self.ds.key, self.types, wanted)
        if need <= self.loaded:
            return
        self.loaded |= need
        self.table, self.spans = self._load()
        labels.register(self.con, self.table, self.ds, self.types, self.text)

    def stage_pairs(self, pairs: list[tuple[list[str], str]], column: str, allowed: list[Any] | None) -> int:
        """Stage `--set KEY=LABEL` edits, then load the parts they touch."""
        n = super().stage_pairs(pairs, column, allowed)
        self._cover()
        return n

    def stage_file(self, path: str, column: str, allowed: list[Any] | None, *, blanks: bool = False) -> int:
        """Stage edits from a file, then load the parts they touch."""
        n = super().stage_file(path, column, allowed, blanks=blanks)
        if n:
            self._cover()
        return n

    def label_counts(self, column: str) -> list[tuple[Any, int]]:
        """(value, rows) of a label column before the edits: the current version's distribution
        (the working parts are that version's), not a scan of every part."""
        if not self.narrow:
            return super().label_counts(column)
        dist = self.head["label_distribution"]
        dist = json.loads(dist) if isinstance(dist, str) else dist
        return [(d["label"], int(d["count"])) for d in dist.get(column, [])]
