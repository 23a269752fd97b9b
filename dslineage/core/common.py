"""Helpers shared by the operations and the quality gates: the current version, the working
file's md5 and state (`working_state`: the one "is it dirty?"), where a version's bytes are."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import dvcio, files, journal
from dslineage.config import DIR_FORMAT, META_DIR, Dataset
from dslineage.errors import MissingDataError, PathError, UnknownDatasetError
from dslineage.store import parts, rows

if TYPE_CHECKING:
    from dslineage.repo import Repo

WORKDIR = "workdir"


def working_path(repo: Repo, ds: Dataset) -> Path:
    """The absolute path of a dataset's working file."""
    return repo.root / ds.path


def stat_signature(path: Path) -> str | None:
    """The stat signature (size, mtime, inode) the index caches a file's md5 under, None if absent."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


def working_md5(repo: Repo, ds: Dataset) -> str | None:
    """The md5 of the working file (cached by stat like DVC's state db), None if absent; of a
    directory dataset, its DVC `.dir` md5 from its parts' (each cached by stat)."""
    if ds.format == DIR_FORMAT:
        found = working_parts(repo, ds)
        return parts.manifest_md5(found) if found is not None else None
    return md5_by_stat(repo, ds.path, working_path(repo, ds))


class Md5Ahead:
    """The md5 of a working file being hashed on a thread of its own (hashlib releases the GIL),
    so that a commit diffs the rows meanwhile; `result()` waits for it and caches it in the
    index under the stat signature taken before hashing (as `md5_by_stat` does)."""

    def __init__(self, repo: Repo, rel: str, path: Path, sig: str) -> None:
        """Start hashing `path` (`rel` in `repo`, stat signature `sig`)."""
        import threading

        self.repo, self.rel, self.sig = repo, rel, sig
        self._md5: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(path,), name="dslineage-md5", daemon=True)
        self._thread.start()

    def _run(self, path: Path) -> None:
        try:
            self._md5 = dvcio.file_md5(path)
        except BaseException as exc:  # raised again by result(), in the caller's thread
            self._error = exc

    def result(self) -> str:
        """The md5, once hashed (remembered in the index on the caller's thread)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._md5 is not None
        self.repo.index.remember_md5(self.rel, self.sig, self._md5)
        return self._md5


def working_md5_ahead(repo: Repo, ds: Dataset) -> str | Md5Ahead | None:
    """`working_md5`, except that a single file not hashed for its current stat comes back as
    an `Md5Ahead` still hashing."""
    path = working_path(repo, ds)
    sig = stat_signature(path)
    if ds.format == DIR_FORMAT or sig is None:
        return working_md5(repo, ds)
    return repo.index.cached_md5(ds.path, sig) or Md5Ahead(repo, ds.path, path, sig)


def md5_by_stat(repo: Repo, rel: str, path: Path, *, compute: bool = True) -> str | None:
    """The md5 of one file (DVC's), cached in the index under `rel` and its stat signature;
    None if absent (or, with `compute=False`, not cached for its current stat)."""
    sig = stat_signature(path)
    if sig is None:
        return None
    cached = repo.index.cached_md5(rel, sig)
    if cached or not compute:
        return cached
    md5 = dvcio.file_md5(path)
    repo.index.remember_md5(rel, sig, md5)
    return md5


def working_parts(repo: Repo, ds: Dataset, *, compute: bool = True) -> list[parts.Part] | None:
    """A directory dataset's working parts with their md5s (hashing only files whose stat
    changed), None when the directory is missing (or, with `compute=False`, a part's md5 is
    not cached)."""
    return parts.working_parts(repo.root, ds.path, lambda rel, path: md5_by_stat(repo, rel, path, compute=compute))


def known_md5(repo: Repo, ds: Dataset) -> str | None:
    """The working file's md5 if already computed for its current stat (no hashing), else None."""
    if ds.format == DIR_FORMAT:
        found = working_parts(repo, ds, compute=False)
        return parts.manifest_md5(found) if found is not None else None
    return md5_by_stat(repo, ds.path, working_path(repo, ds), compute=False)


def remember_working_md5(repo: Repo, ds: Dataset, md5: str) -> None:
    """Tell the index the md5 of the working file just written (so no one hashes it again);
    a directory's parts are remembered one by one as they are written (`md5_by_stat`)."""
    sig = stat_signature(working_path(repo, ds))
    if sig is not None and ds.format != DIR_FORMAT:
        repo.index.remember_md5(ds.path, sig, md5)


