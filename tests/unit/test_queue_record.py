"""The one builder of review-queue journal records (`ops.queues.new_record`), for review and consensus."""

from __future__ import annotations

from dslineage import journal
from dslineage.ops import queues

_VERSION = {"id": "a" * 40, "seq": 3}
_TS = "2026-12-01T02:00:00+00:00"

# the keys each writer recorded before the builder (consensus queues lacked seq and file)
_REVIEW_KEYS = [
    "kind",
    "id",
    "dataset",
    "version",
    "seq",
    "source",
    "method",
    "params",
    "predictions_md5",
    "predictions_file",
    "batch",
    "rows",
    "file",
    "author",
    "timestamp",
]
_CONSENSUS_KEYS = [
    "kind",
    "id",
    "dataset",
    "version",
    "source",
    "method",
    "params",
    "predictions_md5",
    "batch",
    "rows",
    "author",
    "timestamp",
    "votes",
]


def test_review_queue_record_keeps_its_keys_in_order() -> None:
    """A review queue's record has exactly the keys review wrote before, in the same order."""
    qid = queues.new_id("train", _VERSION["id"], _TS, "margin", {"top": 5}, "b" * 32, "Ann")
    rec = queues.new_record(
        qid,
        dataset="train",
        version=_VERSION,
        source="review",
        method="margin",
        params={"top": 5},
        rows=5,
        author="Ann",
        timestamp=_TS,
        predictions_md5="b" * 32,
        predictions_file="preds.parquet",
    )
    assert list(rec) == _REVIEW_KEYS
    assert (rec["id"], rec["seq"], rec["file"], rec["batch"]) == (qid, 3, journal.side_file(qid, "queue"), None)
    assert rec["predictions_file"] == "preds.parquet" and rec["source"] == "review"


def test_consensus_queue_record_gains_seq_and_file() -> None:
    """A consensus queue's record keeps every key it had and now also names its version's seq and side file."""
    qid = queues.new_id("train", _VERSION["id"], _TS, "c" * 40)
    rec = queues.new_record(
        qid,
        dataset="train",
        version=_VERSION,
        source="consensus",
        method="majority",
        params={"min_votes": 2},
        rows=2,
        author="Bob",
        timestamp=_TS,
        batch="d" * 40,
        votes="c" * 40,
    )
    assert set(_CONSENSUS_KEYS) <= set(rec) and set(rec) - set(_CONSENSUS_KEYS) == {"seq", "file"}
    assert [k for k in rec if k in _CONSENSUS_KEYS] == _CONSENSUS_KEYS  # the old keys keep their order
    assert "predictions_file" not in rec and rec["predictions_md5"] is None
    assert (rec["seq"], rec["file"], rec["votes"], rec["batch"]) == (
        3,
        journal.side_file(qid, "queue"),
        "c" * 40,
        "d" * 40,
    )


def test_queue_ids_differ_by_what_sets_them_apart() -> None:
    """Two queues of one version at one time get different ids when their sources differ."""
    a = queues.new_id("train", _VERSION["id"], _TS, "c" * 40)
    b = queues.new_id("train", _VERSION["id"], _TS, "e" * 40)
    assert a != b and len(a) == 40 and a == queues.new_id("train", _VERSION["id"], _TS, "c" * 40)
