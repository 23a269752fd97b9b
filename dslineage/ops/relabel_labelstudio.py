"""`relabel --from export.json --format label-studio`: a Label Studio export as one edit batch.

The export is read by `dslineage.interop.labelstudio.read_export`; each task's latest annotation
(by `created_at`) gives the row's new label, its `completed_by` the annotator. The edits go
through the ordinary `relabel` path as a parquet edits file in a temporary folder.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage.errors import UsageError
from dslineage.interop.labelstudio import LabelStudioExportError

if TYPE_CHECKING:
    import pyarrow as pa

    from dslineage.repo import Repo


def when(created_at: str | None, what: str) -> datetime:
    """An annotation's `created_at` as an aware UTC datetime (none: the earliest possible)."""
    if created_at is None:
        return datetime.min.replace(tzinfo=UTC)
    try:
        t = datetime.fromisoformat(created_at)
    except ValueError:
        raise LabelStudioExportError(
            f"{what}: created_at {created_at!r} is not an ISO 8601 time (export the project as JSON again)"
        ) from None
    return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)


def latest_per_key(votes: pa.Table, key_field: str, what: str) -> tuple[pa.Table, int]:
    """Each key's latest annotation (by `created_at`; a tie goes to the later one in the export)
    as key, annotator, time, new_label; refuses one that picks several choices. Also returns
    how many earlier annotations it superseded."""
    import pyarrow as pa

    # read_export writes an annotation's choices as consecutive rows: group them back
    groups: list[tuple[str, str, str | None, list[str]]] = []
    for row in votes.to_pylist():
        head = (row[key_field], row["annotator"], row["time"])
        if groups and groups[-1][:3] == head:
            groups[-1][3].append(row["label"])
        else:
            groups.append((*head, [row["label"]]))
    best: dict[str, tuple[str, str, str | None, list[str]]] = {}
    for g in groups:
        cur = best.get(g[0])
        if cur is None or when(g[2], what) >= when(cur[2], what):
            best[g[0]] = g
    for key, _who, _time, labels in best.values():
        if len(labels) > 1:
            raise LabelStudioExportError(
                f"{what}: the latest annotation of task {key_field}={key} picks several choices "
                f"({', '.join(labels)}): relabel takes one label per row (use a single-choice control)"
            )
    rows = list(best.values())
    return pa.table(
        {
            key_field: pa.array([r[0] for r in rows], pa.string()),
            "annotator": pa.array([r[1] for r in rows], pa.string()),
            "time": pa.array([r[2] for r in rows], pa.string()),
            "new_label": pa.array([r[3][0] for r in rows], pa.string()),
        }
    ), len(groups) - len(rows)


@contextmanager
def edits_file(
    repo: Repo, name: str, *, from_file: str, key_field: str | None, from_name: str | None
) -> Iterator[tuple[Path, str, dict[str, Any]]]:
    """A Label Studio JSON export as a temporary edits file for `relabel`: yields its path, the
    source name to record and the batch record's extra fields; the file is gone afterwards."""
    import pyarrow.parquet as pq

    from dslineage.interop.labelstudio import read_export

    ds = repo.dataset(name)
    if len(ds.key) != 1:
        raise UsageError(
            f"{ds.name} is keyed by {', '.join(ds.key)}: a Label Studio export carries one key field, "
            "so --format label-studio needs a dataset with a single key column"
        )
    field = key_field or ds.key[0]
    export = Path(from_file)
    edits, superseded = latest_per_key(read_export(export, key_field=field, from_name=from_name), field, export.name)
    if edits.num_rows == 0:
        raise LabelStudioExportError(
            f"{export.name} has no choices annotations: annotate some tasks in Label Studio and export again"
        )
    times = sorted((t for t in edits.column("time").to_pylist() if t), key=lambda t: when(t, export.name))
    extra = {
        "source_format": "label-studio",
        "annotations_superseded": superseded,
        "annotated_first": times[0] if times else None,
        "annotated_last": times[-1] if times else None,
    }
    edits = edits.drop_columns(["time"]).rename_columns([ds.key[0], "annotator", "new_label"])
    with tempfile.TemporaryDirectory(prefix="dslineage-ls-") as tmp:
        path = Path(tmp) / f"{export.stem}.parquet"
        pq.write_table(edits, path)
        yield path, export.name, extra
