"""`dslineage track PATH --key ... --label ...`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dslineage.cli._shared import JsonOpt, abspath, note, option, render, repo
from dslineage.cli.app import app

if TYPE_CHECKING:
    from dslineage.model_ops import TrackResult

Columns = list[str]  # a repeatable column option
# The column-role options: each a list of columns (repeatable, or comma-separated).
FeatureOpt = Annotated[Optional[Columns], option("--feature", help="Feature column(s) for audit (default: the rest).")]
PredictionOpt = Annotated[
    Optional[Columns], option("--prediction", help="Model prediction column(s): never a feature.")
]
GroupOpt = Annotated[Optional[Columns], option("--group", help="Subgroup column(s): audit compares label shares.")]
IgnoreOpt = Annotated[Optional[Columns], option("--ignore", help="Column(s) that are neither features nor drift.")]


def _split(values: list[str]) -> list[str]:
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


@app.command()
def track(
    path: Annotated[str, typer.Argument(help="Dataset file (or directory of parquet files) inside the repository.")],
    key: Annotated[list[str], typer.Option("--key", "-k", help="Key column(s): COL[,COL...].")],
    label: Annotated[list[str], typer.Option("--label", "-l", help="Label column (repeatable).")],
    name: Annotated[Optional[str], typer.Option("--name", help="Dataset name (default: file stem).")] = None,
    format: Annotated[
        Optional[str], option("--format", help="parquet, csv, tsv or jsonl (default: by suffix).")
    ] = None,
    labels_allowed: Annotated[Optional[str], option("--labels-allowed", help="Comma-separated allowed labels.")] = None,
    feature: FeatureOpt = None,
    prediction: PredictionOpt = None,
    group: GroupOpt = None,
    ignore: IgnoreOpt = None,
    label_pair: Annotated[
        Optional[list[str]],
        typer.Option(
            "--label-pair", help="A=B: label columns that map one-to-one (checked; an edit of one fills the other)."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Register a dataset file: its key and label columns (keys must be unique, non-null).

    A file that DVC already tracks has its earlier versions imported from git history.
    Column roles (--feature, --prediction, --group, --ignore) are stored in the
    registration; tracking a dataset again updates them.

    A directory of parquet files is one dataset (hive-style `col=value/` folders read as
    columns; keys unique across all files), which DVC snapshots as a directory output:
    commit, diff, relabel and checkout then read and write only the files that changed.

    Example: dslineage track data/train.parquet --key id --label label

    Example: dslineage track data/captions --key id --label label

    Example: dslineage track data/cifar10.csv --key id --label label --prediction predicted_label

    Example: dslineage track data/cifar10.csv --key id --label label --label label_name --label-pair label=label_name
    """
    allowed = _split([labels_allowed]) if labels_allowed else None
    roles = {
        role: _split(cols)
        for role, cols in (("features", feature), ("predictions", prediction), ("groups", group), ("ignore", ignore))
        if cols
    }
    result = repo().track(
        abspath(path),
        _split(key),
        _split(label),
        name=name,
        format=format,
        labels_allowed=allowed,
        roles=roles,
        label_pairs=label_pair,
    )
    render(result, json_out, show_track)


def show_track(result: TrackResult) -> None:
    """Render the result of track."""
    note(
        f"tracking {result.dataset} ({result.path}, {result.format}; "
        f"key {', '.join(result.key)}; label {', '.join(result.labels)})"
    )
    roles = "; ".join(f"{role} {', '.join(cols)}" for role, cols in result.roles.items() if cols)
    if roles:
        note(f"column roles: {roles}")
    if result.label_pairs:
        note("label pairs (one-to-one): " + ", ".join(f"{a}={b}" for a, b in result.label_pairs))
    if result.imported_versions:
        note(f"imported {len(result.imported_versions)} earlier version(s) from git history")
    if result.missing_objects:
        note(
            f"{len(result.missing_objects)} earlier version(s) have no DVC cache object "
            f"({', '.join(m[:10] for m in result.missing_objects)}): their row changes are unknown"
        )
