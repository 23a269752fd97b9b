"""`fsck` checks of the journal: every record readable and committed, versions' parents
and change sets present, edit batches with their edits files, links that resolve."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from dslineage import config, journal, recovery
from dslineage.errors import DslineageError
from dslineage.ops.fsck_base import _HEX32, CheckerBase, _delete, _prune


class JournalChecks(CheckerBase):
    """The journal checks of the fsck checker."""

    def check_journal(self) -> None:
        root = self.root
        folder = journal.folder(root)
        names = journal.list_files(root)
        self.checked["journal_records"] = len(names)
        entries = self.repo.git.status(config.JOURNAL_DIR)
        status = {p: code for code, p in entries}
        pending = self._pending_paths()
        ids: dict[str, str] = {}
        later: list[tuple[dict[str, Any], str, str]] = []
        for name in names:
            rel = f"{config.JOURNAL_DIR}/{name}"
            try:
                rec = journal.read(folder / name)
                if not all(k in rec for k in ("kind", "id", "timestamp")):
                    raise ValueError("kind, id or timestamp missing")
            except (OSError, ValueError, DslineageError) as exc:
                self.add(
                    "journal",
                    "error",
                    f"journal record {name} is unreadable: {str(exc)[:120]}",
                    f"restore it with `git checkout -- {rel}`",
                    rel,
                )
                continue
            self.records[name] = rec
            if rec["id"] in ids:
                self.add(
                    "journal",
                    "error",
                    f"journal records {ids[rec['id']]} and {name} share id {rec['id'][:12]}",
                    "delete the copy that git did not commit first",
                    rel,
                )
            ids[rec["id"]] = name
            code = status.get(rel, "")
            if code == "??" and rel not in pending:
                if rec["kind"] == "version":
                    self.add(
                        "journal",
                        "error",
                        f"version record {name} has no git commit (left by an interrupted write)",
                        "`dslineage fsck --repair` deletes it; then commit again",
                        rel,
                        repair=functools.partial(_delete, folder / name),
                    )
                elif rec["kind"] == "batch":
                    later.append((rec, name, rel))  # once every record is read: versions carry batches
                else:
                    self.add(
                        "journal",
                        "warning",
                        f"{rec['kind']} record {name} is not committed yet",
                        f"commit it (`git add {rel}` then `git commit`), or delete it if nothing needs it",
                        rel,
                    )
            elif code == "A ":  # staged, not committed: a merge in progress (its commit adds it)
                if not self.repo.git.merging():
                    self.add(
                        "journal",
                        "warning",
                        f"{rec['kind']} record {name} is staged but not committed",
                        "commit it with `git commit`",
                        rel,
                    )
            elif code and code != "??":
                self.add(
                    "journal",
                    "error",
                    f"journal record {name} differs from git ({code.strip()}); records are never rewritten",
                    f"restore it with `git checkout -- {rel}`",
                    rel,
                )
        for rec, name, rel in later:
            self._check_uncommitted_batch(rec, name, rel)
        for code, rel in entries:
            if "D" in code:
                self.add(
                    "journal",
                    "error",
                    f"committed journal file {rel} is missing from the work tree",
                    f"restore it with `git checkout -- {rel}`",
                    rel,
                )
        self._check_links(folder, status, pending)

    def _check_uncommitted_batch(self, rec: dict[str, Any], name: str, rel: str) -> None:
        """A batch applied with `relabel --no-commit`: pending while the working file holds its
        edits (the next `commit` records it); discarded once they are gone (`checkout --force`)."""
        from dslineage.ops import batches as batch_ops

        ds = self.datasets.get(rec.get("dataset", ""))
        about = (
            f"batch {rec['id'][:12]} of {rec.get('dataset')} ({rec.get('rows')} row(s) of "
            f"{rec.get('column')}, by {rec.get('author')})"
        )
        unlinked = [r for r in self.records.values() if r.get("kind") == "batch"]
        carried = {b for r in self.records.values() if r.get("kind") == "version" for b in r.get("batches") or []}
        if rec["id"] in carried:
            self.add(
                "journal",
                "warning",
                f"{about} is recorded by a version but its record {name} is not committed",
                f"commit it (`git add {rel}` then `git commit`)",
                rel,
            )
            return
        held = (
            batch_ops.holds_edits(self.repo, ds, rec, [r for r in unlinked if r["id"] not in carried])
            if ds is not None
            else None
        )
        if held is False:
            self.add(
                "journal",
                "warning",
                f"{about} was discarded: the working file no longer holds its edits (e.g. after "
                "`checkout --force`), so no commit will record it",
                "`dslineage fsck --repair` or `dslineage batches --prune` deletes its record and edits "
                "(logged in .git/dslineage/pruned.jsonl); relabel again to redo it",
                rel,
                repair=functools.partial(_prune, self.repo, rec),
            )
        elif held is True:
            self.add(
                "journal",
                "warning",
                f"{about} is pending: the working file holds its edits",
                f"`dslineage commit {rec.get('dataset')} -m MSG` records it in the next version",
                rel,
            )
        else:
            self.add(
                "journal",
                "warning",
                f"{about} is not committed and its working file cannot be read",
                f"restore {ds.path if ds else 'the dataset file'}, then run `dslineage fsck` again",
                rel,
            )

    def _check_parents(self, rec: dict[str, Any], versions: dict[str, dict[str, Any]], rel: str) -> None:
        """Every parent (`parents`, or the older `parent`) is in the journal; the seq follows."""
        first = [str(rec["parent"])] if rec.get("parent") else []
        parents = list(dict.fromkeys(first + journal.parents(rec)))
        lost = [p for p in parents if p not in versions]
        for missing in lost:
            self.add(
                "journal",
                "error",
                f"version {rec.get('dataset')}@v{rec.get('seq')} ({journal.short(rec['id'])}) names a "
                f"parent {journal.short(missing)} that is not in the journal",
                f"restore the parent's record with `git checkout -- {config.JOURNAL_DIR}` "
                f"(or find it with `git log --all -- {config.JOURNAL_DIR}`)",
                rel,
            )
        if lost or not parents:
            return
        seqs = [versions[p].get("seq") or 0 for p in parents]
        if rec.get("seq") not in {seqs[0] + 1, max(seqs) + 1}:
            self.add(
                "journal",
                "warning",
                f"version {journal.short(rec['id'])} has seq {rec.get('seq')} after a parent of seq {seqs[0]}",
                "nothing to do unless `NAME@vN` names the wrong version",
                rel,
            )

    def _pending_paths(self) -> set[str]:
        try:
            state = recovery.pending(self.root)
        except DslineageError:
            return set()
        if not state:
            return set()
        return set(state.get("created", [])) | set(state.get("files", {}))

    def _check_links(self, folder: Path, status: dict[str, str], pending: set[str]) -> None:
        versions = {r["id"]: r for r in self.records.values() if r.get("kind") == "version"}
        self.checked["versions"] = len(versions)
        referenced: set[str] = set()
        for name, rec in self.records.items():
            rel = f"{config.JOURNAL_DIR}/{name}"
            if rec["kind"] == "version":
                self._check_parents(rec, versions, rel)
                md5 = str(rec.get("md5", "")).removesuffix(".dir")  # a directory version's manifest
                if len(md5) != 32 or not set(md5) <= _HEX32:
                    self.add(
                        "journal",
                        "error",
                        f"version record {name} has an invalid md5 {md5[:40]!r}",
                        f"restore it with `git checkout -- {rel}`",
                        rel,
                    )
                changes = rec.get("changes") or {}
                file = changes.get("file")
                if file:
                    referenced.add(file)
                    if "/" in file or "\\" in file or file.startswith("."):
                        self.add(
                            "journal",
                            "error",
                            f"version record {name} names an unsafe change set {file!r}",
                            f"restore it with `git checkout -- {rel}`",
                            rel,
                        )
                    elif not (folder / file).is_file():
                        crel = f"{config.JOURNAL_DIR}/{file}"
                        self.add(
                            "journal",
                            "error",
                            f"change set {file} of version {journal.short(rec['id'])} is missing",
                            f"restore it with `git checkout -- {crel}`",
                            crel,
                        )
            elif rec["kind"] == "tag" and rec.get("version") not in versions:
                self.add(
                    "journal",
                    "error",
                    f"tag {rec.get('tag')!r} names version {str(rec.get('version'))[:10]} that is not in the journal",
                    "restore that version's record from git history",
                    rel,
                )
        for entry in sorted(folder.glob("*.changes.parquet")) if folder.is_dir() else []:
            if entry.name in referenced:
                continue
            crel = f"{config.JOURNAL_DIR}/{entry.name}"
            if status.get(crel) == "??" and crel not in pending:
                self.add(
                    "journal",
                    "error",
                    f"change set {entry.name} belongs to no record (left by an interrupted write)",
                    "`dslineage fsck --repair` deletes it",
                    crel,
                    repair=functools.partial(_delete, entry),
                )
            elif crel not in pending:
                self.add(
                    "journal",
                    "warning",
                    f"change set {entry.name} belongs to no record",
                    f"delete it with `git rm {crel}` if nothing needs it",
                    crel,
                )
