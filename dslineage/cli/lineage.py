"""`dslineage lineage [NODE] [--upstream|--downstream] [--depth N] [--expand] [--format ...]`."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from dslineage.cli._shared import JsonOpt, emit_json, note, repo
from dslineage.cli.app import app
from dslineage.errors import UsageError

_FORMATS = ("tree", "json", "dot", "mermaid", "openlineage")


@app.command()
def lineage(
    node: Annotated[
        Optional[str],
        typer.Argument(
            help="NAME@REF, exp:NAME, stage:NAME, batch:ID, a path (a stage's input or output), "
            "an experiment/stage name or id prefix; none: the whole graph.",
            show_default=False,
        ),
    ] = None,
    upstream: Annotated[bool, typer.Option("--upstream", help="Only what NODE came from.")] = False,
    downstream: Annotated[bool, typer.Option("--downstream", help="Only what came from NODE.")] = False,
    depth: Annotated[Optional[int], typer.Option("--depth", min=0, help="At most N steps away.")] = None,
    expand: Annotated[
        bool, typer.Option("--expand", help="Draw every version of a straight chain (default: one line per chain).")
    ] = False,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="tree, json, dot, mermaid or openlineage (NDJSON RunEvents).")
    ] = "tree",
    namespace: Annotated[
        Optional[str], typer.Option("--namespace", help="OpenLineage namespace (default: dslineage://REPO).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Show where a dataset version, batch, stage output or experiment came from and what used it.

    Without NODE: the whole graph (every stage with its inputs and outputs, like `dvc dag`).

    Example: dslineage lineage train@v3 --downstream --format mermaid
    """
    if upstream and downstream:
        raise UsageError("--upstream and --downstream exclude each other: omit both for both directions")
    if fmt not in _FORMATS:
        raise UsageError(f"unknown --format {fmt!r}: use one of {', '.join(_FORMATS)}")
    direction = "upstream" if upstream else "downstream" if downstream else "both"
    result = repo().lineage(
        node, direction=direction, depth=depth, openlineage=fmt == "openlineage", namespace=namespace, expand=expand
    )
    for w in result.warnings:
        note(f"warning: {w}")
    if json_out or fmt == "json":
        emit_json(result)
        return
    if fmt == "openlineage":
        from dslineage.ops.lineage_openlineage import ndjson

        sys.stdout.write(ndjson(result.events or []))
        return
    from dslineage.ops.lineage import render

    sys.stdout.write(render(result, fmt))
