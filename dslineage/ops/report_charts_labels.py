"""The report's charts of how a dataset's labels changed: changes per version (timeline), the class
distribution over versions, the A → B label transitions and the class shift."""

from __future__ import annotations

from typing import Any

from dslineage.ops import report_model as m
from dslineage.ops.report_chart_kit import OKABE_ITO, OTHER, TOL_MUTED, WIDTH, Built, per_dataset, split_bars


def _vlabel(p: m.VersionPoint, *, tags: bool = False) -> str:
    text = f"v{p.seq}" if p.seq == p.seq_end else f"v{p.seq}–{p.seq_end}"
    if tags and p.tags:
        text += " " + ", ".join(p.tags[:2])
    return text + (" ↺" if tags and p.reverted_batches else "")


@per_dataset("timeline")
def timeline(alt: Any, d: m.DatasetReport) -> Built:
    """Rows added, removed and relabeled per version (log scale), tags and reverts in the axis labels."""
    rows: list[dict[str, Any]] = []
    few = len(d.timeline) <= 40
    for p in d.timeline:
        for what, n in (("relabeled", p.relabeled), ("added", p.added), ("removed", p.removed)):
            rows.append(
                {
                    "version": _vlabel(p, tags=few),
                    "seq": p.seq,
                    "change": what,
                    "rows": n or 0,
                    "message": p.message[:80],
                    "author": p.author,
                    "tags": ", ".join(p.tags[:3]),
                    "batches": len(p.batches),
                    "reverted": p.reverted_batches,
                }
            )
    order = [_vlabel(p, tags=few) for p in d.timeline]
    top = max((r["rows"] for r in rows), default=1)
    ticks = [0] + [10**k for k in range(0, len(str(max(1, top))) + 1) if 10**k <= top * 10]
    changes = ["relabeled", "added", "removed"]

    def log_rows(field: str) -> Any:
        return alt.Y(
            field,
            title="rows changed (log scale)",
            scale=alt.Scale(type="symlog"),
            axis=alt.Axis(values=ticks, format=",d"),
        )

    color = alt.Color("change:N", title="change", sort=changes, scale=alt.Scale(domain=changes, range=OKABE_ITO[:3]))
    base = alt.Chart(alt.Data(values=rows))
    if len(d.timeline) > 60:  # hundreds of bars blur into one pale block: lines over the version number
        binned = d.timeline[0].seq != d.timeline[0].seq_end
        chart = base.mark_line(interpolate="step-after", strokeWidth=1.5).encode(
            x=alt.X("seq:Q", title="version (first of each bin)" if binned else "version", axis=alt.Axis(format="d")),
            y=log_rows("rows:Q"),
            color=color,
            tooltip=["version:N", "change:N", "rows:Q", "message:N"],
        )
    else:
        angle = -40 if few and len(order) > 4 or len(order) > 12 else 0
        chart = base.mark_bar().encode(
            x=alt.X(
                "version:N",
                sort=order,
                title="version",
                axis=alt.Axis(labelAngle=angle, labelOverlap=True, labelLimit=160),
            ),
            xOffset=alt.XOffset("change:N", sort=changes),  # side by side: a log scale cannot stack
            y=log_rows("sum(rows):Q"),
            color=color,
            tooltip=["version:N", "change:N", "rows:Q", "author:N", "message:N", "tags:N", "batches:Q", "reverted:Q"],
        )
    chart = chart.properties(width=WIDTH, height=220)
    caption = (
        f"Rows added, removed and relabeled by each of the {d.versions_total:,} versions of {d.name} "
        "(the first version adds every row; the scale is logarithmic so small batches stay visible). "
        "Tags follow the version; ↺ marks a version whose batch was later reverted."
    )
    return chart, f"{d.name}: changes per version", caption


