"""`dslineage cherry-pick BATCH`: apply one edit batch again, as a new batch on the current data.

The batch may be one of this branch (typically one that was reverted, or discarded) or of
any other git ref — a teammate's branch that was never merged, a tag, a remote-tracking
branch — found by its journal record in git (`git show REF:PATH`, nothing is checked out).
Like `git cherry-pick`, per row of the batch: a row that still has the batch's old label
gets its new label; a row that already has the new label is *settled*; a row whose label
is something else is a *conflict* (kept and listed, or with `force` overwritten — the same
classification `revert` uses, with the sides swapped); a row that no longer exists is
skipped. The new batch (op "cherry-pick") links to the original (`source_batch`) and keeps
its per-row annotator, reason and confidence, so history and blame name who really made
each edit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dslineage import txn
from dslineage.config import JOURNAL_DIR
from dslineage.errors import DirtyError, EditError, RefError
from dslineage.model_edits import CherryPickOptions
from dslineage.model_ops import CherryPickResult, ConflictRow
from dslineage.ops import batches as batch_ops
from dslineage.ops.commit import SNAPSHOT_STEPS
from dslineage.ops.edit_session import pick_column

if TYPE_CHECKING:
    from dslineage.repo import Repo

STEPS = txn.declare("cherry-pick", "after-data", "after-batch", *SNAPSHOT_STEPS)
_HEX = re.compile(r"^[0-9a-f]{4,40}$")
_RECORD = re.compile(r"-batch-([0-9a-f]{12})\.json$")
_PICK = "_dsl_pick"  # the source batch's edits, registered on the session's connection


@dataclass(frozen=True)
class Source:
    """The batch to apply: its journal record, its per-row edits, and where it was found."""

    record: dict[str, Any]
    edits: Any  # pyarrow Table: k0.., old, new, annotator, reason, confidence
    commit: str | None  # the git commit it was read from; None: this work tree's journal
    version: str | None  # the version of this branch that carried it, if any


def locate(repo: Repo, prefix: str) -> Source:
    """The batch an id prefix names: in the work tree's journal first, else in any git ref."""
    text = prefix.strip().lower()
    if not _HEX.match(text):
        raise RefError(
            f"unknown batch {prefix!r}: give a batch id prefix of at least 4 hex digits "
            "(see `dslineage batches`, here or on the batch's branch)"
        )
    if batch_ops.matches(repo, text):
        entry = batch_ops.find(repo, text)  # refuses an ambiguous prefix
        rec = batch_ops.record(repo, entry["id"])
        path = batch_ops.edits_path(repo, rec)
        if not path.is_file():
            raise EditError(
                f"the edits file of batch {rec['id'][:12]} is missing ({path.name}): "
                f"restore it with `git checkout -- {JOURNAL_DIR}/{path.name}`"
            )
        import pyarrow.parquet as pq

        return Source(rec, pq.read_table(path), None, entry.get("version"))
    return _from_git(repo, text, prefix)


