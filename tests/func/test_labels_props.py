"""Properties of edit batches, against a brute-force model of the labels:
revert(relabel(x)) restores x's labels and bytes; with a later overlapping batch, the revert's
conflicts are exactly the overlap and every later label survives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dslineage import Repo
from tests.support import md5, new_repo, write_parquet
from tests.support.labels import labels_of

N = 16
LABELS = ["a", "b", "c", "d"]
EDITS = st.dictionaries(st.integers(0, N - 1), st.sampled_from(LABELS), min_size=1, max_size=8)


@pytest.fixture(scope="module")
def prop_repo(module_env: Path) -> Path:
    """A repo with datasets p1 and p2 (16 rows, labels a-d), each committed as v1."""
    root = new_repo(module_env / "props")
    with Repo(root) as repo:
        for name in ("p1", "p2"):
            path = write_parquet(
                root / "data" / f"{name}.parquet", {"id": list(range(N)), "label": [LABELS[i % 4] for i in range(N)]}
            )
            repo.track(str(path), ["id"], ["label"])
        repo.commit(None, "v1", None)
    return root


def changed(base: dict[int, Any], edits: dict[int, Any]) -> set[int]:
    """Keys an edit batch really changes (the rest are no-ops)."""
    return {k for k, v in edits.items() if base[k] != v}


@pytest.mark.slow
@settings(max_examples=10, deadline=None, database=None)
@given(edits=EDITS)
def test_revert_of_relabel_is_identity(prop_repo: Path, edits: dict[int, str]) -> None:
    """Relabel then revert: the labels and the md5 are exactly what they were."""
    path = prop_repo / "data" / "p1.parquet"
    base, base_md5 = labels_of(path), md5(path)
    with Repo(prop_repo) as repo:
        r = repo.relabel("p1", edits)
        assert (r["applied"], r["noop"]) == (len(changed(base, edits)), len(edits) - len(changed(base, edits)))
        assert labels_of(path) == {**base, **edits}
        if r["batch"] is None:
            return
        rv = repo.revert(r["batch"])
        assert (rv["restored"], rv["conflicts"], rv["skipped"]) == (r["applied"], 0, 0)
    assert labels_of(path) == base and md5(path) == base_md5


@pytest.mark.slow
@settings(max_examples=8, deadline=None, database=None)
@given(first=EDITS, second=EDITS)
def test_conflicts_are_exactly_the_overlap(prop_repo: Path, first: dict[int, str], second: dict[int, str]) -> None:
    """Batch 1, then batch 2 (pending): reverting 1 conflicts on exactly 1 ∩ 2 and keeps 2's labels."""
    path = prop_repo / "data" / "p2.parquet"
    with Repo(prop_repo) as repo:
        base = labels_of(path)
        r1 = repo.relabel("p2", first)
        if r1["batch"] is None:
            return
        mid = labels_of(path)
        repo.relabel("p2", second, commit=False)
        one, two = changed(base, first), changed(mid, second)
        plan = repo.revert(r1["batch"], dry_run=True)
        assert {k["id"] for k in plan["conflict_keys"]} == one & two
        assert plan["restored"] == len(one - two)
        done = repo.revert(r1["batch"])
        now = labels_of(path)
        assert all(now[k] == base[k] for k in one - two)
        assert all(now[k] == second[k] for k in two)
        assert all(now[k] == base[k] for k in set(range(N)) - one - two)
        if done["version"] is None:  # nothing to restore: commit batch 2 so the next example starts clean
            repo.commit(["p2"], "batch 2", None)