@per_dataset("distribution")
def distribution(alt: Any, d: m.DatasetReport) -> Built:
    """Stacked bars: rows of each class per version."""
    totals: dict[str, int] = {}
    for c in d.distribution:
        totals[c.label] = totals.get(c.label, 0) + c.count
    labels = sorted((k for k in totals if k != "other"), key=lambda k: (-totals[k], k))
    domain = labels + (["other"] if "other" in totals else [])
    palette = TOL_MUTED + ["#555555"]  # a tenth class (CIFAR-10 has ten) in dark grey, "other" in light grey
    colors = palette[: len(labels)] + ([OTHER] if "other" in totals else [])
    seqs = sorted({c.seq for c in d.distribution})
    values = [{"version": f"v{c.seq}", "class": c.label, "rows": c.count} for c in d.distribution]
    chart = (
        alt.Chart(alt.Data(values=values))
        .mark_bar()
        .encode(
            x=alt.X(
                "version:N",
                sort=[f"v{s}" for s in seqs],
                title="version",
                axis=alt.Axis(labelAngle=-45 if len(seqs) > 12 else 0, labelOverlap=True),
            ),
            y=alt.Y(
                "sum(rows):Q", title=f"rows per class ({d.label_column})", stack="normalize", axis=alt.Axis(format="%")
            ),
            color=alt.Color("class:N", title="class", scale=alt.Scale(domain=domain, range=colors), sort=domain),
            order=alt.Order("class_order:Q"),
            tooltip=["version:N", "class:N", "rows:Q"],
        )
        .transform_calculate(class_order=f"indexof({domain!r}, datum['class'])")
        .properties(width=WIDTH, height=240)
    )
    caption = (
        f"Share of each class of `{d.label_column}` in every version drawn, largest class at the bottom; "
        "hover a bar for its row count."
    )
    return chart, f"{d.name}: class distribution over versions", caption


@per_dataset("transitions")
def transitions(alt: Any, d: m.DatasetReport) -> Built:
    """The A → B label-transition heatmap, or the top confused pairs when there are many classes."""
    assert d.a and d.b
    span = f"v{d.a['seq']} → v{d.b['seq']}"
    labels = sorted({t.from_label for t in d.transitions} | {t.to_label for t in d.transitions})
    if len(labels) > m.MAX_HEATMAP:
        top = sorted(d.transitions, key=lambda t: (-t.count, t.from_label, t.to_label))[: m.TOP_PAIRS]
        values = [{"pair": f"{t.from_label} → {t.to_label}", "rows": t.count} for t in top]
        chart = (
            alt.Chart(alt.Data(values=values))
            .mark_bar(color=OKABE_ITO[0])
            .encode(
                y=alt.Y("pair:N", sort="-x", title="label change (from → to)"),
                x=alt.X("rows:Q", title="rows"),
                tooltip=["pair:N", "rows:Q"],
            )
            .properties(width=WIDTH - 160, height=max(120, 18 * len(values)))
        )
        caption = (
            f"The {len(values)} most frequent label changes {span} of {d.name} "
            f"({len(labels)} classes are involved, too many for a readable heatmap)."
        )
        return chart, f"{d.name}: most frequent label changes {span}", caption
    values = [{"from": t.from_label, "to": t.to_label, "rows": t.count} for t in d.transitions]
    size = max(18, min(44, (WIDTH - 120) // max(1, len(labels))))
    base = alt.Chart(alt.Data(values=values)).encode(
        x=alt.X("to:N", sort=labels, title="label in B (to)", axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("from:N", sort=labels, title="label in A (from)"),
    )
    rect = base.mark_rect().encode(
        color=alt.Color("rows:Q", title="rows", scale=alt.Scale(scheme="viridis")), tooltip=["from:N", "to:N", "rows:Q"]
    )
    light = 0.6 * max((t.count for t in d.transitions), default=1)
    text = base.mark_text(fontSize=11).encode(  # dark text on the bright (yellow) end of viridis
        text="rows:Q", color=alt.condition(f"datum.rows > {light}", alt.value("black"), alt.value("white"))
    )
    chart = alt.layer(rect, text).properties(width=size * len(labels), height=size * len(labels))
    caption = (
        f"Rows of {d.name} whose `{d.label_column}` changed {span}: row = label in v{d.a['seq']}, "
        f"column = label in v{d.b['seq']}; unchanged rows are left out."
    )
    return chart, f"{d.name}: label transitions {span}", caption


@per_dataset("shift")
def shift(alt: Any, d: m.DatasetReport) -> Built:
    """Bars: change in rows per class A → B."""
    assert d.a and d.b
    span = f"v{d.a['seq']} → v{d.b['seq']}"
    values = [
        {"class": s.label, "change": s.delta, "A": s.a, "B": s.b, "direction": "gained" if s.delta >= 0 else "lost"}
        for s in d.shift
    ]
    chart = split_bars(
        alt,
        values,
        alt.Y("class:N", sort="-x", title=f"class ({d.label_column})"),
        alt.X("change:Q", title=f"change in rows {span}", axis=alt.Axis(format="d", tickMinStep=1)),
        "direction",
        {"gained": OKABE_ITO[0], "lost": OKABE_ITO[1]},
        ["class:N", "A:Q", "B:Q", "change:Q"],
        height=max(120, 20 * len(values)),
    )
    caption = f"How many rows each class of {d.name} gained (blue) or lost (orange) {span}."
    return chart, f"{d.name}: class shift {span}", caption
