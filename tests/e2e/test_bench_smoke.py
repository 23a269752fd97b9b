"""Smoke run of the benchmark pipeline's stages at 10,000 rows, so the benchmark code cannot rot.

Not a timing test: it checks that every stage runs, that every diff tool agrees with the
generated ground truth, and that the report says met / not met for each target.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from benchmarks import STAGES
from benchmarks.params import Layout, Params
from tests.support import env

pytestmark = pytest.mark.slow  # the e2e tier: `pytest -m "not slow"` leaves it out

SMALL = dict(
    sizes=[10_000],
    runs=1,
    history_rows=10_000,
    history_versions=[3, 6],
    history_keys=3,
    startup_runs=1,
    storage_fixed_changes=50,
    ops_batch=200,
    doltlite_max_rows=10_000,
    doltlite_history_versions=6,
    reindex_records=120,
    report_versions=8,
    consensus_votes=[2000],
    annotation_rows=10_000,
    annotation_versions=3,
    partdiff_rows=10_000,
    partdiff_parts=10,
    lineage_datasets=4,
    lineage_versions=3,
    scale_rows=10_000,
    scale_parts=10,
    scale_runs=1,
)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Layout, dict]:
    """Every stage run once, in order, into a temporary bench folder."""
    import importlib

    with pytest.MonkeyPatch.context() as mp:
        env.isolate(mp, tmp_path_factory.mktemp("bench-home"))
        layout = Layout(tmp_path_factory.mktemp("bench"))
        p = Params(**SMALL, out=str(layout.base))
        for stage in STAGES[:-1]:
            data = importlib.import_module(f"benchmarks.{stage}").run(layout, p)
            layout.write_part(stage, {"stage": stage, "results": data})
        from benchmarks import report

        results = report.run(layout, p, draw=importlib.util.find_spec("matplotlib") is not None)
        yield layout, results


def test_generate_makes_the_documented_changes(pipeline):
    """Version 2 relabels about 1% and adds/removes about 0.2% of 10,000 rows."""
    layout, _ = pipeline
    truth = layout.read_part("generate")["results"]["10000"]
    assert truth["rows_v1"] == 10_000
    assert 60 <= truth["relabeled"] <= 140
    assert truth["added"] == 20 and 5 <= truth["removed"] <= 40


def test_every_diff_tool_agrees_with_the_ground_truth(pipeline):
    """dslineage (library, CLI), the lower bound and every installed peer count the same changes."""
    layout, _ = pipeline
    res = layout.read_part("diff")["results"]["10000"]
    measured = {k: v for k, v in res.items() if isinstance(v, dict) and "median_s" in v}
    assert {"duckdb_lower_bound", "dslineage_lib", "dslineage_cli"} <= set(measured)
    assert all(v["agrees"] for v in measured.values()), {k: v["result"] for k, v in measured.items()}
    for peer, modules in (
        ("pandas", ["pandas"]),
        ("datacompy_polars", ["datacompy", "polars"]),
        ("doltlite", ["doltlite"]),
    ):
        if all(importlib.util.find_spec(m) is not None for m in modules):  # installed: measured and agreeing
            assert res[peer]["agrees"] is True, res[peer]
        else:  # not installed: recorded as skipped, saying which module is missing
            assert any(m in res[peer]["skipped"] for m in modules), res[peer]


def test_flatdiff_folds_the_same_changes_at_every_size(pipeline):
    """The flatdiff stage's committed-version diff is folded exactly and counts the fixed relabels."""
    layout, _ = pipeline
    res = layout.read_part("flatdiff")["results"]
    assert res["changed_rows"] == 100
    for tool in ("dslineage_cli", "dslineage_lib"):
        entry = res["sizes"]["10000"][tool]
        assert entry["agrees"] and entry["exact_fold"] and entry["result"]["relabeled"] == 100, entry


