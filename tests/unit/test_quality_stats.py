"""The statistics of the quality gates, against published worked examples and independent code."""

from __future__ import annotations

import json
import math
import random
from collections import Counter

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dslineage.quality import stats
from dslineage.quality.agreement import agreement
from dslineage.store import profile
from tests.support import CIFAR


def test_cohen_kappa_wikipedia_example():
    """Cohen's kappa of Wikipedia's worked example (50 proposals; 20 yes/yes, 5 yes/no, 10 no/yes,
    15 no/no: po 0.7, pe 0.5) is 0.4 — https://en.wikipedia.org/wiki/Cohen%27s_kappa#Simple_example."""
    assert stats.cohen_kappa([[20, 5], [10, 15]]) == pytest.approx(0.4)


def test_cohen_kappa_undefined_when_one_category():
    """Two raters who only ever used one category have no defined kappa (pe = 1)."""
    assert stats.cohen_kappa([[7]]) is None


def test_krippendorff_published_example_through_long_table():
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4-observer 12-unit
    example with missing values: nominal alpha 0.743 — fed to `agreement()` as a long table."""
    nan = None
    data = {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        "C": [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    }
    rows = [(u, who, v) for who, vals in data.items() for u, v in enumerate(vals) if v is not None]
    res = agreement(rows)
    assert res["krippendorff_alpha"] == pytest.approx(0.743, abs=5e-4)
    assert res["items"] == 11  # unit 12 has one rating only: not pairable
    assert {a["annotator"]: a["items"] for a in res["annotators"]} == {"A": 9, "B": 11, "C": 10, "D": 11}


def _psi_by_definition(e: list[float], a: list[float]) -> float:
    se, sa = sum(e), sum(a)
    return sum((x / sa - y / se) * math.log((x / sa) / (y / se)) for y, x in zip(e, a))


def test_psi_matches_definition_and_g_test_identity():
    """PSI = Σ (a−e) ln(a/e) (Siddiqi, Credit Risk Scorecards, 2006) and equals (G(a,e)+G(e,a))/2N
    for equal totals, G computed independently by scipy.stats.power_divergence."""
    from scipy.stats import power_divergence

    e, a = [100, 200, 300, 400], [150, 150, 350, 350]
    assert stats.psi(e, a) == pytest.approx(_psi_by_definition(e, a))
    g1 = power_divergence(a, e, lambda_="log-likelihood").statistic
    g2 = power_divergence(e, a, lambda_="log-likelihood").statistic
    assert stats.psi(e, a) == pytest.approx((g1 + g2) / (2 * sum(a)))


def test_psi_and_js_edge_cases():
    """Identical distributions score 0; disjoint ones give JS distance 1 and a finite PSI; empty gives None."""
    assert stats.psi([5, 5], [10, 10]) == pytest.approx(0)
    assert stats.js_distance([5, 5], [10, 10]) == pytest.approx(0)
    assert stats.js_distance([1, 0], [0, 1]) == pytest.approx(1)
    assert math.isfinite(stats.psi([1, 0], [0, 1]))
    assert stats.psi([0, 0], [1, 1]) is None and stats.js_distance([1, 1], [0, 0]) is None


def test_js_distance_matches_definition():
    """JS distance = sqrt(½KL(p‖m) + ½KL(q‖m)) in bits, m the midpoint (Lin 1991), computed by hand."""
    p, q = [0.1, 0.4, 0.5], [0.3, 0.3, 0.4]
    m = [(x + y) / 2 for x, y in zip(p, q)]
    kl = lambda a, b: sum(x * math.log2(x / y) for x, y in zip(a, b))  # noqa: E731
    assert stats.js_distance(p, q) == pytest.approx(math.sqrt(0.5 * kl(p, m) + 0.5 * kl(q, m)))


def _rel(con, name: str, values: list[float | None]) -> str:
    con.register(f"{name}_in", pa.table({"x": pa.array(values, pa.float64())}))
    con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}_in")
    return name


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.one_of(st.integers(-5, 5).map(float), st.none(), st.just(math.nan)), min_size=1, max_size=40),
    st.lists(st.one_of(st.integers(-5, 5).map(float), st.floats(-6, 6)), min_size=1, max_size=40),
)
def test_ks_statistic_equals_scipy(a, b):
    """KS D from DuckDB-sorted values (ties kept, nulls and NaN dropped) equals scipy.stats.ks_2samp's."""
    from scipy.stats import ks_2samp

    con = duckdb.connect()
    (sa, na), (sb, nb) = (profile.sorted_values(con, _rel(con, name, v), "x") for name, v in (("a", a), ("b", b)))
    clean = [x for x in a if x is not None and not math.isnan(x)]
    assert na == len(a) - len(clean) and nb == 0
    d = stats.ks_sorted(sa, sb)
    if not clean:
        assert d is None
        return
    assert d == pytest.approx(ks_2samp(clean, b).statistic)


