"""`dslineage audit`: duplicates, leakage, imbalance, subgroups and agreement, checked by brute force."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dslineage.cli.app import app
from dslineage.errors import UsageError
from dslineage.quality.audit import imbalance, subgroups
from dslineage.store import profile
from tests.support import CIFAR, head, run, write_parquet

rows_st = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from(["p", "q", None]), st.sampled_from(["a", "b", None])),
    min_size=1,
    max_size=30,
)


def _table(con, name: str, rows: list[tuple]) -> str:
    con.register(
        f"{name}_in",
        pa.table(
            {
                "id": list(range(len(rows))),
                "f1": [r[0] for r in rows],
                "f2": pa.array([r[1] for r in rows], pa.string()),
                "label": pa.array([r[2] for r in rows], pa.string()),
            }
        ),
    )
    con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}_in")
    return name


@settings(max_examples=25, deadline=None)
@given(rows_st)
def test_conflicting_duplicates_equal_brute_force(rows):
    """Groups identical on the features (nulls equal) with 2+ distinct non-null labels, and their rows, as in Python."""
    con = duckdb.connect()
    res = profile.conflicting_duplicates(con, _table(con, "t", rows), ["f1", "f2"], ["label"], ["id"])
    groups: dict = defaultdict(list)
    for f1, f2, lab in rows:
        groups[f1, f2].append(lab)
    conflicting = [g for g in groups.values() if len(set(g) - {None}) > 1]
    assert res["groups"] == len(conflicting) and res["rows"] == sum(map(len, conflicting))
    dups = [g for g in groups.values() if len(g) > 1]
    assert res["duplicate_groups"] == len(dups) and res["duplicate_rows"] == sum(map(len, dups))
    assert sum(e["rows"] for e in res["examples"]) == res["rows"]  # < 10 groups: all listed


@settings(max_examples=25, deadline=None)
@given(rows_st, rows_st)
def test_leakage_overlap_equals_brute_force(a, b):
    """Rows of A whose feature values (nulls equal) appear anywhere in B, as in Python."""
    con = duckdb.connect()
    n, _ = profile.overlap(con, _table(con, "a", a), _table(con, "b", b), ["f1", "f2"])
    in_b = {(r[0], r[1]) for r in b}
    assert n == sum(1 for r in a if (r[0], r[1]) in in_b)


@settings(max_examples=25, deadline=None)
@given(rows_st)
def test_duplicated_values_equal_brute_force(rows):
    """unique_key's count of repeated value combinations (nulls equal) matches Python."""
    con = duckdb.connect()
    n, few = profile.duplicated(con, _table(con, "t", rows), ["f1", "f2"])
    counts = Counter((r[0], r[1]) for r in rows)
    assert n == sum(1 for c in counts.values() if c > 1)
    if n <= 5:  # all of them are listed, with their counts
        assert sorted(f[-1] for f in few) == sorted(c for c in counts.values() if c > 1)


def test_leakage_across_column_types():
    """A key stored as INTEGER in one file and DOUBLE in the other still matches (common type)."""
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE a AS SELECT range::INTEGER AS k FROM range(10)")
    con.execute("CREATE TEMP TABLE b AS SELECT (range + 7)::DOUBLE AS k FROM range(10)")
    casts = profile.common_types({"k": "INTEGER"}, {"k": "DOUBLE"}, ["k"])
    assert casts == {"k": "DOUBLE"}
    assert profile.overlap(con, "a", "b", ["k"], casts)[0] == 3


def test_imbalance_and_subgroup_gap_by_hand():
    """Shares, imbalance ratio, and the largest per-class share gap between subgroups (small ones left out)."""
    assert imbalance([("a", 6), ("b", 2), (None, 5)]) == {
        "ratio": 3.0,
        "shares": {"a": 0.75, "b": 0.25},
        "classes": 2,
        "rows": 8,
    }
    cells = [("x", "a", 8), ("x", "b", 2), ("y", "a", 3), ("y", "b", 7), ("z", "b", 1)]
    res = subgroups(cells, "g", "label", min_rows=5)
    assert res["compared"] == 2 and res["groups"] == 3
    assert res["max_gap"] == pytest.approx(0.5) and res["class"] == "a"
    assert (res["highest"], res["lowest"]) == ("x", "y")
    # Cramér's V by hand: expected counts 5.5/4.5 per row, chi2 = 2 (2.5²/5.5 + 2.5²/4.5), V = sqrt(chi2 / 20)
    assert res["cramers_v"] == pytest.approx((2 * (2.5**2 / 5.5 + 2.5**2 / 4.5) / 20) ** 0.5)
    assert 0.05 < res["chi2_p"] < 0.1  # scipy applies Yates' correction to a 2x2 table


