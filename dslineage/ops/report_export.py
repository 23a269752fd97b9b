"""What `dslineage report` writes: the HTML page, the Vega-Lite specs, or one chart alone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dslineage import files
from dslineage.errors import UsageError
from dslineage.ops import report_model as m

if TYPE_CHECKING:
    from dslineage.ops.report_charts import Chart

FORMATS = ("html", "vega", "json")
CHART_SUFFIXES = (".svg", ".png", ".json")


@dataclass(frozen=True)
class Written:
    """The file `report` wrote: where, in which format, which charts, how many bytes."""

    output: str
    format: str
    charts: list[str]
    bytes: int
    notes: dict[str, str]


def chart_names(r: m.Report) -> list[str]:
    """The names of the charts this report has (`--chart` takes one)."""
    from dslineage.ops.report_charts import charts

    return [c.name for c in charts(r)]


def vega(r: m.Report, chart: str | None = None) -> str:
    """The charts' Vega-Lite specs as JSON: `{name: spec}` (several datasets: `{dataset/name: spec}`),
    or one spec alone with `chart`."""
    from dslineage.ops.report_charts import charts

    found = charts(r)
    several = len({c.dataset for c in found if c.dataset}) > 1
    specs = {(f"{c.dataset}/{c.name}" if several and c.dataset else c.name): c.spec for c in found}
    if chart is None:
        return json.dumps(specs, indent=1)
    return json.dumps(_one(r, chart)[1].spec, indent=1)


def _one(r: m.Report, chart: str) -> tuple[str, Chart]:
    from dslineage.ops.report_charts import charts

    found: list[Chart] = charts(r)
    hits = [c for c in found if c.name == chart]
    if not hits:
        have = ", ".join(dict.fromkeys(c.name for c in found)) or "none"
        raise UsageError(
            f"no chart {chart!r} in this report (it has: {have}); a chart needs its data, "
            "e.g. transitions need two versions that differ"
        )
    return chart, hits[0]


def html(r: m.Report) -> str:
    """The self-contained HTML page."""
    from dslineage.ops.report_charts import charts
    from dslineage.ops.report_html import render

    return render(r, charts(r))


def write(r: m.Report, output: str, *, fmt: str = "html", chart: str | None = None) -> Written:
    """Write the page (`html`), the specs (`vega`), the model (`json`), or one chart (`chart`: by the
    suffix of `output`, .svg, .png or .json) to `output`, replacing it atomically."""
    from dslineage.ops.report_charts import render_png, render_svg

    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    path = Path(output)
    data: bytes
    names: list[str]
    if chart is not None:
        suffix = path.suffix.lower()
        if suffix not in CHART_SUFFIXES:
            raise UsageError(f"--chart writes .svg, .png or .json (the Vega-Lite spec), not {output!r}")
        _, c = _one(r, chart)
        spec = c.spec
        names = [chart]
        if suffix == ".png":
            data = render_png(spec)
        elif suffix == ".svg":
            data = render_svg(spec).encode("utf-8")
        else:
            data = json.dumps(spec, indent=1).encode("utf-8")
    elif fmt == "vega":
        data, names = vega(r).encode("utf-8"), chart_names(r)
    elif fmt == "json":
        import dataclasses

        data, names = json.dumps(dataclasses.asdict(r), indent=1).encode("utf-8"), []
    else:
        data, names = html(r).encode("utf-8"), chart_names(r)
    if path.parent and not path.parent.is_dir():
        raise UsageError(f"cannot write {output}: folder {path.parent} does not exist")
    files.atomic_write_bytes(path, data)
    notes = {k: v for d in r.datasets for k, v in d.notes.items() if k != "eval"} | r.notes
    return Written(output=str(path), format="chart" if chart else fmt, charts=names, bytes=len(data), notes=notes)
