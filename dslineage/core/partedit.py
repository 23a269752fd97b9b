"""The rewrites of a directory dataset's edited parts (relabel, revert, cherry-pick), in the
command's process or, with `--scheduler` / `engine:`, one engine task per part
(`store.partedit.rewrite_part`, the same function either way, so the same bytes).

On this machine's pool each task writes its part straight to the staging path the client
chose. On a Dask cluster a task returns the part's bytes and the client writes them: a worker
cannot reach this work tree. With an S3 default DVC remote the workers read each part from it
by `s3://` URL (a part the remote lacks is uploaded first, as for a diff; see `core.partwork`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage.store.partedit import Rewritten, rewrite_part

if TYPE_CHECKING:
    from dslineage.config import Dataset
    from dslineage.repo import Repo


@dataclass(frozen=True)
class Job:
    """One part to rewrite: where it is in the work tree, its md5 (None: unknown), its edited
    columns (that part's rows of the loaded table) and the staging path of the new file."""

    rel: str
    path: Path
    md5: str | None
    piece: Any
    tmp: Path


def rewrite(repo: Repo, ds: Dataset, jobs: list[Job]) -> list[Rewritten]:
    """Write every job's new part to its staging path; each new file's md5, size and rows, in order."""
    if repo.engine_spec is None:  # no engine: in the command's process, one part after another
        return [rewrite_part(j.rel, str(j.path), j.piece, str(j.tmp), None)[0] for j in jobs]
    return _on_engine(repo, ds, jobs)


def _on_engine(repo: Repo, ds: Dataset, jobs: list[Job]) -> list[Rewritten]:
    """One engine task per job, the parts read where `core.partwork.placed` says; bytes a task
    returns (a Dask worker's) written here."""
    from dslineage import dvcio
    from dslineage.core import partwork, remote

    engine = repo.engine
    side = partwork.Side(ds.name, {j.rel: (j.md5 or dvcio.file_md5(j.path), j.path) for j in jobs})
    (where,), reads = partwork.placed(repo, [side])
    here = engine.address is None  # a pool on this machine writes the staging files itself
    items = [(j.rel, where[j.rel], _compact(j.piece), str(j.tmp) if here else None, reads) for j in jobs]
    results = engine.map(rewrite_part, items)
    out = []
    for job, (done, got) in zip(jobs, results):
        if done.data is not None:
            job.tmp.write_bytes(done.data)
            done = Rewritten(done.md5, done.size, done.rows)
        remote.note_task_reads(repo, got)
        out.append(done)
    return out


def _compact(piece: Any) -> Any:
    """A slice of the loaded table as a table of its own buffers (pickled, a slice carries the
    whole table's), the chunk layout and any dictionary kept as they are (the writer's pages
    and dictionary pages follow them)."""
    import numpy as np
    import pyarrow as pa

    def own(chunk: Any) -> Any:
        at = pa.array(np.arange(len(chunk), dtype=np.int64))  # (not a Python range: one int per row)
        if pa.types.is_dictionary(chunk.type):
            return pa.DictionaryArray.from_arrays(chunk.indices.take(at), chunk.dictionary, ordered=chunk.type.ordered)
        return chunk.take(at)

    cols = [pa.chunked_array([own(c) for c in col.chunks], col.type) for col in piece.columns]
    return pa.Table.from_arrays(cols, schema=piece.schema)
