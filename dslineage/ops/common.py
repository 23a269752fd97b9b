"""Helpers shared by the operations: where a version's bytes are, the working file's md5."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import dvcio
from dslineage.config import META_DIR, Dataset
from dslineage.errors import MissingDataError, PathError
from dslineage.store import rows

if TYPE_CHECKING:
    from dslineage.repo import Repo

WORKDIR = "workdir"


def short(vid: str | None) -> str:
    """The short form of a version id, as shown to people."""
    return vid[:10] if vid else "-"


def working_path(repo: Repo, ds: Dataset) -> Path:
    """The absolute path of a dataset's working file."""
    return repo.root / ds.path


def working_md5(repo: Repo, ds: Dataset) -> str | None:
    """The md5 of the working file (cached by stat like DVC's state db), None if absent."""
    path = working_path(repo, ds)
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    sig = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
    cached = repo.index.cached_md5(ds.path, sig)
    if cached:
        return cached
    md5 = dvcio.file_md5(path)
    repo.index.remember_md5(ds.path, sig, md5)
    return md5


def known_md5(repo: Repo, ds: Dataset) -> str | None:
    """The working file's md5 if already computed for its current stat (no hashing), else None."""
    try:
        st = working_path(repo, ds).stat()
    except FileNotFoundError:
        return None
    return repo.index.cached_md5(ds.path, f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}")


def latest(repo: Repo, name: str) -> dict[str, Any] | None:
    """The newest version of a dataset (highest seq, then newest time), or None."""
    return repo.index.edge_version(name, last=True)


def version_path(repo: Repo, ds: Dataset, version: dict[str, Any]) -> Path:
    """The DVC cache object holding a version's bytes, fetched from the remote if missing."""
    obj = dvcio.cache_path(repo.root, version["md5"])
    if obj.exists():
        return obj
    if not dvcio.has_remote(repo.root):
        raise MissingDataError(
            f"the DVC cache object {version['md5']} of {ds.name}@v{version['seq']} is missing "
            "and no DVC remote is configured: copy the cache or run `dvc pull` where it exists"
        )
    return dvcio.fetch_version(repo.root, ds.path, version["md5"], version.get("git_commit"))


def version_source(repo: Repo, ds: Dataset, version: dict[str, Any]) -> rows.Source:
    """A DuckDB source reading a committed version straight from the DVC cache."""
    return rows.source(version_path(repo, ds, version), ds, f"{ds.name}@v{version['seq']}")


def working_source(repo: Repo, ds: Dataset) -> rows.Source:
    """A DuckDB source reading the working file (after checking it exists and is a file)."""
    path = working_path(repo, ds)
    if not path.exists():
        raise PathError(f"{ds.path} does not exist: restore it with `dslineage checkout {ds.name}@latest`")
    target = path.resolve()
    cache = dvcio.cache_root(repo.root).resolve()
    if path.is_symlink() and not (target.is_relative_to(repo.root) or target.is_relative_to(cache)):
        raise PathError(f"{ds.path} links outside the repository: replace the link with the file")
    if os.path.getsize(path) == 0:
        raise PathError(f"{ds.path} is empty: a dataset needs at least a header or schema")
    return rows.source(path, ds, ds.path)


def row_connection(repo: Repo) -> Any:
    """A fresh in-memory DuckDB connection for row work, honouring the memory settings."""
    return rows.connect(repo.settings, repo.root / META_DIR / "tmp")


def write_table(repo: Repo, table: Any, rel: str) -> None:
    """Write an Arrow table to `rel` (`.parquet`, else CSV) atomically: a new file, renamed.

    CSV gets dictionary columns decoded to their values (pyarrow's CSV writer refuses them).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    target = repo.root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    if rel.lower().endswith(".parquet"):
        pq.write_table(table, tmp)
    else:
        plain = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns]
        pacsv.write_csv(pa.table(plain, names=table.column_names), tmp)
    tmp.replace(target)
