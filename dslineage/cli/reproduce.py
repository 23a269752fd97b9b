"""`dslineage reproduce EXP [--into DIR] [--rerun] [--force]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dslineage.cli._shared import JsonOpt, abspath, emit_json, flag, option, out, repo, short
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model_exp import Reproduction


@app.command()
def reproduce(
    experiment: Annotated[str, typer.Argument(help="Experiment name (its newest run) or id prefix.")],
    into: Annotated[
        Optional[str], option("--into", help="Directory to write the data to (default: the working tree).")
    ] = None,
    rerun: Annotated[
        bool, flag("--rerun", "Also re-run the pipeline at the experiment's commit and compare hashes.")
    ] = False,
    force: Annotated[
        bool, flag("--force", "Overwrite uncommitted working files or a non-empty --into directory.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Get back the exact dataset versions an experiment used, verified by md5.

    Missing cache objects are fetched from the DVC remote (only those). With --rerun the
    pipeline runs again in a temporary git worktree; the exit status is 1 when an output
    differs.

    Example: dslineage reproduce baseline --into /tmp/baseline --rerun
    """
    r = repo().reproduce(experiment, into=abspath(into) if into else None, rerun=rerun, force=force)
    if json_out:
        emit_json(r)
    else:
        show_reproduce(r)
    if not r.verified or (r.rerun is not None and not r.rerun.identical):
        raise typer.Exit(1)


def show_reproduce(r: Reproduction) -> None:
    """Render the verification and the re-run comparison."""
    out.print(f"experiment {r.experiment} ({short(r.id)}) → {r.into}", markup=False)
    for d in r.datasets:
        state = "md5 verified" if d.verified else "MD5 MISMATCH"
        fetched = ", fetched from the DVC remote" if d.fetched else ""
        out.print(f"  {d.name}@v{d.seq}  {d.path}  {state}{fetched}", markup=False)
    rr = r.rerun
    if rr is None:
        return
    if rr.identical:
        out.print(
            f"re-run at {short(rr.code_commit)}: reproduced byte-identical ({rr.outputs_checked} outputs)", markup=False
        )
        return
    out.print(
        f"re-run at {short(rr.code_commit)}: {len(rr.differences)} of {rr.outputs_checked} outputs differ", markup=False
    )
    for x in rr.differences:
        line = f"  {x.stage}: {x.path}  {x.recorded_md5[:10]} → {str(x.rerun_md5)[:10]}"
        if x.rows:
            n = x.rows
            line += f"  (+{n['added']} -{n['removed']} ~{n['modified']}, {n['relabeled']} relabeled)"
        out.print(line, markup=False)
