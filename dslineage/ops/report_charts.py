"""The report's charts as Vega-Lite specs built with Altair (the grammar DVC's plots use).

`charts(report)` returns `Chart`s (name, title, caption, spec) in page order; `render_svg`/
`render_png` turn a spec into a picture ahead of time with vl-convert (no browser, no network).
The builders: `report_charts_labels` (timeline, distribution, transitions, shift),
`report_charts_work` (batches, annotators, quality, eval) and `lineage` here; their shared
palettes and styling in `report_chart_kit`.
"""

from __future__ import annotations

from typing import Any

from dslineage.errors import UsageError
from dslineage.ops import report_model as m
from dslineage.ops.report_chart_kit import OKABE_ITO, WIDTH, Chart, load_altair, styled_spec
from dslineage.ops.report_charts_labels import distribution, shift, timeline, transitions
from dslineage.ops.report_charts_work import annotators, batches, eval_recall, eval_summary, quality

KIND_COLORS = {
    "version": OKABE_ITO[0],
    "chain": OKABE_ITO[4],
    "batch": OKABE_ITO[1],
    "stage": OKABE_ITO[2],
    "experiment": OKABE_ITO[5],
    "metric": OKABE_ITO[7],
    "file": "#999999",
    "queue": OKABE_ITO[3],
    "predictions": OKABE_ITO[6],
    "eval": OKABE_ITO[3],
}


def lineage(r: m.Report) -> Chart:
    """The collapsed lineage graph laid out left to right: edges, nodes by kind, labels."""
    alt = load_altair()
    pos = {n.id: (n.column, n.lane) for n in r.lineage_nodes}
    edges = [
        {"x": pos[e.source][0], "y": pos[e.source][1], "x2": pos[e.target][0], "y2": pos[e.target][1], "kind": e.kind}
        for e in r.lineage_edges
        if e.source in pos and e.target in pos
    ]
    nodes = [
        {"x": n.column, "y": n.lane, "kind": n.kind, "label": n.label[:48], "full": n.label} for n in r.lineage_nodes
    ]
    cols = max((n.column for n in r.lineage_nodes), default=0) + 1
    lanes = max((n.lane for n in r.lineage_nodes), default=0) + 1
    present = {n.kind for n in r.lineage_nodes}
    kinds = [k for k in KIND_COLORS if k in present] + sorted(present - set(KIND_COLORS))
    xs = alt.Scale(domain=[-0.2, cols - 0.2])
    ys = alt.Scale(domain=[-0.6, lanes - 0.4], reverse=False)
    noaxis = alt.Axis(labels=False, ticks=False, grid=False, domain=False, title=None)
    e_layer = (
        alt.Chart(alt.Data(values=edges))
        .mark_rule(color="#777", strokeWidth=1.5)
        .encode(
            x=alt.X(
                "x:Q",
                scale=xs,
                axis=alt.Axis(title="← upstream · downstream →", labels=False, ticks=False, grid=False, domain=False),
            ),
            y=alt.Y("y:Q", scale=ys, axis=noaxis),
            x2="x2:Q",
            y2="y2:Q",
        )
    )
    n_layer = (
        alt.Chart(alt.Data(values=nodes))
        .mark_point(filled=True, size=220, opacity=1)
        .encode(
            x=alt.X("x:Q", scale=xs),
            y=alt.Y("y:Q", scale=ys),
            color=alt.Color(
                "kind:N",
                title="node",
                scale=alt.Scale(domain=kinds, range=[KIND_COLORS.get(k, "#999999") for k in kinds]),
            ),
            shape=alt.Shape("kind:N", title="node", scale=alt.Scale(domain=kinds)),
            tooltip=["kind:N", "full:N"],
        )
    )
    t_layer = (
        alt.Chart(alt.Data(values=nodes))
        .mark_text(align="left", dx=-6, dy=-15, fontSize=12)
        .encode(x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys), text="label:N")
    )
    chart = alt.layer(e_layer, n_layer, t_layer).properties(width=max(WIDTH, 260 * cols), height=max(70, 56 * lanes))
    caption = (
        "Datasets' versions, edit batches, stages, experiments and metrics, sources on the left; a straight "
        'run of versions is one node ("v1 → v5 (4 versions, 3 batches)"), as `dslineage lineage` prints it.'
    )
    title = "Lineage"
    return Chart("lineage", None, title, caption, styled_spec(chart, title, caption))


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