def _from_git(repo: Repo, text: str, prefix: str) -> Source:
    """Find the batch record among the journal files of every git ref (one `git log --all`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    added = repo.git.commits_adding(JOURNAL_DIR, all_refs=True)
    found: dict[str, tuple[dict[str, Any], str]] = {}
    for path, sha in added.items():
        m = _RECORD.search(path)
        if not m or not (m.group(1).startswith(text) or text.startswith(m.group(1))):
            continue
        blob = repo.git.show(sha, path)
        try:
            rec = json.loads(blob or b"")
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("kind") == "batch" and str(rec.get("id", "")).startswith(text):
            found.setdefault(rec["id"], (rec, sha))
    if not found:
        raise RefError(
            f"unknown batch {prefix!r}: it is in neither this branch's journal nor any git ref "
            "(`dslineage batches` on its branch lists its id; fetch that branch first)"
        )
    if len(found) > 1:
        listed = "; ".join(
            f"{r['id'][:12]} ({r.get('dataset')}, {str(r.get('timestamp'))[:19]})" for r, _ in found.values()
        )
        raise RefError(f"ambiguous batch {prefix!r} could be: {listed}; use a longer id prefix")
    rec, sha = next(iter(found.values()))
    edits_path = f"{JOURNAL_DIR}/{rec.get('edits')}"
    blob = repo.git.show(added.get(edits_path, sha), edits_path)
    if blob is None:
        raise EditError(
            f"batch {rec['id'][:12]} has no edits file {rec.get('edits')} in git "
            f"(commit {sha[:12]}): it cannot be applied"
        )
    return Source(rec, pq.read_table(pa.BufferReader(blob)), sha, None)


def _normalised(edits: Any, n_keys: int) -> Any:
    """The edits with every column cherry-pick reads (older edits files may lack the optional ones)."""
    import pyarrow as pa

    absent = [c for c in (*(f"k{i}" for i in range(n_keys)), "old", "new") if c not in edits.column_names]
    if absent:
        raise EditError(f"the batch's edits file has no column {', '.join(absent)}: it cannot be applied")
    for name, typ in (("annotator", pa.string()), ("reason", pa.string()), ("confidence", pa.float64())):
        if name not in edits.column_names:
            edits = edits.append_column(name, pa.nulls(edits.num_rows, typ))
    return edits


def cherry_pick(repo: Repo, batch: str, opts: CherryPickOptions) -> CherryPickResult:
    """Apply batch `batch` as a new batch linked to it; a new version records it (one git commit)."""
    from dslineage.ops.commit import default_author
    from dslineage.ops.edit_apply import apply
    from dslineage.ops.edit_session import Session
    from dslineage.store import revert_plan

    src = locate(repo, batch)
    rec = src.record
    ds = repo.dataset(rec["dataset"])
    col, j = pick_column(ds, opts.column or rec["column"])
    n = len(ds.key)
    if len(rec.get("keys") or ds.key) != n:
        raise EditError(
            f"batch {rec['id'][:12]} is keyed by {', '.join(rec['keys'])} but {ds.name} by "
            f"{', '.join(ds.key)}: it cannot be applied"
        )
    edits = _normalised(src.edits, n)
    who = default_author(repo, opts.by)
    force, dry_run = opts.force, opts.dry_run
    strategy = "force" if force else "keep"
    session = Session(repo, ds, check=False)
    result: dict[str, Any] = {
        "batch": None,
        "source_batch": rec["id"],
        "version": None,
        "applied": 0,
        "conflicts": 0,
        "conflict_keys": [],
        "dataset": ds.name,
        "column": col,
        "seq": None,
        "dry_run": dry_run,
        "strategy": strategy,
        "settled": 0,
        "skipped": 0,
        "skipped_keys": [],
        "conflict_rows": [],
        "found_in": f"git {src.commit}" if src.commit else "journal",
    }
    try:
        if not dry_run and not session.clean:
            raise DirtyError(
                f"{ds.path} has uncommitted changes: commit them first (`dslineage commit {ds.name} -m MSG`) "
                f"or drop them (`dslineage checkout {ds.name}@latest --force`), then cherry-pick"
            )
        session.con.register(_PICK, edits)
        revert_plan.target_from_batch(session.con, _PICK, n, forward=True)
        plan = revert_plan.plan_revert(session.con, n, j, force, settled_ok=True)
        revert_plan.carry_provenance(session.con, _PICK, n, rec.get("author"), rec.get("reason"))
        b = session.join(col)
        conflict_keys = [dict(zip(ds.key, r[0])) for r in plan["conflict_rows"]]
        b.extra = {
            "source_batch": rec["id"],
            "source_commit": src.commit,
            "strategy": strategy,
            "conflicts": plan["conflicts"],
            "conflict_keys": conflict_keys[:100],
            "skipped": plan["skipped"],
        }
        result.update(
            applied=b.counts["applied"],
            conflicts=plan["conflicts"],
            conflict_keys=conflict_keys,
            settled=plan["settled"],
            skipped=plan["skipped"],
            skipped_keys=[dict(zip(ds.key, k)) for k in plan["skipped_keys"]],
            conflict_rows=[
                ConflictRow(key=dict(zip(ds.key, k)), column=col, current=cur, expected=old, new=new)
                for k, cur, old, new in plan["conflict_rows"]
            ],
        )
        if dry_run or not b.counts["applied"]:
            return CherryPickResult(**result)
        short = rec["id"][:12]
        why = f"cherry-pick of batch {short}" + (f": {opts.reason}" if opts.reason else "")
        text = opts.message or f"cherry-pick batch {short} ({b.counts['applied']} row(s) of {ds.name})"
        candidate = repo.index.version(src.version) if src.version else None
        # a declared label pair (`track --label-pair`) has its other column filled from the mapping
        plans = [b, *session.fill_pairs([b])]
        out = apply(
            session,
            plans,
            by=who,
            reason=why,
            commit=True,
            message=text,
            source=f"batch {rec['id']}",
            op="cherry-pick",
            candidate=candidate,
        )
    finally:
        session.close()
    v = out["version"]
    result.update(batch=out["batches"][0], version=v["id"] if v else None, seq=v["seq"] if v else None)
    return CherryPickResult(**result)