def test_history_chain_answers_for_every_length(pipeline):
    """The history stage measured the library at each chain length and found the keys' events."""
    layout, _ = pipeline
    res = layout.read_part("history")["results"]
    for versions in ("3", "6"):
        lib = res[versions]["dslineage_lib"]
        assert lib["median_s"] > 0 and all(n >= 1 for n in lib["result"]["events"])


def test_annotation_review_ranks_as_cleanlab_and_eval_scores_each_version(pipeline):
    """The annotation stage's review queue is cleanlab's ranking; eval scored every version."""
    layout, _ = pipeline
    res = layout.read_part("annotation")["results"]
    assert res["review"]["same_ranking_as_cleanlab"] and res["review_ratio"] > 0
    assert res["eval"]["versions"] == 3


def test_report_lists_targets_and_writes_metrics(pipeline):
    """results.json names the machine, and each target carries a figure and met / not met."""
    layout, results = pipeline
    on_disk = json.loads(layout.results.read_text())
    assert on_disk["machine"]["cores"] >= 1
    names = " ".join(t["target"] for t in on_disk["targets"])
    for needle in (
        "diff library",
        "commit CLI",
        "dslineage --help",
        "history of one key",
        "cold reindex",
        "log on a small repository",
        "status on a small repository",
        "dslineage lineage of one node",
        "dslineage impact",
    ):
        assert needle in names
    diff_lib = [t for t in on_disk["targets"] if t["target"].startswith("diff library")]
    assert diff_lib and all(t["value"] is not None for t in diff_lib)
    for t in on_disk["targets"]:  # met / not met is the figure against the limit, in the target's direction
        if t["value"] is not None:
            higher_is_better = ">=" in t["target"] or "completes" in t["target"]
            assert t["met"] == (t["value"] >= t["limit"] if higher_is_better else t["value"] <= t["limit"]), t
    assert results["summary"]["storage"]["10000"]["v3"]["changed_rows"] > 0
    if importlib.util.find_spec("matplotlib") is not None:
        assert layout.plot.stat().st_size > 1000


def test_reindex_stage_builds_the_journal_and_every_path_agrees(pipeline):
    """The reindex stage wrote the asked number of records; CLI, bulk and record-by-record agree."""
    layout, _ = pipeline
    res = layout.read_part("reindex")["results"]
    assert res["records"] == 120 and res["agree"]
    assert res["dslineage_cli"]["result"]["records"] == 120
    assert res["record_by_record_lib"]["result"] == res["dslineage_lib"]["result"]


def test_relabel_stage_pairs_dslineage_with_the_plain_edit(pipeline):
    """The relabel stage applied the same batch both ways in each round and the report states the 1.5x figure."""
    layout, results = pipeline
    res = layout.read_part("relabel")["results"]["10000"]
    assert res["agrees"] and res["dslineage_lib"]["result"]["applied"] == 200
    assert len(res["dslineage_lib"]["runs_s"]) >= 3 and res["paired_ratio"] > 0 and res["paired_cpu_ratio"] > 0
    assert results["summary"]["relabel"]["10000"]["paired_ratio"] == res["paired_ratio"]


def test_memlimit_is_off_by_default_and_says_so(pipeline):
    """Without big_rows the 20M-row check is recorded as skipped with the parameter to set."""
    layout, _ = pipeline
    assert "big_rows" in layout.read_part("memlimit")["results"]["skipped"]


def test_merge_stage_merges_both_relabels_and_lists_conflicts(pipeline):
    """The merge stage's engine took both sides' 1% relabels and listed every clashing cell."""
    layout, results = pipeline
    res = layout.read_part("merge")["results"]["10000"]
    assert res["agrees"], (res["merge"]["result"], res["conflicts"]["result"])
    assert res["merge"]["result"]["from_theirs"] == 100 and res["conflicts"]["result"]["conflicts"] == 100
    assert results["summary"]["merge"]["10000"]["merge_ratio_to_commit"] > 0
    # the whole commands: `dslineage merge` took both sides, `merge --conflicts --json` listed every cell
    assert res["cli_agrees"], (res["cli_merge"]["result"], res["cli_conflicts"]["result"])
    assert res["cli_merge"]["result"]["rows"]["from_theirs"] == 100 and res["cli_conflicts"]["result"]["cells"] == 100
    assert results["summary"]["merge"]["10000"]["cli_merge_ratio_to_commit"] > 0


