"""`dslineage report`: the data model of a real repository (CIFAR-10 labels, a crowd-correction
batch, a reverted bad batch, quality results, an experiment, eval records), the page opened in
headless Chromium, the Vega-Lite specs and single charts, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support import CIFAR, invoke, run, write_parquet

pytestmark = pytest.mark.slow  # the e2e tier: `pytest -m "not slow"` leaves it out

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".ci" / "artifacts"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

needs_cifar = pytest.mark.skipif(
    not (CIFAR / "cifar10_test_labels.csv").exists() or not (CIFAR / "cifar10_mturk.json").exists(),
    reason=f"real CIFAR-10 data not found at {CIFAR} (see its README)",
)


@pytest.fixture(scope="module")
def cifar(module_env: Path) -> dict[str, Any]:
    """The CIFAR-10 repository of tests/support/report.py, built once for the module."""
    if not (CIFAR / "cifar10_test_labels.csv").exists():
        pytest.skip(f"real CIFAR-10 data not found at {CIFAR} (see its README)")
    from tests.support.report import build_cifar_repo

    root = module_env / "cifar"
    ids = build_cifar_repo(root)
    return {"root": root, **ids}


def _json(root: Path, *args: str) -> Any:
    result = invoke(root, "report", *args)
    assert result.exit_code == 0, (result.stderr, result.exception)
    return json.loads(result.stdout)


@needs_cifar
def test_model_of_the_cifar_repository(cifar: dict[str, Any]) -> None:
    """--json: the crowd batch's transitions match the votes, the bad batch is reverted, evals, thresholds."""
    model = _json(cifar["root"], "--json", "--versions", "v1..v2")
    (d,) = model["datasets"]
    assert (d["a"]["seq"], d["b"]["seq"], d["versions_total"]) == (1, 2, 4)
    votes = json.loads((CIFAR / "cifar10_mturk.json").read_text())
    expect: dict[tuple[str, str], int] = {}
    for v in votes:
        if v["mturk"]["guessed"] >= 3:
            pair = (v["given_original_label_name"], v["our_guessed_label_name"])
            expect[pair] = expect.get(pair, 0) + 1
    assert {(t["from_label"], t["to_label"]): t["count"] for t in d["transitions"]} == expect
    assert sum(s["delta"] for s in d["shift"]) == 0 and any(s["delta"] for s in d["shift"])
    batches = {b["id"]: b for b in d["batches"]}
    assert batches[cifar["bad"]]["reverted"] and not batches[cifar["crowd"]]["reverted"]
    assert batches[cifar["crowd"]]["annotators"] == {"mturk-2of5": cifar["loose_rows"]}
    assert batches[cifar["review"]]["annotators"] == {"mturk-3of5": cifar["strict_rows"]}
    assert d["agreement"]["items"] >= cifar["strict_rows"] and d["agreement"]["krippendorff_alpha"] < 0.5
    bob = next(a for a in d["annotators"] if a["name"] == "bob")
    assert bob["rows"] == bob["reverted_rows"] == cifar["bad_rows"] > 250  # 300 sampled, some already cats
    assert len(d["changed_rows"]) == d["changed_total"] == cifar["loose_rows"] + cifar["strict_rows"]
    assert {r["batch"] for r in d["changed_rows"]} == {cifar["crowd"], cifar["review"]}
    drift = [q for q in d["quality"] if q["source"] == "drift"]
    assert drift and all(q["threshold"] == 0.05 for q in drift)
    assert {e["metric"] for e in d["evals"]} >= {"accuracy", "macro_f1", "ece", "recall:cat"}
    kinds = {n["kind"] for n in model["lineage_nodes"]}
    assert "experiment" in kinds and ("chain" in kinds or "version" in kinds)
    assert all(e["source"] in {n["id"] for n in model["lineage_nodes"]} for e in model["lineage_edges"])


