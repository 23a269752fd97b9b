"""`dslineage review list [NAME]` and `review show QUEUE`: recorded review queues and what
became of their rows (issue 13 item 2).

A relabel or consensus batch made with `--queue QUEUE` carries `"queue": <id>` in its record;
its edits are the queued rows it changed, and `queue_confirmed` (a list of keys, relabel) the
queued rows it reviewed and kept; consensus votes recorded for the queue (a "votes" record
with `review_queue`: its parquet's rows with outcome "confirmed") count as confirmed too.
The queue's precision is changed / reviewed.

`new_record` builds the queue's journal record for both writers (`review`, `consensus`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dslineage import journal
from dslineage.core import common
from dslineage.errors import MissingDataError, UnknownQueueError

if TYPE_CHECKING:
    from dslineage.repo import Repo


@dataclass(frozen=True)
class QueueSummary:
    """One recorded queue, as `review list` shows it."""

    id: str
    dataset: str
    version: str
    seq: int | None
    source: str
    method: str
    rows: int
    predictions_md5: str | None
    author: str
    timestamp: str


@dataclass(frozen=True)
class QueueDetail:
    """One queue with its review outcome: rows reviewed, confirmed, changed, and precision."""

    queue: QueueSummary
    params: dict[str, Any]
    batches: list[str]
    reviewed: int
    confirmed: int
    changed: int
    changed_as_suggested: int
    precision: float | None
    top: list[dict[str, Any]]


def new_id(dataset: str, version: str, ts: str, *parts: Any) -> str:
    """The id of a new queue of `dataset@version` made at `ts` (`parts`: what else sets it apart)."""
    return journal.make_id("queue", dataset, version, *parts, ts)


def new_record(
    qid: str,
    *,
    dataset: str,
    version: dict[str, Any],
    source: str,
    method: str,
    params: dict[str, Any],
    rows: int,
    author: str,
    timestamp: str,
    predictions_md5: str | None = None,
    predictions_file: str | None = None,
    batch: str | None = None,
    votes: str | None = None,
) -> dict[str, Any]:
    """The journal record of a review queue (kind "queue") whose rows are in its side file.

    `source` "review" (ranked by a model's predictions: `predictions_md5`, `predictions_file`)
    or "consensus" (rows below the agreement thresholds: `batch`, the round's relabel batch,
    and `votes`, its votes record). Consensus queues recorded before this builder lack `seq`
    and `file`; the readers fall back (`rec.get("seq")`, the side file named by the id)."""
    record: dict[str, Any] = {
        "kind": "queue",
        "id": qid,
        "dataset": dataset,
        "version": version["id"],
        "seq": version["seq"],
        "source": source,
        "method": method,
        "params": params,
        "predictions_md5": predictions_md5,
    }
    if predictions_file is not None:
        record["predictions_file"] = predictions_file
    record.update(batch=batch, rows=rows, file=journal.side_file(qid, "queue"), author=author, timestamp=timestamp)
    if votes is not None:
        record["votes"] = votes
    return record


def _summary(rec: dict[str, Any]) -> QueueSummary:
    return QueueSummary(
        id=rec["id"],
        dataset=rec["dataset"],
        version=rec["version"],
        seq=rec.get("seq"),
        source=rec.get("source", "review"),
        method=rec.get("method", ""),
        rows=int(rec["rows"]),
        predictions_md5=rec.get("predictions_md5"),
        author=rec.get("author", ""),
        timestamp=rec["timestamp"],
    )


def queues(repo: Repo, name: str | None = None) -> list[QueueSummary]:
    """Recorded review queues (of one dataset or all), oldest first."""
    if name:
        repo.dataset(name)
    return [_summary(r) for r in repo.index.records("queue", name)]


def find(repo: Repo, ref: str) -> dict[str, Any]:
    """The queue record whose id starts with `ref`."""
    ref = ref.strip().lower()
    hits = [r for r in repo.index.records("queue") if r["id"].startswith(ref)] if ref else []
    if len(hits) != 1:
        problem = "no review queue" if not hits else f"{len(hits)} review queues"
        raise UnknownQueueError(f"{problem} with id {ref!r}: list them with `dslineage review list`")
    return hits[0]


def queue(repo: Repo, ref: str, *, limit: int = 20) -> QueueDetail:
    """One queue by id or unique prefix, with how many of its rows later batches reviewed."""
    from dslineage.ops import batches as batch_ops
    from dslineage.store import review as sql

    rec = find(repo, ref)
    ds = repo.dataset(rec["dataset"])
    path = journal.folder(repo.root) / rec.get("file", journal.side_file(rec["id"], "queue"))
    if not path.is_file():
        raise MissingDataError(
            f"the rows of queue {rec['id'][:12]} ({path.name}) are missing: restore them with "
            f"`git checkout -- {path.relative_to(repo.root).as_posix()}`"
        )
    linked = [b for b in repo.index.records("batch", ds.name) if b.get("queue") == rec["id"]]
    edits = [batch_ops.edits_path(repo, b) for b in linked]
    confirmed = [list(k) if isinstance(k, list) else [k] for b in linked for k in b.get("queue_confirmed") or []]
    folder = journal.folder(repo.root)
    votes = [
        folder / v["votes"]
        for v in repo.index.records("votes", ds.name)
        if v.get("review_queue") == rec["id"] and v.get("votes") and (folder / v["votes"]).is_file()
    ]
    con = common.row_connection(repo)
    try:
        out = sql.outcome(con, path, list(ds.key), [p for p in edits if p.is_file()], confirmed, votes)
        top = sql.top_rows(con, path, limit).to_pylist()
    finally:
        con.close()
    reviewed = out["changed"] + out["confirmed"]
    return QueueDetail(
        queue=_summary(rec),
        params=rec.get("params") or {},
        batches=[b["id"] for b in linked],
        reviewed=reviewed,
        confirmed=out["confirmed"],
        changed=out["changed"],
        changed_as_suggested=out["as_suggested"],
        precision=out["changed"] / reviewed if reviewed else None,
        top=top,
    )
