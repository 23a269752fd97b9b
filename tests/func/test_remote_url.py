"""Which versions are read straight from the remote (`core.common.object_url`), without a server:
never a cached object, never through a remote that is not S3, never with `--fetch`; the remote's
URL and endpoint come from DVC's merged config (tests/e2e/test_remote_reads.py reads for real)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from dslineage import dvcio
from dslineage.core import common
from dslineage.core.remote import reading
from tests.support import run


def _s3_remote(root: Path) -> None:
    """A default S3 remote whose endpoint nothing listens on (no request may be made)."""
    run(root, "dvc", "remote", "add", "-d", "store", "s3://bucket/prefix")
    run(root, "dvc", "remote", "modify", "store", "endpointurl", "http://127.0.0.1:9")


def test_the_s3_location_comes_from_dvc_config_with_local_overrides(committed: Any) -> None:
    """URL, endpoint and region of the default remote, `config.local` overriding `config`; objects under files/md5."""
    root = committed.root
    _s3_remote(root)
    run(root, "dvc", "remote", "modify", "--local", "store", "endpointurl", "http://127.0.0.1:8333")
    run(root, "dvc", "remote", "modify", "store", "region", "eu-west-1")
    loc = dvcio.s3_location(root)
    assert loc is not None
    assert (loc.name, loc.url, loc.endpoint, loc.region) == (
        "store",
        "s3://bucket/prefix",
        "http://127.0.0.1:8333",
        "eu-west-1",
    )
    md5 = "0123456789abcdef0123456789abcdef"
    assert loc.object_url(md5) == f"s3://bucket/prefix/files/md5/01/{md5[2:]}"


def test_no_s3_location_for_a_local_remote_or_none(committed: Any, tmp_path: Path) -> None:
    """A directory remote, or no remote at all, is not read remotely."""
    assert dvcio.s3_location(committed.root) is None
    run(committed.root, "dvc", "remote", "add", "-d", "here", str(tmp_path / "store"))
    assert dvcio.s3_location(committed.root) is None


def test_a_cached_object_is_read_from_the_cache(committed: Any) -> None:
    """With an S3 remote configured, a version in the local cache has no URL and nothing is counted."""
    _s3_remote(committed.root)
    v = committed.log("train")[0]
    assert common.object_url(committed, v["md5"]) is None
    assert committed.diff("train@v1", None).rows.unchanged == 20
    assert committed.remote_reads() is None


def test_fetch_mode_never_reads_remotely(committed: Any) -> None:
    """Under `--fetch` an object missing from the cache has no URL: it is fetched (here: the endpoint is dead)."""
    _s3_remote(committed.root)
    v = committed.log("train")[0]
    dvcio.cache_path(committed.root, v["md5"]).unlink()
    with reading(committed, fetch=True):
        assert common.object_url(committed, v["md5"]) is None


def test_a_directory_remote_still_fetches_into_the_cache(committed: Any, tmp_path: Path) -> None:
    """A version missing from the cache with a local-directory remote is fetched as before (and then cached)."""
    root = committed.root
    run(root, "dvc", "remote", "add", "-d", "here", str(tmp_path / "store"))
    committed.push()
    v = committed.log("train")[0]
    shutil.rmtree(dvcio.cache_root(root) / "files")
    assert common.object_url(committed, v["md5"]) is None
    blame = committed.blame("train@v1")
    assert blame.total == 20 and committed.remote_reads() is None
    assert dvcio.cache_path(root, v["md5"]).is_file()
    assert json.dumps(committed.audit("train@v1", record=False), default=str)


def test_a_relabeled_version_keeps_the_row_groups_a_remote_read_skips_by(tmp_repo: Path) -> None:
    """A parquet file in row groups of 5 rows, relabeled: the new version has row groups of 5 rows too
    (written whole as one group, a remote read could not skip any)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dslineage import Repo

    path = tmp_repo / "data" / "train.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"id": list(range(20)), "label": ["cat", "dog"] * 10}), path, row_group_size=5)
    with Repo(tmp_repo) as repo:
        repo.track("data/train.parquet", ["id"], ["label"])
        repo.commit(["train"], "v1", None)
        repo.relabel("train", ["3=fox"], by="a", reason="r")
    meta = pq.ParquetFile(path).metadata
    assert pq.read_table(path).column("label")[3].as_py() == "fox"
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [5, 5, 5, 5]
