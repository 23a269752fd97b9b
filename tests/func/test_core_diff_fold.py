"""Property: the diff of two committed versions folded from the change sets equals the byte-level diff."""

from __future__ import annotations

import json
import os
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dslineage import Repo
from dslineage.model import to_json
from dslineage.ops.diff import diff, fold_committed
from tests.support import new_repo

LABELS = st.sampled_from(["cat", "dog", "bird", None])
XS = st.one_of(st.none(), st.integers(-2, 2).map(float), st.just(-0.0), st.just(float("nan")))
YS = st.sampled_from(["a", "b", "é", None])
# schema variants: every column; y dropped; x retyped to text
VARIANTS = ("base", "no_y", "x_text")
Rows = dict[int, tuple[Any, Any, Any]]


def _write(path: Path, rows: Rows, variant: str) -> None:
    ids = sorted(rows)
    cols: dict[str, Any] = {"id": pa.array(ids, pa.int64()), "label": pa.array([rows[i][0] for i in ids], pa.string())}
    xs = [rows[i][1] for i in ids]
    cols["x"] = (
        pa.array([None if v is None else str(v) for v in xs], pa.string())
        if variant == "x_text"
        else (pa.array(xs, pa.float64()))
    )
    if variant != "no_y":
        cols["y"] = pa.array([rows[i][2] for i in ids], pa.string())
    tmp = path.with_name(".tmp.parquet")
    pq.write_table(pa.table(cols), tmp)
    os.replace(tmp, path)


@st.composite
def histories(draw: Any) -> list[tuple[Rows, str]]:
    """2-4 versions: each a random edit of the one before (relabels, feature edits, edits undone,
    removals, re-additions of removed keys), sometimes with a schema change."""
    rows: Rows = draw(st.dictionaries(st.integers(0, 12), st.tuples(LABELS, XS, YS), min_size=1, max_size=8))
    out = [(dict(rows), "base")]
    gone: dict[int, tuple[Any, Any, Any]] = {}
    for _ in range(draw(st.integers(1, 3))):
        prev = out[-1][0]
        cur = dict(prev)
        for k in draw(st.lists(st.sampled_from(sorted(cur)), unique=True, max_size=4)) if cur else []:
            kind = draw(st.sampled_from(["label", "x", "y", "remove", "undo"]))
            label, x, y = cur[k]
            if kind == "remove" and len(cur) > 1:
                gone[k] = cur.pop(k)
                continue
            if kind == "undo":  # back to the first version's value, if the key was there
                cur[k] = rows.get(k, cur[k])
                continue
            cur[k] = (
                draw(LABELS) if kind == "label" else label,
                draw(XS) if kind == "x" else x,
                draw(YS) if kind == "y" else y,
            )
        for k in draw(st.lists(st.sampled_from(sorted(gone)), unique=True)) if gone else []:
            if k not in cur:
                cur[k] = gone.pop(k) if draw(st.booleans()) else (draw(LABELS), draw(XS), draw(YS))
        variant = draw(st.sampled_from(VARIANTS)) if draw(st.integers(0, 4)) == 0 else "base"
        out.append((cur, variant))
    return out


@pytest.fixture(scope="module")
def fold_repo(module_env: Path) -> Path:
    """One repository for every example: dataset `h` (key id, label label), committed once."""
    root = new_repo(module_env / "fold")
    _write(root / "h.parquet", {0: ("cat", 1.0, "a")}, "base")
    Repo(root).track(str(root / "h.parquet"), ["id"], ["label"])
    Repo(root).commit(["h"], "start", None)
    return root


def _bytes_diff(repo: Repo, a: str, b: str, rows: int = 0) -> dict[str, Any]:
    """The byte-level diff: both versions' bytes read and joined."""
    return to_json(diff(repo, a, b, rows=rows, fold=False))  # type: ignore[return-value]


