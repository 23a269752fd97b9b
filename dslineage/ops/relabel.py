"""`dslineage relabel`: apply a batch of label edits to a dataset and record it as lineage.

Order: load the working file once (Arrow, file order) → check and stage the edits (SQL) →
join them to the file (SQL) → splice the new labels in (vectorised Arrow, nothing else
moves) → write a new file and rename it over the old one (DVC may hard-link the old) →
write the batch's edits and record to the journal → commit a version carrying the batch.
Any error after the rename puts the old file back and deletes the journal files.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import dvcio, journal, txn
from dslineage.config import Dataset
from dslineage.errors import DirtyError, EditError, PathError, UsageError
from dslineage.ops import batches as batch_ops
from dslineage.ops import common
from dslineage.ops.checkout import uncommitted
from dslineage.ops.commit import SNAPSHOT_STEPS

if TYPE_CHECKING:
    from dslineage.repo import Repo

# fault-injection steps (see dslineage.txn); revert declares the same under its own name
STEPS = txn.declare("relabel", "after-data", "after-batch", *SNAPSHOT_STEPS)
EDIT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
                ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


def pick_column(ds: Dataset, column: str | None) -> tuple[str, int]:
    """The label column edited (and its index): `--column`, or the only label column."""
    if column is None:
        if len(ds.labels) > 1:
            raise UsageError(
                f"{ds.name} has label columns {', '.join(ds.labels)}: choose one with --column"
            )
        column = ds.labels[0]
    if column not in ds.labels:
        raise UsageError(f"{column!r} is not a label column of {ds.name} (labels: {', '.join(ds.labels)})")
    return column, ds.labels.index(column)


@dataclass
class Batch:
    """One label column's edits, joined to the file, ready to be applied and recorded."""

    column: str
    counts: dict[str, Any]
    raw_keys: list[Any]
    values: Any
    edits: Any  # pyarrow Table: k0.., old, new, annotator, reason, confidence
    transitions: list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)


class Session:
    """A dataset's working file loaded for editing, with a DuckDB connection over it."""

    def __init__(self, repo: Repo, ds: Dataset, *, force: bool = False, check: bool = True) -> None:
        from dslineage.store import labels, rows

        self.repo, self.ds = repo, ds
        head = common.current(repo, ds.name)
        if head is None:
            raise EditError(
                f"{ds.name} has no versions yet: record one with `dslineage commit {ds.name} -m MSG` first"
            )
        self.head = head
        self.path = common.working_path(repo, ds)
        src = common.working_source(repo, ds)
        self.md5 = common.working_md5(repo, ds)
        self.pending = batch_ops.pending(repo, ds, head)
        self.clean = self.md5 == head["md5"] or bool(
            self.pending and self.pending[-1].get("result_md5") == self.md5
        )
        if check and not self.clean and not force and self.md5 is not None and not uncommitted(repo, ds):
            raise DirtyError(
                f"{ds.path} holds another version's bytes, not v{head['seq']} that HEAD records (a branch "
                f"switch or a checkout): restore it with `dslineage checkout {ds.name}@latest`, or record "
                f"these bytes with `dslineage commit {ds.name} -m MSG`"
            )
        if check and not self.clean and not force:
            raise DirtyError(
                f"{ds.path} has uncommitted changes, which the batch would take credit for: commit them "
                f"first (`dslineage commit {ds.name} -m MSG`) or pass --force to edit on top of them"
            )
        self.text = ds.format == "csv"
        self.con = labels.ordered(common.row_connection(repo))
        try:
            self.types = {c["name"]: c["type"] for c in rows.schema(self.con, src)}
            absent = [c for c in ds.key + ds.labels if c not in self.types]
            if absent:
                raise EditError(f"{ds.path} has no column {', '.join(absent)}: fix the file or its registration")
            self.table = labels.load(self.con, self.path, ds)
            labels.register(self.con, self.table, ds, self.types, self.text)
        except BaseException:
            self.con.close()
            raise

    def close(self) -> None:
        """Release the DuckDB connection."""
        self.con.close()

    def stage_pairs(self, pairs: list[tuple[list[str], str]], column: str, allowed: list[Any] | None) -> int:
        """Stage `--set KEY=LABEL` edits (text, cast to the dataset's types)."""
        import pyarrow as pa

        from dslineage.store import labels

        data = {k: pa.array([p[0][i] for p in pairs], pa.string()) for i, k in enumerate(self.ds.key)}
        data[column if column not in self.ds.key else "new_label"] = pa.array([p[1] for p in pairs], pa.string())
        self.con.register("_dsl_set", pa.table(data))
        return labels.stage(self.con, "_dsl_set", [], self.ds, column, self.types, allowed, "--set")

    def stage_file(self, path: str, column: str, allowed: list[Any] | None) -> int:
        """Stage edits from a CSV, TSV, parquet or JSON Lines file."""
        from dslineage.store import labels

        p = Path(path)
        if not p.is_file():
            raise PathError(f"edits file {path} does not exist: check the path")
        kind = EDIT_FORMATS.get(p.suffix.lower())
        if kind is None:
            raise UsageError(f"edits file {p.name}: use .csv, .tsv, .parquet or .jsonl")
        sql = {
            "csv": "read_csv(?, all_varchar = true, header = true, null_padding = true)",
            "tsv": "read_csv(?, all_varchar = true, header = true, null_padding = true, delim = '\t')",
            "parquet": "read_parquet(?)",
            "jsonl": "read_json(?, format = 'newline_delimited')",
            "json": "read_json(?)",
        }[kind]
        return labels.stage(self.con, sql, [str(p)], self.ds, column, self.types, allowed, p.name)

    def join(self, column: str) -> Batch:
        """Join the staged edits to the file: what applies, what is a no-op, which keys are missing."""
        from dslineage.store import labels

        n = len(self.ds.key)
        counts = labels.join(self.con, n, self.ds.labels.index(column), self.text)
        raw_keys, values = labels.applied_columns(self.con, n)
        return Batch(
            column=column, counts=counts, raw_keys=raw_keys, values=values,
            edits=labels.applied_edits(self.con, n), transitions=labels.transitions(self.con),
        )

    def same_bytes(self, table: Any, candidate: dict[str, Any] | None) -> Path | None:
        """The DVC cache object of `candidate` when its content equals `table` (same md5 back)."""
        from dslineage.store import labels

        if candidate is None or candidate.get("rows") != table.num_rows:
            return None
        obj = dvcio.cache_path(self.repo.root, candidate["md5"])
        if not obj.is_file():
            return None
        try:
            other = labels.load(self.con, obj, self.ds)
        except Exception:  # an unreadable old object just means: write the file anew
            return None
        return obj if other.equals(table) else None