@needs_cifar
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_page_in_headless_chromium(cifar: dict[str, Any], tmp_path: Path) -> None:
    """The page opens from file:// with no console error, no network request, every chart drawn; screenshot saved."""
    from playwright.sync_api import sync_playwright

    out = tmp_path / "report.html"
    written = _json(cifar["root"], "-o", str(out), "--json")
    assert written["bytes"] == out.stat().st_size and len(written["charts"]) >= 9
    assert {
        "timeline",
        "distribution",
        "transitions",
        "shift",
        "batches",
        "annotators",
        "quality",
        "eval",
        "recall",
        "lineage",
    } <= set(written["charts"])
    page_html = out.read_text(encoding="utf-8")
    assert "http://" not in page_html.replace("http://www.w3.org", "") and "https://" not in page_html
    listed = written_rows(cifar)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            for width, name in ((1280, "report.png"), (390, "report-phone.png")):
                page = browser.new_page(viewport={"width": width, "height": 900})
                errors: list[str] = []
                requests: list[str] = []
                page.on("console", lambda msg, errors=errors: errors.append(msg.text) if msg.type == "error" else None)
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                page.on("request", lambda req, requests=requests: requests.append(req.url))
                page.goto(out.as_uri())
                page.wait_for_load_state("load")
                sizes = page.eval_on_selector_all(
                    "figure[data-chart]",
                    "fs => fs.map(f => { const s = f.querySelector('svg'); "
                    "const r = s ? s.getBoundingClientRect() : {width: 0, height: 0}; "
                    "return [f.dataset.chart, r.width, r.height]; })",
                )
                assert sorted(n for n, _, _ in sizes) == sorted(written["charts"])
                assert all(w > 50 and h > 50 for _, w, h in sizes), sizes
                boxes = page.eval_on_selector_all(
                    "figure[data-chart] .chart",
                    "cs => cs.map(c => c.getBoundingClientRect().right <= document.documentElement.clientWidth)",
                )
                assert all(boxes)  # every chart fits the page or scrolls inside its own box
                assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
                search = page.locator("input[type=search]")
                search.fill("airplane")
                shown = page.eval_on_selector_all(
                    "table[id$=changed-table] tbody tr", "rs => rs.filter(r => r.style.display !== 'none').length"
                )
                assert 0 < shown < listed
                page.screenshot(path=str(ARTIFACTS / name), full_page=True)
                assert errors == [], errors
                assert requests == [out.as_uri()], requests
                page.close()
        finally:
            browser.close()
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def written_rows(cifar: dict[str, Any]) -> int:
    """Changed rows listed by the default report (v1..latest: crowd, bad batch and its revert)."""
    return len(_json(cifar["root"], "--json")["datasets"][0]["changed_rows"])


@needs_cifar
def test_vega_specs_and_single_charts(cifar: dict[str, Any], tmp_path: Path) -> None:
    """--format vega prints Vega-Lite specs; --chart writes one chart as PNG, SVG or spec JSON."""
    specs = _json(cifar["root"], "--format", "vega")
    assert "transitions" in specs and all("vega-lite" in s["$schema"] for s in specs.values())
    assert all(s.get("title") and s.get("description") for s in specs.values())
    png, svg = tmp_path / "t.png", tmp_path / "t.svg"
    for path in (png, svg):
        result = invoke(cifar["root"], "report", "--chart", "transitions", "--versions", "v1..v2", "-o", str(path))
        assert result.exit_code == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert svg.read_text().lstrip().startswith("<svg") and "label transitions v1 → v2" in svg.read_text()
    one = _json(cifar["root"], "--chart", "shift", "--format", "vega")
    assert one["$schema"].startswith("https://vega.github.io/schema/vega-lite")


@needs_cifar
@pytest.mark.parametrize(
    "args, words",
    [
        (["nosuch"], "nosuch"),
        (["cifar10", "--versions", "v1..v99"], "v99"),
        (["cifar10", "--versions", "v1"], "A..B"),
        (["--chart", "nosuch", "-o", "x.svg"], "no chart 'nosuch'"),
        (["--chart", "shift", "-o", "x.gif"], ".svg, .png or .json"),
        (["--format", "pdf", "-o", "x.pdf"], "--format"),
    ],
)
def test_bad_input_is_one_line(cifar: dict[str, Any], args: list[str], words: str) -> None:
    """Unknown dataset, version, chart or format: one line on stderr naming it, exit 1 or 2, no traceback."""
    result = invoke(cifar["root"], "report", *args)
    assert result.exit_code in (1, 2), (result.exit_code, result.stdout)
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_one_version_says_what_it_cannot_show(committed: Any, tmp_path: Path) -> None:
    """A dataset with one version: the page renders and says why there are no transitions."""
    out = tmp_path / "one.html"
    written = json.loads(invoke(committed.root, "report", "-o", str(out), "--json").stdout)
    assert "transitions" not in written["charts"] and "timeline" in written["charts"]
    text = out.read_text(encoding="utf-8")
    assert "has 1 version" in text and "Nothing to compare" in text


def test_two_hundred_classes_switch_to_top_pairs(tmp_repo: Path, tmp_path: Path) -> None:
    """200 classes, many of them relabeled: top confused pairs instead of a heatmap, with a note."""
    from dslineage import Repo

    n = 2000
    labels = [f"class{i % 200:03d}" for i in range(n)]
    path = write_parquet(tmp_repo / "data" / "wide.parquet", {"id": list(range(n)), "label": labels})
    with Repo(tmp_repo) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(["wide"], "v1", None)
        moved = [f"class{(i * 7 + 3) % 200:03d}" if i % 3 == 0 else lab for i, lab in enumerate(labels)]
        write_parquet(tmp_repo / "data" / "wide.parquet", {"id": list(range(n)), "label": moved})
        repo.commit(["wide"], "v2", None)
        model = repo.report(["wide"])
    (d,) = model.datasets
    assert len({t.from_label for t in d.transitions} | {t.to_label for t in d.transitions}) > 30
    assert "transitions" in d.notes and "classes" in d.notes
    from dslineage.ops.report_charts import distribution, transitions

    spec = transitions(d).spec
    assert spec["mark"]["type"] == "bar" and len(spec["data"]["values"]) == 25
    assert len({v["class"] for v in distribution(d).spec["data"]["values"]}) == 10  # 9 + other