class WorkingFile:
    """The state of a dataset's working file against what is recorded: the one place the
    commands ask "is the working file dirty?" (each asks the question its action needs).

    `md5` (None: the file is missing) is computed at once (cached by stat); `version` and
    `unsaved` are looked up when first asked.
    """

    def __init__(self, repo: Repo, ds: Dataset) -> None:
        """The working file of `ds` in `repo`."""
        self.repo, self.ds = repo, ds
        self.md5 = working_md5(repo, ds)

    @property
    def missing(self) -> bool:
        """The working file does not exist."""
        return self.md5 is None

    def differs_from(self, md5: str | None) -> bool:
        """The working file does not hold exactly the bytes `md5` names (e.g. the current
        version's: then it has uncommitted changes)."""
        return self.md5 != md5

    @cached_property
    def version(self) -> dict[str, Any] | None:
        """The recorded version holding the working file's bytes (the deepest), None when
        none does (changes no version records) or the file is missing."""
        return version_with_md5(self.repo, self.ds.name, self.md5, rev=None)

    @cached_property
    def unsaved(self) -> bool:
        """The working file holds bytes that neither its `.dvc` file (or `dvc.lock`), nor any
        version, nor the DVC cache records: replacing them would lose work."""
        if self.md5 is None or worktree_recorded_md5(self.repo, self.ds) == self.md5:
            return False
        # bytes that some version records are not at risk (e.g. an older version checked out)
        if self.repo.index.versions_with_md5(self.ds.name, self.md5):
            return False
        # nor bytes the DVC cache holds: e.g. after `git checkout` of another branch, whose
        # journal does not list this branch's versions (as `dvc checkout` does)
        return not dvcio.cache_path(self.repo.root, self.md5).is_file()


def working_state(repo: Repo, ds: Dataset) -> WorkingFile:
    """The working file of `ds` and how it stands against what is recorded (see `WorkingFile`)."""
    return WorkingFile(repo, ds)


def newest(repo: Repo, name: str) -> dict[str, Any] | None:
    """The newest version of a dataset anywhere in the journal (highest seq, then newest
    time), whatever HEAD records; `current` is what commands mean by "latest"."""
    return repo.index.edge_version(name, last=True)


def current(repo: Repo, ds: Dataset | str) -> dict[str, Any] | None:
    """The dataset's current version: the one HEAD's `.dvc` file (for a DVC stage output:
    HEAD's `dvc.lock`) records, or None when it has no version.

    Among versions sharing that md5 it is the one whose git commit is an ancestor of HEAD,
    deepest (highest seq) first. Fallbacks, in order, when no version has HEAD's md5 (e.g. a
    git merge changed the `.dvc` file and no version records it yet) or HEAD has no `.dvc`
    file: the md5 the work tree's `.dvc` file (or `dvc.lock`) records; then the deepest
    version whose git commit is an ancestor of HEAD; then the newest version. `current_from`
    says which rule chose it. One `git show` per dataset per command (memoized).
    """
    return current_from(repo, ds)[0]


def latest(repo: Repo, name: str) -> dict[str, Any] | None:
    """The version `NAME@latest` means: `current` (kept for callers written before branches)."""
    return current(repo, name)


def current_from(repo: Repo, ds: Dataset | str) -> tuple[dict[str, Any] | None, str]:
    """`current(repo, ds)` and how it was chosen: "head" (HEAD's `.dvc` file records it),
    "worktree" (the work tree's `.dvc` file does), "reachable" (the deepest version of
    HEAD's history) or "newest"; ("none" when the dataset has no version)."""
    name = ds if isinstance(ds, str) else ds.name
    repo.index.sync()  # first: a sync that finds new journal files clears the memo
    memo, key = repo.index.memo, ("current", name)
    if key not in memo:
        try:
            dataset = repo.dataset(name) if isinstance(ds, str) else ds
        except UnknownDatasetError:  # a journal record of a dataset no longer registered
            v = newest(repo, name)
            memo[key] = (v, "newest" if v else "none")
        else:
            memo[key] = _choose(repo, dataset)
    return memo[key]  # type: ignore[no-any-return]


