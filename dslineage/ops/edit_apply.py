"""Applying staged edit batches (see `ops/relabel.py` for the order of writes): splice the
new labels in, write a new file and rename it over the working file inside the
transaction, write each batch's edits and record, and commit a version carrying them.
Used by `relabel`, `revert` and `cherry-pick`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import dvcio, files, journal, txn
from dslineage.config import Dataset
from dslineage.core import common
from dslineage.errors import EditError
from dslineage.ops import batches as batch_ops
from dslineage.ops import dirs

if TYPE_CHECKING:
    from dslineage.repo import Repo

from dslineage.ops.edit_session import Batch, Session


def replace_working(repo: Repo, ds: Dataset, new_file: Path, md5_before: str | None) -> None:
    """Rename `new_file` over the working file inside the open transaction, which records the
    old bytes first (by their DVC md5 when the cache has them) so that a crash restores them."""
    t = txn.current(repo.root)
    assert t is not None, "replace the working file inside txn.begin()"
    t.backup(ds.path, md5=md5_before)
    files.rename_into_place(new_file, common.working_path(repo, ds))


def apply(
    session: Session,
    plans: list[Batch],
    *,
    by: str,
    reason: str | None,
    commit: bool,
    message: str | None,
    source: str,
    op: str = "relabel",
    candidate: dict[str, Any] | None = None,
    attach: Callable[[list[str]], list[str]] | None = None,
) -> dict[str, Any]:
    """Write the edited file, record one batch per plan, and (with `commit`) a version.

    `attach` (given the batch ids) writes more journal files in the same transaction and
    returns their paths: they join the version's git commit, or without `commit` a git
    commit of their own (the batch stays pending for the next `commit`).

    Plans of several label columns are one edit: their records share `group` (the first id)
    and `columns`. A declared label pair (`track --label-pair`) must stay one-to-one.

    Returns {"batches": [ids], "version": record or None, "md5", "same_as": version id or None}.
    """
    from dslineage.ops.commit import snapshot
    from dslineage.store import labels

    repo, ds = session.repo, session.ds
    tmp = session.path.with_name(f".{session.path.name}.tmp-relabel-{os.getpid()}")
    staged: list[dirs.Staged] = []
    written: str | None = None
    paired = {c for pair in ds.label_pairs or [] for c in pair} & {b.column for b in plans}
    # a parquet file of several row groups, with no whole-table check to make: rewritten row group
    # by row group, never whole in memory (a revert's candidate version is compared whole)
    cached = session.snapshot
    stream = (
        cached is not None and session.spans is None and not paired and candidate is None and labels.streams(cached)
    )
    table = None
    same = None
    if not stream:
        table = session.table
        for b in plans:
            table = labels.splice(table, ds.key, b.column, b.raw_keys, b.values)
        check_pairs(session, table, {b.column for b in plans})
        same = session.same_bytes(table, candidate) if session.spans is None else None
    try:
        if session.spans is not None:  # a directory: only the parts holding edited rows are rewritten
            staged, md5 = dirs.stage_edits(repo, ds, session.table, table, session.spans, "tmp-relabel")
        elif stream:  # (the md5 is computed while the bytes are written)
            assert cached is not None  # (the bytes the session read: their DVC cache object)
            written = labels.rewrite_parquet(cached, tmp, ds, [(b.column, b.raw_keys, b.values) for b in plans])
        elif same is not None:
            shutil.copyfile(same, tmp)
        else:  # (the md5 is computed while the bytes are written)
            written = labels.write(session.con, table, tmp, ds, session.path)
        if session.spans is None:
            md5 = written or dvcio.file_md5(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    ids: list[str] = []
    version = None
    try:
        with txn.begin(repo.root, repo.git, op, scratch=[tmp, *(s.tmp for s in staged)]) as t:
            if session.spans is not None:
                dirs.replace_parts(repo, ds, staged)
            else:
                replace_working(repo, ds, tmp, session.md5)
                _remember(repo, ds, md5)
            t.step("after-data")
            for b in plans:
                rec = _record(session, b, by=by, reason=reason, source=source, op=op, md5=md5)
                if len(plans) > 1:
                    rec.update(group=ids[0] if ids else rec["id"], columns=[p.column for p in plans])
                _write_batch(repo, rec, b.edits)
                ids.append(rec["id"])
            extra_paths = attach(ids) if attach is not None else []
            t.step("after-batch")
            repo.index.sync(force=True)
            if commit:
                made = snapshot(
                    repo,
                    [ds],
                    message or _message(ds, plans, reason, op),
                    by,
                    known=_known(session, plans),
                    extra_paths=extra_paths or None,
                )
                version = made[0] if made else None
            elif extra_paths:
                t.commit(extra_paths, f"{op} of {ds.name}: journal records of pending batch {ids[0][:12]}")
    finally:
        for scratch in [tmp, *(s.tmp for s in staged)]:
            scratch.unlink(missing_ok=True)
    return {"batches": ids, "version": version, "md5": md5, "same_as": candidate["id"] if same and candidate else None}


def check_pairs(session: Session, table: Any, columns: set[str]) -> None:
    """Refuse (one line, nothing written) an edited table whose declared label pairs touched
    by `columns` are no longer one-to-one with the mapping the file held before."""
    from dslineage.store import edit_batch

    for a, b in session.ds.label_pairs or []:
        if a not in columns and b not in columns:
            continue
        session.con.register("_dsl_after", table)
        bad = edit_batch.pair_conflicts(session.con, ("_dsl_after", []), a, b, before=("_dsl_t", []))
        if bad:
            raise EditError(
                f"the edits break the label pair {a}={b} of {session.ds.name}: {edit_batch.pair_text(bad, a, b)}; "
                f"edit both columns together, or re-declare the pair with `dslineage track`"
            )


def _known(session: Session, plans: list[Batch]) -> dict[str, Any] | None:
    """The exact change set of the batches applied to the latest version's bytes, so the
    commit need not diff the whole file (None: let it diff)."""
    from dslineage.ops.commit import KnownChanges
    from dslineage.store import edit_batch

    if not plans or session.pending or session.md5 is None or session.md5 != session.head["md5"]:
        return None
    ds = session.ds
    nk = len(ds.key)
    keys = [f"k{i}" for i in range(nk)]
    if len(ds.labels) == 1 and len(plans) == 1:
        table = plans[0].edits.select([*keys, "old", "new"]).rename_columns([*keys, "o0", "n0"])
    else:  # every label column's old and new value of each row any plan changed
        edits = {ds.labels.index(b.column): b.edits.select([*keys, "new"]) for b in plans}
        table = edit_batch.known_changes(session.con, nk, len(ds.labels), edits)
    return {ds.name: KnownChanges(session.md5, table)}


def _remember(repo: Repo, ds: Dataset, md5: str) -> None:
    """Tell the index the new file's md5 (so `commit` does not hash it again)."""
    common.remember_working_md5(repo, ds, md5)