# ~1 s a version committed plus the diffs; no shrinking (see test_core_property.py)
@pytest.mark.slow
@settings(
    max_examples=8,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(history=histories())
def test_folded_diff_equals_byte_diff(fold_repo, history):
    """For every pair of versions of a random history, both ways, the fold equals the bytes' diff
    (or, across a schema change it cannot fold, the default diff still equals the bytes')."""
    path = fold_repo / "h.parquet"
    repo = Repo(fold_repo)
    seqs: list[tuple[int, str]] = []
    for rows, variant in history:
        _write(path, rows, variant)
        versions = repo.commit(["h"], "step", None)
        seq = versions[0]["seq"] if versions else repo.resolve("h@latest")["seq"]
        if not seqs or seqs[-1][0] != seq:
            seqs.append((seq, variant))
    try:
        for i, (sa, va) in enumerate(seqs):
            for sb, vb in seqs[i + 1 :]:
                for a, b in ((f"h@v{sa}", f"h@v{sb}"), (f"h@v{sb}", f"h@v{sa}")):
                    want = _bytes_diff(repo, a, b)
                    got = fold_committed(repo, repo.dataset("h"), a, b)
                    between = {v for s, v in seqs if min(sa, sb) <= s <= max(sa, sb)}
                    if between == {"base"}:
                        assert got is not None, (a, b)
                    if got is not None:
                        assert (got.pop("source"), got.pop("exact")) == ("journal", True)
                        assert got == want, (a, b)
                    default: Any = to_json(repo.diff(a, b, rows=3))  # the sample reads only the rows it shows
                    default.pop("source", None), default.pop("exact", None)
                    # json text: a NaN in the sample equals itself
                    assert json.dumps(default, sort_keys=True) == json.dumps(
                        _bytes_diff(repo, a, b, rows=3), sort_keys=True
                    ), (a, b)
    finally:
        repo.close()


@pytest.mark.slow
def test_fold_across_branches_and_a_merge_version(tmp_repo):
    """Versions on two git branches fold through their common first-parent ancestor, and a merge
    version (change set against its first parent) folds against the other side: equal to the bytes."""
    from dslineage.ops.commit import snapshot
    from tests.support import run, write_parquet

    n = 300
    path = write_parquet(
        tmp_repo / "data" / "t.parquet", {"id": list(range(n)), "x": [i / 3 for i in range(n)], "label": ["cat"] * n}
    )
    with Repo(tmp_repo) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(["t"], "v1", None)
    run(tmp_repo, "git", "checkout", "-q", "-b", "alice")
    write_parquet(
        path,
        {
            "id": list(range(5, n)),
            "x": [i / 3 + (i % 7 == 0) for i in range(5, n)],
            "label": ["fox" if i < 50 else "cat" for i in range(5, n)],
        },
    )
    with Repo(tmp_repo) as repo:
        [alice] = repo.commit(["t"], "alice", None)
    run(tmp_repo, "git", "checkout", "-q", "main")
    ids = list(range(n)) + [1000, 1001]
    write_parquet(
        path,
        {"id": ids, "x": [i / 3 + (i % 5 == 0) for i in ids], "label": ["owl" if 40 <= i < 90 else "cat" for i in ids]},
    )
    with Repo(tmp_repo) as repo:
        [bob] = repo.commit(["t"], "bob", None)
    # alice's journal records join main's (what a git merge brings, without a merge driver's say)
    run(tmp_repo, "git", "checkout", "alice", "--", ".dslineage/journal")
    run(tmp_repo, "git", "commit", "-q", "-m", "alice's records")
    write_parquet(path, {"id": ids, "x": [i / 3 for i in ids], "label": ["dog"] * len(ids)})
    with Repo(tmp_repo) as repo:  # a merge version: its change set is against bob's (first parent)
        [merge] = snapshot(repo, [repo.dataset("t")], "merge", None, extra={"t": {"parents": [bob["id"], alice["id"]]}})
        pairs = [(alice, bob), (bob, alice), (alice, merge), (merge, alice)]
        for a, b in pairs:
            ref_a, ref_b = f"t@{a['id']}", f"t@{b['id']}"
            got = fold_committed(repo, repo.dataset("t"), ref_a, ref_b)
            assert got is not None and got.pop("exact") is True and got.pop("source") == "journal"
            assert got == _bytes_diff(repo, ref_a, ref_b), (a["seq"], b["seq"])
            assert got["rows"]["modified"] > 0 and got["columns"].get("x")


@pytest.mark.slow
@pytest.mark.parametrize("bulk", [False, True])
def test_change_sets_without_digests_fall_back_to_bytes(tmp_repo, monkeypatch, bulk):
    """A change set recorded before digests existed (no `d`, no `digests` flag) still indexes beside
    newer ones (record by record, or in bulk where the index has it); a diff whose range includes
    it reads the bytes, one after it folds: both exact."""
    import pyarrow.compute as pc

    from dslineage.store import ingest

    if bulk:  # any number of new journal files is ingested in bulk
        monkeypatch.setattr(ingest, "BULK_MIN_FILES", 1)

    from tests.support import write_parquet

    path = write_parquet(
        tmp_repo / "data" / "t.parquet", {"id": [1, 2, 3], "x": [1.0, 2.0, 3.0], "label": ["cat", "dog", "cat"]}
    )
    with Repo(tmp_repo) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(["t"], "v1", None)
        write_parquet(path, {"id": [1, 2, 3], "x": [1.5, 2.0, 3.0], "label": ["cat", "cat", "cat"]})
        [v2] = repo.commit(["t"], "v2", None)
        write_parquet(path, {"id": [1, 2, 4], "x": [1.0, 2.0, 4.0], "label": ["cat", "cat", "owl"]})
        repo.commit(["t"], "v3", None)
    journal = tmp_repo / ".dslineage" / "journal"
    [rec_file] = [p for p in journal.glob("*.json") if json.loads(p.read_text()).get("id") == v2["id"]]
    rec = json.loads(rec_file.read_text())
    del rec["changes"]["digests"]
    rec_file.write_text(json.dumps(rec))
    changes = journal / rec["changes"]["file"]
    old = pq.read_table(changes).drop_columns(["d"])
    assert pc.sum(pc.equal(old["change"], "modified")).as_py() == 1
    pq.write_table(old, changes)
    (tmp_repo / ".dslineage" / "index.duckdb").unlink()  # rebuilt: the old change set is ingested first
    with Repo(tmp_repo) as repo:
        ds = repo.dataset("t")
        assert fold_committed(repo, ds, "t@v1", "t@v3") is None
        assert fold_committed(repo, ds, "t@v3", "t@v2") is not None
        for a, b in (("t@v1", "t@v3"), ("t@v3", "t@v1"), ("t@v2", "t@v3"), ("t@v3", "t@v2")):
            got: Any = to_json(repo.diff(a, b))
            assert got.pop("exact", False) is (a != "t@v1" and b != "t@v1"), (a, b)
            got.pop("source", None)
            assert got == _bytes_diff(repo, a, b), (a, b)


@pytest.mark.slow
def test_relabel_fast_path_folds_exactly(tmp_repo):
    """A relabel's known change set (no diff of the file) carries an empty `d`: diffs across it fold."""
    from tests.support import write_parquet

    path = write_parquet(
        tmp_repo / "data" / "t.parquet", {"id": [1, 2, 3], "x": [1.0, 2.0, 3.0], "label": ["cat", "dog", "cat"]}
    )
    with Repo(tmp_repo) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(["t"], "v1", None)
        repo.relabel("t", {1: "owl", 2: "cat"}, by="ann", reason="fix")
        write_parquet(path, {"id": [1, 2, 3], "x": [1.0, 9.0, 3.0], "label": ["cat", "cat", "cat"]})
        repo.commit(["t"], "v3", None)
        for a, b in (("t@v1", "t@v2"), ("t@v1", "t@v3"), ("t@v3", "t@v1")):
            got: Any = to_json(repo.diff(a, b))
            assert (got.pop("exact"), got.pop("source")) == (True, "journal"), (a, b)
            assert got == _bytes_diff(repo, a, b), (a, b)
        # 1: cat → owl → cat is unchanged; 2: dog → cat and x 2 → 9
        assert repo.diff("t@v1", "t@v3")["rows"] == {
            "added": 0,
            "removed": 0,
            "modified": 1,
            "relabeled": 1,
            "unchanged": 2,
        }


def test_diff_of_a_version_and_its_parent_reads_what_its_commit_recorded(tmp_repo, monkeypatch):
    """`diff PARENT CHILD` of committed versions (a commit's and a relabel's) is the diff the child's
    commit recorded, byte for byte the bytes' diff, without folding a change set; further apart,
    or backwards, the change sets are folded."""
    from dslineage.store import changes
    from tests.support import write_parquet

    path = write_parquet(
        tmp_repo / "data" / "t.parquet",
        {"id": [1, 2, 3, 4], "x": [1.0, 2.0, 3.0, 4.0], "label": ["cat", "dog", "cat", None]},
    )
    with Repo(tmp_repo) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(["t"], "v1", None)
        write_parquet(path, {"id": [1, 2, 3, 5], "x": [1.0, 7.0, 3.0, 5.0], "label": ["owl", "dog", None, "cat"]})
        repo.commit(["t"], "v2", None)
        repo.relabel("t", {1: "cat", 2: "cat"}, by="ann", reason="fix")
        want = {pair: json.dumps(_bytes_diff(repo, *pair)) for pair in (("t@v1", "t@v2"), ("t@v2", "t@v3"))}
        folded = changes.fold_exact
        monkeypatch.setattr(changes, "fold_exact", lambda *a, **k: pytest.fail("folded a change set"))
        for pair, text in want.items():
            got: Any = to_json(repo.diff(*pair))
            assert (got.pop("exact"), got.pop("source")) == (True, "journal"), pair
            assert json.dumps(got) == text, pair
        calls: list[int] = []
        monkeypatch.setattr(changes, "fold_exact", lambda *a, **k: calls.append(1) or folded(*a, **k))
        for a, b in (("t@v1", "t@v3"), ("t@v2", "t@v1")):
            got = to_json(repo.diff(a, b))
            got.pop("exact"), got.pop("source")
            assert got == _bytes_diff(repo, a, b), (a, b)
        assert len(calls) == 2


@pytest.mark.parametrize(
    "ids",
    [
        [1, 2, 2, 3],  # a key of v1 twice
        [1, 2, 3, 4, 4],  # a new key twice
        [1, None, 3],  # a null key
        [1, 2, 3],  # valid: the diff goes through
    ],
)
def test_working_file_keys_checked_without_a_key_scan(tmp_repo, ids):
    """A diff against the working file proves its keys from the join with v1 (no GROUP BY over the keys
    first): a null or repeated key fails with the very error the full key scan gives; valid keys diff."""
    from dslineage.core import common
    from dslineage.errors import SchemaError
    from dslineage.store import rows as row_sql
    from tests.support import write_parquet

    path = write_parquet(tmp_repo / "data" / "t.parquet", {"id": [1, 2, 3], "label": ["cat", "dog", "cat"]})
    with Repo(tmp_repo) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(["t"], "v1", None)
        write_parquet(path, {"id": ids, "label": ["owl"] * len(ids)})
        ds = repo.dataset("t")
        con = common.row_connection(repo)
        try:
            src = common.working_source(repo, ds)
            with pytest.raises(SchemaError) if len(set(ids)) != len(ids) or None in ids else nullcontext() as scan:
                row_sql.check_keys(con, src, ds, row_sql.check_columns(con, src, ds))
        finally:
            con.close()
        if scan is None:
            assert repo.diff("t@v1", None).rows.relabeled == 3
        else:
            with pytest.raises(SchemaError) as got:
                repo.diff("t@v1", None)
            assert str(got.value) == str(scan.value)
