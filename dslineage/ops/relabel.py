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
from dslineage.ops import common, mergestate
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

    def file_columns(self, path: str, column: str | None, ignore_columns: bool) -> list[str]:
        """The label columns an edits file edits: every label column it has; with `column`, that
        one (a file carrying other label columns is refused unless `ignore_columns`)."""
        import duckdb

        sql, params, name = self._edits_sql(path)
        try:
            names = [r[0] for r in self.con.execute(f"DESCRIBE SELECT * FROM {sql}", params).fetchall()]
        except duckdb.Error as exc:
            raise EditError(f"cannot read {name}: {str(exc).splitlines()[0][:200]}") from None
        present = [c for c in self.ds.labels if c in names and c not in self.ds.key]
        if column is not None:
            col = pick_column(self.ds, column)[0]
            others = [c for c in present if c != col]
            if others and not ignore_columns:
                raise UsageError(
                    f"{name} also has label column(s) {', '.join(others)}, which --column {col} would "
                    f"ignore: drop --column to apply every label column, or pass --ignore-columns"
                )
            return [col]
        if present:
            return present
        return [pick_column(self.ds, None)[0]]

    def _edits_sql(self, path: str) -> tuple[str, list[Any], str]:
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
        return sql, [str(p)], p.name

    def stage_file(self, path: str, column: str, allowed: list[Any] | None, *, blanks: bool = False) -> int:
        """Stage edits from a CSV, TSV, parquet or JSON Lines file (`blanks`: see `labels.stage`)."""
        from dslineage.store import labels

        sql, params, name = self._edits_sql(path)
        return labels.stage(self.con, sql, params, self.ds, column, self.types, allowed, name, blanks=blanks)

    def fill_pairs(self, plans: list[Batch]) -> list[Batch]:
        """For each plan on one side of a declared label pair whose other side has no plan, the
        plan that fills the other side from the one-to-one mapping the file holds now."""
        from dslineage import config
        from dslineage.store import labels

        done = {b.column for b in plans}
        out: list[Batch] = []
        for b in list(plans):
            other = config.pair_of(self.ds, b.column)
            if other is None or other in done or not b.counts["applied"]:
                continue
            self.con.register("_dsl_applied_src", b.edits)
            self.con.execute("CREATE OR REPLACE TEMP TABLE _dsl_applied AS SELECT * FROM _dsl_applied_src")
            unknown = labels.stage_fill(self.con, len(self.ds.key), self.ds.labels.index(b.column),
                                        self.ds.labels.index(other))
            if unknown:
                pair = next(f"{x}={y}" for x, y in self.ds.label_pairs or [] if b.column in (x, y))
                raise EditError(
                    f"{b.column} {', '.join(map(str, unknown))} has no {other} yet (label pair "
                    f"{pair}): give both columns in an edits file (--from)"
                )
            out.append(self.join(other))
            done.add(other)
        return out

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

    Plans of several label columns are one edit: their records share `group` (the first id)
    and `columns`. A declared label pair (`track --label-pair`) must stay one-to-one.

    Returns {"batches": [ids], "version": record or None, "md5", "same_as": version id or None}.
    """
    from dslineage.ops.commit import snapshot
    from dslineage.store import labels

    repo, ds = session.repo, session.ds
    table = session.table
    for b in plans:
        table = labels.splice(table, ds.key, b.column, b.raw_keys, b.values)
    check_pairs(session, table, {b.column for b in plans})
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
                if len(plans) > 1:
                    rec.update(group=ids[0] if ids else rec["id"], columns=[p.column for p in plans])
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


def check_pairs(session: Session, table: Any, columns: set[str]) -> None:
    """Refuse (one line, nothing written) an edited table whose declared label pairs touched
    by `columns` are no longer one-to-one with the mapping the file held before."""
    from dslineage.store import labels

    for a, b in session.ds.label_pairs or []:
        if a not in columns and b not in columns:
            continue
        session.con.register("_dsl_after", table)
        bad = labels.pair_conflicts(session.con, ("_dsl_after", []), a, b, before=("_dsl_t", []))
        if bad:
            raise EditError(
                f"the edits break the label pair {a}={b} of {session.ds.name}: {labels.pair_text(bad, a, b)}; "
                f"edit both columns together, or re-declare the pair with `dslineage track`"
            )


def _known(session: Session, plans: list[Batch]) -> dict[str, Any] | None:
    """The exact change set of the batches applied to the latest version's bytes, so the
    commit need not diff the whole file (None: let it diff)."""
    from dslineage.ops.commit import KnownChanges
    from dslineage.store import labels

    if not plans or session.pending or session.md5 is None or session.md5 != session.head["md5"]:
        return None
    ds = session.ds
    nk = len(ds.key)
    keys = [f"k{i}" for i in range(nk)]
    if len(ds.labels) == 1 and len(plans) == 1:
        table = plans[0].edits.select([*keys, "old", "new"]).rename_columns([*keys, "o0", "n0"])
    else:  # every label column's old and new value of each row any plan changed
        edits = {ds.labels.index(b.column): b.edits.select([*keys, "new"]) for b in plans}
        table = labels.known_changes(session.con, nk, len(ds.labels), edits)
    return {ds.name: KnownChanges(session.md5, table)}


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
    import pyarrow.compute as pc

    from dslineage.store.rows import plain

    counts = pc.value_counts(session.table.column(b.column)).to_pylist()
    before = [(d["values"], int(d["counts"])) for d in counts]
    # this batch's own moves (with several label columns `_dsl_applied` holds the last one joined)
    grouped = b.edits.group_by(["old", "new"]).aggregate([([], "count_all")]).to_pylist()
    moves = [(plain(t["old"]), plain(t["new"]), int(t["count_all"])) for t in grouped]
    qcheck.label_gate(session.repo, session.ds, b.column, before, moves)


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
    expect_old: bool = False,
    ignore_columns: bool = False,
    queue: str | None = None,
) -> dict[str, Any]:
    """Apply label edits to a dataset as one recorded batch (and, by default, commit a version).

    An edits file is applied to every label column it has (one batch record per column, one
    `group`); `column` restricts it to one, and then a file with other label columns is refused
    unless `ignore_columns`. A label column declared one-to-one with another
    (`track --label-pair`) has the other filled from the mapping, and an edit breaking the
    mapping is refused. Counts are rows (`by_column`: per label column).

    An edits file with an `old` (or `old_<label>`) column — required with `expect_old` — is
    refused whole when any row's current label is not that old label (a stale replay).

    `queue` (a review queue id or prefix) links the batch to the queue it reviews: its record
    gains `queue` and `queue_confirmed` (the keys whose label the edits kept)."""
    from dslineage.ops.commit import default_author
    from dslineage.store import labels

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
    who = default_author(repo, by)
    linked = _queue(repo, ds, queue) if queue else None
    session = Session(repo, ds, force=force)
    try:
        if pairs is not None:
            cols = [pick_column(ds, column)[0]]
        else:
            assert from_file is not None
            cols = session.file_columns(from_file, column, ignore_columns)
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
                labels.check_expected(session.con, len(ds.key), ds.labels.index(col), expect_old,
                                      Path(from_file).name, ds)
            b = session.join(col)
            _refuse_missing(ds, b.counts, skip_missing)
            if linked:
                b.extra.update(queue=linked, queue_confirmed=labels.noop_keys(session.con, len(ds.key)))
            plans.append(b)
        plans += session.fill_pairs(plans)
        applied = [b for b in plans if b.counts["applied"]]
        for b in applied:
            label_rules(session, b)
        rows_changed = distinct_rows(applied, len(ds.key))
        first = plans[0] if plans else None
        result: dict[str, Any] = {
            "dataset": ds.name, "column": cols[0], "columns": [b.column for b in plans], "batch": None,
            "batches": [], "version": None, "applied": rows_changed,
            "by_column": {b.column: b.counts["applied"] for b in plans},
            "noop": max((b.counts["noop"] for b in plans), default=0),
            "missing": max((b.counts["missing"] for b in plans), default=0),
            "missing_keys": [dict(zip(ds.key, k)) for k in (first.counts["missing_keys"] if first else [])],
            "edits_read": read, "transitions": first.transitions if first else [], "committed": False,
        }
        if len(plans) > 1:
            result["transitions_by_column"] = {b.column: b.transitions for b in plans}
        if not applied:
            return result
        source = "--set" if pairs is not None else Path(from_file or "").name
        out = apply(session, applied, by=who, reason=reason, commit=commit, message=message, source=source)
    finally:
        session.close()
    v = out["version"]
    result.update(batch=out["batches"][0], batches=out["batches"], md5=out["md5"], committed=v is not None)
    result["version"] = v["id"] if v else None
    result["seq"] = v["seq"] if v else None
    return result


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
