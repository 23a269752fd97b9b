"""`dslineage fsck [--deep] [--repair]`: check git, `.dvc` files, the DVC cache, the journal
and the index against each other; report each problem with its fix.

`--repair` completes or rolls back an interrupted operation, deletes leftovers of
interrupted writes (uncommitted version records, orphan change sets, temporary files) and
rebuilds the index; then it checks again. Problems that need a person (a missing cache
object, an edited journal record) stay listed, and the command exits 1.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import config, dvcio, journal, txn
from dslineage.errors import DslineageError
from dslineage.ops import mergestate

if TYPE_CHECKING:
    from dslineage.repo import Repo

_HEX32 = set("0123456789abcdef")


@dataclass
class Problem:
    """One inconsistency: where, what, and how to fix it (`repair` does it, when it can)."""

    check: str
    severity: str  # "error" | "warning"
    message: str
    fix: str
    path: str | None = None
    repair: Callable[[], None] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The problem as plain data."""
        return {
            "check": self.check,
            "severity": self.severity,
            "path": self.path,
            "message": self.message,
            "fix": self.fix,
            "repairable": self.repair is not None,
        }


class _Checker:
    """Runs every check once and collects the problems."""

    def __init__(self, repo: Repo, deep: bool, remote: bool = False) -> None:
        self.repo = repo
        self.root = repo.root
        self.deep = deep
        self.remote = remote
        self.remote_report: dict[str, Any] | None = None  # what `--remote` found
        self.problems: list[Problem] = []
        self.checked: dict[str, int] = {}
        self.records: dict[str, dict[str, Any]] = {}  # journal file name -> record
        self.datasets: dict[str, config.Dataset] = {}

    def add(self, check: str, severity: str, message: str, fix: str, path: str | None = None,
            repair: Callable[[], None] | None = None) -> None:
        self.problems.append(Problem(check, severity, message, fix, path, repair))

    def run(self) -> None:
        self.check_txn()
        self.check_git()
        self.check_registrations()
        self.check_journal()
        self.check_dvc()
        self.check_leftovers()
        self.check_index()
        if self.remote:
            self.check_remote()

    # -- interrupted operations -----------------------------------------------------------

    def check_txn(self) -> None:
        root, git = self.root, self.repo.git
        try:
            state = txn.pending(root)
        except DslineageError as exc:
            self.add("txn", "error", str(exc), f"inspect and delete {txn.INTENT}", txn.INTENT)
            return
        if state is not None:
            done = txn.is_committed(git, state)
            self.add(
                "txn", "error",
                f"an interrupted `{state.get('op')}` (started {state.get('started')}, pid "
                f"{state.get('pid')}) is pending; its git commit was {'' if done else 'not '}made",
                f"run `dslineage fsck --repair` to {'complete it' if done else 'roll it back'}",
                txn.INTENT, repair=lambda: self._recover(),
            )
        folder = root / txn.TXN_DIR
        if folder.is_dir():
            for entry in sorted(folder.iterdir()):
                if entry.is_dir() and (state is None or entry.name != state.get("id")):
                    rel = entry.relative_to(root).as_posix()
                    self.add(
                        "txn", "warning", f"{rel} holds backups of a finished operation",
                        "delete it (`dslineage fsck --repair` does)", rel,
                        repair=functools.partial(shutil.rmtree, entry, ignore_errors=True),
                    )

    def _recover(self) -> None:
        txn.recover(self.root, self.repo.git)

    # -- git ------------------------------------------------------------------------------

    def check_git(self) -> None:
        git = self.repo.git
        if git.head() is None:
            self.add("git", "warning", "the repository has no commits yet",
                     "run `dslineage init` to make the first commit")
        lock = self.root / ".git" / "index.lock"
        if lock.exists():
            self.add("git", "warning", ".git/index.lock exists: a git command is running or crashed",
                     "if no git command is running, delete .git/index.lock", ".git/index.lock")
        if self.deep:
            try:
                git.run("fsck", "--no-progress", "--no-dangling")
            except DslineageError as exc:
                self.add("git", "error", f"git fsck reports damage: {exc}",
                         "repair the git repository (e.g. re-clone it) before anything else")

    # -- dataset registrations ------------------------------------------------------------

    def check_registrations(self) -> None:
        folder = self.root / config.DATASETS_DIR
        files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
        self.checked["datasets"] = len(files)
        for f in files:
            rel = f.relative_to(self.root).as_posix()
            try:
                ds = config.load_registration(self.root, f)
            except DslineageError as exc:
                self.add("registration", "error", str(exc), f"restore it with `git checkout -- {rel}` "
                         "or register the dataset again with `dslineage track`", rel)
                continue
            self.datasets[ds.name] = ds

    # -- journal --------------------------------------------------------------------------

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
                self.add("journal", "error", f"journal record {name} is unreadable: {str(exc)[:120]}",
                         f"restore it with `git checkout -- {rel}`", rel)
                continue
            self.records[name] = rec
            if rec["id"] in ids:
                self.add("journal", "error", f"journal records {ids[rec['id']]} and {name} share id "
                         f"{rec['id'][:12]}", "delete the copy that git did not commit first", rel)
            ids[rec["id"]] = name
            code = status.get(rel, "")
            if code == "??" and rel not in pending:
                if rec["kind"] == "version":
                    self.add("journal", "error",
                             f"version record {name} has no git commit (left by an interrupted write)",
                             "`dslineage fsck --repair` deletes it; then commit again", rel,
                             repair=functools.partial(_delete, folder / name))
                elif rec["kind"] == "batch":
                    later.append((rec, name, rel))  # once every record is read: versions carry batches
                else:
                    self.add("journal", "warning", f"{rec['kind']} record {name} is not committed yet",
                             f"commit it (`git add {rel}` then `git commit`), or delete it if nothing needs it",
                             rel)
            elif code == "A ":  # staged, not committed: a merge in progress (its commit adds it)
                if not self.repo.git.merging():
                    self.add("journal", "warning", f"{rec['kind']} record {name} is staged but not committed",
                             "commit it with `git commit`", rel)
            elif code and code != "??":
                self.add("journal", "error", f"journal record {name} differs from git ({code.strip()}); "
                         "records are never rewritten", f"restore it with `git checkout -- {rel}`", rel)
        for rec, name, rel in later:
            self._check_uncommitted_batch(rec, name, rel)
        for code, rel in entries:
            if "D" in code:
                self.add("journal", "error", f"committed journal file {rel} is missing from the work tree",
                         f"restore it with `git checkout -- {rel}`", rel)
        self._check_links(folder, status, pending)

    def _check_uncommitted_batch(self, rec: dict[str, Any], name: str, rel: str) -> None:
        """A batch applied with `relabel --no-commit`: pending while the working file holds its
        edits (the next `commit` records it); discarded once they are gone (`checkout --force`)."""
        from dslineage.ops import batches as batch_ops

        ds = self.datasets.get(rec.get("dataset", ""))
        about = (f"batch {rec['id'][:12]} of {rec.get('dataset')} ({rec.get('rows')} row(s) of "
                 f"{rec.get('column')}, by {rec.get('author')})")
        unlinked = [r for r in self.records.values() if r.get("kind") == "batch"]
        carried = {b for r in self.records.values() if r.get("kind") == "version" for b in r.get("batches") or []}
        if rec["id"] in carried:
            self.add("journal", "warning", f"{about} is recorded by a version but its record {name} is not "
                     "committed", f"commit it (`git add {rel}` then `git commit`)", rel)
            return
        held = batch_ops.holds_edits(self.repo, ds, rec, [r for r in unlinked if r["id"] not in carried]) \
            if ds is not None else None
        if held is False:
            self.add("journal", "warning",
                     f"{about} was discarded: the working file no longer holds its edits (e.g. after "
                     "`checkout --force`), so no commit will record it",
                     "`dslineage fsck --repair` or `dslineage batches --prune` deletes its record and edits "
                     "(logged in .git/dslineage/pruned.jsonl); relabel again to redo it", rel,
                     repair=functools.partial(_prune, self.repo, rec))
        elif held is True:
            self.add("journal", "warning", f"{about} is pending: the working file holds its edits",
                     f"`dslineage commit {rec.get('dataset')} -m MSG` records it in the next version", rel)
        else:
            self.add("journal", "warning", f"{about} is not committed and its working file cannot be read",
                     f"restore {ds.path if ds else 'the dataset file'}, then run `dslineage fsck` again", rel)

    def _check_parents(self, rec: dict[str, Any], versions: dict[str, dict[str, Any]], rel: str) -> None:
        """Every parent (`parents`, or the older `parent`) is in the journal; the seq follows."""
        first = [str(rec["parent"])] if rec.get("parent") else []
        parents = list(dict.fromkeys(first + journal.parents(rec)))
        lost = [p for p in parents if p not in versions]
        for missing in lost:
            self.add("journal", "error",
                     f"version {rec.get('dataset')}@v{rec.get('seq')} ({rec['id'][:10]}) names a "
                     f"parent {missing[:10]} that is not in the journal",
                     f"restore the parent's record with `git checkout -- {config.JOURNAL_DIR}` "
                     f"(or find it with `git log --all -- {config.JOURNAL_DIR}`)", rel)
        if lost or not parents:
            return
        seqs = [versions[p].get("seq") or 0 for p in parents]
        if rec.get("seq") not in {seqs[0] + 1, max(seqs) + 1}:
            self.add("journal", "warning",
                     f"version {rec['id'][:10]} has seq {rec.get('seq')} after a parent of seq "
                     f"{seqs[0]}", "nothing to do unless `NAME@vN` names the wrong version", rel)

    def _pending_paths(self) -> set[str]:
        try:
            state = txn.pending(self.root)
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
                md5 = str(rec.get("md5", ""))
                if len(md5) != 32 or not set(md5) <= _HEX32:
                    self.add("journal", "error", f"version record {name} has an invalid md5 {md5[:40]!r}",
                             f"restore it with `git checkout -- {rel}`", rel)
                changes = rec.get("changes") or {}
                file = changes.get("file")
                if file:
                    referenced.add(file)
                    if "/" in file or "\\" in file or file.startswith("."):
                        self.add("journal", "error", f"version record {name} names an unsafe change set "
                                 f"{file!r}", f"restore it with `git checkout -- {rel}`", rel)
                    elif not (folder / file).is_file():
                        crel = f"{config.JOURNAL_DIR}/{file}"
                        self.add("journal", "error",
                                 f"change set {file} of version {rec['id'][:10]} is missing",
                                 f"restore it with `git checkout -- {crel}`", crel)
            elif rec["kind"] == "tag" and rec.get("version") not in versions:
                self.add("journal", "error", f"tag {rec.get('tag')!r} names version "
                         f"{str(rec.get('version'))[:10]} that is not in the journal",
                         "restore that version's record from git history", rel)
        for entry in sorted(folder.glob("*.changes.parquet")) if folder.is_dir() else []:
            if entry.name in referenced:
                continue
            crel = f"{config.JOURNAL_DIR}/{entry.name}"
            if status.get(crel) == "??" and crel not in pending:
                self.add("journal", "error", f"change set {entry.name} belongs to no record "
                         "(left by an interrupted write)", "`dslineage fsck --repair` deletes it", crel,
                         repair=functools.partial(_delete, entry))
            elif crel not in pending:
                self.add("journal", "warning", f"change set {entry.name} belongs to no record",
                         f"delete it with `git rm {crel}` if nothing needs it", crel)

    # -- .dvc files and the DVC cache -----------------------------------------------------

    def check_dvc(self) -> None:
        by_dataset: dict[str, list[dict[str, Any]]] = {}
        for rec in self.records.values():
            if rec.get("kind") == "version":
                by_dataset.setdefault(str(rec.get("dataset")), []).append(rec)
        objects = verified = 0
        try:  # outputs of DVC stages have their hash in dvc.lock instead of a .dvc file
            staged = {p: m for e in dvcio.read_lock(self.root).values() for p, m in e.outs}
        except Exception as exc:  # a damaged dvc.lock: any parser error
            self.add("dvc", "error", f"dvc.lock is unreadable: {str(exc).splitlines()[0][:120]}",
                     "restore it with `git checkout -- dvc.lock`", "dvc.lock")
            staged = {}
        for name, ds in sorted(self.datasets.items()):
            versions = sorted(by_dataset.get(name, []), key=lambda r: r.get("seq") or 0)
            md5s = {r["md5"] for r in versions}
            dvcrel = dvcio.dvcfile_for(ds.path)
            current: str | None = None
            if ds.path in staged and not (self.root / dvcrel).exists():
                dvcrel, out = "dvc.lock", dvcio.DvcOut(md5=staged[ds.path], size=None, path=ds.path)
            else:
                out = None
            try:
                out = out or dvcio.read_dvcfile(self.root / dvcrel)
            except Exception as exc:  # a damaged YAML file: any parser error
                self.add("dvc", "error", f"{dvcrel} is unreadable: {str(exc).splitlines()[0][:120]}",
                         f"restore it with `git checkout -- {dvcrel}` or `dslineage checkout {name}@latest`",
                         dvcrel)
                out = None
            else:
                if out is None and versions:
                    self.add("dvc", "error", f"{dvcrel} is missing or names no output",
                             f"restore it with `dslineage checkout {name}@latest --force`", dvcrel)
            head = self._head_md5(ds)
            note = mergestate.read(self.root, name)
            if versions and head is not None and head not in md5s and note and note.get("merged_md5") == head:
                self.add("dvc", "warning",
                         f"HEAD's {dvcrel} records the rows the git merge driver merged; the merge "
                         f"version of {name} is not recorded yet",
                         "run any dslineage command (e.g. `dslineage status`): it records it", dvcrel)
            elif versions and head is not None and head not in md5s:
                self.add("dvc", "warning",
                         f"HEAD's {dvcrel} records md5 {head} for {ds.path} that no version of {name} "
                         "has (e.g. a git merge that nothing recorded yet)",
                         f"record it with `dslineage commit {name} -m MSG`, or finish the merge with "
                         "`dslineage merge BRANCH`", dvcrel)
            if out is not None:
                current = out.md5
                if versions and out.md5 not in md5s and out.md5 != head:
                    self.add("dvc", "error",
                             f"{dvcrel} records md5 {out.md5} for {ds.path} that no version of {name} "
                             "has (a .dvc file without a journal entry)",
                             f"record it with `dslineage commit {name} -m MSG`, or return to a version "
                             f"with `dslineage checkout {name}@latest --force`", dvcrel)
            working = self.root / ds.path
            for rec in versions:
                md5 = rec["md5"]
                obj = dvcio.cache_path(self.root, md5) if _is_md5(md5) else None
                if obj is None:
                    continue
                objects += 1
                label = f"{name}@v{rec.get('seq')}"
                if not obj.is_file():
                    needed = md5 == current and not (working.is_file() and dvcio.file_md5(working) == md5)
                    self.add(
                        "cache", "error" if needed else "warning",
                        f"DVC cache object {md5} of {label} is missing"
                        + (" and the working file does not hold it" if needed else ""),
                        "fetch it with `dvc pull` (or `dvc fetch`) from the DVC remote", label,
                    )
                    continue
                if self.deep:
                    verified += 1
                    actual = dvcio.file_md5(obj)
                    if actual != md5:
                        rel = obj.relative_to(self.root).as_posix() if obj.is_relative_to(self.root) else str(obj)
                        self.add("cache", "error",
                                 f"DVC cache object {md5} of {label} is corrupt (its bytes hash to {actual})",
                                 f"delete {rel} and `dvc pull` it, or re-add the original file", rel)
            if self.deep and working.is_file():
                self._check_readable(ds)
        self.checked["cache_objects"] = objects
        if self.deep:
            self.checked["cache_objects_verified"] = verified

    def _head_md5(self, ds: config.Dataset) -> str | None:
        from dslineage.core import common

        return common.recorded_md5_at(self.repo, ds, "HEAD")  # no index: it may be the broken part

    def _check_readable(self, ds: config.Dataset) -> None:
        from dslineage.core import common
        from dslineage.store import rows

        con = common.row_connection(self.repo)
        try:
            rows.validate(con, common.working_source(self.repo, ds), ds)
        except DslineageError as exc:
            self.add("dvc", "warning", f"the working file of {ds.name} is not a valid dataset: {str(exc)[:200]}",
                     f"fix it, or restore it with `dslineage checkout {ds.name}@latest --force`", ds.path)
        finally:
            con.close()

    # -- DVC remotes (`--remote`) ----------------------------------------------------------

    def check_remote(self) -> None:
        """List the versions whose object is on no configured DVC remote (asks each remote)."""
        versions = sorted(
            (r for r in self.records.values() if r.get("kind") == "version" and r.get("dataset") in self.datasets
             and _is_md5(str(r.get("md5", "")))),
            key=lambda r: (str(r["dataset"]), r.get("seq") or 0, r["id"]),
        )
        md5s = sorted({r["md5"] for r in versions})
        try:
            names = dvcio.remote_names(self.root)
        except Exception as exc:  # a damaged .dvc/config: any DVC config error
            names = []
            self.add("remote", "error", f"the DVC config is unreadable: {str(exc).splitlines()[0][:150]}",
                     "fix .dvc/config (`dvc remote list` shows what DVC reads)", ".dvc/config")
        on_remote: set[str] = set()
        unreachable: list[dict[str, str]] = []
        for name in names:
            try:
                on_remote |= dvcio.remote_status(self.root, md5s, remote=name).present
            except DslineageError as exc:
                unreachable.append({"remote": name, "error": str(exc)})
                self.add("remote", "error", f"DVC remote {name!r} cannot be checked: {exc}",
                         "set the remote's credentials in the environment, or fix its URL/endpoint", ".dvc/config")
        if not names:
            self.add("remote", "warning", "no DVC remote is configured: every version lives only in local caches",
                     "add one with `dvc remote add -d NAME URL`, then `dslineage push`", ".dvc/config")
        nowhere: list[dict[str, Any]] = []
        if names and len(unreachable) == len(names):
            versions = []  # no remote answered: which versions are missing is unknown
        for rec in versions:
            if rec["md5"] in on_remote:
                continue
            local = dvcio.cache_path(self.root, rec["md5"]).is_file()
            nowhere.append({"dataset": rec["dataset"], "version": rec["id"], "seq": rec.get("seq"),
                            "md5": rec["md5"], "local": local})
            label = f"{rec['dataset']}@v{rec.get('seq')}"
            if names:
                self.add(
                    "remote", "warning" if local else "error",
                    f"DVC cache object {rec['md5']} of {label} is on no DVC remote"
                    + ("" if local else " and not in the local cache: no clone can get it from here"),
                    f"run `dslineage push {rec['dataset']}`" if local
                    else "run `dslineage push` on the machine that recorded it", label,
                )
        self.checked["remote_objects"] = len(md5s)
        self.remote_report = {"remotes": names, "unreachable": unreachable, "versions": nowhere}

    # -- leftovers of interrupted writes --------------------------------------------------

    def check_leftovers(self) -> None:
        pending = self._pending_paths()
        folders = {self.root / config.META_DIR, self.root / config.JOURNAL_DIR, self.root / config.DATASETS_DIR}
        folders |= {(self.root / ds.path).parent for ds in self.datasets.values()}
        for folder in sorted(folders):
            if not folder.is_dir():
                continue
            for entry in sorted(folder.iterdir()):
                rel = entry.relative_to(self.root).as_posix()
                if entry.is_file() and _is_temp(entry.name) and rel not in pending:
                    self.add("leftover", "warning", f"{rel} is a temporary file left by an interrupted write",
                             "`dslineage fsck --repair` deletes it", rel,
                             repair=functools.partial(_delete, entry))

    # -- the index ------------------------------------------------------------------------

    def check_index(self) -> None:
        from dslineage.store.index import Index

        # a fresh index of the journal, in memory, to compare the real one with
        fresh = Index(self.root, lambda: self.repo.git.commits_adding(config.JOURNAL_DIR), path=Path(":memory:"))
        try:
            fresh.sync(force=True)
            expected = fresh.fingerprint()
        except Exception:  # the journal itself is damaged: reported above
            return
        finally:
            fresh.close()
        try:
            self.repo.index.sync()
            actual = self.repo.index.fingerprint()
        except Exception as exc:
            self.add("index", "error", f"the index cannot be read: {str(exc).splitlines()[0][:150]}",
                     "rebuild it with `dslineage reindex`", config.INDEX_FILE, repair=self._reindex)
            return
        # tables other modules fill lazily from these (the lineage graph's) are not in a fresh
        # rebuild; they refresh themselves from `records`, so only what sync builds is compared
        extra = [t for t in actual if t not in expected and t.startswith("changes/") and actual[t][0]]
        differ = sorted([t for t in expected if expected[t] != actual.get(t)] + extra)
        if differ:
            self.add("index", "error",
                     f"the index disagrees with the journal (tables: {', '.join(differ)[:200]})",
                     "rebuild it with `dslineage reindex`", config.INDEX_FILE, repair=self._reindex)

    def _reindex(self) -> None:
        from dslineage.ops.reindex import reindex

        reindex(self.repo)


