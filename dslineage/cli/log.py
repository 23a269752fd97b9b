"""`dslineage log [NAME]` and `dslineage show NAME@REF`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from dslineage.cli._shared import JsonOpt, emit_json, fields, out, render, repo, short, table, when, who
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model import Version, VersionDetail


@app.command()
def log(
    name: Annotated[Optional[str], typer.Argument(help="Dataset (default: all).")] = None, json_out: JsonOpt = False
) -> None:
    """List versions, newest first: message, author, time, rows, label changes.

    Example: dslineage log train
    """
    entries = repo().log(name)
    render(entries, json_out, show_log)


def show_log(entries: list[Version]) -> None:
    """Render versions as a table."""
    t = table("version", "id", "time (UTC)", "author", "rows", "relabeled", "message")
    for e in entries:
        t.add_row(
            f"{e.dataset}@v{e.seq}",
            short(e.id),
            when(e.timestamp),
            who(e.author),
            str(e.rows if e.rows is not None else "?"),
            "?" if e.label_changes is None else str(e.label_changes),
            e.message,
        )
    out.print(t)


@app.command()
def show(
    ref: Annotated[
        str, typer.Argument(metavar="NAME@REF", help="NAME@REF (e.g. train@v3, train@latest~1), or a batch id.")
    ],
    json_out: JsonOpt = False,
) -> None:
    """Show one version: its record, schema and class distribution (or an edit batch and its edits).

    Example: dslineage show train@v2

    Example: dslineage show 3f9a2c1d
    """
    v = repo().show(ref)
    if json_out:
        emit_json(v)
        return
    from dslineage.model_edits import BatchDetail

    if isinstance(v, BatchDetail):  # an edit batch: its record and per-row edits
        from dslineage.cli.batches import show_batch

        show_batch(v)
        return
    show_version(v)


def show_version(v: VersionDetail) -> None:
    """Render one version in detail."""
    out.print(f"[bold]{v.dataset}@v{v.seq}[/bold]  {v.id}")
    out.print(
        fields(
            [
                ("md5", v.md5),
                ("parent", v.parent or "-"),
                ("git commit", v.git_commit or "-"),
                ("author", v.author),
                ("time", v.timestamp),
                ("message", v.message),
                ("rows", v.rows),
                ("tags", ", ".join(v.tags) or "-"),
            ]
        )
    )
    ch = v.changes
    if ch.known:
        out.print(
            f"  {'changes':<11}+{ch.added} -{ch.removed} relabeled {ch.relabeled} modified {ch.modified}", markup=False
        )
    if v.schema:
        t = table("column", "type", title="schema")
        for col in v.schema:
            t.add_row(col.name, col.type)
        out.print(t)
    if v.quality:
        show_quality(v.quality)
    for col_name, dist in (v.class_distribution or {}).items():
        total = sum(d.count for d in dist) or 1
        t = table(col_name, "rows", "share", title=f"class distribution ({col_name})")
        for d in dist:
            t.add_row(str(d.label), str(d.count), f"{d.count / total:.1%}")
        out.print(t)


def show_quality(q: Mapping[str, Any]) -> None:
    """Render the stored check and audit results of a version (quality gates)."""
    from dslineage.quality import fmt

    checks = q.get("checks")
    if checks:
        failed = [r for r in checks["results"] if not r["passed"]]
        when_ = "at commit" if checks.get("at_commit") else f"checked {when(checks.get('timestamp'))}"
        verdict = "passed" if not failed else f"FAILED {len(failed)} of {len(checks['results'])}"
        flag = " — committed with --no-verify" if q.get("no_verify") and failed else ""
        out.print(f"  {'checks':<11}{verdict} ({when_}){flag}", markup=False)
        if failed:
            t = table("rule", "column", "value", "threshold", title="failed checks")
            for r in failed:
                rule = f"{r['rule']} ({r['statistic']})" if r.get("statistic") else r["rule"]
                t.add_row(rule, r.get("column") or "", fmt(r["value"]), fmt(r["threshold"]))
            out.print(t)
    audit = q.get("audit")
    if audit:
        cd, im = audit["conflicting_duplicates"], audit.get("imbalance") or {}
        leak = audit.get("leakage")
        parts = [
            f"{cd['groups']} conflicting duplicate groups ({cd['rows']} rows)",
            f"imbalance ratio {fmt(im.get('ratio'))}",
        ]
        if leak:
            parts.append(f"leakage by key {fmt(leak['by_key'])}, by content {fmt(leak['by_content'])}")
        if audit.get("agreement"):
            parts.append(f"Krippendorff's alpha {fmt(audit['agreement']['krippendorff_alpha'])}")
        if audit.get("subgroups"):
            parts.append(f"largest subgroup gap {fmt(audit['subgroups']['max_gap'])}")
        out.print(f"  {'audit':<11}{when(audit.get('timestamp'))}: " + "; ".join(parts), markup=False)
    for ev in q.get("eval") or []:
        flips = ev.get("flips") or {}
        flipped = (
            f"; since the previous version {flips['to_wrong']} right→wrong, {flips['to_right']} wrong→right"
            if flips.get("to_wrong") is not None
            else ""
        )
        out.print(
            f"  {'eval':<11}{when(ev.get('timestamp'))}: predictions {str(ev.get('predictions_md5'))[:8]}: "
            f"accuracy {fmt(ev['accuracy'])}, macro F1 {fmt(ev['macro_f1'])}, ECE {fmt(ev.get('ece'))}"
            f"{flipped}",
            markup=False,
        )
        if ev.get("ece_per_class"):
            worst = sorted(ev["ece_per_class"].items(), key=lambda kv: -kv[1])[:5]
            out.print(
                f"  {'':<11}class-wise ECE (highest): " + ", ".join(f"{c} {fmt(x)}" for c, x in worst), markup=False
            )
