"""A relabel of a clean file commits its known change set without re-diffing the file:
the recorded version must equal what a full diff of the bytes says."""

from __future__ import annotations

import random

import pyarrow.parquet as pq
import pytest

from dslineage.core import common
from tests.support import write_parquet


@pytest.mark.slow
def test_relabel_version_matches_a_full_diff_of_its_bytes(tmp_repo):
    """Counts, class distribution, row count and change set of a relabel's version equal
    a byte-level diff against the parent, for many transitions and a new class."""
    from dslineage import Repo

    rng = random.Random(3)
    n = 500
    labels = [rng.choice("abcdefghij") for _ in range(n)]
    path = write_parquet(tmp_repo / "data" / "d.parquet", {"id": list(range(n)), "label": labels})
    with Repo(tmp_repo) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(["d"], "v1", None)
        edits = {str(i): rng.choice("abcdefghijz") for i in rng.sample(range(n), 200)}
        result = repo.relabel("d", edits, by="ann", reason="review")
        shown = repo.show("d@latest")
        diff = repo.diff("d@v1", "d@v2")
        head = common.current(repo, "d")
        changes = pq.read_table(tmp_repo / ".dslineage" / "journal" / head["changes_file"])
    applied = sum(1 for k, v in edits.items() if labels[int(k)] != v)
    assert result["applied"] == applied == diff["rows"]["relabeled"] == shown["changes"]["relabeled"]
    assert shown["rows"] == n and shown["changes"]["added"] == shown["changes"]["removed"] == 0
    by_bytes = sorted((d["label"], d["b"]) for d in diff["class_distribution"] if d["b"])
    assert sorted((d["label"], d["count"]) for d in shown["class_distribution"]["label"]) == by_bytes
    recorded = sorted(zip(changes["k0"].to_pylist(), changes["o0"].to_pylist(), changes["n0"].to_pylist()))
    expected = sorted((int(k), labels[int(k)], v) for k, v in edits.items() if labels[int(k)] != v)
    assert recorded == expected
    assert set(changes["change"].to_pylist()) == {"relabeled"}