def head_md5(repo: Repo, ds: Dataset, rev: str = "HEAD") -> str | None:
    """The md5 that commit `rev`'s `.dvc` file (or `dvc.lock`, for a stage output) records
    for the dataset's file, or None (no such file there, or it is unreadable). Memoized per command."""
    repo.index.sync()
    memo, key = repo.index.memo, ("head_md5", rev, ds.path)
    if key not in memo:
        memo[key] = recorded_md5_at(repo, ds, rev)
    return memo[key]  # type: ignore[no-any-return]


def recorded_md5_at(repo: Repo, ds: Dataset, rev: str | None, *, stage_outputs: bool = True) -> str | None:
    """`head_md5` without the index's memo (for fsck, which must work with a broken index);
    None when `rev` is None. `stage_outputs=False`: only a `.dvc` file counts, not `dvc.lock`."""
    if rev is None:
        return None
    blob = repo.git.show(rev, dvcio.dvcfile_for(ds.path))
    try:
        if blob is not None:
            out = dvcio.parse_dvcfile(blob)
            return out.md5 if out else None
        if not stage_outputs:
            return None
        lock = repo.git.show(rev, dvcio.LOCK_FILE)
        entries = dvcio.parse_lock(lock).values() if lock else []
    except Exception:  # a damaged YAML file (any parser error): `dslineage fsck` reports it
        return None
    for entry in entries:
        for path, md5 in entry.outs:
            if path == ds.path:
                return str(md5)
    return None


def worktree_recorded_md5(repo: Repo, ds: Dataset) -> str | None:
    """The md5 the work tree's `.dvc` file (or `dvc.lock`) records, None if none/unreadable."""
    try:
        out = dvcio.read_dvcfile(repo.root / dvcio.dvcfile_for(ds.path))
        return out.md5 if out is not None else dvcio.stage_output_md5(repo.root, ds.path)
    except Exception:  # a damaged YAML file (any parser error): `dslineage fsck` reports it
        return None