def test_ten_thousand_versions_aggregate() -> None:
    """10,000 versions: the timeline sums them into bins and the distribution samples 60, each with a note."""
    from dslineage.ops import report_model as m
    from dslineage.ops.report import distribution, timeline

    versions = [
        {
            "id": f"{i:040x}",
            "seq": i,
            "timestamp": f"2026-01-01T00:00:{i % 60:02d}",
            "author": "a",
            "message": "m",
            "rows": 100,
            "added": 100 if i == 1 else 0,
            "removed": 0,
            "relabeled": i % 5,
            "label_distribution": json.dumps(
                {"label": [{"label": "a", "count": 60 - i % 3}, {"label": "b", "count": 40 + i % 3}]}
            ),
        }
        for i in range(1, 10_001)
    ]
    notes: dict[str, str] = {}
    points = timeline(versions, {"best": versions[-1]["id"]}, [], notes)
    assert len(points) <= m.MAX_TIMELINE and points[0].seq == 1 and points[-1].seq_end == 10_000
    assert sum(p.relabeled or 0 for p in points) == sum(v["relabeled"] for v in versions)
    assert points[-1].tags == ["best"] and "timeline" in notes
    dist = distribution(versions, "label", notes)
    assert len({c.seq for c in dist}) == m.MAX_DIST_VERSIONS and "distribution" in notes


def test_cli_start_up_stays_light() -> None:
    """`import dslineage.cli` with the report command registered loads neither Altair nor vl-convert."""
    import subprocess
    import sys

    code = (
        "import dslineage.cli, sys; dslineage.cli.app.registered_commands; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('altair', 'vl_convert', 'playwright', 'jsonschema', 'narwhals')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    run(ROOT, "git", "check-ignore", "-q", ".ci/artifacts/report.png")


def _fixed_report() -> Any:
    """A small report built by hand: two versions, one reverted batch, agreement, a failed check."""
    from dslineage.ops import report_model as m

    pts = [
        m.VersionPoint(
            seq=s,
            seq_end=s,
            id=f"{s:040x}",
            timestamp="2026-01-01T00:00:00",
            author="a <a@x>",
            message=f"v{s}",
            rows=10,
            added=10 if s == 1 else 0,
            removed=0,
            relabeled=0 if s == 1 else 2,
            tags=["base"] if s == 1 else [],
            batches=[] if s == 1 else ["b" * 40],
            reverted_batches=0 if s == 1 else 1,
        )
        for s in (1, 2)
    ]
    d = m.DatasetReport(
        name="toy",
        label_column="label",
        a={"seq": 1, "id": pts[0].id},
        b={"seq": 2, "id": pts[1].id},
        versions_total=2,
        timeline=pts,
        distribution=[m.ClassCount(seq=s, label=k, count=5) for s in (1, 2) for k in ("cat", "dog")],
        transitions=[m.Transition(from_label="cat", to_label="dog", count=2)],
        shift=[m.ClassShift(label="cat", a=5, b=3, delta=-2), m.ClassShift(label="dog", a=5, b=7, delta=2)],
        batches=[
            m.Batch(
                id="b" * 40,
                seq=2,
                column="label",
                author="eve",
                reason="<script>x</script>",
                rows=2,
                state="committed",
                reverted=True,
                reverted_by="c" * 40,
                reverts=None,
                timestamp="2026-01-01T00:00:00",
                annotators={"eve": 2},
            )
        ],
        annotators=[m.Annotator(name="eve", rows=2, batches=1, reverted_rows=2)],
        agreement={"seq": 2, "krippendorff_alpha": 0.412, "items": 7},
        changed_rows=[
            m.ChangedRow(
                key="1", old="cat", new="dog", batch="b" * 40, annotator="eve", reason="r", seq=2, reverted=True
            )
        ],
        changed_total=2,
        quality=[
            m.QualityPoint(
                seq=s,
                source="check",
                metric="max_class_share (label)",
                value=0.5 + s / 10,
                threshold=0.6,
                passed=s == 1,
                bound="max",
            )
            for s in (1, 2)
        ],
        evals=[],
        notes={"eval": "No eval results recorded."},
    )
    return m.Report(
        title="toy report",
        generated="2026-01-01T00:00:00",
        repository="toy",
        datasets=[d],
        lineage_nodes=[],
        lineage_edges=[],
    )


def test_renderer_on_fixed_data() -> None:
    """The page of a hand-built model: agreement said, text escaped, failed check drawn, no eval chart."""
    from dslineage.ops.report_charts import charts
    from dslineage.ops.report_html import render

    r = _fixed_report()
    found = {c.name: c for c in charts(r)}
    assert set(found) == {"timeline", "distribution", "transitions", "shift", "batches", "annotators", "quality"}
    failed = [v for v in found["quality"].spec["data"]["values"] if v.get("passed") == "failed"]
    assert [v["version"] for v in failed] == [2]
    page = render(r, list(found.values()))
    assert "Krippendorff's alpha <b>0.412</b>" in page
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert page.count("<figure") == len(found) and "No eval results recorded." in page
    assert "eve bbbbbbbb (reverted)" in page  # the version list names a version's batches and their state
