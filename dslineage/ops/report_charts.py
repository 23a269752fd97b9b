"""The report's charts as Vega-Lite specs built with Altair (the grammar DVC's plots use).

`charts(report)` returns `Chart`s (name, title, caption, spec); `render_svg`/`render_png`
turn a spec into a picture ahead of time with vl-convert (no browser, no network). Colours
are colour-blind safe: Okabe–Ito for states and series, Paul Tol's "muted" for classes,
viridis for magnitudes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dslineage.errors import UsageError
from dslineage.ops import report_model as m

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
TOL_MUTED = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499"]
OTHER = "#BBBBBB"
WIDTH = 560


@dataclass(frozen=True)
class Chart:
    """One chart of the report: its name, where it belongs, its texts and its Vega-Lite spec."""

    name: str
    dataset: str | None
    title: str
    caption: str
    spec: dict[str, Any]


def _alt() -> Any:
    try:
        import altair as alt
    except ImportError as exc:  # pragma: no cover - the `report` extra
        raise UsageError("dslineage report needs Altair: pip install 'dslineage[report]'") from exc
    return alt


def _spec(chart: Any, title: str, caption: str) -> dict[str, Any]:
    spec: dict[str, Any] = chart.properties(title=title).to_dict()
    spec["description"] = caption
    config = spec.setdefault("config", {})
    for key, value in {
        "font": "sans-serif", "view": {"stroke": None},
        "axis": {"labelFontSize": 12, "titleFontSize": 13, "labelLimit": 220},
        "legend": {"labelFontSize": 12, "titleFontSize": 13, "labelLimit": 220},
        "header": {"labelFontSize": 12},
        "title": {"fontSize": 15, "anchor": "start"},
    }.items():
        config[key] = {**value, **config[key]} if isinstance(value, dict) and key in config else config.get(key, value)
    return spec


Built = tuple[Any, str, str]  # what a chart builder returns: the Altair chart, its title, its caption


def _per_dataset(name: str) -> Callable[[Callable[[Any, m.DatasetReport], Built]], Callable[[m.DatasetReport], Chart]]:
    """A builder `(alt, dataset report) -> (chart, title, caption)` as a function of the dataset report
    that returns its `Chart` (Altair imported lazily, the spec styled by `_spec`)."""
    def wrap(build: Callable[[Any, m.DatasetReport], Built]) -> Callable[[m.DatasetReport], Chart]:
        @functools.wraps(build)
        def chart_of(d: m.DatasetReport) -> Chart:
            chart, title, caption = build(_alt(), d)
            return Chart(name, d.name, title, caption, _spec(chart, title, caption))
        return chart_of
    return wrap


def _split_bars(alt: Any, values: list[dict[str, Any]], y: Any, x: Any, split: str, colors: dict[str, str],
                tooltip: list[Any], *, height: int) -> Any:
    """Horizontal bars coloured by the field `split` (`colors`: its values in legend order, their colours)."""
    return alt.Chart(alt.Data(values=values)).mark_bar().encode(
        y=y, x=x, color=alt.Color(f"{split}:N", title="", scale=alt.Scale(domain=list(colors),
                                                                          range=list(colors.values()))),
        tooltip=tooltip,
    ).properties(width=WIDTH - 160, height=height)


def _vlabel(p: m.VersionPoint, *, tags: bool = False) -> str:
    text = f"v{p.seq}" if p.seq == p.seq_end else f"v{p.seq}–{p.seq_end}"
    if tags and p.tags:
        text += " " + ", ".join(p.tags[:2])
    return text + (" ↺" if tags and p.reverted_batches else "")


@_per_dataset("timeline")
def timeline(alt: Any, d: m.DatasetReport) -> Built:
    """Rows added, removed and relabeled per version (log scale), tags and reverts in the axis labels."""
    rows: list[dict[str, Any]] = []
    few = len(d.timeline) <= 40
    for p in d.timeline:
        for what, n in (("relabeled", p.relabeled), ("added", p.added), ("removed", p.removed)):
            rows.append({"version": _vlabel(p, tags=few), "seq": p.seq, "change": what, "rows": n or 0,
                         "message": p.message[:80], "author": p.author, "tags": ", ".join(p.tags[:3]),
                         "batches": len(p.batches), "reverted": p.reverted_batches})
    order = [_vlabel(p, tags=few) for p in d.timeline]
    top = max((r["rows"] for r in rows), default=1)
    ticks = [0] + [10**k for k in range(0, len(str(max(1, top))) + 1) if 10**k <= top * 10]
    x = alt.X("version:N", sort=order, title="version", axis=alt.Axis(labelAngle=-40 if few and len(order) > 4
                                                                      or len(order) > 12 else 0,
                                                                      labelOverlap=True, labelLimit=160))
    chart = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        x=x, xOffset=alt.XOffset("change:N", sort=["relabeled", "added", "removed"]),  # side by side: a log
        y=alt.Y("sum(rows):Q", title="rows changed (log scale)", scale=alt.Scale(type="symlog"),  # scale cannot stack
                     axis=alt.Axis(values=ticks, format=",d")),
        color=alt.Color("change:N", title="change", sort=["relabeled", "added", "removed"],
                        scale=alt.Scale(domain=["relabeled", "added", "removed"], range=OKABE_ITO[:3])),
        tooltip=["version:N", "change:N", "rows:Q", "author:N", "message:N", "tags:N", "batches:Q", "reverted:Q"],
    ).properties(width=WIDTH, height=220)
    if len(d.timeline) > 60:  # hundreds of bars blur into one pale block: lines over the version number
        chart = alt.Chart(alt.Data(values=rows)).mark_line(interpolate="step-after", strokeWidth=1.5).encode(
            x=alt.X("seq:Q", title="version (first of each bin)" if d.timeline[0].seq != d.timeline[0].seq_end
                    else "version", axis=alt.Axis(format="d")),
            y=alt.Y("rows:Q", title="rows changed (log scale)", scale=alt.Scale(type="symlog"),
                    axis=alt.Axis(values=ticks, format=",d")),
            color=alt.Color("change:N", title="change", sort=["relabeled", "added", "removed"],
                            scale=alt.Scale(domain=["relabeled", "added", "removed"], range=OKABE_ITO[:3])),
            tooltip=["version:N", "change:N", "rows:Q", "message:N"],
        ).properties(width=WIDTH, height=220)
    caption = (f"Rows added, removed and relabeled by each of the {d.versions_total:,} versions of {d.name} "
               "(the first version adds every row; the scale is logarithmic so small batches stay visible). "
               "Tags follow the version; ↺ marks a version whose batch was later reverted.")
    return chart, f"{d.name}: changes per version", caption


@_per_dataset("distribution")
def distribution(alt: Any, d: m.DatasetReport) -> Built:
    """Stacked bars: rows of each class per version."""
    totals: dict[str, int] = {}
    for c in d.distribution:
        totals[c.label] = totals.get(c.label, 0) + c.count
    labels = sorted((k for k in totals if k != "other"), key=lambda k: (-totals[k], k))
    domain = labels + (["other"] if "other" in totals else [])
    palette = TOL_MUTED + ["#555555"]  # a tenth class (CIFAR-10 has ten) in dark grey, "other" in light grey
    colors = palette[:len(labels)] + ([OTHER] if "other" in totals else [])
    seqs = sorted({c.seq for c in d.distribution})
    values = [{"version": f"v{c.seq}", "class": c.label, "rows": c.count} for c in d.distribution]
    chart = alt.Chart(alt.Data(values=values)).mark_bar().encode(
        x=alt.X("version:N", sort=[f"v{s}" for s in seqs], title="version",
                axis=alt.Axis(labelAngle=-45 if len(seqs) > 12 else 0, labelOverlap=True)),
        y=alt.Y("sum(rows):Q", title=f"rows per class ({d.label_column})", stack="normalize",
                axis=alt.Axis(format="%")),
        color=alt.Color("class:N", title="class", scale=alt.Scale(domain=domain, range=colors), sort=domain),
        order=alt.Order("class_order:Q"),
        tooltip=["version:N", "class:N", "rows:Q"],
    ).transform_calculate(class_order=f"indexof({domain!r}, datum['class'])").properties(width=WIDTH, height=240)
    caption = (f"Share of each class of `{d.label_column}` in every version drawn, largest class at the bottom; "
               "hover a bar for its row count.")
    return chart, f"{d.name}: class distribution over versions", caption


@_per_dataset("transitions")
def transitions(alt: Any, d: m.DatasetReport) -> Built:
    """The A → B label-transition heatmap, or the top confused pairs when there are many classes."""
    assert d.a and d.b
    span = f"v{d.a['seq']} → v{d.b['seq']}"
    labels = sorted({t.from_label for t in d.transitions} | {t.to_label for t in d.transitions})
    if len(labels) > m.MAX_HEATMAP:
        top = sorted(d.transitions, key=lambda t: (-t.count, t.from_label, t.to_label))[:m.TOP_PAIRS]
        values = [{"pair": f"{t.from_label} → {t.to_label}", "rows": t.count} for t in top]
        chart = alt.Chart(alt.Data(values=values)).mark_bar(color=OKABE_ITO[0]).encode(
            y=alt.Y("pair:N", sort="-x", title="label change (from → to)"), x=alt.X("rows:Q", title="rows"),
            tooltip=["pair:N", "rows:Q"]).properties(width=WIDTH - 160, height=max(120, 18 * len(values)))
        caption = (f"The {len(values)} most frequent label changes {span} of {d.name} "
                   f"({len(labels)} classes are involved, too many for a readable heatmap).")
        return chart, f"{d.name}: most frequent label changes {span}", caption
    values = [{"from": t.from_label, "to": t.to_label, "rows": t.count} for t in d.transitions]
    size = max(18, min(44, (WIDTH - 120) // max(1, len(labels))))
    base = alt.Chart(alt.Data(values=values)).encode(
        x=alt.X("to:N", sort=labels, title="label in B (to)", axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("from:N", sort=labels, title="label in A (from)"))
    rect = base.mark_rect().encode(color=alt.Color("rows:Q", title="rows", scale=alt.Scale(scheme="viridis")),
                                   tooltip=["from:N", "to:N", "rows:Q"])
    light = 0.6 * max((t.count for t in d.transitions), default=1)
    text = base.mark_text(fontSize=11).encode(  # dark text on the bright (yellow) end of viridis
        text="rows:Q", color=alt.condition(f"datum.rows > {light}", alt.value("black"), alt.value("white")))
    chart = alt.layer(rect, text).properties(width=size * len(labels), height=size * len(labels))
    caption = (f"Rows of {d.name} whose `{d.label_column}` changed {span}: row = label in v{d.a['seq']}, "
               f"column = label in v{d.b['seq']}; unchanged rows are left out.")
    return chart, f"{d.name}: label transitions {span}", caption


@_per_dataset("shift")
def shift(alt: Any, d: m.DatasetReport) -> Built:
    """Bars: change in rows per class A → B."""
    assert d.a and d.b
    span = f"v{d.a['seq']} → v{d.b['seq']}"
    values = [{"class": s.label, "change": s.delta, "A": s.a, "B": s.b,
               "direction": "gained" if s.delta >= 0 else "lost"} for s in d.shift]
    chart = _split_bars(alt, values, alt.Y("class:N", sort="-x", title=f"class ({d.label_column})"),
                        alt.X("change:Q", title=f"change in rows {span}", axis=alt.Axis(format="d", tickMinStep=1)),
                        "direction", {"gained": OKABE_ITO[0], "lost": OKABE_ITO[1]},
                        ["class:N", "A:Q", "B:Q", "change:Q"], height=max(120, 20 * len(values)))
    caption = f"How many rows each class of {d.name} gained (blue) or lost (orange) {span}."
    return chart, f"{d.name}: class shift {span}", caption


def short_author(author: str) -> str:
    """An author without the e-mail address, short enough for an axis label."""
    return author.split("<", 1)[0].strip()[:24] or author[:24]


STATES = ["committed", "reverted", "pending", "discarded"]


@_per_dataset("batches")
def batches(alt: Any, d: m.DatasetReport) -> Built:
    """Horizontal bars: rows per batch, coloured by state (reverted apart)."""
    shown = d.batches[-40:]
    values = [{"batch": f"{b.id[:8]} {short_author(b.author)}" + (" (revert)" if b.reverts else ""), "rows": b.rows,
               "state": "reverted" if b.reverted else b.state, "reason": b.reason[:80],
               "version": f"v{b.seq}" if b.seq is not None else "-"} for b in shown]
    chart = alt.Chart(alt.Data(values=values)).mark_bar().encode(
        y=alt.Y("batch:N", sort=None, title="batch (id, author), oldest at the top"),
        x=alt.X("rows:Q", title="rows edited"),
        color=alt.Color("state:N", title="state", scale=alt.Scale(domain=STATES, range=[
            OKABE_ITO[0], OKABE_ITO[3], OKABE_ITO[1], OKABE_ITO[7]])),
        tooltip=["batch:N", "version:N", "rows:Q", "state:N", "reason:N"],
    ).properties(width=WIDTH - 200, height=max(80, 22 * len(values)))
    caption = (f"Rows each edit batch of {d.name} changed; red bars were reverted later"
               + (f" (the newest 40 of {len(d.batches)} batches)" if len(d.batches) > 40 else "") + ".")
    return chart, f"{d.name}: edit batches", caption


@_per_dataset("annotators")
def annotators(alt: Any, d: m.DatasetReport) -> Built:
    """Stacked bars per annotator: rows kept and rows reverted."""
    shown = d.annotators[:30]
    values = []
    for a in shown:
        values.append({"annotator": a.name, "rows": a.rows - a.reverted_rows, "outcome": "kept", "batches": a.batches})
        values.append({"annotator": a.name, "rows": a.reverted_rows, "outcome": "reverted", "batches": a.batches})
    chart = _split_bars(alt, values, alt.Y("annotator:N", sort=[a.name for a in shown], title="annotator"),
                        alt.X("sum(rows):Q", title="rows edited"), "outcome",
                        {"kept": OKABE_ITO[0], "reverted": OKABE_ITO[3]},
                        ["annotator:N", "outcome:N", "rows:Q", "batches:Q"], height=max(80, 24 * len(shown)))
    caption = f"Rows each annotator of {d.name} edited, and how many of them a revert undid."
    return chart, f"{d.name}: annotators", caption


@_per_dataset("quality")
def quality(alt: Any, d: m.DatasetReport) -> Built:
    """One small panel per quality figure: its value per version and its threshold (dashed)."""
    metrics = sorted({(q.source, q.metric) for q in d.quality})[:12]
    wanted = set(metrics)
    values = []
    for q in d.quality:
        if (q.source, q.metric) in wanted:
            name = f"{q.source}: {q.metric}"
            values.append({"figure": name, "version": q.seq, "series": "value", "value": q.value,
                           "passed": "" if q.passed is None else ("passed" if q.passed else "failed")})
            if q.threshold is not None:
                values.append({"figure": name, "version": q.seq, "series": f"threshold ({q.bound})",
                               "value": q.threshold, "passed": ""})
    series = ["value", "threshold (max)", "threshold (min)"]
    base = alt.Chart().encode(
        x=alt.X("version:Q", title="version", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("value:Q", title="value", scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title="", scale=alt.Scale(domain=series, range=[
            OKABE_ITO[0], OKABE_ITO[3], OKABE_ITO[2]])),
        strokeDash=alt.condition("datum.series == 'value'", alt.value([1, 0]), alt.value([5, 4])),
    )
    layer = alt.layer(
        base.mark_line(point=True),
        base.mark_point(size=80, filled=True, color=OKABE_ITO[3]).encode(
            color=alt.value(OKABE_ITO[3])).transform_filter("datum.passed == 'failed'"),
        data=alt.Data(values=values),
    ).properties(width=240, height=130)
    chart = layer.facet(facet=alt.Facet("figure:N", title=None), columns=2).resolve_scale(y="independent")
    caption = (f"Stored check, drift and audit figures of {d.name} per version (solid) with each rule's threshold "
               "(dashed: red a maximum, green a minimum); a red dot is a failed check.")
    return chart, f"{d.name}: quality per version", caption


@_per_dataset("eval")
def eval_summary(alt: Any, d: m.DatasetReport) -> Built:
    """Accuracy, macro-F1 and expected calibration error per label version."""
    names = {"accuracy": "accuracy", "macro_f1": "macro-F1", "ece": "calibration error (ECE)"}
    values = [{"version": e.seq, "metric": names[e.metric], "value": e.value} for e in d.evals if e.metric in names]
    chart = alt.Chart(alt.Data(values=values)).mark_line(point=True).encode(
        x=alt.X("version:Q", title="label version", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("value:Q", title="value", scale=alt.Scale(zero=False)),
        color=alt.Color("metric:N", title="", scale=alt.Scale(domain=list(names.values()), range=OKABE_ITO[:3])),
        tooltip=["version:Q", "metric:N", alt.Tooltip("value:Q", format=".4f")],
    ).properties(width=150, height=140).facet(facet=alt.Facet("metric:N", title=None), columns=3).resolve_scale(
        y="independent").configure_legend(disable=True)
    caption = (f"A model's accuracy, macro-F1 and expected calibration error (lower is better) evaluated against "
               f"each label version of {d.name}.")
    return chart, f"{d.name}: model evaluation per label version", caption


@_per_dataset("recall")
def eval_recall(alt: Any, d: m.DatasetReport) -> Built:
    """Heatmap of per-class recall (class × version)."""
    recall = [e for e in d.evals if e.metric.startswith("recall:")]
    seqs = sorted({e.seq for e in recall})
    classes = sorted({e.metric.split(":", 1)[1] for e in recall})[:60]
    values = [{"version": f"v{e.seq}", "seq": e.seq, "class": e.metric.split(":", 1)[1], "recall": e.value}
              for e in recall]
    values = [v for v in values if v["class"] in classes]
    base = alt.Chart(alt.Data(values=values)).encode(
        x=alt.X("version:N", sort=[f"v{s}" for s in seqs], title="label version"),
        y=alt.Y("class:N", title=f"class ({d.label_column})"))
    chart = alt.layer(
        base.mark_rect().encode(color=alt.Color("recall:Q", title="recall", scale=alt.Scale(scheme="viridis")),
                                tooltip=["version:N", "class:N", alt.Tooltip("recall:Q", format=".3f")]),
        base.mark_text(fontSize=10).encode(text=alt.Text("recall:Q", format=".2f"), color=alt.condition(
            "datum.recall > 0.9", alt.value("black"), alt.value("white"))),
    ).properties(width=min(WIDTH, 60 * max(1, len(seqs))), height=18 * max(1, len(classes)))
    caption = f"Recall of each class per label version of {d.name} (brighter is higher)."
    return chart, f"{d.name}: per-class recall", caption


KIND_COLORS = {"version": OKABE_ITO[0], "chain": OKABE_ITO[4], "batch": OKABE_ITO[1], "stage": OKABE_ITO[2],
               "experiment": OKABE_ITO[5], "metric": OKABE_ITO[7], "file": "#999999", "queue": OKABE_ITO[3],
               "predictions": OKABE_ITO[6], "eval": OKABE_ITO[3]}


def lineage(r: m.Report) -> Chart:
    """The collapsed lineage graph laid out left to right: edges, nodes by kind, labels."""
    alt = _alt()
    pos = {n.id: (n.column, n.lane) for n in r.lineage_nodes}
    edges = [{"x": pos[e.source][0], "y": pos[e.source][1], "x2": pos[e.target][0], "y2": pos[e.target][1],
              "kind": e.kind} for e in r.lineage_edges if e.source in pos and e.target in pos]
    nodes = [{"x": n.column, "y": n.lane, "kind": n.kind, "label": n.label[:48], "full": n.label}
             for n in r.lineage_nodes]
    cols = max((n.column for n in r.lineage_nodes), default=0) + 1
    lanes = max((n.lane for n in r.lineage_nodes), default=0) + 1
    present = {n.kind for n in r.lineage_nodes}
    kinds = [k for k in KIND_COLORS if k in present] + sorted(present - set(KIND_COLORS))
    xs = alt.Scale(domain=[-0.2, cols - 0.2])
    ys = alt.Scale(domain=[-0.6, lanes - 0.4], reverse=False)
    noaxis = alt.Axis(labels=False, ticks=False, grid=False, domain=False, title=None)
    e_layer = alt.Chart(alt.Data(values=edges)).mark_rule(color="#777", strokeWidth=1.5).encode(
        x=alt.X("x:Q", scale=xs, axis=alt.Axis(title="← upstream · downstream →", labels=False, ticks=False,
                                                grid=False, domain=False)),
        y=alt.Y("y:Q", scale=ys, axis=noaxis), x2="x2:Q", y2="y2:Q")
    n_layer = alt.Chart(alt.Data(values=nodes)).mark_point(filled=True, size=220, opacity=1).encode(
        x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys),
        color=alt.Color("kind:N", title="node", scale=alt.Scale(
            domain=kinds, range=[KIND_COLORS.get(k, "#999999") for k in kinds])),
        shape=alt.Shape("kind:N", title="node", scale=alt.Scale(domain=kinds)),
        tooltip=["kind:N", "full:N"])
    t_layer = alt.Chart(alt.Data(values=nodes)).mark_text(align="left", dx=-6, dy=-15, fontSize=12).encode(
        x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys), text="label:N")
    chart = alt.layer(e_layer, n_layer, t_layer).properties(width=max(WIDTH, 260 * cols), height=max(70, 56 * lanes))
    caption = ("Datasets' versions, edit batches, stages, experiments and metrics, sources on the left; a straight "
               "run of versions is one node (\"v1 → v5 (4 versions, 3 batches)\"), as `dslineage lineage` prints it.")
    title = "Lineage"
    return Chart("lineage", None, title, caption, _spec(chart, title, caption))


def charts(r: m.Report) -> list[Chart]:
    """Every chart the report has data for, in page order."""
    out: list[Chart] = []
    for d in r.datasets:
        if d.timeline:
            out.append(timeline(d))
        if d.distribution:
            out.append(distribution(d))
        if d.a and d.b and d.transitions:
            out.append(transitions(d))
        if d.a and d.b and d.shift:
            out.append(shift(d))
        if d.batches:
            out.append(batches(d))
        if d.annotators:
            out.append(annotators(d))
        if d.quality:
            out.append(quality(d))
        if any(not e.metric.startswith("recall:") for e in d.evals):
            out.append(eval_summary(d))
        if any(e.metric.startswith("recall:") for e in d.evals):
            out.append(eval_recall(d))
    if r.lineage_nodes:
        out.append(lineage(r))
    return out


def render_svg(spec: dict[str, Any]) -> str:
    """The SVG of a Vega-Lite spec (rendered here, ahead of time)."""
    try:
        import vl_convert as vlc
    except ImportError as exc:  # pragma: no cover - the `report` extra
        raise UsageError("dslineage report needs vl-convert: pip install 'dslineage[report]'") from exc
    return str(vlc.vegalite_to_svg(spec))


def render_png(spec: dict[str, Any], scale: float = 2.0) -> bytes:
    """The PNG of a Vega-Lite spec."""
    import vl_convert as vlc

    return bytes(vlc.vegalite_to_png(spec, scale=scale))
