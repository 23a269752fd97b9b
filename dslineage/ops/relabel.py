"""`dslineage relabel`: apply a batch of label edits to a dataset and record it as lineage.

Order: load the working file once (Arrow, file order) → check and stage the edits (SQL) →
join them to the file (SQL) → splice the new labels in (vectorised Arrow, nothing else
moves) → write a new file and rename it over the old one (DVC may hard-link the old) →
write the batch's edits and record to the journal → commit a version carrying the batch.
Any error after the rename puts the old file back and deletes the journal files.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import dvcio, txn
from dslineage.config import Dataset
from dslineage.errors import EditError, UsageError
from dslineage.model_edits import RelabelOptions, RelabelResult
from dslineage.ops import mergestate
from dslineage.ops.commit import SNAPSHOT_STEPS
from dslineage.ops.edit_apply import apply, distinct_rows, label_rules
from dslineage.ops.edit_session import Batch, pick_column

if TYPE_CHECKING:
    from dslineage.repo import Repo

# fault-injection steps (see dslineage.txn); revert declares the same under its own name
STEPS = txn.declare("relabel", "after-data", "after-batch", *SNAPSHOT_STEPS)


def parse_pairs(ds: Dataset, edits: Any) -> list[tuple[list[str], str]]:
    """`KEY=LABEL` strings, (key, label) pairs or a {key: label} dict → (key parts, label) as text."""
    items = list(edits.items()) if isinstance(edits, dict) else list(edits)
    out = []
    for item in items:
        if isinstance(item, str):
            if "=" not in item:
                raise UsageError(f"--set takes KEY=LABEL, not {item!r}")
            key, label = item.split("=", 1)
            parts = key.split(",") if len(ds.key) > 1 else [key]
        else:
            key, label = item
            parts = (
                [str(v) for v in key]
                if isinstance(key, (tuple, list))
                else (str(key).split(",") if len(ds.key) > 1 else [str(key)])
            )
        if label is None:
            raise UsageError(f"edit {item!r} has no label: give KEY=LABEL")
        if len(parts) != len(ds.key):
            raise UsageError(
                f"{ds.name} is keyed by {', '.join(ds.key)}: write the key as "
                f"{','.join(ds.key).upper()}=LABEL (got {item!r})"
            )
        out.append(([p.strip() for p in parts], str(label)))
    return out


def relabel(repo: Repo, name: str, opts: RelabelOptions) -> RelabelResult:
    """Apply label edits to a dataset as one recorded batch (and, by default, commit a version).

    An edits file is applied to every label column it has (one batch record per column, one
    `group`); `column` restricts it to one, and then a file with other label columns is refused
    unless `ignore_columns`. A label column declared one-to-one with another
    (`track --label-pair`) has the other filled from the mapping, and an edit breaking the
    mapping is refused. Counts are rows (`by_column`: per label column).

    An edits file with an `old` (or `old_<label>`) column — required with `expect_old` — is
    refused whole when any row's current label is not that old label (a stale replay).

    `queue` (a review queue id or prefix) links the batch to the queue it reviews: its record
    gains `queue` and `queue_confirmed` (the keys whose label the edits kept).

    `file_format="label-studio"`: `from_file` is a Label Studio JSON export (see
    `ops/relabel_labelstudio.py`; `key_field`, `from_name`); `source` and `extra` are what it
    records in the batch instead of the file name."""
    from dslineage.ops.commit import default_author
    from dslineage.store import edit_batch

    if opts.file_format == "edits" and (opts.key_field or opts.from_name):
        raise UsageError("--key-field and --from-name read a Label Studio export: add --format label-studio")
    if opts.file_format != "edits":
        return _relabel_other_format(repo, name, opts)
    edits: Any = opts.edits
    from_file, column, expect_old = opts.from_file, opts.column, opts.expect_old
    ds = repo.dataset(name)
    mergestate.refuse_if_merging(repo, ds, "relabeled")
    if (edits is None or len(edits) == 0) == (from_file is None):
        raise UsageError("give the edits with --set KEY=LABEL ... or --from EDITS (one of them)")
    if expect_old and from_file is None:
        raise UsageError(
            "--expect-old works with --from EDITS whose old_LABEL (or old) column holds each row's "
            "expected current label; --set has no old label to check"
        )
    pairs = parse_pairs(ds, edits) if edits else None
    if opts.commit:
        dvcio.preload()  # DVC's import runs beside loading, joining and writing (on the second core)
    who = default_author(repo, opts.by)
    linked = _queue(repo, ds, opts.queue) if opts.queue else None
    from dslineage.ops import dir_edit  # a directory dataset's edits load only the parts they touch

    session = dir_edit.open_session(repo, ds, force=opts.force)
    try:
        if pairs is not None:
            cols = [pick_column(ds, column)[0]]
        else:
            assert from_file is not None
            cols = session.file_columns(from_file, column, opts.ignore_columns)
        plans: list[Batch] = []
        read = 0
        for col in cols:
            if pairs is not None:
                read = session.stage_pairs(pairs, col, ds.labels_allowed)
            else:
                assert from_file is not None
                n_read = session.stage_file(from_file, col, ds.labels_allowed, blanks=len(cols) > 1)
                read = max(read, n_read)
                if not n_read:
                    continue
                edit_batch.check_expected(
                    session.con, len(ds.key), ds.labels.index(col), expect_old, Path(from_file).name, ds
                )
            b = session.join(col)
            _refuse_missing(ds, b.counts, opts.skip_missing)
            if linked:
                b.extra.update(queue=linked, queue_confirmed=edit_batch.noop_keys(session.con, len(ds.key)))
            plans.append(b)
        plans += session.fill_pairs(plans)
        for b in plans:
            b.extra.update(opts.extra or {})
        applied = [b for b in plans if b.counts["applied"]]
        for b in applied:
            label_rules(session, b)
        rows_changed = distinct_rows(applied, len(ds.key))
        first = plans[0] if plans else None
        result = RelabelResult(
            dataset=ds.name,
            column=cols[0],
            columns=[b.column for b in plans],
            batch=None,
            batches=[],
            version=None,
            applied=rows_changed,
            by_column={b.column: b.counts["applied"] for b in plans},
            noop=max((b.counts["noop"] for b in plans), default=0),
            missing=max((b.counts["missing"] for b in plans), default=0),
            missing_keys=[dict(zip(ds.key, k)) for k in (first.counts["missing_keys"] if first else [])],
            edits_read=read,
            transitions=first.transitions if first else [],
            committed=False,
            transitions_by_column={b.column: b.transitions for b in plans} if len(plans) > 1 else None,
        )
        if not applied:
            return result
        source = opts.source or ("--set" if pairs is not None else Path(from_file or "").name)
        out = apply(
            session, applied, by=who, reason=opts.reason, commit=opts.commit, message=opts.message, source=source
        )
    finally:
        session.close()
    v = out["version"]
    return dataclasses.replace(
        result,
        batch=out["batches"][0],
        batches=out["batches"],
        md5=out["md5"],
        committed=v is not None,
        version=v["id"] if v else None,
        seq=v["seq"] if v else None,
    )


def _relabel_other_format(repo: Repo, name: str, opts: RelabelOptions) -> RelabelResult:
    """Hand an export in another tool's format to its reader (today: Label Studio)."""
    from dslineage.ops import relabel_labelstudio as ls

    if opts.file_format != "label-studio":
        raise UsageError(f"unknown --format {opts.file_format!r}: use edits (the default) or label-studio")
    if opts.edits or opts.from_file is None:
        raise UsageError(f"--format {opts.file_format} reads an export given with --from EXPORT (not --set)")
    with ls.edits_file(repo, name, from_file=opts.from_file, key_field=opts.key_field, from_name=opts.from_name) as (
        path,
        src,
        extra,
    ):
        as_edits = dataclasses.replace(
            opts, from_file=str(path), file_format="edits", key_field=None, from_name=None, source=src, extra=extra
        )
        return relabel(repo, name, as_edits)


def _queue(repo: Repo, ds: Dataset, ref: str) -> str:
    """The id of the review queue a batch reviews (it must rank this dataset)."""
    from dslineage.ops.queues import find

    rec = find(repo, ref)
    if rec["dataset"] != ds.name:
        raise UsageError(f"queue {rec['id'][:12]} ranks {rec['dataset']}, not {ds.name}: name a queue of {ds.name}")
    return str(rec["id"])


def _refuse_missing(ds: Dataset, c: dict[str, Any], skip_missing: bool) -> None:
    if c["missing"] and not skip_missing:
        shown = ", ".join(",".join(map(str, k)) for k in c["missing_keys"][:10])
        raise EditError(
            f"{c['missing']} key(s) are not in {ds.name}: {shown}{' ...' if c['missing'] > 10 else ''}; "
            "fix the edits or pass --skip-missing"
        )
