"""The report's charts of the work on a dataset and its results: edit batches, annotators, the
stored quality figures and a model's evaluation per label version."""

from __future__ import annotations

from typing import Any

from dslineage.ops import report_model as m
from dslineage.ops.report_chart_kit import OKABE_ITO, WIDTH, Built, per_dataset, short_author, split_bars

STATES = ["committed", "reverted", "pending", "discarded"]


@per_dataset("batches")
def batches(alt: Any, d: m.DatasetReport) -> Built:
    """Horizontal bars: rows per batch, coloured by state (reverted apart)."""
    shown = d.batches[-40:]
    values = [
        {
            "batch": f"{b.id[:8]} {short_author(b.author)}" + (" (revert)" if b.reverts else ""),
            "rows": b.rows,
            "state": "reverted" if b.reverted else b.state,
            "reason": b.reason[:80],
            "version": f"v{b.seq}" if b.seq is not None else "-",
        }
        for b in shown
    ]
    chart = (
        alt.Chart(alt.Data(values=values))
        .mark_bar()
        .encode(
            y=alt.Y("batch:N", sort=None, title="batch (id, author), oldest at the top"),
            x=alt.X("rows:Q", title="rows edited"),
            color=alt.Color(
                "state:N",
                title="state",
                scale=alt.Scale(domain=STATES, range=[OKABE_ITO[0], OKABE_ITO[3], OKABE_ITO[1], OKABE_ITO[7]]),
            ),
            tooltip=["batch:N", "version:N", "rows:Q", "state:N", "reason:N"],
        )
        .properties(width=WIDTH - 200, height=max(80, 22 * len(values)))
    )
    caption = (
        f"Rows each edit batch of {d.name} changed; red bars were reverted later"
        + (f" (the newest 40 of {len(d.batches)} batches)" if len(d.batches) > 40 else "")
        + "."
    )
    return chart, f"{d.name}: edit batches", caption


@per_dataset("annotators")
def annotators(alt: Any, d: m.DatasetReport) -> Built:
    """Stacked bars per annotator: rows kept and rows reverted."""
    shown = d.annotators[:30]
    values = []
    for a in shown:
        values.append({"annotator": a.name, "rows": a.rows - a.reverted_rows, "outcome": "kept", "batches": a.batches})
        values.append({"annotator": a.name, "rows": a.reverted_rows, "outcome": "reverted", "batches": a.batches})
    chart = split_bars(
        alt,
        values,
        alt.Y("annotator:N", sort=[a.name for a in shown], title="annotator"),
        alt.X("sum(rows):Q", title="rows edited"),
        "outcome",
        {"kept": OKABE_ITO[0], "reverted": OKABE_ITO[3]},
        ["annotator:N", "outcome:N", "rows:Q", "batches:Q"],
        height=max(80, 24 * len(shown)),
    )
    caption = f"Rows each annotator of {d.name} edited, and how many of them a revert undid."
    return chart, f"{d.name}: annotators", caption


