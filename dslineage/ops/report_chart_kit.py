"""The report charts' shared parts: colour palettes, the `Chart` record, Altair imported lazily,
the styling every spec gets, the per-dataset builder decorator, split bars, and an author's short
name (the HTML page's too). The builders are in `report_charts_labels` and `report_charts_work`,
the page order in `report_charts`.

Colours are colour-blind safe: Okabe–Ito for states and series, Paul Tol's "muted" for classes,
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


def load_altair() -> Any:
    """The `altair` module, or a UsageError naming the `report` extra."""
    try:
        import altair as alt
    except ImportError as exc:  # pragma: no cover - the `report` extra
        raise UsageError("dslineage report needs Altair: pip install 'dslineage[report]'") from exc
    return alt


def styled_spec(chart: Any, title: str, caption: str) -> dict[str, Any]:
    """The Vega-Lite spec of an Altair chart with its title, caption and the report's fonts."""
    spec: dict[str, Any] = chart.properties(title=title).to_dict()
    spec["description"] = caption
    config = spec.setdefault("config", {})
    for key, value in {
        "font": "sans-serif",
        "view": {"stroke": None},
        "axis": {"labelFontSize": 12, "titleFontSize": 13, "labelLimit": 220},
        "legend": {"labelFontSize": 12, "titleFontSize": 13, "labelLimit": 220},
        "header": {"labelFontSize": 12},
        "title": {"fontSize": 15, "anchor": "start"},
    }.items():
        config[key] = {**value, **config[key]} if isinstance(value, dict) and key in config else config.get(key, value)
    return spec


Built = tuple[Any, str, str]  # what a chart builder returns: the Altair chart, its title, its caption


def per_dataset(name: str) -> Callable[[Callable[[Any, m.DatasetReport], Built]], Callable[[m.DatasetReport], Chart]]:
    """A builder `(alt, dataset report) -> (chart, title, caption)` as a function of the dataset report
    that returns its `Chart` (Altair imported lazily, the spec styled by `styled_spec`)."""

    def wrap(build: Callable[[Any, m.DatasetReport], Built]) -> Callable[[m.DatasetReport], Chart]:
        @functools.wraps(build)
        def chart_of(d: m.DatasetReport) -> Chart:
            chart, title, caption = build(load_altair(), d)
            return Chart(name, d.name, title, caption, styled_spec(chart, title, caption))

        return chart_of

    return wrap


def split_bars(
    alt: Any,
    values: list[dict[str, Any]],
    y: Any,
    x: Any,
    split: str,
    colors: dict[str, str],
    tooltip: list[Any],
    *,
    height: int,
) -> Any:
    """Horizontal bars coloured by the field `split` (`colors`: its values in legend order, their colours)."""
    return (
        alt.Chart(alt.Data(values=values))
        .mark_bar()
        .encode(
            y=y,
            x=x,
            color=alt.Color(f"{split}:N", title="", scale=alt.Scale(domain=list(colors), range=list(colors.values()))),
            tooltip=tooltip,
        )
        .properties(width=WIDTH - 160, height=height)
    )


def short_author(author: str) -> str:
    """An author without the e-mail address, short enough for an axis label."""
    return author.split("<", 1)[0].strip()[:24] or author[:24]
