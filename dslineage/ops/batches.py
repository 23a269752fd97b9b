"""Edit batches: listing, lookup by id prefix, their state, and their link to a version.

A batch record (journal kind "batch") is written when the edits are applied to the working
file; the version that carries them lists their ids under "batches" (journal records are
never rewritten, so the link lives on the version). A batch no version lists is *pending*
while it sits on top of the dataset's latest version (the next `commit` links it), and
*discarded* once the dataset moved on without it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import journal
from dslineage.config import DIR_FORMAT
from dslineage.core import common
from dslineage.errors import RefError
from dslineage.model import Edit
from dslineage.model_edits import BatchDetail

if TYPE_CHECKING:
    from dslineage.config import Dataset
    from dslineage.repo import Repo

_HEX = re.compile(r"^[0-9a-f]{4,40}$")
SUMMARY_KEYS = (
    "id",
    "dataset",
    "column",
    "author",
    "timestamp",
    "reason",
    "rows",
    "noop",
    "missing",
    "op",
    "reverts",
    "source_batch",
    "group",
)


def edits_name(batch_id: str) -> str:
    """The file name of a batch's per-row edits, beside its record in the journal."""
    return f"{batch_id[:12]}.edits.parquet"


def edits_path(repo: Repo, record: dict[str, Any]) -> Path:
    """Where a batch's per-row edits are stored."""
    return journal.folder(repo.root) / record["edits"]


def journal_paths(repo: Repo, record: dict[str, Any]) -> list[str]:
    """The batch's record and edits file, relative to the repository root (for a git commit)."""
    folder = journal.folder(repo.root)
    return [
        (folder / journal.file_name(record)).relative_to(repo.root).as_posix(),
        edits_path(repo, record).relative_to(repo.root).as_posix(),
    ]


def links(repo: Repo, dataset: str | None = None) -> dict[str, dict[str, Any]]:
    """Batch id → the version record that carries it."""
    out: dict[str, dict[str, Any]] = {}
    for v in repo.index.records("version", dataset):
        for b in v.get("batches") or []:
            out[b] = v
    return out


def carriers(repo: Repo, dataset: str | None = None) -> dict[str, set[str]]:
    """Batch id → every version that lists it (its own, and merge versions that carried it
    from another branch)."""
    out: dict[str, set[str]] = {}
    for v in repo.index.records("version", dataset):
        for b in v.get("batches") or []:
            out.setdefault(b, set()).add(v["id"])
    return out


def catalog(repo: Repo, dataset: str | None = None) -> list[dict[str, Any]]:
    """Every batch (of one dataset or all), oldest first, with version, state and revert status."""
    records = repo.index.records("batch", dataset)
    linked = links(repo, dataset)
    heads: dict[str, str | None] = {}
    out = []
    for rec in records:
        entry = {k: rec.get(k) for k in SUMMARY_KEYS}
        # the label columns the relabel edited together (one record per column, one `group`)
        entry["columns"] = rec.get("columns") or [rec.get("column")]
        v = linked.get(rec["id"])
        entry["version"] = v["id"] if v else None
        entry["seq"] = v["seq"] if v else None
        if v:
            entry["state"] = "committed"
        else:
            if rec["dataset"] not in heads:
                head = common.current(repo, rec["dataset"])
                heads[rec["dataset"]] = head["id"] if head else None
            entry["state"] = "pending" if rec.get("base_version") == heads[rec["dataset"]] else "discarded"
            if entry["state"] == "pending" and _dropped(repo, rec, records, linked):
                entry["state"] = "discarded"  # on the latest version, but its edits are gone (checkout --force)
        out.append(entry)
    _mark_reverted(out)
    return out


def _dropped(repo: Repo, rec: dict[str, Any], records: list[dict[str, Any]], linked: dict[str, Any]) -> bool:
    """A pending-looking batch whose edits the working file no longer holds."""
    ds = repo.datasets().get(rec["dataset"])
    if ds is None:
        return False
    unlinked = [r for r in records if r["id"] not in linked]
    return holds_edits(repo, ds, rec, unlinked) is False


def _mark_reverted(entries: list[dict[str, Any]]) -> None:
    """Set `reverted`/`reverted_by`: reverted by a committed revert that is not itself reverted."""
    by_target: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        if e.get("reverts") and e["state"] == "committed":
            by_target.setdefault(e["reverts"], []).append(e)
    memo: dict[str, str | None] = {}

    def reverted_by(e: dict[str, Any], depth: int = 0) -> str | None:
        if e["id"] in memo:
            return memo[e["id"]]
        memo[e["id"]] = None  # guards against cycles
        found = None
        for target in (e["id"], e.get("version")):
            for r in by_target.get(target or "", []):
                if depth < 100 and reverted_by(r, depth + 1) is None:
                    found = r["id"]
        memo[e["id"]] = found
        return found

    for e in entries:
        e["reverted_by"] = reverted_by(e)
        e["reverted"] = e["reverted_by"] is not None


