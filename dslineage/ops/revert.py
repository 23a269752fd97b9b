"""`dslineage revert BATCH_OR_VERSION`: undo exactly the label changes of one batch or version.

Like `git revert`, a three-way decision per row of the target: a row that still has the
label the target gave it gets its earlier label back; a row whose label changed since is
a *conflict* (kept as is, or with `--strategy force` set back anyway); a row that no longer
exists is skipped. The undo is itself an edit batch (op "revert", "reverts": target id), so
reverting the revert re-applies the target, and blame and history show who undid what.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dslineage import journal, txn
from dslineage.config import Dataset
from dslineage.core.refs import resolve
from dslineage.errors import EditError, RefError, UsageError
from dslineage.model_edits import RevertConflict, RevertOptions, RevertResult
from dslineage.ops import batches as batch_ops
from dslineage.ops.commit import SNAPSHOT_STEPS

if TYPE_CHECKING:
    from dslineage.repo import Repo

_HEX = re.compile(r"^[0-9a-f]{4,40}$")
STRATEGIES = ("keep", "force")
STEPS = txn.declare("revert", "after-data", "after-batch", *SNAPSHOT_STEPS)


def resolve_target(repo: Repo, target: str) -> tuple[str, Dataset, dict[str, Any]]:
    """("batch" | "version", dataset, catalog entry or version) named by a batch id prefix,
    a version id prefix, or NAME@REF."""
    if "@" in target:
        ds, v = resolve(repo, target)
        return "version", ds, v
    text = target.lower()
    found_b = batch_ops.matches(repo, text)
    found_v = [v for v in repo.index.versions() if v["id"].startswith(text)] if _HEX.match(text) else []
    if len(found_b) + len(found_v) == 0:
        raise RefError(
            f"unknown batch or version {target!r}: give a batch id (see `dslineage batches`) "
            "or NAME@REF (see `dslineage log`)"
        )
    if len(found_b) + len(found_v) > 1:
        listed = [f"batch {b['id'][:12]} ({b['dataset']})" for b in found_b]
        listed += [f"version {v['dataset']}@v{v['seq']} ({v['id'][:12]})" for v in found_v]
        raise RefError(f"ambiguous {target!r} could be: {'; '.join(listed[:10])}; use a longer prefix")
    if found_b:
        return "batch", repo.dataset(found_b[0]["dataset"]), found_b[0]
    return "version", repo.dataset(found_v[0]["dataset"]), found_v[0]


def _already(entries: list[dict[str, Any]], target_id: str) -> str | None:
    for e in entries:
        if e["reverts"] == target_id and e["state"] == "committed" and not e["reverted"]:
            return str(e["id"])
    return None


def _targets(repo: Repo, kind: str, ds: Dataset, t: dict[str, Any]) -> tuple[list[tuple[str, str, Any, str]], Any]:
    """[(label column, "batch" | "changes", edits or change-set path, id reverted)] and the
    version before. A batch of a multi-column relabel (`group`) is reverted with its group."""
    entries = batch_ops.catalog(repo, ds.name)
    if kind == "batch":
        if t["state"] != "committed":
            raise EditError(
                f"batch {t['id'][:12]} is {t['state']}, not committed: commit it first "
                f"(`dslineage commit {ds.name} -m MSG`), or discard it with "
                f"`dslineage checkout {ds.name}@latest --force`"
            )
        if t["reverted"]:
            raise EditError(
                f"batch {t['id'][:12]} was already reverted by batch {t['reverted_by'][:12]}: "
                f"revert {t['reverted_by'][:12]} to re-apply it"
            )
        rec = batch_ops.record(repo, t["id"])
        version = repo.index.version(t["version"])
        parent = repo.index.version(version["parent"]) if version and version.get("parent") else None
        group = [
            e
            for e in entries
            if t.get("group") and e.get("group") == t["group"] and e["state"] == "committed" and not e["reverted"]
        ] or [t]
        recs = [rec if e["id"] == rec["id"] else batch_ops.record(repo, e["id"]) for e in group]
        return [(r["column"], "batch", batch_ops.edits_path(repo, r), r["id"]) for r in recs], parent
    by = _already(entries, t["id"])
    if by:
        raise EditError(
            f"{ds.name}@v{t['seq']} was already reverted by batch {by[:12]}: revert {by[:12]} to re-apply it"
        )
    if not t.get("parent"):
        raise EditError(
            f"{ds.name}@v{t['seq']} is the first version: it changed no labels to undo; "
            "use `dslineage rollback` to return to an earlier state"
        )
    path = journal.folder(repo.root) / t["changes_file"] if t.get("changes_file") else None
    if path is None or not path.exists():
        raise EditError(
            f"the row changes of {ds.name}@v{t['seq']} are unknown (imported without its parent's "
            "data): use `dslineage rollback` instead"
        )
    parent = repo.index.version(t["parent"])
    return [(col, "changes", path, t["id"]) for col in ds.labels], parent


def revert(repo: Repo, target: str, opts: RevertOptions) -> RevertResult:
    """Undo the label changes of a batch or version; a new version records the revert batch."""
    from dslineage.ops.commit import default_author
    from dslineage.ops.edit_apply import apply, distinct_rows
    from dslineage.ops.edit_session import Session
    from dslineage.store import revert_plan

    strategy, dry_run = opts.strategy, opts.dry_run
    if strategy not in STRATEGIES:
        raise UsageError(f"--strategy must be keep or force, not {strategy!r}")
    kind, ds, t = resolve_target(repo, target)
    targets, parent = _targets(repo, kind, ds, t)
    who = default_author(repo, opts.by)
    n = len(ds.key)
    session = Session(repo, ds, force=opts.force, check=not dry_run)
    result: dict[str, Any] = {
        "reverted": t["id"],
        "kind": kind,
        "dataset": ds.name,
        "version": None,
        "seq": None,
        "batch": None,
        "batches": [],
        "restored": 0,
        "conflicts": 0,
        "conflict_keys": [],
        "conflict_rows": [],
        "skipped": 0,
        "skipped_keys": [],
        "strategy": strategy,
        "dry_run": dry_run,
        "same_md5_as": None,
        "by_column": {},
    }
    try:
        plans = []
        conflicted: set[tuple[Any, ...]] = set()
        skipped: set[tuple[Any, ...]] = set()
        for col, how, path, target_id in targets:
            j = ds.labels.index(col)
            if how == "batch":
                revert_plan.target_from_batch(session.con, path, n)
            elif not revert_plan.target_from_changes(session.con, path, n, j):
                continue
            plan = revert_plan.plan_revert(session.con, n, j, strategy == "force")
            b = session.join(col)
            conflict_keys = [dict(zip(ds.key, r[0])) for r in plan["conflict_rows"]]
            b.extra = {
                "reverts": target_id,
                "reverts_kind": kind,
                "strategy": strategy,
                "conflicts": plan["conflicts"],
                "conflict_keys": conflict_keys[:100],
                "skipped": plan["skipped"],
            }
            result["by_column"][col] = b.counts["applied"]
            for k, *_ in plan["conflict_rows"]:
                if tuple(k) not in conflicted:
                    result["conflict_keys"].append(dict(zip(ds.key, k)))
                conflicted.add(tuple(k))
            result["conflict_rows"] += [
                {"key": dict(zip(ds.key, k)), "column": col, "current": cur, "target_label": after, "before": before}
                for k, cur, after, before in plan["conflict_rows"]
            ]
            for k in plan["skipped_keys"]:
                if tuple(k) not in skipped:
                    result["skipped_keys"].append(dict(zip(ds.key, k)))
                skipped.add(tuple(k))
            if b.counts["applied"]:
                plans.append(b)
        # counts are rows: a row whose two label columns are restored is one row
        result["restored"] = distinct_rows(plans, n)
        result["conflicts"], result["skipped"] = len(conflicted), len(skipped)
        if dry_run or not plans:
            return _result(result)
        what = f"{kind} {t['id'][:12]}" if kind == "batch" else f"{ds.name}@v{t['seq']}"
        why = f"revert of {what}" + (f": {opts.reason}" if opts.reason else "")
        text = opts.message or f"revert {what} ({result['restored']} row(s) of {ds.name})"
        out = apply(
            session, plans, by=who, reason=why, commit=True, message=text, source=target, op="revert", candidate=parent
        )
    finally:
        session.close()
    v = out["version"]
    result.update(batches=out["batches"], batch=out["batches"][0], same_md5_as=out["same_as"])
    result["version"] = v["id"] if v else None
    result["seq"] = v["seq"] if v else None
    result["md5"] = out["md5"]
    return _result(result)


def _result(r: dict[str, Any]) -> RevertResult:
    """The record of what `revert` gathered (its keys are the record's fields)."""
    return RevertResult(**{**r, "conflict_rows": [RevertConflict(**c) for c in r["conflict_rows"]]})