def replace_working(repo: Repo, ds: Dataset, new_file: Path, md5_before: str | None) -> None:
    """Rename `new_file` over the working file inside the open transaction, which records the
    old bytes first (by their DVC md5 when the cache has them) so that a crash restores them."""
    t = txn.current(repo.root)
    assert t is not None, "replace the working file inside txn.begin()"
    t.backup(ds.path, md5=md5_before)
    os.replace(new_file, common.working_path(repo, ds))


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
) -> dict[str, Any]:
    """Write the edited file, record one batch per plan, and (with `commit`) a version.

    Returns {"batches": [ids], "version": record or None, "md5", "same_as": version id or None}.
    """
    from dslineage.ops.commit import snapshot
    from dslineage.store import labels

    repo, ds = session.repo, session.ds
    table = session.table
    for b in plans:
        table = labels.splice(table, ds.key, b.column, b.raw_keys, b.values)
    tmp = session.path.with_name(f".{session.path.name}.tmp-relabel-{os.getpid()}")
    same = session.same_bytes(table, candidate)
    try:
        if same is not None:
            shutil.copyfile(same, tmp)
        else:
            labels.write(session.con, table, tmp, ds, session.path)
        md5 = dvcio.file_md5(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    ids: list[str] = []
    version = None
    try:
        with txn.begin(repo.root, repo.git, op, scratch=[tmp]) as t:
            replace_working(repo, ds, tmp, session.md5)
            _remember(repo, ds, md5)
            t.step("after-data")
            for b in plans:
                rec = _record(session, b, by=by, reason=reason, source=source, op=op, md5=md5)
                _write_batch(repo, rec, b.edits)
                ids.append(rec["id"])
            t.step("after-batch")
            repo.index.sync(force=True)
            if commit:
                made = snapshot(
                    repo, [ds], message or _message(ds, plans, reason, op), by,
                    known=_known(session, plans),
                )
                version = made[0] if made else None
    finally:
        tmp.unlink(missing_ok=True)
    return {"batches": ids, "version": version, "md5": md5, "same_as": candidate["id"] if same and candidate else None}


def _known(session: Session, plans: list[Batch]) -> dict[str, Any] | None:
    """The exact change set of a single-column batch applied to the latest version's bytes,
    so the commit need not diff the whole file (None: let it diff)."""
    from dslineage.ops.commit import KnownChanges

    if len(plans) != 1 or session.pending or session.md5 is None or session.md5 != session.head["md5"]:
        return None
    b = plans[0]
    nk = len(session.ds.key)
    table = b.edits.select([*(f"k{i}" for i in range(nk)), "old", "new"])
    table = table.rename_columns([*(f"k{i}" for i in range(nk)), "o0", "n0"])
    return {session.ds.name: KnownChanges(session.md5, table)}


def _remember(repo: Repo, ds: Dataset, md5: str) -> None:
    """Tell the index the new file's md5 (so `commit` does not hash it again)."""
    st = common.working_path(repo, ds).stat()
    repo.index.remember_md5(ds.path, f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}", md5)


def _record(session: Session, b: Batch, *, by: str, reason: str | None, source: str, op: str,
            md5: str) -> dict[str, Any]:
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
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(edits, tmp, compression="zstd")
    os.replace(tmp, path)
    journal.write(repo.root, rec)


def _message(ds: Dataset, plans: list[Batch], reason: str | None, op: str) -> str:
    n = sum(b.counts["applied"] for b in plans)
    cols = ", ".join(b.column for b in plans)
    head = f"{op} {n} row(s) of {ds.name} ({cols})"
    return f"{head}: {reason}" if reason else head


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
            parts = [str(v) for v in key] if isinstance(key, (tuple, list)) else (
                str(key).split(",") if len(ds.key) > 1 else [str(key)])
        if label is None:
            raise UsageError(f"edit {item!r} has no label: give KEY=LABEL")
        if len(parts) != len(ds.key):
            raise UsageError(
                f"{ds.name} is keyed by {', '.join(ds.key)}: write the key as "
                f"{','.join(ds.key).upper()}=LABEL (got {item!r})"
            )
        out.append(([p.strip() for p in parts], str(label)))
    return out


def relabel(
    repo: Repo,
    name: str,
    edits: Any = None,
    *,
    from_file: str | None = None,
    by: str | None = None,
    reason: str | None = None,
    column: str | None = None,
    commit: bool = True,
    skip_missing: bool = False,
    force: bool = False,
    message: str | None = None,
) -> dict[str, Any]:
    """Apply label edits to a dataset as one recorded batch (and, by default, commit a version)."""
    from dslineage.ops.commit import default_author

    ds = repo.dataset(name)
    if (edits is None or len(edits) == 0) == (from_file is None):
        raise UsageError("give the edits with --set KEY=LABEL ... or --from EDITS (one of them)")
    col, _ = pick_column(ds, column)
    pairs = parse_pairs(ds, edits) if edits else None
    who = default_author(repo, by)
    session = Session(repo, ds, force=force)
    try:
        if pairs is not None:
            read = session.stage_pairs(pairs, col, ds.labels_allowed)
        else:
            assert from_file is not None
            read = session.stage_file(from_file, col, ds.labels_allowed)
        b = session.join(col)
        c = b.counts
        if c["missing"] and not skip_missing:
            shown = ", ".join(",".join(map(str, k)) for k in c["missing_keys"][:10])
            raise EditError(
                f"{c['missing']} key(s) are not in {ds.name}: {shown}{' ...' if c['missing'] > 10 else ''}; "
                "fix the edits or pass --skip-missing"
            )
        result: dict[str, Any] = {
            "dataset": ds.name, "column": col, "batch": None, "version": None,
            "applied": c["applied"], "noop": c["noop"], "missing": c["missing"],
            "missing_keys": [dict(zip(ds.key, k)) for k in c["missing_keys"]],
            "edits_read": read, "transitions": b.transitions, "committed": False,
        }
        if not c["applied"]:
            return result
        source = "--set" if pairs is not None else Path(from_file or "").name
        out = apply(session, [b], by=who, reason=reason, commit=commit, message=message, source=source)
    finally:
        session.close()
    v = out["version"]
    result.update(batch=out["batches"][0], md5=out["md5"], committed=v is not None)
    result["version"] = v["id"] if v else None
    result["seq"] = v["seq"] if v else None
    return result