def _record(
    session: Session, b: Batch, *, by: str, reason: str | None, source: str, op: str, md5: str
) -> dict[str, Any]:
    ds, ts = session.ds, journal.now()
    c = b.counts
    bid = journal.make_id("batch", ds.name, b.column, session.md5, ts, by, reason, c["applied"])
    return {
        "kind": "batch",
        "id": bid,
        "timestamp": ts,
        "dataset": ds.name,
        "column": b.column,
        "keys": list(ds.key),
        "author": by,
        "reason": reason,
        "op": op,
        "source": source,
        "edits": batch_ops.edits_name(bid),
        "rows": c["applied"],
        "noop": c["noop"],
        "missing": c["missing"],
        "missing_keys": c["missing_keys"][:20],
        "transitions": b.transitions,
        "base_version": session.head["id"],
        "base_md5": session.md5,
        "result_md5": md5,
        **b.extra,
    }


def _write_batch(repo: Repo, rec: dict[str, Any], edits: Any) -> None:
    import pyarrow.parquet as pq

    path = journal.folder(repo.root) / rec["edits"]
    path.parent.mkdir(parents=True, exist_ok=True)
    txn.will_create(repo.root, path)
    files.atomic_write(path, lambda tmp: pq.write_table(edits, tmp, compression="zstd"))
    journal.write(repo.root, rec)


def _message(ds: Dataset, plans: list[Batch], reason: str | None, op: str) -> str:
    n = distinct_rows(plans, len(ds.key))
    cols = ", ".join(b.column for b in plans)
    head = f"{op} {n} row(s) of {ds.name} ({cols})"
    return f"{head}: {reason}" if reason else head


def label_rules(session: Session, b: Batch) -> None:
    """Refuse the batch before anything is written when it breaks a label rule of
    `.dslineage/checks.yaml` (`allowed_labels`, class counts and shares), with the commit
    gate's message: the gate would refuse the version anyway, and `--no-commit` must not
    leave such a batch pending."""
    from dslineage.quality import check as qcheck
    from dslineage.quality import rules as qrules

    r = qrules.load(session.repo.root, session.repo.datasets()).get(session.ds.name)
    if r is None or not any(b.column in getattr(r, rule) for rule in qrules.LABEL_RULES):
        return
    from dslineage.store.rows import plain

    before = session.label_counts(b.column)
    # this batch's own moves (with several label columns `_dsl_applied` holds the last one joined)
    grouped = b.edits.group_by(["old", "new"]).aggregate([([], "count_all")]).to_pylist()
    moves = [(plain(t["old"]), plain(t["new"]), int(t["count_all"])) for t in grouped]
    qcheck.label_gate(session.repo, session.ds, b.column, before, moves)


def distinct_rows(plans: list[Batch], n_keys: int) -> int:
    """How many rows the plans change together (a row whose two label cells change is one row)."""
    import pyarrow as pa

    if len(plans) == 1:
        return int(plans[0].counts["applied"])
    keys = [f"k{i}" for i in range(n_keys)]
    tables = [b.edits.select(keys) for b in plans if b.edits.num_rows]
    if not tables:
        return 0
    both = pa.concat_tables(tables, promote_options="permissive")
    return int(both.group_by(keys).aggregate([]).num_rows)
