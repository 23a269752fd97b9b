"""The report as one self-contained HTML page: inline CSS, charts as inline SVG rendered ahead
of time, one small inline script (the changed-rows search); no fonts, no network."""

from __future__ import annotations

import html
from typing import Any

from dslineage.ops import report_model as m
from dslineage.ops.report_chart_kit import Chart, short_author
from dslineage.ops.report_charts import render_svg

CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:18px 24px}
header h1{margin:0;font-size:1.5em}header p{margin:4px 0 0;color:#c9d1dc;font-size:.9em}
nav{display:flex;flex-wrap:wrap;gap:6px 14px;padding:10px 24px;background:#fff;border-bottom:1px solid #dde1e6}
nav a{color:#0b5cad;text-decoration:none;font-size:.9em}nav a:hover{text-decoration:underline}
main{max-width:1240px;margin:0 auto;padding:8px 16px 40px}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;margin:18px 0;padding:12px 18px}
h2{margin:.3em 0 .5em;font-size:1.3em}h3{margin:1em 0 .4em;font-size:1.05em}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px;align-items:start}
figure{margin:0;min-width:0}figure .chart{overflow-x:auto}
figure svg{max-width:100%;height:auto;display:block}
figure.scrolls svg{max-width:none}
figure.dense .chart{border-bottom:1px dotted #c5ccd6}
figcaption{font-size:.87em;color:#4a5361;margin-top:4px}
.note{background:#fff7e0;border-left:4px solid #E69F00;padding:6px 10px;margin:8px 0;font-size:.9em}
.facts{display:flex;flex-wrap:wrap;gap:10px 28px;margin:6px 0 10px}.facts div{font-size:.9em}
.facts b{display:block;font-size:1.35em}
table{border-collapse:collapse;width:100%;font-size:.86em}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceff3;vertical-align:top}
th{background:#f1f3f6;position:sticky;top:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.scroll{max-height:420px;overflow:auto;border:1px solid #eceff3;border-radius:4px}
tr.reverted td{color:#8a3a00}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:.8em;background:#e8eef7}
.badge.reverted{background:#f9ddd0;color:#8a3a00}.badge.pending{background:#fdf0cc}
button.link{background:none;border:none;color:#0b5cad;cursor:pointer;padding:0;font:inherit;text-decoration:underline}
input[type=search]{width:min(420px,100%);padding:6px 8px;font:inherit;border:1px solid #c5ccd6;border-radius:4px;
margin:4px 0 8px}
code{font-size:.9em;background:#f1f3f6;padding:0 3px;border-radius:3px}
@media (max-width:700px){.grid{grid-template-columns:1fr}main{padding:4px 6px 30px}
section{padding:10px;border-radius:0;margin:10px 0}header{padding:12px}nav{padding:8px 12px}
figure.dense svg{min-width:540px;max-width:none}
.hide-narrow{display:none}}
"""

SCRIPT = """
function dslFilter(input){var q=input.value.toLowerCase();var rows=document.querySelectorAll(
'#'+input.dataset.table+' tbody tr');var n=0;rows.forEach(function(r){var hit=!q||
r.textContent.toLowerCase().indexOf(q)>=0;r.style.display=hit?'':'none';if(hit)n++;});
var c=document.getElementById(input.dataset.table+'-count');if(c)c.textContent=n+' shown';}
function dslBatch(table,id){var i=document.querySelector('input[data-table="'+table+'"]');
if(!i)return;i.value=id;dslFilter(i);i.scrollIntoView({behavior:'smooth',block:'center'});}
"""


DENSE = {"quality", "eval", "recall", "transitions"}


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _figure(chart: Chart) -> str:
    svg = render_svg(chart.spec)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{_e(chart.title)}" ', 1)
    # a graph stays legible: it scrolls sideways; small multiples do on a phone (shrunk, their text is unreadable)
    wide = ' class="scrolls"' if chart.name == "lineage" else ' class="dense"' if chart.name in DENSE else ""
    return (
        f'<figure data-chart="{_e(chart.name)}"{wide}><div class="chart">{svg}</div>'
        f"<figcaption>{_e(chart.caption)}</figcaption></figure>"
    )


def _notes(notes: dict[str, str], *keys: str) -> str:
    return "".join(f'<p class="note">{_e(notes[k])}</p>' for k in keys if notes.get(k))


def _anchor(name: str, part: str) -> str:
    return f"{''.join(c if c.isalnum() else '-' for c in name)}-{part}"


def _dataset(d: m.DatasetReport, figs: dict[str, str]) -> str:
    out = []
    span = f"v{d.a['seq']} → v{d.b['seq']}" if d.a and d.b else "—"
    last = d.timeline[-1] if d.timeline else None
    reverted = sum(1 for b in d.batches if b.reverted)
    facts = [
        ("versions", f"{d.versions_total:,}"),
        ("rows (latest)", f"{last.rows:,}" if last and last.rows else "?"),
        ("label column", d.label_column or "—"),
        ("compared", span),
        ("batches", f"{len(d.batches):,}"),
        ("reverted batches", f"{reverted:,}"),
    ]
    out.append(
        f'<section id="{_anchor(d.name, "versions")}"><h2>{_e(d.name)}: versions</h2><div class="facts">'
        + "".join(f"<div><b>{_e(v)}</b>{_e(k)}</div>" for k, v in facts)
        + "</div>"
    )
    out.append(_notes(d.notes, "compare", "timeline", "distribution", "classes"))
    out.append('<div class="grid">' + figs.get("timeline", "") + figs.get("distribution", "") + "</div>")
    if d.timeline:
        out.append(
            '<h3>Version list</h3><div class="scroll"><table><thead><tr><th class="num">version</th>'
            '<th>time (UTC)</th><th>author</th><th class="num">rows</th><th class="num">+</th>'
            '<th class="num">−</th><th class="num">relabeled</th><th>tags</th><th>batches</th>'
            "<th>message</th></tr></thead><tbody>"
        )
        by_id = {b.id: b for b in d.batches}
        for p in reversed(d.timeline[-200:]):
            label = f"v{p.seq}" if p.seq == p.seq_end else f"v{p.seq}–v{p.seq_end}"
            out.append(
                f'<tr><td class="num">{label}</td><td>{_e(p.timestamp[:19].replace("T", " "))}</td>'
                f'<td>{_e(short_author(p.author))}</td><td class="num">{_n(p.rows)}</td>'
                f'<td class="num">{_n(p.added)}</td>'
                f'<td class="num">{_n(p.removed)}</td><td class="num">{_n(p.relabeled)}</td>'
                f"<td>{_e(', '.join(p.tags))}</td><td>{_e(_made_by(p, by_id))}</td><td>{_e(p.message)}</td></tr>"
            )
        out.append("</tbody></table></div>")
    out.append("</section>")
    out.append(f'<section id="{_anchor(d.name, "labels")}"><h2>{_e(d.name)}: label changes {_e(span)}</h2>')
    out.append(_notes(d.notes, "transitions", "shift"))
    if figs.get("transitions") or figs.get("shift"):
        out.append('<div class="grid">' + figs.get("transitions", "") + figs.get("shift", "") + "</div>")
    elif d.a and d.b:
        out.append(f"<p>No label changed between v{d.a['seq']} and v{d.b['seq']}.</p>")
    else:
        out.append("<p>Nothing to compare: the transition heatmap and class shift need two versions.</p>")
    out.append("</section>")
    out.append(_batches(d, figs))
    out.append(_changed(d))
    out.append(f'<section id="{_anchor(d.name, "quality")}"><h2>{_e(d.name)}: quality</h2>')
    if figs.get("quality"):
        out.append(figs["quality"])
    else:
        out.append(
            "<p>No stored check, drift or audit results: run <code>dslineage check NAME@latest</code> "
            "or <code>dslineage audit NAME@latest</code> to record them.</p>"
        )
    out.append("</section>")
    out.append(f'<section id="{_anchor(d.name, "eval")}"><h2>{_e(d.name)}: model evaluation</h2>')
    if figs.get("eval") or figs.get("recall"):
        out.append('<div class="grid">' + figs.get("eval", "") + figs.get("recall", "") + "</div>")
    else:
        out.append(f"<p>{_e(d.notes.get('eval', 'No eval results.'))}</p>")
    out.append("</section>")
    return "".join(out)


def _made_by(p: m.VersionPoint, by_id: dict[str, m.Batch]) -> str:
    """The batches a version carries: their authors, the reverted ones marked."""
    if len(p.batches) > 3:
        return f"{len(p.batches)} batches" + (f", {p.reverted_batches} reverted" if p.reverted_batches else "")
    parts = []
    for bid in p.batches:
        b = by_id.get(bid)
        if b is not None:
            parts.append(f"{short_author(b.author)} {bid[:8]}" + (" (reverted)" if b.reverted else ""))
    return ", ".join(parts)


def _n(x: int | None) -> str:
    return "?" if x is None else f"{x:,}"


def _batches(d: m.DatasetReport, figs: dict[str, str]) -> str:
    out = [f'<section id="{_anchor(d.name, "batches")}"><h2>{_e(d.name)}: batches and annotators</h2>']
    if not d.batches:
        out.append(
            "<p>No edit batches: labels changed only through plain commits "
            "(<code>dslineage relabel</code> records who changed what).</p></section>"
        )
        return "".join(out)
    if d.agreement:
        alpha = d.agreement.get("krippendorff_alpha")
        extra = ", ".join(
            f"{k.replace('_', ' ')} {v:.3f}" if isinstance(v, float) else f"{k.replace('_', ' ')} {v:,}"
            for k, v in d.agreement.items()
            if k not in ("krippendorff_alpha", "seq") and isinstance(v, int | float)
        )
        out.append(
            f"<p>Annotator agreement (audit of v{_e(d.agreement.get('seq'))}): Krippendorff's alpha "
            f"<b>{_e(f'{alpha:.3f}' if isinstance(alpha, float) else alpha)}</b>"
            + (f"; {_e(extra)}" if extra else "")
            + ".</p>"
        )
    else:
        out.append(
            "<p>No annotator agreement recorded (<code>dslineage audit</code> computes it where rows carry "
            "several annotators' labels).</p>"
        )
    out.append('<div class="grid">' + figs.get("batches", "") + figs.get("annotators", "") + "</div>")
    table = _anchor(d.name, "changed-table")
    out.append(
        '<h3>Batch list</h3><div class="scroll"><table><thead><tr><th>batch</th><th class="num">version</th>'
        '<th>author</th><th>annotators</th><th class="num">rows</th><th>state</th><th>reason</th></tr>'
        "</thead><tbody>"
    )
    for b in reversed(d.batches):
        state = "reverted" if b.reverted else b.state
        who = ", ".join(f"{k or '—'} ({v:,})" for k, v in list(b.annotators.items())[:4])
        out.append(
            f'<tr class="{"reverted" if b.reverted else ""}"><td><button class="link" title="show its rows" '
            f"onclick=\"dslBatch('{table}','{b.id[:12]}')\">{_e(b.id[:12])}</button>"
            + (" (revert)" if b.reverts else "")
            + f'</td><td class="num">{_e(f"v{b.seq}" if b.seq else "-")}</td>'
            f'<td>{_e(short_author(b.author))}</td><td>{_e(who)}</td><td class="num">{b.rows:,}</td>'
            f'<td><span class="badge {state}">{_e(state)}</span></td><td>{_e(b.reason)}</td></tr>'
        )
    out.append("</tbody></table></div></section>")
    return "".join(out)


def _changed(d: m.DatasetReport) -> str:
    table = _anchor(d.name, "changed-table")
    out = [f'<section id="{_anchor(d.name, "rows")}"><h2>{_e(d.name)}: changed rows</h2>']
    if not d.changed_rows:
        out.append("<p>No edited rows between the versions compared.</p></section>")
        return "".join(out)
    out.append(_notes(d.notes, "changed_rows"))
    out.append(
        f'<label>Search (key, label, batch, annotator): <input type="search" data-table="{table}" '
        f'oninput="dslFilter(this)" placeholder="e.g. cat or a batch id"></label> '
        f'<span id="{table}-count">{len(d.changed_rows):,} shown</span>'
    )
    out.append(
        f'<div class="scroll"><table id="{table}"><thead><tr><th>key</th><th>old</th><th>new</th>'
        '<th class="num">version</th><th>batch</th><th>annotator</th><th class="hide-narrow">reason</th>'
        "</tr></thead><tbody>"
    )
    for r in d.changed_rows:
        out.append(
            f'<tr class="{"reverted" if r.reverted else ""}"><td>{_e(r.key)}</td><td>{_e(r.old)}</td>'
            f'<td>{_e(r.new)}</td><td class="num">{_e(f"v{r.seq}" if r.seq else "")}</td>'
            f"<td>{_e(r.batch[:12])}{' (reverted)' if r.reverted else ''}</td><td>{_e(r.annotator)}</td>"
            f'<td class="hide-narrow">{_e(r.reason)}</td></tr>'
        )
    out.append("</tbody></table></div></section>")
    return "".join(out)


def render(r: m.Report, charts: list[Chart]) -> str:
    """The whole page."""
    figs: dict[str | None, dict[str, str]] = {}
    for c in charts:
        figs.setdefault(c.dataset, {})[c.name] = _figure(c)
    nav = []
    body = []
    for d in r.datasets:
        for part, label in (
            ("versions", "versions"),
            ("labels", "label changes"),
            ("batches", "batches"),
            ("rows", "changed rows"),
            ("quality", "quality"),
            ("eval", "evaluation"),
        ):
            nav.append(f'<a href="#{_anchor(d.name, part)}">{_e(d.name)}: {label}</a>')
        body.append(_dataset(d, figs.get(d.name, {})))
    nav.append('<a href="#lineage">lineage</a>')
    body.append('<section id="lineage"><h2>Lineage</h2>' + _notes(r.notes, "lineage"))
    body.append(figs.get(None, {}).get("lineage", "<p>No lineage recorded yet.</p>") + "</section>")
    notes = _notes(r.notes, "datasets")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{_e(r.title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{_e(r.title)}</h1><p>Repository {_e(r.repository)} · generated {_e(r.generated[:19])} UTC "
        "by dslineage report · self-contained: no network needed</p></header>"
        f"<nav>{''.join(nav)}</nav><main>{notes}{''.join(body)}</main><script>{SCRIPT}</script></body></html>\n"
    )