def test_ks_on_large_samples_is_within_its_bound():
    """Above `points` values per side, D is read at every k-th order statistic: within 2/points of scipy's."""
    import numpy as np
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(3)
    a, b = np.sort(rng.standard_normal(50_000)), np.sort(rng.standard_normal(40_000) * 1.1 + 0.05)
    exact = ks_2samp(a, b).statistic
    assert stats.ks_sorted(a, b, points=50_000) == pytest.approx(exact)  # every point: exact
    for points in (10_000, 1000):
        assert abs(stats.ks_sorted(a, b, points=points) - exact) <= 2 / points


def test_numeric_psi_bins_on_reference_quantiles():
    """Numeric PSI cuts both sides at A's deciles (nulls in their own bin): equal data scores 0, a shift scores high."""
    import numpy as np

    rng = random.Random(7)
    a = [rng.gauss(0, 1) for _ in range(2000)] + [None] * 20
    b = [x + 1.0 if x is not None else None for x in a]
    con = duckdb.connect()
    (sa, na), (sb, nb) = (profile.sorted_values(con, _rel(con, name, v), "x") for name, v in (("a", a), ("b", b)))
    assert (na, nb) == (20, 20) and list(sa) == sorted(x for x in a if x is not None)
    assert stats.psi_numeric(sa, sa, na, na) == pytest.approx(0)
    edges = np.quantile(sa, [i / 10 for i in range(1, 10)])
    ca = np.bincount(np.searchsorted(edges, sa, side="left"), minlength=10).tolist() + [20]
    cb = np.bincount(np.searchsorted(edges, sb, side="left"), minlength=10).tolist() + [20]
    assert ca[:10] == [200] * 10
    assert stats.psi_numeric(sa, sb, na, nb) == pytest.approx(stats.psi(ca, cb)) and stats.psi(ca, cb) > 0.5


def test_agreement_pairwise_and_disagreements():
    """Pairwise kappa, disputed items and 'last rating of a pair wins' on a small hand-made case."""
    rows = [
        (1, "ann", "cat"),
        (1, "bob", "cat"),
        (2, "ann", "dog"),
        (2, "bob", "cat"),
        (3, "ann", "dog"),
        (3, "bob", "dog"),
        (4, "ann", "cat"),
        (4, "ann", "dog"),
        (4, "bob", "dog"),
        (5, "cy", "cat"),
    ]
    res = agreement(rows)
    [pair] = res["pairwise_kappa"]
    # ann/bob on items 1-4: (cat,cat) (dog,cat) (dog,dog) (dog,dog) -> table [[1,0],[1,2]]
    assert (pair["a"], pair["b"], pair["items"]) == ("ann", "bob", 4)
    assert pair["kappa"] == pytest.approx(stats.cohen_kappa([[1, 0], [1, 2]]))
    assert res["disagreements"]["items"] == 1
    assert res["disagreements"]["examples"] == [{"item": "2", "votes": {"cat": 1, "dog": 1}}]
    assert res["items"] == 4 and res["ratings"] == 8


def test_agreement_none_without_repeated_items():
    """With no item rated twice there is nothing to agree on: None."""
    assert agreement([(1, "a", "x"), (2, "b", "y")]) is None


def _cifar_votes() -> list[dict]:
    path = CIFAR / "cifar10_mturk.json"
    if not path.exists():
        pytest.skip(f"real CIFAR-10 crowd votes not found at {path}")
    return json.loads(path.read_text())


def _alpha_by_hand(items: list[dict[str, int]]) -> float:
    """Nominal alpha from the coincidence matrix (Krippendorff 2011, eqs. for o_ck, D_o, D_e)."""
    cats = sorted({c for it in items for c in it})
    o: Counter = Counter()
    for it in items:
        m = sum(it.values())
        for c in cats:
            for k in cats:
                o[c, k] += (it.get(c, 0) * it.get(k, 0) - (it.get(c, 0) if c == k else 0)) / (m - 1)
    n = sum(o.values())
    nc = {c: sum(o[c, k] for k in cats) for c in cats}
    d_o = sum(o[c, k] for c in cats for k in cats if c != k)
    d_e = sum(nc[c] * nc[k] for c in cats for k in cats if c != k) / (n - 1)
    return 1 - d_o / d_e


def test_agreement_on_cifar10_crowd_votes():
    """The 5 crowd votes on 275 suspected CIFAR-10 label errors: alpha equals an independent
    coincidence-matrix computation, whichever way the anonymous votes are assigned to workers."""
    votes = _cifar_votes()
    by_slot, by_vote = [], []
    for e in votes:
        j = 0
        for cat, n in e["mturk"].items():
            for _ in range(n):
                by_slot.append((e["id"], f"worker{j}", cat))
                by_vote.append((e["id"], f"{e['id']}-{j}", cat))
                j += 1
    expected = _alpha_by_hand([e["mturk"] for e in votes])
    res = agreement(by_slot)
    assert res["krippendorff_alpha"] == pytest.approx(expected, abs=1e-9)
    assert agreement(by_vote)["krippendorff_alpha"] == pytest.approx(expected, abs=1e-9)
    assert res["items"] == 275 and res["ratings"] == 5 * 275
    disputed = sum(1 for e in votes if sum(1 for n in e["mturk"].values() if n) > 1)
    assert res["disagreements"]["items"] == disputed
    assert 0.0 < expected < 0.5  # crowd workers disagree a lot on these hard images
