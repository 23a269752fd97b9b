"""A first end-to-end check of the core flow on a real repository."""

from __future__ import annotations

from tests.support import run, write_parquet


def test_commit_edit_diff_history(committed, tmp_repo):
    """A relabel, an addition and a removal show up in diff counts and the row's history."""
    write_parquet(
        tmp_repo / "data" / "train.parquet",
        {
            "id": list(range(1, 21)),
            "x": [i / 2 for i in range(1, 21)],
            "label": ["zebra" if i == 4 else ["cat", "dog", "bird"][i % 3] for i in range(1, 21)],
        },
    )
    d = committed.diff("train@v1")
    assert d["rows"] == {"added": 1, "removed": 1, "modified": 1, "relabeled": 1, "unchanged": 18}
    assert d["label_transitions"] == [{"column": "label", "from": "dog", "to": "zebra", "count": 1}]
    [v2] = committed.commit(["train"], "relabel 4", None)
    assert v2["seq"] == 2
    events = committed.history("train", "4")["events"]
    assert [(e["seq"], e["change"], e["labels"]["label"]) for e in events] == [
        (1, "added", "dog"),
        (2, "relabeled", "zebra"),
    ]
    assert run(tmp_repo, "dvc", "status").stdout.strip() == "Data and pipelines are up to date."
