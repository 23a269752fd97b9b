"""Change tables kept sorted by key (for fast one-key history) answer exactly as unsorted ones."""

from __future__ import annotations

import pytest

from dslineage.store import ingest
from tests.support import write_parquet

LABELS = ["cat", "dog", "bird"]


def _edit(tmp_repo, version: int) -> None:
    """Version `version`: ids 0..29 minus a few, relabeled by a rule that changes per version."""
    ids = [i for i in range(30) if (i + version) % 7 != 0] + [100 + version]
    labels = [LABELS[(i * version + version) % 3] for i in ids]
    write_parquet(tmp_repo / "data" / "train.parquet", {"id": ids, "x": [i / 2 for i in ids], "label": labels})


def _histories(repo) -> dict:
    return {k: repo.history("train", str(k)) for k in [*range(30), 102, 105]}


def _storage_order(repo) -> list:
    with repo:
        return [r[0] for r in repo.index.con.execute('SELECT k0 FROM "changes/train"').fetchall()]


@pytest.mark.slow
def test_clustered_index_answers_like_unsorted_and_stays_sorted(committed, tmp_repo, monkeypatch):
    """With clustering on every sync, history of every key equals an unclustered reindex, and the
    change table is stored in key order after each merge."""
    monkeypatch.setattr(ingest, "CLUSTER_MIN_TAIL", 0)
    for v in range(2, 7):
        _edit(tmp_repo, v)
        committed.commit(["train"], f"edit {v}", None)
    order = _storage_order(committed)
    assert order == sorted(order) and len(order) > 30
    clustered = _histories(committed)
    monkeypatch.setattr(ingest, "CLUSTER_MIN_TAIL", 10**12)
    committed.reindex()
    assert _storage_order(committed) != order  # unsorted: the change sets in journal order
    assert _histories(committed) == clustered


@pytest.mark.slow
@pytest.mark.parametrize("min_tail", [0, 10**12])
def test_history_events_are_in_version_order(committed, tmp_repo, monkeypatch, min_tail):
    """A key relabeled in several versions lists its events oldest first, clustered or not."""
    monkeypatch.setattr(ingest, "CLUSTER_MIN_TAIL", min_tail)
    for v in range(2, 6):
        _edit(tmp_repo, v)
        committed.commit(["train"], f"edit {v}", None)
    seqs = [e["seq"] for e in committed.history("train", "4")["events"]]
    assert seqs == sorted(seqs) and seqs[0] == 1