def matches(repo: Repo, prefix: str) -> list[dict[str, Any]]:
    """Batches whose id starts with `prefix` (at least 4 hex digits)."""
    text = prefix.lower()
    if not _HEX.match(text):
        return []
    return [e for e in catalog(repo) if e["id"].startswith(text)]


def find(repo: Repo, prefix: str) -> dict[str, Any]:
    """The one batch an id prefix names, or RefError listing the candidates."""
    found = matches(repo, prefix)
    if not found:
        raise RefError(f"unknown batch {prefix!r}: list batches with `dslineage batches`")
    if len(found) > 1:
        listed = "; ".join(f"{e['id'][:12]} ({e['dataset']}, {e['timestamp'][:19]})" for e in found[:10])
        raise RefError(f"ambiguous batch {prefix!r} could be: {listed}; use a longer id prefix")
    return found[0]


def record(repo: Repo, batch_id: str) -> dict[str, Any]:
    """The full journal record of a batch (by full id)."""
    for rec in repo.index.records("batch"):
        if rec["id"] == batch_id:
            return rec
    raise RefError(f"unknown batch {batch_id!r}: list batches with `dslineage batches`")


def pending(repo: Repo, ds: Dataset, head: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Batch records no version carries yet that were applied on top of `head`, oldest first."""
    if head is None:
        return []
    linked = links(repo, ds.name)
    return [
        r for r in repo.index.records("batch", ds.name) if r["id"] not in linked and r.get("base_version") == head["id"]
    ]


def link_pending(
    repo: Repo, ds: Dataset, parent: dict[str, Any] | None, extra: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, list[str]]:
    """What `commit` adds to a new version of `ds`: the pending batches it carries.

    Returns the version record's extra keys (with "batches") and the batches' journal files
    for the same git commit. A caller that sets "batches" itself decides alone. A pending
    batch whose edits are all gone from the working file (e.g. discarded by
    `checkout --force`) is not linked.
    """
    if extra is not None and "batches" in extra:
        return extra, []
    found = pending(repo, ds, parent)
    if not found:
        return extra, []
    md5 = common.working_md5(repo, ds)
    if md5 != found[-1].get("result_md5"):
        found = [r for r in found if _still_applied(repo, ds, r)]
        if not found:
            return extra, []
    paths = [p for r in found for p in journal_paths(repo, r)]
    return {**(extra or {}), "batches": [r["id"] for r in found]}, paths


def _still_applied(repo: Repo, ds: Dataset, rec: dict[str, Any]) -> bool:
    from dslineage.store import labels, revert_plan, rows

    con = common.row_connection(repo)
    try:
        src = common.working_source(repo, ds)
        types = {c["name"]: c["type"] for c in rows.schema(con, src)}
        if ds.format == DIR_FORMAT:
            from dslineage.ops import dirs

            loaded = dirs.load_working(repo, ds)[0]
        else:
            loaded = labels.load(con, src_path(repo, ds), ds)
        labels.register(con, loaded, ds, types, ds.format == "csv")
        return revert_plan.still_applied(con, edits_path(repo, rec), len(ds.key), ds.labels.index(rec["column"])) > 0
    finally:
        con.close()


def src_path(repo: Repo, ds: Dataset) -> Path:
    """The working file of a dataset."""
    return common.working_path(repo, ds)


def show(repo: Repo, prefix: str, limit: int | None = None) -> BatchDetail:
    """One batch: its record, state, and its per-row edits (all, or the first `limit`)."""
    entry = find(repo, prefix)
    rec = record(repo, entry["id"])
    ds_keys = rec.get("keys") or repo.dataset(rec["dataset"]).key
    path = edits_path(repo, rec)
    con = common.row_connection(repo)
    try:
        from dslineage.store import edit_batch, rows

        votes = journal.folder(repo.root) / rec["votes"] if rec.get("votes") else None
        if votes is not None and votes.is_file():  # a consensus batch: each row's votes and agreement
            from dslineage.store.votes import edits_with_votes

            table = edits_with_votes(con, path, votes, len(ds_keys), limit)
        else:
            table = edit_batch.read_edits(con, path, limit)
        edits = [
            Edit(
                key={k: rows.plain(r[f"k{i}"]) for i, k in enumerate(ds_keys)},
                old=rows.plain(r["old"]),
                new=rows.plain(r["new"]),
                annotator=r.get("annotator"),
                reason=r.get("reason"),
                confidence=r.get("confidence"),
                more={
                    "votes": dict(r["_dsl_votes"]),
                    "agreement": r["_dsl_agreement"],
                    "posterior": r["_dsl_posterior"],
                }
                if r.get("_dsl_voted")
                else {},
            )
            for r in table.to_pylist()
        ]
    finally:
        con.close()
    return BatchDetail.build(rec, entry, edits)


def maybe_show(repo: Repo, ref: str) -> BatchDetail | None:
    """`show` of a batch when `ref` is a batch id prefix rather than NAME[@REF]; else None."""
    if "@" in ref or ref in repo.datasets() or not _HEX.match(ref.lower()):
        return None
    if not matches(repo, ref):
        return None
    return show(repo, ref)


def batch_table(repo: Repo, records: list[dict[str, Any]], version_of: dict[str, str]) -> Any:
    """A pyarrow table of (id, version, file, author, reason, timestamp) for the SQL joins."""
    import pyarrow as pa

    cols: dict[str, list[Any]] = {k: [] for k in ("id", "version", "file", "author", "reason", "timestamp")}
    for r in records:
        cols["id"].append(r["id"])
        cols["version"].append(version_of[r["id"]])
        cols["file"].append(str(edits_path(repo, r)))
        cols["author"].append(r.get("author"))
        cols["reason"].append(r.get("reason"))
        cols["timestamp"].append(r["timestamp"])
    return pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()})


def provenance(repo: Repo, ds: Dataset, result: dict[str, Any]) -> dict[str, Any]:
    """Add "batch", "annotator", "reason" (and "confidence") to a row history's events."""
    events = result["events"]
    for e in events:
        e.setdefault("batch", None)
        e.setdefault("annotator", None)
        e.setdefault("reason", None)
        if e["change"] == "relabeled":
            e.setdefault("batches", [])
    relabels = [e for e in events if e["change"] == "relabeled"]
    if not relabels:
        return result
    batches = repo.index.records("batch", ds.name)
    if not batches:  # no edit batches: skip reading every version record for their links
        return result
    linked = links(repo, ds.name)
    carried = carriers(repo, ds.name)
    wanted = {e["version"] for e in relabels}
    recs = [r for r in batches if carried.get(r["id"], set()) & wanted]
    recs = [r for r in recs if edits_path(repo, r).exists()]
    if not recs:
        return result
    import duckdb

    from dslineage.store import label_history

    con = duckdb.connect()
    try:
        con.register("_dsl_batches", batch_table(repo, recs, {r["id"]: linked[r["id"]]["id"] for r in recs}))
        files = [str(edits_path(repo, r)) for r in recs]
        found = label_history.key_provenance(con, files, list(result["key"].values()))
    finally:
        con.close()
    column = {r["id"]: r["column"] for r in recs}
    order = {c: i for i, c in enumerate(ds.labels)}
    for e in relabels:
        # the batch of each label column this event changed; edits files of different label
        # columns read together may type `new` differently (an int and a text): compare as text
        by_col: dict[str, dict[str, Any]] = {}
        for f in found:
            col = column[f["batch"]]
            if (
                e["version"] in carried[f["batch"]]
                and col in e["labels"]
                and _text(e["labels"][col]) == _text(f["new"])
                and _text((e.get("from") or {}).get(col)) != _text(f["new"])
            ):
                by_col[col] = {
                    "column": col,
                    "batch": f["batch"],
                    "annotator": f["annotator"],
                    "reason": f["reason"],
                    "confidence": f["confidence"],
                }
        if by_col:
            e["batches"] = sorted(by_col.values(), key=lambda x: order.get(x["column"], 0))
            first = e["batches"][0]
            e.update(
                batch=first["batch"],
                annotator=first["annotator"],
                reason=first["reason"],
                confidence=first["confidence"],
            )
    return result


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# -- discarded batches: applied with --no-commit, then dropped (e.g. by `checkout --force`) --------


def holds_edits(repo: Repo, ds: Dataset, rec: dict[str, Any], unlinked: list[dict[str, Any]]) -> bool | None:
    """Whether the working file still holds a batch no version carries (None: cannot tell).

    True when the file's bytes are what this batch (or a later batch on the same base)
    produced, or when any of its edits is still in place; False when none is: the batch was
    discarded and no `commit` will ever record it. Reads the journal records given, not the
    index (`fsck` runs this on a repository whose index may be broken)."""
    path = common.working_path(repo, ds)
    if not edits_path(repo, rec).is_file():
        return False  # a record without its edits (a prune cut short): nothing left to commit
    if not path.is_file():
        return None
    from dslineage import dvcio

    md5 = dvcio.file_md5(path)
    stack = [
        r
        for r in unlinked
        if r.get("dataset") == ds.name
        and r.get("base_version") == rec.get("base_version")
        and r["timestamp"] >= rec["timestamp"]
    ]
    if any(r.get("result_md5") == md5 for r in stack):
        return True
    if rec.get("column") not in ds.labels:
        return None
    try:
        return _still_applied(repo, ds, rec)
    except Exception:  # an unreadable working file: leave the batch alone
        return None
