"""`dslineage check NAME[@REF]`: run the data-quality rules; exit 3 when one fails."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from dslineage.cli import _remote
from dslineage.cli._shared import AgainstOpt, JsonOpt, NoRecordOpt, note, out, repo, table
from dslineage.cli.app import app
from dslineage.errors import EXIT_GATE

if TYPE_CHECKING:
    from dslineage.model_quality import AuditResult, CheckResult


@app.command()
def check(
    ref: Annotated[str, typer.Argument(metavar="NAME[@REF]", help="NAME (the working file) or NAME@REF (a version).")],
    no_record: NoRecordOpt = False,
    against: AgainstOpt = None,
    fetch: _remote.FetchOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Run the rules in .dslineage/checks.yaml; exit 3 when any fails (for CI).

    Results of a committed version are stored with it (see `dslineage show`).

    Example: dslineage check train            (the working file, before commit)
    Example: dslineage check train@latest --json
    """
    r = repo()
    result = r.check(ref, record=not no_record, against=against, fetch=fetch)
    if not json_out:
        show_check(result)
    _remote.emit(r, result, json_out)
    if not result.passed:
        raise typer.Exit(EXIT_GATE)


def target_name(r: CheckResult | AuditResult) -> str:
    """`train@v3` or `train (working file)`."""
    return f"{r.dataset} (working file)" if r.workdir else f"{r.dataset}@v{r.seq}"


def show_check(r: CheckResult) -> None:
    """Render check results as a table of passed/failed rules."""
    from dslineage.quality import fmt

    failed = sum(not x.passed for x in r.results)
    title = f"{target_name(r)}: {len(r.results) - failed} passed, {failed} failed"
    t = table("rule", "column", "value", "threshold", "result", "detail", title=title)
    for x in r.results:
        rule = f"{x.rule} ({x.statistic})" if x.statistic else x.rule
        t.add_row(
            rule, x.column or "", fmt(x.value), fmt(x.threshold), "passed" if x.passed else "FAILED", x.detail or ""
        )
    out.print(t)
    if r.baseline:
        b = r.baseline
        note(f"drift compared with {b.dataset}@v{b.seq} ({b.chosen})")
    if r.not_stored:
        note(f"results not stored: {r.not_stored}")
    if r.stored:
        note(f"results {'stored' if r.new_record else 'already stored'} with {target_name(r)}")
