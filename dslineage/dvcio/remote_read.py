"""Reading DVC objects where they live: the default DVC remote's S3 location, an fsspec
filesystem (s3fs, which dvc-s3 installs) that DuckDB reads `s3://` URLs through, and the
bytes it actually fetched.

Everything here is lazy (s3fs, botocore, DVC's config are imported only when an object is
read remotely). The remote's URL and `endpointurl` come from DVC's config (every level, as
DVC merges them); credentials only from the environment (AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY, or botocore's usual chain), never from a file in the repository.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dslineage.dvcio.data import cache_path
from dslineage.dvcio.remotes import _CREDENTIALS_HINT
from dslineage.errors import MissingDataError, RemoteError

# DuckDB reads parquet by exact ranges (footer, then the column chunks it needs): a readahead
# cache would fetch bytes no query asked for, so each read is one ranged GET of what was asked.
_CACHE_TYPE = "none"
RANGE_CACHE_BYTES = 256 << 20  # ranges kept in memory during one command (see ReadCounter)


@dataclass(frozen=True)
class S3Location:
    """The default DVC remote when it is on S3: its name, `s3://bucket/prefix` URL and endpoint."""

    name: str
    url: str
    endpoint: str | None = None
    region: str | None = None

    def object_url(self, md5: str) -> str:
        """The `s3://` URL of the object `md5` (DVC 3's layout: `files/md5/ab/cdef...`)."""
        cache_path(Path("."), md5)  # refuses anything but an md5 (the journal may be forged)
        return f"{self.url.rstrip('/')}/files/md5/{md5[:2]}/{md5[2:]}"


def s3_location(root: Path) -> S3Location | None:
    """The default DVC remote of `root` if it is an S3 remote (DVC's merged config), else None
    (no default remote, another kind of remote, or an unreadable config)."""
    from dvc.config import Config

    try:
        cfg = Config(dvc_dir=str(root / ".dvc"))
    except Exception:  # a damaged config: the fetch path reports it in its own words
        return None
    name = cfg.get("core", {}).get("remote")
    remote = cfg.get("remote", {}).get(name) if name else None
    if not remote or not str(remote.get("url", "")).startswith("s3://"):
        return None
    return S3Location(str(name), str(remote["url"]), remote.get("endpointurl"), remote.get("region"))


@dataclass
class ReadCounter:
    """What remote reads fetched: each object's size, and bytes actually received (thread-safe:
    DuckDB reads from several threads). Keeps the ranges received during one command (up to
    `keep` bytes), so a query that scans the same column chunks twice (a diff profiles, then
    compares, then samples) receives them once."""

    sizes: dict[str, int] = field(default_factory=dict)  # url -> object size
    bytes_read: int = 0
    requests: int = 0
    keep: int = RANGE_CACHE_BYTES
    failed: BaseException | None = None  # the error of a ranged read that failed (inside a query)
    _ranges: dict[tuple[str, int, int], bytes] = field(default_factory=dict, repr=False)
    _kept: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def read(self, path: str, start: int, end: int, fetch: Callable[[int, int], bytes]) -> bytes:
        """Bytes `start:end` of `path`: the parts this command already received from memory,
        the gaps through `fetch(start, end)` (one ranged GET each, counted and kept)."""
        with self._lock:
            kept = sorted(
                (lo, hi, data) for (p, lo, hi), data in self._ranges.items() if p == path and lo < end and hi > start
            )
        out, pos = bytearray(), start
        for lo, hi, data in [*kept, (end, end, b"")]:
            if lo > pos:  # a gap before this kept range (or before the end)
                got = self._fetch(path, pos, min(lo, end), fetch)
                out += got
                if len(got) < min(lo, end) - pos:
                    return bytes(out)  # the object ended
                pos += len(got)
            if pos >= end:
                break
            if hi > pos:
                piece = data[pos - lo : min(hi, end) - lo]
                out += piece
                pos += len(piece)
        return bytes(out)

    def _fetch(self, path: str, start: int, end: int, fetch: Callable[[int, int], bytes]) -> bytes:
        """One ranged GET: counted, and kept while there is room."""
        data = fetch(start, end)
        with self._lock:
            self.bytes_read += len(data)
            self.requests += 1
            if data and self._kept + len(data) <= self.keep:
                self._ranges[(path, start, start + len(data))] = data
                self._kept += len(data)
        return data

    def add(self, bytes_read: int, requests: int) -> None:
        """Count bytes received elsewhere (by the engine's tasks, on workers) as this command's."""
        with self._lock:
            self.bytes_read += bytes_read
            self.requests += requests

    def reset(self) -> None:
        """Forget what was read (a new command starts counting)."""
        with self._lock:
            self.sizes.clear()
            self._ranges.clear()
            self.bytes_read = self.requests = self._kept = 0
            self.failed = None


def remote_filesystem(loc: S3Location, counter: ReadCounter) -> Any:
    """An s3fs filesystem for `loc` (its endpoint; credentials from the environment) whose
    files count every byte they fetch into `counter`; DuckDB takes it with `register_filesystem`."""
    import s3fs

    class CountedFile(s3fs.core.S3File):  # type: ignore[misc]
        def _fetch_range(self, start: int, end: int) -> bytes:
            try:
                return counter.read(self.path, start, end, super()._fetch_range)
            except Exception as exc:  # DuckDB's error will not say it came from the remote: remember
                counter.failed = exc
                raise

    class CountedS3(s3fs.S3FileSystem):  # type: ignore[misc]
        def _open(self, path: str, mode: str = "rb", block_size: int | None = None, **kwargs: Any) -> Any:
            if "r" not in mode:
                raise PermissionError(f"remote reads are read-only: {path}")
            kwargs.pop("cache_type", None)
            return CountedFile(
                self, path, mode, block_size=block_size or self.default_block_size, cache_type=_CACHE_TYPE, **kwargs
            )

    client: dict[str, Any] = {}
    if loc.region:
        client["region_name"] = loc.region
    return CountedS3(
        endpoint_url=loc.endpoint or None,
        client_kwargs=client,
        skip_instance_cache=True,
        default_cache_type=_CACHE_TYPE,
        config_kwargs={"retries": {"max_attempts": 2}},
    )


def object_size(fs: Any, loc: S3Location, url: str, what: str) -> int:
    """The size of the object at `url` (one HEAD request); a missing object, wrong credentials
    or an unreachable endpoint is one line naming the remote and what to check."""
    try:
        info = fs.info(url)
    except FileNotFoundError:
        md5 = "".join(url.rsplit("/", 2)[-2:])
        raise MissingDataError(
            f"DVC cache object {md5}{f' ({what})' if what and what != md5 else ''} is not on the DVC "
            f"remote {loc.name!r}: run `dslineage push` on a machine that has it"
        ) from None
    except Exception as exc:
        raise read_failed(loc, exc) from None
    return int(info.get("size") or 0)


def read_failed(loc: S3Location, exc: BaseException) -> RemoteError:
    """The one-line error of a failed read from the remote (a HEAD, or a range in the middle
    of a query: the connection dropped, the credentials were revoked)."""
    return RemoteError(f"reading from the DVC remote {loc.name!r} failed ({_reason(exc)}): {_CREDENTIALS_HINT}")


def _reason(exc: BaseException) -> str:
    """The first line of an exception's text (or its type), for a one-line error."""
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