def test_htmlreport_stage_renders_the_page_and_reports_its_targets(pipeline):
    """The htmlreport stage wrote a page of the chain's versions and the report judges time and size."""
    layout, results = pipeline
    res = layout.read_part("htmlreport")["results"]
    assert res["versions"] == 8 and res["html_bytes"] > 10_000 and res["dslineage_cli"]["median_s"] > 0
    names = [t["target"] for t in results["targets"]]
    assert any(n.startswith("dslineage report <= 10 s") for n in names)
    assert any(n.startswith("report page <= 5 MB") for n in names)


def test_consensus_stage_pairs_dslineage_with_crowdkit(pipeline):
    """The consensus stage times both sides on the same votes and the report states the 2x target."""
    layout, results = pipeline
    res = layout.read_part("consensus")["results"]["2000"]
    for method in ("majority", "dawid-skene"):
        m = res[method]
        assert m["agrees"] and len(m["ratios"]) >= 3 and m["paired_ratio"] > 0 and m["applied"] > 0
    names = [t["target"] for t in results["targets"]]
    assert "consensus of 2,000 votes (majority) <= 2x crowd-kit alone" in names


def test_partdiff_agrees_on_every_engine(pipeline):
    """The partdiff stage's one-query, local pool and Dask diffs all count the same changes."""
    layout, _ = pipeline
    res = layout.read_part("partdiff")["results"]
    measured = {k: v for k, v in res.items() if isinstance(v, dict)}
    assert {"one_query_all_parts", "pool_changed_pairs", "dask_changed_pairs", "dask_all_pairs"} <= set(measured)
    assert all(v["agrees"] for v in measured.values()), {k: v["result"] for k, v in measured.items()}
    assert measured["one_query_all_parts"]["result"]["relabeled"] > 0


def test_lineage_stage_times_every_query_against_the_log_baseline(pipeline):
    """The lineage stage builds datasets x versions and times each query (wall and CPU) beside `log`."""
    layout, _ = pipeline
    res = layout.read_part("lineage")["results"]
    assert res["versions"] == 12 and res["transformations"] == 9 and res["graph_nodes"] == 21
    for query in (
        "both_json",
        "leaf_downstream_json",
        "downstream_tree",
        "upstream_depth3",
        "impact_json",
        "log_d0_baseline",
    ):
        assert res[f"{query}_median_s"] > 0 and res[f"{query}_median_cpu_s"] > 0, query


def test_scale_stage_measures_both_layouts(pipeline):
    """The scale stage relabels 0.1% of rows in 2 of 10 partitions, diffs and commits them back,
    directory against one file, each checked against the edits."""
    layout, results = pipeline
    res = layout.read_part("scale")["results"]
    assert res["rows"] == 10_000 and res["parts"] == 10 and res["edited_rows"] == 10
    assert res["agrees"], (res.get("relabel_commit"), res["diff"])
    for op in ("relabel_commit", "diff", "commit"):
        assert res[op]["directory"]["median_s"] > 0 and res[op]["one_file"]["median_s"] > 0
    names = [t["target"] for t in results["targets"]]
    assert any(n.startswith("scale: relabel + commit <= 5 s (10,000 rows, 10 partitions") for n in names)
    assert any(n.startswith("scale: diff of the two versions <= 1 s") for n in names)
    assert any(n.startswith("scale: bytes read from S3 for a remote diff <= 5%") for n in names)
    remote = res["remote"]
    assert "skipped" in remote or all(remote[k]["agrees"] for k in ("directory", "one_file")), remote