def _deepest(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(versions, key=lambda v: (v["seq"], v["timestamp"], v["id"]), reverse=True)


def _on_history(repo: Repo, v: dict[str, Any], rev: str = "HEAD") -> bool:
    sha = v.get("git_commit")
    return bool(sha) and repo.git.is_ancestor(str(sha), rev)


def version_with_md5(repo: Repo, name: str, md5: str | None, rev: str | None = "HEAD") -> dict[str, Any] | None:
    """The version of dataset `name` whose bytes have this md5, None if none (or `md5` is
    None). Among several: the deepest (seq, then time) whose git commit is on `rev`'s
    history, else the deepest of all (`rev` None: the deepest)."""
    same = _deepest(repo.index.versions_with_md5(name, md5)) if md5 else []
    if len(same) > 1 and rev is not None:
        return next((v for v in same if _on_history(repo, v, rev)), same[0])
    return same[0] if same else None


def _choose(repo: Repo, ds: Dataset) -> tuple[dict[str, Any] | None, str]:
    v = version_with_md5(repo, ds.name, head_md5(repo, ds))
    if v is not None:
        return v, "head"
    v = version_with_md5(repo, ds.name, worktree_recorded_md5(repo, ds))
    if v is not None:
        return v, "worktree"
    versions = _deepest(repo.index.versions(ds.name))
    if not versions:
        return None, "none"
    if repo.git.head() is not None:
        v = next((v for v in versions if _on_history(repo, v)), None)
        if v is not None:
            return v, "reachable"
    return versions[0], "newest"


def ancestors(versions: dict[str, dict[str, Any]], start: str | None, *, first: bool = False) -> list[str]:
    """Ids of `start` and the versions reachable from it along parents (`first`: first
    parents only), nearest first (breadth-first); ids missing from `versions` end a path."""
    from collections import deque

    seen: list[str] = []
    known: set[str] = set()
    todo = deque([start] if start else [])
    while todo:
        vid = todo.popleft()
        if vid in known or vid not in versions:
            continue
        known.add(vid)
        seen.append(vid)
        parents = journal.parents(versions[vid])
        todo.extend(parents[:1] if first else parents)
    return seen


def object_path(repo: Repo, md5: str, what: str) -> Path:
    """The DVC cache object with this md5 (a file version, one part of a directory version,
    or a `.dir` manifest), fetched from the remote if missing; `what` names it in messages."""
    obj = dvcio.cache_path(repo.root, md5)
    if obj.exists():
        return obj
    if not dvcio.has_remote(repo.root):
        raise MissingDataError(
            f"the DVC cache object {md5} of {what} is missing "
            "and no DVC remote is configured: copy the cache or run `dvc pull` where it exists"
        )
    return dvcio.fetch_version(repo.root, what, md5)


def version_path(repo: Repo, ds: Dataset, version: dict[str, Any]) -> Path:
    """The DVC cache object holding a version's bytes (of a directory: its manifest)."""
    return object_path(repo, version["md5"], f"{ds.name}@v{version['seq']}")


def object_url(repo: Repo, md5: str, what: str = "") -> str | None:
    """The `s3://` URL a row connection reads the object `md5` from when it is not in the local
    cache and the default DVC remote is on S3 (not with `--fetch`), else None (see core.remote);
    `what` names it in errors (e.g. "train@v2")."""
    from dslineage.core import remote

    return remote.object_url(repo, md5, what)


def version_source(repo: Repo, ds: Dataset, version: dict[str, Any]) -> rows.Source:
    """A DuckDB source reading a committed version from the DVC cache, or from the S3 remote
    when it is not cached (`object_url`)."""
    return md5_source(repo, ds, version["md5"], f"{ds.name}@v{version['seq']}")


def object_location(repo: Repo, md5: str, what: str) -> str | Path:
    """Where a row connection reads the object `md5`: its s3:// URL when it is not cached and
    the default remote is S3 (`object_url`), else its cache path (fetched if missing)."""
    return object_url(repo, md5, what) or object_path(repo, md5, what)


def dir_parts(repo: Repo, md5: str, what: str) -> list[parts.Part]:
    """The parts a directory version's `.dir` manifest lists, the manifest read from the cache
    or, when it is not cached, from the S3 remote (not cached either) or fetched."""
    if not dvcio.cache_path(repo.root, md5).exists():
        from dslineage.core import remote

        data = remote.read_object(repo, md5, what)
        if data is not None:
            return parts.parse_manifest(repo.root, md5, data)
        object_path(repo, md5, what)
    return parts.parts_of(repo.root, md5)


def md5_source(repo: Repo, ds: Dataset, md5: str, label: str) -> rows.Source:
    """A DuckDB source reading the bytes with this md5 (from the cache or the S3 remote, see
    `object_location`): a file, or every part a directory's `.dir` manifest lists."""
    if not parts.is_dir_md5(md5):
        return rows.source(object_location(repo, md5, label), ds, label)
    items = [(p.relpath, object_location(repo, p.md5, f"{label}/{p.relpath}")) for p in dir_parts(repo, md5, label)]
    return parts.source(items, label)


def working_source(repo: Repo, ds: Dataset) -> rows.Source:
    """A DuckDB source reading the working file (after checking it exists and is a file)."""
    path = working_path(repo, ds)
    if not path.exists():
        raise PathError(f"{ds.path} does not exist: restore it with `dslineage checkout {ds.name}@latest`")
    if ds.format == DIR_FORMAT:
        return parts.working_source(repo.root, ds.path)
    target = path.resolve()
    cache = dvcio.cache_root(repo.root).resolve()
    if path.is_symlink() and not (target.is_relative_to(repo.root) or target.is_relative_to(cache)):
        raise PathError(f"{ds.path} links outside the repository: replace the link with the file")
    if os.path.getsize(path) == 0:
        raise PathError(f"{ds.path} is empty: a dataset needs at least a header or schema")
    return rows.source(path, ds, ds.path)


def row_connection(repo: Repo) -> Any:
    """A fresh in-memory DuckDB connection for row work, honouring the memory settings."""
    from dslineage.core import remote

    return remote.track(repo, rows.connect(repo.settings, repo.root / META_DIR / "tmp"))


def write_table(repo: Repo, table: Any, rel: str) -> None:
    """Write an Arrow table to `rel` (`.parquet`, else CSV) atomically: a new file, renamed.

    CSV gets dictionary columns decoded to their values (pyarrow's CSV writer refuses them).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    target = repo.root / rel
    target.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        if rel.lower().endswith(".parquet"):
            pq.write_table(table, tmp)
        else:
            plain = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns]
            pacsv.write_csv(pa.table(plain, names=table.column_names), tmp)

    files.atomic_write(target, write)
