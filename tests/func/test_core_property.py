"""Property: for random datasets and random edits, diff and commit agree with a brute-force count."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dslineage import Repo, dvcio
from dslineage.ops.diff import from_journal
from tests.support import new_repo

SCHEMA = pa.schema([("id", pa.int64()), ("label", pa.string()), ("x", pa.float64())])
LABELS = st.sampled_from(["cat", "dog", "bird", "ému 🦤", "a\"b'c", None])
FEATURES = st.one_of(st.none(), st.integers(-3, 3).map(float))
ROW = st.tuples(LABELS, FEATURES)
Rows = dict[int, tuple[Any, Any]]


def _write(path: Path, rows: Rows) -> None:
    ids = sorted(rows)
    table = pa.table({"id": ids, "label": [rows[i][0] for i in ids], "x": [rows[i][1] for i in ids]}, schema=SCHEMA)
    tmp = path.with_name(".tmp.parquet")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


@st.composite
def edits(draw: Any) -> tuple[Rows, Rows]:
    """A random dataset A and B = A with random relabels, feature edits, removals and additions."""
    a: Rows = draw(st.dictionaries(st.integers(0, 30), ROW, min_size=1, max_size=15))
    keys = sorted(a)
    b = dict(a)
    for k in draw(st.lists(st.sampled_from(keys), unique=True)):
        kind = draw(st.sampled_from(["relabel", "feature", "both", "remove"]))
        label, x = b[k]
        if kind == "remove":
            del b[k]
            continue
        if kind in ("relabel", "both"):
            label = draw(LABELS)
        if kind in ("feature", "both"):
            x = draw(FEATURES)
        b[k] = (label, x)
    b.update(draw(st.dictionaries(st.integers(31, 45), ROW, max_size=5)))
    return a, b


def brute_force(a: Rows, b: Rows) -> dict[str, Any]:
    """The expected diff, computed row by row in plain Python."""
    common = a.keys() & b.keys()
    relabeled = {k for k in common if a[k][0] != b[k][0]}
    modified = {k for k in common if a[k] != b[k]}
    transitions = Counter((a[k][0], b[k][0]) for k in relabeled)
    dist_a, dist_b = Counter(v[0] for v in a.values()), Counter(v[0] for v in b.values())
    return {
        "rows": {
            "added": len(b.keys() - a.keys()),
            "removed": len(a.keys() - b.keys()),
            "modified": len(modified),
            "relabeled": len(relabeled),
            "unchanged": len(common) - len(modified),
        },
        "columns": {c: n for c, n in (("label", len(relabeled)), ("x", sum(a[k][1] != b[k][1] for k in common))) if n},
        "transitions": sorted(((f, t, n) for (f, t), n in transitions.items()), key=repr),
        "distribution": {(lab, dist_a[lab], dist_b[lab]) for lab in dist_a.keys() | dist_b.keys()},
    }


@pytest.fixture(scope="module")
def prop_repo(module_env: Path) -> Path:
    """One repo for every example: dataset `p` (key id, label label), committed once, then per example."""
    root = new_repo(module_env / "prop")
    _write(root / "p.parquet", {0: ("cat", 1.0)})
    Repo(root).track(str(root / "p.parquet"), ["id"], ["label"])
    Repo(root).commit(["p"], "start", None)
    return root


def _committed_rows(root: Path) -> Rows:
    """The rows of the latest committed version of `p`, read back from the DVC cache (via its .dvc file)."""
    out = dvcio.read_dvcfile(root / "p.parquet.dvc")
    assert out is not None
    table = pq.read_table(dvcio.cache_path(root, out.md5))
    return {r["id"]: (r["label"], r["x"]) for r in table.to_pylist()}


def _check_diff(d: dict[str, Any], expected: dict[str, Any]) -> None:
    assert d["rows"] == expected["rows"]
    assert d["columns"] == expected["columns"]
    got = sorted(((t["from"], t["to"], t["count"]) for t in d["label_transitions"]), key=repr)
    assert got == expected["transitions"]
    assert {(c["label"], c["a"], c["b"]) for c in d["class_distribution"]} == expected["distribution"]


def _check_commit(repo: Repo, old: Rows, new: Rows, versions: list[dict[str, Any]], probe: int) -> None:
    """The recorded change set, its journal fold and one key's history agree with old → new."""
    expected = brute_force(old, new)
    rows = expected["rows"]
    if not (rows["added"] or rows["removed"] or rows["modified"]):
        assert versions == [] or versions[0]["label_changes"] == 0  # same rows may still be new bytes
        return
    [v] = versions
    assert (v["added"], v["removed"], v["relabeled"], v["modified"]) == (
        rows["added"],
        rows["removed"],
        rows["relabeled"],
        rows["modified"] - rows["relabeled"],
    )
    folded = from_journal(repo, repo.dataset("p"), "p@latest~1", "p@latest")  # what a clone without bytes sees
    repo.close()  # outside a command method the index (and the repo lock) stays open until close()
    assert folded is not None
    _check_diff({**folded, "columns": expected["columns"]}, expected)  # the fold counts label columns only
    assert folded["columns"] == {k: n for k, n in expected["columns"].items() if k == "label"}
    if probe not in old and probe not in new:
        return
    last = repo.history("p", [probe])["events"][-1]
    if probe not in old:
        assert (last["seq"], last["change"], last["labels"]["label"]) == (v["seq"], "added", new[probe][0])
    elif probe not in new:
        assert (last["seq"], last["change"], last["labels"]["label"]) == (v["seq"], "removed", old[probe][0])
    elif old[probe][0] != new[probe][0]:
        assert (last["seq"], last["change"], last["from"]["label"], last["labels"]["label"]) == (
            v["seq"],
            "relabeled",
            old[probe][0],
            new[probe][0],
        )
    elif old[probe] != new[probe]:
        assert (last["seq"], last["change"], last["labels"]["label"]) == (v["seq"], "modified", new[probe][0])
    else:
        assert last["seq"] < v["seq"] and last["change"] != "removed"


# ~0.4 s an example (one commit, two diffs, a history); no shrinking, so a failure reports in
# seconds, not minutes (the failing example is printed and replayed first on the next run)
@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(pair=edits(), probe=st.integers(0, 45))
def test_diff_and_commit_match_brute_force(prop_repo, pair, probe):
    """Committing A over the previous version records the brute-force change set (also folded from
    the journal, and in one key's history); diffing A against B in the work tree counts like Python."""
    a, b = pair
    path = prop_repo / "p.parquet"
    repo = Repo(prop_repo)
    previous = _committed_rows(prop_repo)  # whatever the last example (or the fixture) committed
    _write(path, a)
    _check_commit(repo, previous, a, repo.commit(["p"], "A", None), probe)
    _write(path, b)
    _check_diff(repo.diff("p@latest"), brute_force(a, b))
