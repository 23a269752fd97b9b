"""Objects put on the S3 remote before Dask workers read them: the parts a task reads must be where
every worker can reach them, so the client uploads the ones the remote lacks, under the key
`dvc push` gives them (DVC 3's `files/md5/ab/cdef...`), from the DVC cache or, for parts not
committed yet, from the working directory (their md5 is DVC's, so the object is the one the
next `dvc add` + `dvc push` would send).

The endpoint and region come from DVC's config; credentials only from the environment, as for
every read (see `remote_read`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dslineage.dvcio.remote_read import S3Location, read_failed
from dslineage.errors import MissingDataError


@dataclass(frozen=True)
class Placed:
    """What `put_missing` did: objects already on the remote, and those uploaded (with their bytes)."""

    present: int
    uploaded: int
    uploaded_bytes: int
    sizes: dict[str, int]  # url -> object size, of every object placed


def _plain_fs(loc: S3Location) -> Any:
    """An s3fs filesystem for the remote (endpoint and region from DVC's config; credentials from the environment)."""
    import s3fs

    client: dict[str, Any] = {"region_name": loc.region} if loc.region else {}
    return s3fs.S3FileSystem(
        endpoint_url=loc.endpoint or None,
        client_kwargs=client,
        skip_instance_cache=True,
        config_kwargs={"retries": {"max_attempts": 2}},
    )


def put_missing(loc: S3Location, objects: dict[str, Path | None], what: str = "") -> Placed:
    """Make every object `md5 -> local copy | None` present on the remote: one HEAD each, and an
    upload of the local copy when the remote lacks it. An object neither on the remote nor local
    is one error line; so is any failure to reach the remote."""
    fs = _plain_fs(loc)
    present = uploaded = up_bytes = 0
    sizes: dict[str, int] = {}
    for md5, local in objects.items():
        url = loc.object_url(md5)
        try:
            info = fs.info(url)
        except FileNotFoundError:
            info = None
        except Exception as exc:
            raise read_failed(loc, exc) from None
        if info is not None:
            present += 1
            sizes[url] = int(info.get("size") or 0)
            continue
        if local is None or not local.exists():
            raise MissingDataError(
                f"DVC cache object {md5}{f' ({what})' if what else ''} is neither in the local cache nor on the "
                f"DVC remote {loc.name!r}: run `dslineage push` on a machine that has it"
            )
        try:
            fs.put_file(str(local), url)
        except Exception as exc:
            raise read_failed(loc, exc) from None
        uploaded += 1
        sizes[url] = local.stat().st_size
        up_bytes += sizes[url]
    return Placed(present, uploaded, up_bytes, sizes)
