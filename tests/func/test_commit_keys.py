"""Commit proves a new version's keys non-null and unique from its diff (no separate key scan):
every way a key can go bad is still refused with the usual one-line error, and nothing changes."""

from __future__ import annotations

import pytest

from dslineage import Repo
from dslineage.errors import SchemaError
from tests.support import head, write_parquet


def _rows(ids, labels=None):
    ids = list(ids)
    return {"id": ids, "x": [0.5 for _ in ids], "label": labels or ["cat" for _ in ids]}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([*range(20), 3], "duplicated"),  # a key of the parent appears twice
        ([*range(20), 30, 30], "duplicated"),  # a new key appears twice
        ([*range(19), 19, 19, 40], "duplicated"),  # a repeat that also keeps the row count
        ([*range(20), None], "null key"),  # a null key among the added rows
    ],
)
def test_bad_keys_in_a_new_version_are_refused(committed, tmp_repo, ids, message):
    """Duplicate or null keys in the new file: SchemaError naming the problem; HEAD unchanged."""
    before = head(tmp_repo)
    write_parquet(tmp_repo / "data" / "train.parquet", _rows(ids))
    with pytest.raises(SchemaError, match=message):
        committed.commit(["train"], "bad keys", None)
    assert head(tmp_repo) == before
    assert [v["seq"] for v in committed.log("train")] == [1]


def test_same_count_swap_of_a_repeat_for_a_removal_is_caught(committed, tmp_repo):
    """Dropping key 5 and repeating key 6 keeps the row count; the added/removed identity catches it."""
    ids = [i for i in range(20) if i != 5] + [6]
    write_parquet(tmp_repo / "data" / "train.parquet", _rows(ids))
    with pytest.raises(SchemaError, match="duplicated"):
        committed.commit(["train"], "swap", None)


def test_composite_key_with_a_partial_null_is_refused(tmp_repo):
    """A composite key (a, b) whose b is null in one new row is refused on commit."""
    path = write_parquet(tmp_repo / "c.parquet", {"a": [1, 1, 2], "b": [1, 2, 1], "label": ["x", "y", "z"]})
    repo = Repo(tmp_repo)
    repo.track(str(path), ["a", "b"], ["label"])
    repo.commit(["c"], "v1", None)
    write_parquet(path, {"a": [1, 1, 2, 3], "b": [1, 2, 1, None], "label": ["x", "y", "z", "w"]})
    with pytest.raises(SchemaError, match="null key"):
        repo.commit(["c"], "v2", None)


def test_valid_new_version_commits_with_exact_counts(committed, tmp_repo):
    """A clean edit (relabel, add, remove) commits, and DVC records the md5 dslineage computed."""
    write_parquet(tmp_repo / "data" / "train.parquet", _rows([*range(1, 20), 25], ["dog"] * 20))
    [v] = committed.commit(["train"], "edit", None)
    assert (v["added"], v["removed"], v["rows"]) == (1, 1, 20)
    dvcfile = (tmp_repo / "data" / "train.parquet.dvc").read_text()
    assert v["md5"] in dvcfile
