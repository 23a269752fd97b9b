"""`dslineage drift`: label and numeric drift between versions, against independent computations."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from scipy.stats import ks_2samp
from typer.testing import CliRunner

from dslineage.cli.app import app
from dslineage.quality import stats
from tests.support import write_parquet

V1 = {
    "id": list(range(20)),
    "x": [i / 2 for i in range(20)],
    "label": [["cat", "dog", "bird"][i % 3] for i in range(20)],
}
V2 = {
    "id": list(range(20)),
    "x": [i / 2 + 3 for i in range(20)],
    "label": ["dog" if i % 3 == 0 else ["cat", "dog", "bird"][i % 3] for i in range(20)],
}


def psi_by_numpy(a: list[float], b: list[float]) -> float:
    """PSI over deciles of A (linear interpolation), right-closed bins, computed with numpy."""
    edges = np.unique(np.quantile(a, [i / 10 for i in range(1, 10)]))
    ca = np.bincount(np.searchsorted(edges, a, side="left"), minlength=len(edges) + 1)
    cb = np.bincount(np.searchsorted(edges, b, side="left"), minlength=len(edges) + 1)
    return stats.psi(list(ca) + [0], list(cb) + [0])


def entries(result: dict) -> dict:
    """{(column, statistic): entry}."""
    return {(e["column"], e["statistic"]): e for e in result["columns"]}


def test_drift_of_unchanged_working_file_is_zero(committed):
    """The working file equal to v1 shows every statistic at 0 and no drift, with default thresholds."""
    res = committed.drift("train@v1")
    assert res["drifted"] is False and res["thresholds"] == "defaults"
    assert res["b"]["workdir"] is True and res["a"]["seq"] == 1
    got = entries(res)
    assert set(got) == {("label", "js"), ("label", "psi"), ("label", "shift"), ("x", "psi"), ("x", "ks")}
    assert all(e["value"] == pytest.approx(0, abs=1e-12) for e in got.values())
    assert {"a", "b", "drifted", "columns"} <= set(res)
    assert all({"column", "statistic", "value", "threshold", "drifted"} <= set(e) for e in res["columns"])


def test_drift_between_versions_matches_independent_statistics(committed, tmp_repo):
    """Each statistic equals scipy/numpy on the raw values; crossing a threshold sets drifted."""
    write_parquet(tmp_repo / "data" / "train.parquet", V2)
    committed.commit(["train"], "shift", None)
    res = committed.drift("train@v1", "train@v2")
    got = entries(res)
    ca, cb = Counter(V1["label"]), Counter(V2["label"])
    labels = sorted(set(ca) | set(cb))
    pa_, pb_ = [ca[k] for k in labels], [cb[k] for k in labels]
    assert got["label", "js"]["value"] == pytest.approx(stats.js_distance(pa_, pb_))
    assert got["label", "psi"]["value"] == pytest.approx(stats.psi(pa_, pb_))
    assert got["x", "ks"]["value"] == pytest.approx(ks_2samp(V1["x"], V2["x"]).statistic)
    assert got["x", "psi"]["value"] == pytest.approx(psi_by_numpy(V1["x"], V2["x"]))
    assert got["x", "ks"]["drifted"] is True and res["drifted"] is True
    assert res["b"]["seq"] == 2 and res["rows"] == {"a": 20, "b": 20}


def test_drift_thresholds_come_from_rules(committed, tmp_repo):
    """max_drift thresholds replace the defaults, per column where given."""
    (tmp_repo / ".dslineage" / "checks.yaml").write_text(
        "train:\n  max_drift: {label_js: 0.9, label_psi: 9, numeric_ks: 0.05, columns: {x: {ks: 0.99}}}\n"
    )
    write_parquet(tmp_repo / "data" / "train.parquet", V2)
    res = committed.drift("train@v1")
    got = entries(res)
    assert res["thresholds"] == "rules"
    assert got["label", "js"]["threshold"] == 0.9 and got["x", "ks"]["threshold"] == 0.99
    assert got["x", "psi"]["threshold"] == 0.2  # unset in the rule: the default
    assert got["label", "shift"]["threshold"] == 0.02  # unset in the rule: the default
    assert [k for k, e in got.items() if e["drifted"]] == [("label", "shift"), ("x", "psi")]


def test_drift_on_csv_with_nulls(tmp_repo):
    """CSV datasets work too; null numeric values fall in PSI's null bin and are left out of KS."""
    from dslineage import Repo

    path = tmp_repo / "d.csv"
    path.write_text("id,v,y\n" + "".join(f"{i},{'' if i % 5 == 0 else i},{i % 2}\n" for i in range(50)))
    repo = Repo(tmp_repo)
    repo.track(str(path), ["id"], ["y"])
    repo.commit(["d"], "v1", None)
    path.write_text("id,v,y\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(50)))
    got = entries(repo.drift("d@v1"))
    a = [i for i in range(50) if i % 5]
    assert got["v", "ks"]["value"] == pytest.approx(ks_2samp(a, list(range(50))).statistic)
    assert got["v", "psi"]["value"] > 0.2  # the null bin emptied
    assert got["y", "js"]["value"] == pytest.approx(0)
    repo.close()


@pytest.mark.slow
def test_cli_drift_exit_codes_and_json(committed, tmp_repo):
    """drift exits 0 without drift, 3 with it; --json prints the contract only."""
    runner = CliRunner()
    r = runner.invoke(app, ["-C", str(tmp_repo), "drift", "train@v1"])
    assert r.exit_code == 0 and "0 of 5 over threshold" in r.stdout
    write_parquet(tmp_repo / "data" / "train.parquet", V2)
    r = runner.invoke(app, ["-C", str(tmp_repo), "drift", "train@v1", "--json"])
    assert r.exit_code == 3
    data = json.loads(r.stdout)
    assert data["drifted"] is True and data["b"]["workdir"] is True
    r = runner.invoke(app, ["-C", str(tmp_repo), "drift", "train"])
    assert r.exit_code == 3 and "DRIFTED" in r.stdout
