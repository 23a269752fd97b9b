"""The row-level three-way merge of a dataset held in one file: its sides read from the DVC
cache (`three_way`), the merged rows written as the work file (`write_file`: a new file,
renamed into place, hashed while it is written)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import dvcio, files, txn
from dslineage.config import Dataset
from dslineage.core import common
from dslineage.ops.merge_sides import Sides
from dslineage.store import rows

if TYPE_CHECKING:
    from dslineage.repo import Repo


def object_source(repo: Repo, ds: Dataset, md5: str, label: str) -> rows.Source:
    """A DuckDB source over the DVC cache object `md5` (fetched from the remote if missing)."""
    dvcio.fetch_objects(repo.root, [md5], {md5: f"{ds.name} {label}"})
    return rows.source(dvcio.cache_path(repo.root, md5), ds, f"{ds.name} ({label})")


def three_way(repo: Repo, con: Any, ds: Dataset, sides: Sides) -> Any:
    """The engine's `MergeOutcome` for a dataset's three sides, read from the DVC cache."""
    from dslineage.store.merge import merge3

    base = object_source(repo, ds, sides.base, "base") if sides.base else None
    return merge3(
        con,
        base,
        object_source(repo, ds, sides.ours, "ours"),
        object_source(repo, ds, sides.theirs, "theirs"),
        ds,
        prefer=sides.prefer,
        resolutions=sides.resolutions,
    )


def write_file(repo: Repo, con: Any, ds: Dataset, outcome: Any, ours_md5: str) -> str:
    """Write the merged rows as the dataset's work file (a new file, renamed; format, schema
    and codec of ours) and return its md5."""
    from dslineage.store.merge import write_merged

    target = common.working_path(repo, ds)
    tmp = target.with_name(f".{target.name}.merge-tmp")
    txn.will_change(repo.root, target, md5=ours_md5)
    txn.will_create(repo.root, tmp)
    ours_path = dvcio.cache_path(repo.root, ours_md5)

    def write(tmp: Path) -> str | None:
        if ds.format == "parquet":  # pyarrow's writer only appends: hash the bytes as they land
            return _hashed_while_written(tmp, lambda: write_merged(con, outcome, ours_path, tmp, ds))
        write_merged(con, outcome, ours_path, tmp, ds)
        return None

    md5 = files.atomic_write(target, write, tmp=tmp)
    return md5 or dvcio.file_md5(target)


def _hashed_while_written(path: Path, write: Any) -> str | None:
    """Run `write()`, which creates `path` by appending only, while a second thread hashes the
    bytes it has written so far (the md5 costs no extra pass on a second core). Returns the
    md5, or None when it cannot vouch for it (the file was replaced, not what it read)."""
    import hashlib
    import os
    import threading

    path.touch()
    done = threading.Event()
    digest = hashlib.md5()
    seen: dict[str, Any] = {"bytes": 0, "ino": None, "error": None}

    def follow() -> None:
        try:
            with open(path, "rb") as fh:
                seen["ino"] = os.fstat(fh.fileno()).st_ino
                while True:
                    finished = done.is_set()  # read once more after the writer is done
                    chunk = fh.read(1 << 20)
                    if chunk:
                        digest.update(chunk)
                        seen["bytes"] += len(chunk)
                    elif finished:
                        return
                    else:
                        done.wait(0.005)
        except OSError as exc:
            seen["error"] = exc

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    try:
        write()
    finally:
        done.set()
        reader.join()
    st = os.stat(path)
    if seen["error"] is not None or st.st_ino != seen["ino"] or st.st_size != seen["bytes"]:
        return None
    return digest.hexdigest()
