"""Versions read where they live: a version whose DVC object is not in the local cache is read
by DuckDB straight from the default DVC remote when that is on S3 (only the columns and row
groups a query needs, by ranged reads), instead of being downloaded into the cache first.

`object_url` is the one question ("can this object be read remotely, and where?"); the
connections that run row queries (the index's, and each `common.row_connection`) get the
remote's filesystem registered the first time a remote object is used, so local work never
imports s3fs. A command opts out with `reading(repo, fetch=True)` (its `--fetch` flag): objects
are then downloaded into the cache as before. `reads(repo)` says what the last command read.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dslineage import dvcio
from dslineage.model import RemoteReads

if TYPE_CHECKING:
    from dslineage.dvcio.remote_read import ReadCounter, S3Location
    from dslineage.repo import Repo
    from dslineage.store.parttask import TaskReads

_UNSET: Any = object()


class _State:
    """One repository object's remote-read state: the mode, the remote, its filesystem and counter."""

    def __init__(self) -> None:
        self.fetch = False
        self.depth = 0  # nested `reading` blocks (a command calling another) count as one
        self.location: S3Location | None = _UNSET
        self.fs: Any = None
        self.counter: ReadCounter | None = None
        self.connections: weakref.WeakSet[Any] = weakref.WeakSet()  # row connections to register on


_STATES: weakref.WeakKeyDictionary[Any, _State] = weakref.WeakKeyDictionary()


def _state(repo: Repo) -> _State:
    st = _STATES.get(repo)
    if st is None:
        st = _STATES[repo] = _State()
    return st


@contextlib.contextmanager
def reading(repo: Repo, *, fetch: bool = False) -> Iterator[None]:
    """Run one command's reads: objects missing from the cache are read from an S3 remote
    (`fetch=False`) or downloaded into the cache (`fetch=True`, today's behaviour); the
    bytes read are counted afresh (see `reads`)."""
    st = _state(repo)
    saved = st.fetch
    st.fetch = fetch
    if st.counter is not None and st.depth == 0:
        st.counter.reset()
    st.depth += 1
    try:
        yield
    except Exception:
        # a range that failed in the middle of a query reaches us as DuckDB's error (or the row
        # layer's FormatError wrapping it) with no word of the remote: one line naming it instead
        failed = st.counter.failed if st.counter is not None else None
        if failed is not None and st.location is not None and st.location is not _UNSET:
            raise dvcio.read_failed(st.location, failed) from None
        raise
    finally:
        st.depth -= 1
        st.fetch = saved


def object_url(repo: Repo, md5: str, what: str = "") -> str | None:
    """The `s3://` URL the row connections read the object `md5` from when it is not in the
    local DVC cache and the default DVC remote is on S3; None otherwise (the object is cached,
    the remote is of another kind or missing, or the command runs with `--fetch`): then the
    object is read from (or fetched into) the cache. Checks the object once (one HEAD request):
    a missing object, wrong credentials or an unreachable endpoint is one error line."""
    st = _state(repo)
    if st.fetch or dvcio.cache_path(repo.root, md5).exists() or not dvcio.has_remote(repo.root):
        return None
    if st.location is _UNSET:
        st.location = dvcio.s3_location(repo.root)
    loc = st.location
    if loc is None:
        return None
    if st.fs is None:
        st.counter = st.counter or dvcio.ReadCounter()
        st.fs = dvcio.remote_filesystem(loc, st.counter)
    assert st.counter is not None
    url = loc.object_url(md5)
    if url not in st.counter.sizes:
        st.counter.sizes[url] = dvcio.object_size(st.fs, loc, url, what or md5)
    _register(st, repo.index.con)
    for con in list(st.connections):
        _register(st, con)
    return url


def read_object(repo: Repo, md5: str, what: str = "") -> bytes | None:
    """The whole bytes of a small object (e.g. a directory version's `.dir` manifest) read from
    the S3 remote when it is not cached (counted like any remote read), None when `object_url`
    is None (then read or fetch it from the cache)."""
    url = object_url(repo, md5, what)
    if url is None:
        return None
    with _state(repo).fs.open(url, "rb") as fh:  # through the counted file (cat_file is not)
        data: bytes = fh.read()
    return data


def track(repo: Repo, con: Any) -> Any:
    """Let a new row connection read remote objects: registered at once when a remote object
    was already used, else when the first one is. Returns `con`."""
    st = _state(repo)
    st.connections.add(con)
    if st.fs is not None:
        _register(st, con)
    return con


def _register(st: _State, con: Any) -> None:
    """Register the remote's filesystem on `con` (once; a closed connection is skipped)."""
    import duckdb

    try:
        con.register_filesystem(st.fs)
    except duckdb.InvalidInputException:  # already registered on this database
        pass
    except duckdb.ConnectionException:  # closed since
        st.connections.discard(con)


def note_objects(repo: Repo, loc: S3Location, sizes: dict[str, int]) -> None:
    """Count objects the engine's tasks read from the remote `loc` (url -> size) as this command's."""
    st = _state(repo)
    if st.location is _UNSET or st.location is None:
        st.location = loc
    st.counter = st.counter or dvcio.ReadCounter()
    st.counter.sizes.update(sizes)


def note_task_reads(repo: Repo, got: TaskReads) -> None:
    """Add the bytes the engine's tasks received from the remote to this command's count."""
    st = _state(repo)
    if got.bytes_read and st.counter is not None:
        st.counter.add(got.bytes_read, got.requests)


def reads(repo: Repo) -> RemoteReads | None:
    """What the last command read from the remote (objects, bytes received, their total size),
    or None when it read nothing remotely (all local, or `--fetch`)."""
    st = _STATES.get(repo)
    if st is None or st.counter is None or not st.counter.sizes:
        return None
    c = st.counter
    return RemoteReads(
        name=st.location.name if st.location else "",
        objects=len(c.sizes),
        bytes_read=c.bytes_read,
        object_bytes=sum(c.sizes.values()),
    )
