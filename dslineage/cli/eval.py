"""`dslineage eval NAME --predictions FILE [--versions A..B | v1,v3,latest]`."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Optional

import typer

from dslineage.cli import _remote
from dslineage.cli._shared import JsonOpt, abspath, forward, note, out, repo, table
from dslineage.cli.app import app
from dslineage.cli.check import NoRecordOpt


@app.command("eval")
def eval_(
    ref: Annotated[str, typer.Argument(metavar="NAME[@REF]", help="Dataset (NAME@REF: that one version).")],
    predictions: Annotated[
        str,
        typer.Option(
            "--predictions",
            "-p",
            metavar="FILE",
            help="Fixed model predictions: key + one probability column per class, or key + predicted label + "
            "`confidence` (.csv, .parquet, .jsonl).",
        ),
    ],
    versions: Annotated[
        Optional[str],
        typer.Option(
            "--versions",
            help="A..B (B and its ancestors back to A) or v1,v3,latest; default: every version of the current chain.",
        ),
    ] = None,
    group: Annotated[Optional[str], typer.Option("--group", help="Error rate per value of this column.")] = None,
    classes: Annotated[
        Optional[str],
        typer.Option("--classes", metavar="C1,C2", help="Report these classes only (averages cover all)."),
    ] = None,
    column: Annotated[Optional[str], typer.Option("--column", help="The label column (several label columns).")] = None,
    no_record: NoRecordOpt = False,
    fetch: _remote.FetchOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Score fixed predictions under each label version: accuracy, per-class precision/recall/F1,
    calibration (ECE), error rate per subgroup, rows whose correctness flipped.

    Results are stored with each version (`dslineage show NAME@vN` lists them).

    Example: dslineage eval cifar --predictions pred_probs.csv --versions v1..latest --classes cat,dog
    """
    wanted = [c.strip() for c in classes.split(",") if c.strip()] if classes else None
    r = repo()
    result = r.eval(
        ref,
        predictions=abspath(predictions),
        classes=wanted,
        record=not no_record,
        **forward(locals(), "versions group column fetch"),
    )
    data = dataclasses.asdict(result)
    if json_out:
        _remote.emit(r, data, True)
        return
    show_eval(data)
    if not no_record:
        note(f"results stored with {len(data['versions'])} version(s) of {data['dataset']}")
    _remote.emit(r, None, False)


def _f(x: Any) -> str:
    return "-" if x is None else f"{x:.4f}"


def show_eval(r: dict[str, Any]) -> None:
    """One summary row per version, then the per-class and subgroup tables of the last one."""
    t = table(
        "version",
        "accuracy",
        "macro F1",
        "ECE",
        "right→wrong",
        "wrong→right",
        title=f"{r['dataset']}: predictions {r['predictions_md5'][:8]}",
    )
    for v in r["versions"]:
        f = v["flips"]
        t.add_row(
            f"v{v['seq']}",
            _f(v["accuracy"]),
            _f(v["macro_f1"]),
            _f(v["ece"]),
            "-" if f["to_wrong"] is None else f["to_wrong"],
            "-" if f["to_right"] is None else f["to_right"],
        )
    out.print(t)
    last = r["versions"][-1]
    t = table("class", "precision", "recall", "F1", "support", title=f"per class (v{last['seq']})")
    for c in last["per_class"]:
        t.add_row(c["label"], _f(c["precision"]), _f(c["recall"]), _f(c["f1"]), c["support"])
    out.print(t)
    if last["per_group"]:
        t = table("group", "value", "error rate", "rows", title=f"per subgroup (v{last['seq']})")
        for g in last["per_group"][:30]:
            t.add_row(g["group"], g["value"], _f(g["error_rate"]), g["rows"])
        out.print(t)