def _audit_data(tmp_repo):
    """train: rows 0-3 share features with two labels (a conflict), 4-5 are exact duplicates;
    test: keys 5 and 6 repeat train keys, and one row copies train row 7's features."""
    n = 20
    write_parquet(
        tmp_repo / "data" / "train.parquet",
        {
            "id": list(range(n)),
            "x": [1.0, 1.0, 1.0, 1.0, 2.0, 2.0] + [10.0 + i for i in range(6, n)],
            "src": ["web" if i < 10 else "lab" for i in range(n)],
            "label": ["cat", "cat", "dog", "cat", "dog", "dog"] + ["cat" if i < 10 else "dog" for i in range(6, n)],
        },
    )
    write_parquet(
        tmp_repo / "data" / "test.parquet",
        {"id": [5, 6, 100], "x": [99.0, 98.0, 17.0], "src": ["web", "web", "web"], "label": ["dog", "cat", "cat"]},
    )


@pytest.mark.slow
def test_audit_finds_each_problem_and_is_stored(committed, tmp_repo):
    """Conflicts, leakage by key and content, imbalance and subgroup gap; stored with the version, shown by show."""
    from dslineage import Repo

    _audit_data(tmp_repo)
    committed.track(str(tmp_repo / "data" / "test.parquet"), ["id"], ["label"])
    committed.commit(None, "v2 and a test set", None)
    before = head(tmp_repo)
    res = committed.audit("train@v2", against="test@latest", group="src", on=["x"], min_group_rows=5)
    assert res["conflicting_duplicates"]["groups"] == 1 and res["conflicting_duplicates"]["rows"] == 4
    assert res["conflicting_duplicates"]["duplicate_groups"] == 2
    [ex] = res["conflicting_duplicates"]["examples"]
    assert ex["keys"] == [0, 1, 2, 3] and ex["labels"] == [{"label": "cat", "count": 3}, {"label": "dog", "count": 1}]
    assert res["leakage"]["by_key"] == 2 and res["leakage"]["by_content"] == 1  # x = 17.0 is train row 7
    assert res["imbalance"]["ratio"] == pytest.approx(13 / 7)  # dog 13, cat 7
    sub = res["subgroups"]
    web = Counter(["cat", "cat", "dog", "cat", "dog", "dog", "cat", "cat", "cat", "cat"])
    assert sub["max_gap"] == pytest.approx(web["cat"] / 10 - 0 / 10)
    assert res["agreement"] is None
    assert {"dataset", "version", "conflicting_duplicates", "leakage", "agreement", "imbalance", "subgroups"} <= set(
        res
    )
    assert res["stored"] is True and head(tmp_repo) != before
    shown = committed.show("train@v2")["quality"]["audit"]
    assert shown["leakage"]["by_key"] == 2 and shown["options"]["against"] == "test@latest"
    committed.close()
    with Repo(tmp_repo) as fresh:
        fresh.reindex()
        assert fresh.show("train@v2")["quality"]["audit"]["conflicting_duplicates"]["rows"] == 4


def test_audit_working_file_defaults_and_bad_columns(committed, tmp_repo):
    """Features default to non-key, non-label columns; a working file is not stored; unknown --on/--group refused."""
    _audit_data(tmp_repo)
    before = head(tmp_repo)
    res = committed.audit("train")
    assert res["conflicting_duplicates"]["on"] == ["x", "src"] and res["stored"] is False
    assert res["leakage"] is None and res["subgroups"] is None
    with pytest.raises(UsageError, match=r"no column 'nope' in train \(working file\).*fix --on"):
        committed.audit("train", on=["nope"])
    with pytest.raises(UsageError, match="fix --group"):
        committed.audit("train", group="nope")
    assert head(tmp_repo) == before


