"""`dslineage run -n STAGE -d DEP -o OUT [-M METRICS] [-p PARAM] -- COMMAND ARGS...`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dslineage.cli._shared import JsonOpt, abspath, note, out, render, repo, short
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model_base import JsonValue
    from dslineage.model_exp import StageRun, StageUpToDate


def _spec(spec: str, outs: list[str]) -> str:
    """`OUT=COLS` with OUT made absolute when it names an output as given to -o."""
    target, sep, cols = spec.rpartition("=")
    return f"{abspath(target)}={cols}" if sep and target in outs else spec


@app.command(context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})
def run(
    stage: Annotated[str, typer.Option("-n", "--name", help="Stage name in dvc.yaml.", metavar="STAGE")],
    command: Annotated[
        Optional[list[str]], typer.Argument(help="The command, after `--` (none: run the stage as defined).")
    ] = None,
    deps: Annotated[list[str], typer.Option("-d", "--deps", help="An input (repeat).", metavar="DEP")] = [],  # noqa: B006
    outs: Annotated[list[str], typer.Option("-o", "--outs", help="An output (repeat).", metavar="OUT")] = [],  # noqa: B006
    metrics: Annotated[
        list[str],
        typer.Option(
            "-M", "--metrics", help="A metrics file the command writes (uncached, as DVC's -M; repeat).", metavar="FILE"
        ),
    ] = [],  # noqa: B006
    params: Annotated[
        list[str], typer.Option("-p", "--params", help="Params used: [FILE:]KEY[,KEY] (repeat).", metavar="PARAM")
    ] = [],  # noqa: B006
    keys: Annotated[
        list[str], typer.Option("--key", help="Key column(s) of a new dataset output: [OUT=]COL[,COL].")
    ] = [],  # noqa: B006
    labels: Annotated[
        list[str], typer.Option("--label", help="Label column of a new dataset output: [OUT=]COL (repeat).")
    ] = [],  # noqa: B006
    message: Annotated[Optional[str], typer.Option("-m", "--message", help="Git commit message.")] = None,
    author: Annotated[Optional[str], typer.Option("--author", help="Who ran it (default: git identity).")] = None,
    force: Annotated[bool, typer.Option("-f", "--force", help="Run even if DVC finds the stage up to date.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Define a DVC stage, run it through DVC and record it as a transformation.

    The stage's command prints to stderr; stdout carries the result. A failing command
    records nothing and exits with the command's own status.

    Example: dslineage run -n prep -d data/raw.parquet -d prep.py -o data/clean.parquet -p thr -- python prep.py
    """
    given = list(outs)
    result = repo().run(
        stage,
        list(command or []),
        deps=[d if "://" in d else abspath(d) for d in deps],
        outs=[abspath(o) for o in outs],
        metrics=[abspath(m) for m in metrics],
        params=params,
        keys=[_spec(k, given) for k in keys],
        labels=[_spec(lb, given) for lb in labels],
        message=message,
        author=author,
        force=force,
    )
    render(result, json_out, show_run)


def show_run(r: StageRun | StageUpToDate) -> None:
    """Render what a run recorded."""
    from dslineage.model_exp import StageUpToDate

    if isinstance(r, StageUpToDate):
        note(f"stage {r.stage} is up to date: nothing ran, nothing recorded (pass --force to run it)")
        return
    out.print(f"stage {r.stage} → transformation {short(r.transformation)}", markup=False)
    for t in r.tracked:
        how = "key inherited from an input" if t.inherited else "key given"
        out.print(f"  now tracking {t.dataset} ({t.path}; key {', '.join(t.key)}; {how})", markup=False)
    show_io(r.inputs, r.outputs)
    if r.code_dirty:
        note(
            f"warning: uncommitted changes in {', '.join(r.code_dirty)}: the code commit "
            f"{short(r.code_commit)} does not hold the code that ran"
        )


def show_io(inputs: list[dict[str, JsonValue]], outputs: list[dict[str, JsonValue]]) -> None:
    """Render a transformation's inputs and outputs, one line each."""
    for arrow, items in (("in ", inputs), ("out", outputs)):
        for i in items:
            what = f"{i['dataset']}@v{i['seq']}" if i.get("version") else f"md5 {str(i['md5'])[:10]}"
            out.print(f"  {arrow} {i['path']}  {what}", markup=False)