def _delete(path: Path) -> None:
    path.unlink(missing_ok=True)


def _prune(repo: Repo, rec: dict[str, Any]) -> None:
    from dslineage.ops import batches as batch_ops

    batch_ops.prune_one(repo, rec, by="fsck --repair")


def _is_md5(text: str) -> bool:
    return len(text) == 32 and set(text) <= _HEX32


def _is_temp(name: str) -> bool:
    """Names the atomic writers use for their temporary files."""
    return name.startswith(".") and (".tmp" in name or ".restore-" in name)


def fsck(repo: Repo, *, deep: bool = False, repair: bool = False, remote: bool = False) -> dict[str, Any]:
    """Check the repository; with `repair`, fix what can be fixed and check again. With
    `remote`, also ask every DVC remote which versions' objects it holds (key `remote`)."""
    checker = _Checker(repo, deep, remote)
    checker.run()
    repaired: list[dict[str, Any]] = []
    if repair:
        # an interrupted operation first: its recovery settles most other findings
        for first in (True, False):
            for p in checker.problems:
                if p.repair is not None and p.check != "index" and (p.check == "txn") == first:
                    p.repair()
                    repaired.append({**p.to_dict(), "action": "repaired"})
            if first and repaired:
                checker = _Checker(repo, deep)  # the remote is asked once, at the end
                checker.run()
        try:
            checker._reindex()
            repaired.append({"check": "index", "severity": "info", "path": config.INDEX_FILE,
                             "message": "rebuilt the index from the journal", "fix": "", "repairable": True,
                             "action": "rebuilt"})
        except DslineageError:
            pass  # a damaged journal record: listed below, with how to restore it
        checker = _Checker(repo, deep, remote)
        checker.run()
    problems = [p.to_dict() for p in checker.problems]
    errors = sum(p["severity"] == "error" for p in problems)
    return {
        "ok": errors == 0,
        "deep": deep,
        "errors": errors,
        "warnings": len(problems) - errors,
        "problems": problems,
        "repaired": repaired,
        "checked": checker.checked,
        "remote": checker.remote_report,
    }