@per_dataset("quality")
def quality(alt: Any, d: m.DatasetReport) -> Built:
    """One small panel per quality figure: its value per version and its threshold (dashed)."""
    metrics = sorted({(q.source, q.metric) for q in d.quality})[:12]
    wanted = set(metrics)
    values = []
    for q in d.quality:
        if (q.source, q.metric) in wanted:
            name = f"{q.source}: {q.metric}"
            values.append(
                {
                    "figure": name,
                    "version": q.seq,
                    "series": "value",
                    "value": q.value,
                    "passed": "" if q.passed is None else ("passed" if q.passed else "failed"),
                }
            )
            if q.threshold is not None:
                values.append(
                    {
                        "figure": name,
                        "version": q.seq,
                        "series": f"threshold ({q.bound})",
                        "value": q.threshold,
                        "passed": "",
                    }
                )
    series = ["value", "threshold (max)", "threshold (min)"]
    base = alt.Chart().encode(
        x=alt.X("version:Q", title="version", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("value:Q", title="value", scale=alt.Scale(zero=False)),
        color=alt.Color(
            "series:N", title="", scale=alt.Scale(domain=series, range=[OKABE_ITO[0], OKABE_ITO[3], OKABE_ITO[2]])
        ),
        strokeDash=alt.condition("datum.series == 'value'", alt.value([1, 0]), alt.value([5, 4])),
    )
    layer = alt.layer(
        base.mark_line(point=True),
        base.mark_point(size=80, filled=True, color=OKABE_ITO[3])
        .encode(color=alt.value(OKABE_ITO[3]))
        .transform_filter("datum.passed == 'failed'"),
        data=alt.Data(values=values),
    ).properties(width=240, height=130)
    chart = layer.facet(facet=alt.Facet("figure:N", title=None), columns=2).resolve_scale(y="independent")
    caption = (
        f"Stored check, drift and audit figures of {d.name} per version (solid) with each rule's threshold "
        "(dashed: red a maximum, green a minimum); a red dot is a failed check."
    )
    return chart, f"{d.name}: quality per version", caption


@per_dataset("eval")
def eval_summary(alt: Any, d: m.DatasetReport) -> Built:
    """Accuracy, macro-F1 and expected calibration error per label version."""
    names = {"accuracy": "accuracy", "macro_f1": "macro-F1", "ece": "calibration error (ECE)"}
    values = [{"version": e.seq, "metric": names[e.metric], "value": e.value} for e in d.evals if e.metric in names]
    chart = (
        alt.Chart(alt.Data(values=values))
        .mark_line(point=True)
        .encode(
            x=alt.X("version:Q", title="label version", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("value:Q", title="value", scale=alt.Scale(zero=False)),
            color=alt.Color("metric:N", title="", scale=alt.Scale(domain=list(names.values()), range=OKABE_ITO[:3])),
            tooltip=["version:Q", "metric:N", alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(width=150, height=140)
        .facet(facet=alt.Facet("metric:N", title=None), columns=3)
        .resolve_scale(y="independent")
        .configure_legend(disable=True)
    )
    caption = (
        f"A model's accuracy, macro-F1 and expected calibration error (lower is better) evaluated against "
        f"each label version of {d.name}."
    )
    return chart, f"{d.name}: model evaluation per label version", caption


@per_dataset("recall")
def eval_recall(alt: Any, d: m.DatasetReport) -> Built:
    """Heatmap of per-class recall (class × version)."""
    recall = [e for e in d.evals if e.metric.startswith("recall:")]
    seqs = sorted({e.seq for e in recall})
    classes = sorted({e.metric.split(":", 1)[1] for e in recall})[:60]
    values = [
        {"version": f"v{e.seq}", "seq": e.seq, "class": e.metric.split(":", 1)[1], "recall": e.value} for e in recall
    ]
    values = [v for v in values if v["class"] in classes]
    base = alt.Chart(alt.Data(values=values)).encode(
        x=alt.X("version:N", sort=[f"v{s}" for s in seqs], title="label version"),
        y=alt.Y("class:N", title=f"class ({d.label_column})"),
    )
    chart = alt.layer(
        base.mark_rect().encode(
            color=alt.Color("recall:Q", title="recall", scale=alt.Scale(scheme="viridis")),
            tooltip=["version:N", "class:N", alt.Tooltip("recall:Q", format=".3f")],
        ),
        base.mark_text(fontSize=10).encode(
            text=alt.Text("recall:Q", format=".2f"),
            color=alt.condition("datum.recall > 0.9", alt.value("black"), alt.value("white")),
        ),
    ).properties(width=min(WIDTH, 60 * max(1, len(seqs))), height=18 * max(1, len(classes)))
    caption = f"Recall of each class per label version of {d.name} (brighter is higher)."
    return chart, f"{d.name}: per-class recall", caption
