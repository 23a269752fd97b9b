"""Lineage: pipeline stages run through DVC, recorded transformations, experiments, reproduction
and the lineage graph.

A mixin of `dslineage.Repo` (`dslineage/repo.py`); the methods are Repo's, typed `self: Repo`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dslineage.model_base import options
from dslineage.model_exp import ExpRecordOptions, ReproduceOptions, RunOptions, SyncOptions
from dslineage.model_lineage import LineageOptions

if TYPE_CHECKING:
    from dslineage.model_exp import (
        Experiment,
        ExperimentDiff,
        ExperimentRecorded,
        ExperimentSummary,
        Reproduction,
        StageRun,
        StageUpToDate,
        SyncResult,
    )
    from dslineage.model_lineage import Lineage
    from dslineage.repo import Repo


class LineageMixin:
    """Pipelines, experiments, reproduction and the lineage graph."""

    def run(
        self: Repo,
        stage: str,
        command: list[str],
        *,
        deps: list[str] | None = None,
        outs: list[str] | None = None,
        params: list[str] | None = None,
        metrics: list[str] | None = None,
        keys: list[str] | None = None,
        labels: list[str] | None = None,
        message: str | None = None,
        author: str | None = None,
        force: bool = False,
    ) -> StageRun | StageUpToDate:
        """Define (or update) a DVC stage, run it through DVC and record the transformation.

        `deps`, `outs`, `params`, `metrics` as `dvc stage add` takes them (an empty `command`
        re-runs the stage as defined); `keys`/`labels` ("[OUT=]COL") register new outputs;
        `message`, `author` for the record; `force` runs an up-to-date stage anyway.
        """
        opts = options(RunOptions, locals())
        from dslineage.ops.run import run

        return run(self, stage, command, opts)

    def sync(self: Repo, *, author: str | None = None, all_commits: bool = False) -> SyncResult:
        """Record the `dvc.lock` stage states no transformation records yet (idempotent); with
        `all_commits`, also those in dvc.lock's git history."""
        opts = options(SyncOptions, locals())
        from dslineage.ops.sync import sync

        return sync(self, opts)

    def exp_record(
        self: Repo,
        name: str,
        *,
        data: list[str] | None = None,
        params: str | None = None,
        metrics: str | None = None,
        message: str | None = None,
        author: str | None = None,
    ) -> ExperimentRecorded:
        """Record an experiment: dataset versions, code commit, params, metrics, pipeline.

        `data` (NAME@REF refs; default: every dataset at its working version), `params` (file;
        default `params.yaml`), `metrics` (file; default: the metrics files `dvc.yaml` declares),
        `message`, `author`.
        """
        opts = options(ExpRecordOptions, locals())
        from dslineage.ops.exp import record

        return record(self, name, opts)

    def exp_list(self: Repo) -> list[ExperimentSummary]:
        """Experiments, newest first."""
        from dslineage.ops.exp import list_experiments

        return list_experiments(self)

    def exp_show(self: Repo, name: str) -> Experiment:
        """One experiment record (by name: its newest record; or by id prefix)."""
        from dslineage.ops.exp import show

        return show(self, name)

    def exp_diff(self: Repo, a: str, b: str) -> ExperimentDiff:
        """Datasets (with row-level counts), params and metrics that differ between two experiments."""
        from dslineage.ops.exp import diff

        return diff(self, a, b)

    def reproduce(
        self: Repo, experiment: str, *, into: str | None = None, rerun: bool = False, force: bool = False
    ) -> Reproduction:
        """Materialize (and verify) an experiment's data: in place, or under `into`; `rerun`
        re-runs its pipeline; `force` overwrites uncommitted changes (or a non-empty `into`)."""
        opts = options(ReproduceOptions, locals())
        from dslineage.ops.reproduce import reproduce

        return reproduce(self, experiment, opts)

    def lineage(
        self: Repo,
        node: str | None = None,
        *,
        direction: str = "both",
        depth: int | None = None,
        openlineage: bool = False,
        namespace: str | None = None,
        expand: bool = False,
    ) -> Lineage:
        """The lineage subgraph around a node (None: the whole graph): root, nodes, edges, chains."""
        opts = options(LineageOptions, locals())
        from dslineage.ops.lineage import lineage

        return lineage(self, node, opts)
