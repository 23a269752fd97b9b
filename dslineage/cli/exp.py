"""`dslineage exp record|list|show|diff`: experiments (a Typer sub-app)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from dslineage.cli._shared import (
    JsonOpt,
    abspath,
    as_columns,
    emit_json,
    fields,
    note,
    out,
    repo,
    short,
    table,
    when,
    who,
)
from dslineage.cli.app import app

exp_app = typer.Typer(
    help="Record, list, show and compare experiments (dataset versions, code, params, metrics).\n\n"
    "Example: dslineage exp record baseline --metrics metrics.json",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(exp_app, name="exp")


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _text(value: Any) -> str:
    from dslineage.ops.exp import dumps

    return dumps(value)


@exp_app.command("record")
def record(
    name: Annotated[
        str, typer.Argument(metavar="EXPERIMENT", help="Experiment name (recording it again records a new run).")
    ],
    data: Annotated[
        list[str], typer.Option("--data", help="NAME@REF to record (repeat; default: every dataset as it is now).")
    ] = [],  # noqa: B006
    params: Annotated[Optional[str], typer.Option("--params", help="Params file (default: params.yaml).")] = None,
    metrics: Annotated[Optional[str], typer.Option("--metrics", help="Metrics file (JSON or YAML).")] = None,
    message: Annotated[Optional[str], typer.Option("-m", "--message", help="A note about the experiment.")] = None,
    author: Annotated[Optional[str], typer.Option("--author", help="Who ran it (default: git identity).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Record an experiment: dataset versions, git commit, params, metrics, dvc.lock state.

    Example: dslineage exp record baseline --metrics metrics.json
    """
    r = repo().exp_record(
        name,
        data=data or None,
        params=abspath(params) if params else None,
        metrics=abspath(metrics) if metrics else None,
        message=message,
        author=author,
    )
    if json_out:
        emit_json(r)
        return
    for w in r.warnings:
        note(f"warning: {w}")
    out.print(f"experiment {r.name} recorded as {short(r.id)} at code {short(r.git_commit)}", markup=False)
    for d in r.datasets:
        out.print(f"  {d.name}@v{d.seq}  {short(d.version)}", markup=False)
    if r.code_dirty:
        note(
            f"warning: uncommitted changes in {', '.join(r.code_dirty[:5])}: commit them so "
            "`dslineage reproduce --rerun` can re-run this code"
        )


@exp_app.command("list")
def list_(json_out: JsonOpt = False) -> None:
    """List experiment runs, newest first.

    Example: dslineage exp list
    """
    from dslineage.ops.exp import flatten

    rows = repo().exp_list()
    if json_out:
        emit_json(rows)
        return
    t = table("name", "id", "time (UTC)", "author", "code", "datasets", "metrics")
    for e in rows:
        metrics = ", ".join(f"{k}={_text(v)}" for k, v in list(flatten(e.metrics).items())[:4])
        t.add_row(e.name, short(e.id), when(e.timestamp), who(e.author), short(e.git_commit), str(e.datasets), metrics)
    out.print(t)


@exp_app.command("show")
def show(
    name: Annotated[str, typer.Argument(metavar="EXPERIMENT", help="Experiment name (its newest run) or id prefix.")],
    json_out: JsonOpt = False,
) -> None:
    """Show one experiment run: datasets, code commit, params, metrics, pipeline.

    Example: dslineage exp show baseline
    """
    e = repo().exp_show(name)
    if json_out:
        emit_json(e)
        return
    out.print(f"[bold]experiment {e.name}[/bold]  {e.id}  (run {e.runs} of {e.runs})")
    out.print(
        fields(
            [("time", e.timestamp), ("author", e.author), ("git commit", e.git_commit), ("message", e.message or "-")]
        )
    )
    t = table("dataset", "version", "id", "md5", title="datasets")
    for d in e.datasets:
        t.add_row(d.name, f"v{d.seq}", short(d.version), d.md5)
    out.print(t)
    from dslineage.ops.exp import flatten

    for key, values, file in (("params", e.params, e.params_file), ("metrics", e.metrics, e.metrics_file)):
        if values:  # one column per (dotted) name, like `dvc exp show`
            flat = {k: _text(v) for k, v in flatten(values).items()}
            out.print(as_columns(flat, title=f"{key} ({file})"))
    if e.pipeline:
        t = table("stage", "transformation", "outputs", title="pipeline (dvc.lock)")
        for stage, st in e.pipeline.items():
            state = st if isinstance(st, dict) else {}
            outs = state.get("outs")
            t.add_row(
                stage, short(_opt_str(state.get("transformation"))), ", ".join(outs if isinstance(outs, dict) else {})
            )
        out.print(t)


@exp_app.command("diff")
def diff(
    a: Annotated[str, typer.Argument(metavar="EXP_A", help="First experiment.")],
    b: Annotated[str, typer.Argument(metavar="EXP_B", help="Second experiment.")],
    json_out: JsonOpt = False,
) -> None:
    """Compare two experiments: datasets whose versions differ (row-level counts), params, metrics.

    Example: dslineage exp diff baseline cleaned-labels
    """
    d = repo().exp_diff(a, b)
    if json_out:
        emit_json(d)
        return
    out.print(f"[bold]{d.a.name} → {d.b.name}[/bold]")
    if d.code_changed:
        out.print(f"  code {short(d.a.git_commit)} → {short(d.b.git_commit)}", markup=False)
    t = table("dataset", "A", "B", "added", "removed", "modified", "relabeled", title="datasets")
    for ds in d.datasets:
        r = ds.rows or {}
        t.add_row(
            ds.name,
            f"v{ds.a.seq}" if ds.a else "-",
            f"v{ds.b.seq}" if ds.b else "-",
            *(str(r.get(k, "?")) for k in ("added", "removed", "modified", "relabeled")),
        )
    if d.datasets:
        out.print(t)
    else:
        out.print("  same dataset versions")
    for key, changes in (("params", d.params), ("metrics", d.metrics)):
        if changes:
            t = table("name", "A", "B", title=key)
            for c in changes:
                t.add_row(c.key, _text(c.a), _text(c.b))
            out.print(t)