def test_cli_audit_text_and_json(committed, tmp_repo):
    """audit prints each section; --json the contract; --on takes comma-separated columns."""
    _audit_data(tmp_repo)
    r = CliRunner().invoke(app, ["-C", str(tmp_repo), "audit", "train", "--on", "x,src", "--group", "src"])
    assert r.exit_code == 0, r.stderr
    assert "conflicting duplicates on (x, src): 1 groups, 4 rows" in r.stdout and "imbalance" in r.stdout
    r = CliRunner().invoke(app, ["-C", str(tmp_repo), "audit", "train", "--json", "--no-record"])
    data = json.loads(r.stdout)
    assert set(data["imbalance"]) >= {"ratio", "shares"} and set(data["conflicting_duplicates"]) >= {"groups", "rows"}
    r = CliRunner().invoke(app, ["-C", str(tmp_repo), "audit", "train", "--on", "nope"])
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "fix --on" in r.stderr  # a usage error


def test_audit_cifar10_test_labels_are_balanced(tmp_repo):
    """Real data: the 10,000 CIFAR-10 test labels have exactly 1,000 rows per class (ratio 1) and pass
    class rules; the cross-validated prediction column shows who disagrees with the label."""
    src = CIFAR / "cifar10_test_labels.csv"
    if not src.exists():
        pytest.skip(f"real CIFAR-10 labels not found at {src}")
    from dslineage import Repo

    (tmp_repo / "cifar.csv").write_bytes(src.read_bytes())
    (tmp_repo / ".dslineage" / "checks.yaml").write_text(
        "cifar:\n  allowed_labels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n  min_rows_per_class: 1000\n"
        "  max_class_share: 0.1\n  unique_key: true\n  columns: {id: int, label: int, label_name: string}\n"
    )
    with Repo(tmp_repo) as repo:
        repo.track(str(tmp_repo / "cifar.csv"), ["id"], ["label"])
        [v] = repo.commit(["cifar"], "CIFAR-10 test labels", None)
        assert v["checks"]["passed"] is True
        res = repo.audit("cifar@v1", on=["label_name"], group="predicted_label", record=False)
    assert res["imbalance"]["ratio"] == 1.0 and set(res["imbalance"]["shares"].values()) == {0.1}
    assert res["conflicting_duplicates"]["groups"] == 0  # label_name is a function of label
    assert res["subgroups"]["groups"] == 10 and res["subgroups"]["max_gap"] > 0.8
    assert run(tmp_repo, "git", "status", "--porcelain").stdout.strip() == "?? .dslineage/checks.yaml"


@pytest.mark.slow
def test_agreement_from_relabel_history(committed, tmp_repo):
    """Ratings are the relabel batches' edits (row annotator, else the batch author) up to the audited version:
    per-annotator counts, pairwise kappa and alpha equal krippendorff's reliability-matrix path."""
    import krippendorff
    import numpy as np

    from dslineage.quality.stats import cohen_kappa

    committed.relabel("train", {"0": "dog", "1": "cat", "2": "cat", "3": "bird", "4": "bird"}, by="ann")
    committed.relabel("train", {"0": "bird", "1": "dog", "2": "dog", "3": "cat"}, by="bob")
    edits = tmp_repo / "edits.csv"
    edits.write_text("id,label,annotator\n0,cat,cy\n4,dog,dee\n")
    committed.relabel("train", from_file=str(edits), by="lead")
    assert committed.audit("train@v2", record=False)["agreement"] is None  # only ann's batch so far
    ag = committed.audit("train@v4", record=False)["agreement"]
    assert {a["annotator"]: a["items"] for a in ag["annotators"]} == {"ann": 5, "bob": 4, "cy": 1, "dee": 1}
    # units 0..4 x annotators ann, bob, cy, dee (labels coded bird 0, cat 1, dog 2)
    code = {"bird": 0, "cat": 1, "dog": 2}
    ann, bob = ["dog", "cat", "cat", "bird", "bird"], ["bird", "dog", "dog", "cat", None]
    cy, dee = ["cat", None, None, None, None], [None, None, None, None, "dog"]
    matrix = [[np.nan if v is None else code[v] for v in row] for row in (ann, bob, cy, dee)]
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert ag["krippendorff_alpha"] == pytest.approx(expected)
    pair = {(p["a"], p["b"]): p for p in ag["pairwise_kappa"]}
    # ann vs bob on rows 0-3 (rows: ann, cols: bob; order bird, cat, dog)
    assert pair["ann", "bob"]["kappa"] == pytest.approx(cohen_kappa([[0, 1, 0], [0, 0, 2], [1, 0, 0]]))
    assert pair["ann", "bob"]["agreement"] == 0 and ag["disagreements"]["items"] == 5
