"""`dslineage audit NAME[@REF] [--against OTHER@REF] [--on COLS] [--group COL]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from dslineage.cli import _remote
from dslineage.cli._shared import JsonOpt, NoRecordOpt, forward, note, out, repo, table
from dslineage.cli.app import app
from dslineage.cli.check import target_name

if TYPE_CHECKING:
    from dslineage.model_quality import AuditResult


@app.command()
def audit(
    ref: Annotated[str, typer.Argument(metavar="NAME[@REF]", help="NAME (the working file) or NAME@REF (a version).")],
    against: Annotated[
        Optional[str], typer.Option("--against", help="Look for leakage into OTHER@REF (e.g. test@latest).")
    ] = None,
    on: Annotated[
        Optional[list[str]],
        typer.Option(
            "--on",
            help="Feature columns for duplicates/leakage (comma-separated or repeated; "
            "default: every non-key, non-label column).",
        ),
    ] = None,
    group: Annotated[Optional[str], typer.Option("--group", help="Compare label shares across this column.")] = None,
    min_group_rows: Annotated[
        int, typer.Option("--min-group-rows", min=1, help="Leave smaller subgroups out of the gap.")
    ] = 10,
    examples: Annotated[int, typer.Option("--examples", min=0, max=1000, help="Examples to list per finding.")] = 10,
    no_record: NoRecordOpt = False,
    fetch: _remote.FetchOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Audit a version: conflicting duplicates, leakage, annotator agreement, imbalance, subgroups.

    Example: dslineage audit train@latest --against test@latest --group source
    """
    cols = [c for item in on or [] for c in item.split(",") if c] or None
    r = repo()
    result = r.audit(
        ref, on=cols, record=not no_record, **forward(locals(), "against group min_group_rows examples fetch")
    )
    if not json_out:
        show_audit(result)
    _remote.emit(r, result, json_out)


def show_audit(r: AuditResult) -> None:
    """Render an audit, one short section per finding."""
    from dslineage.quality import fmt

    out.print(f"[bold]audit of {target_name(r)}[/bold]")
    cd = r.conflicting_duplicates
    out.print(
        f"conflicting duplicates on ({', '.join(cd.on) or 'no feature columns'}): "
        f"{cd.groups} groups, {cd.rows} rows"
        + (
            f"  (all duplicates: {cd.duplicate_groups} groups, {cd.duplicate_rows} rows)"
            if cd.duplicate_groups is not None
            else ""
        ),
        markup=False,
    )
    if cd.examples:
        t = table("rows", "keys", "labels")
        examples: list[dict[str, Any]] = cd.examples  # type: ignore[assignment]  # {"rows", "keys", "labels"}
        for e in examples:
            t.add_row(e["rows"], ", ".join(map(str, e["keys"])), _labels(e["labels"]))
        out.print(t)
    lk = r.leakage
    if lk is not None:
        other = lk.against
        name = f"{other.dataset}@v{other.seq}" if other.seq else other.dataset
        out.print(
            f"leakage into {name}: by key {fmt(lk.by_key)} rows, by content on "
            f"({', '.join(lk.on) or '-'}) {fmt(lk.by_content)} rows",
            markup=False,
        )
    ag: dict[str, Any] | None = r.agreement
    if ag is None:
        out.print("annotator agreement: no row was labeled by two annotators in the relabel history", markup=False)
    else:
        out.print(
            f"annotator agreement: {ag['items']} items with several ratings, Krippendorff's alpha "
            f"{fmt(ag['krippendorff_alpha'])}, mean pairwise kappa {fmt(ag['mean_pairwise_kappa'])}, "
            f"{ag['disagreements']['items']} items disputed",
            markup=False,
        )
        t = table("annotator", "items")
        for a in ag["annotators"][:20]:
            t.add_row(a["annotator"], a["items"])
        out.print(t)
        if ag["pairwise_kappa"]:
            t = table("annotator A", "annotator B", "shared items", "agreement", "Cohen's kappa")
            for p in ag["pairwise_kappa"][:20]:
                t.add_row(p["a"], p["b"], p["items"], fmt(p["agreement"]), fmt(p["kappa"]))
            out.print(t)
    im = r.imbalance
    if im is not None:
        shares = ", ".join(f"{k} {v:.1%}" for k, v in sorted(im.shares.items(), key=lambda kv: -kv[1])[:12])
        out.print(f"imbalance ({im.column}): ratio {fmt(im.ratio)}; {shares}", markup=False)
    sg: dict[str, Any] | None = r.subgroups
    if sg is not None:
        if sg["max_gap"] is None:
            out.print(
                f"subgroups by {sg['column']}: fewer than two groups with {sg['min_group_rows']}+ rows", markup=False
            )
        else:
            out.print(
                f"subgroups by {sg['column']}: largest gap {sg['max_gap']:.1%} in class {sg['class']!r} "
                f"({sg['highest']} vs {sg['lowest']}); chi-square p {fmt(sg['chi2_p'])}, "
                f"Cramér's V {fmt(sg['cramers_v'])}",
                markup=False,
            )
    if r.stored:
        note(f"results {'stored' if r.new_record else 'already stored'} with {target_name(r)}")


def _labels(counts: list[dict[str, Any]]) -> str:
    """Label counts of a duplicate group as `cat ×3, dog ×1`."""
    return ", ".join(f"{_label(x['label'])} ×{x['count']}" for x in counts)


def _label(value: Any) -> str:
    """A label (or, for several label columns, `label=3/label_name=cat`) as text."""
    if isinstance(value, dict):
        return "/".join(f"{k}={v}" for k, v in value.items())
    return str(value)
