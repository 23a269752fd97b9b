"""The records of pipeline runs, experiments and reproduction (`sync`, `run`, `exp`,
`reproduce`): frozen dataclasses whose field names, in order, are the keys of their `--json`
contracts (see `dslineage.model`, which re-exports the journal's), and the options records
their `Repo` methods hand to their ops.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from dslineage.model_base import OPTIONAL, JsonValue, Record, from_mapping


@dataclass(frozen=True, eq=False)
class Transformation(Record):
    """A recorded pipeline stage run: an entry of `sync --json`'s `transformations`."""

    id: str
    stage: str
    cmd: str | None
    git_commit: str | None
    source: str | None  # "run", "sync" or "sync-history"
    started: str | None
    ended: str | None
    inputs: list[dict[str, JsonValue]]  # {"path", "md5", "dataset", "version", "seq"}
    outputs: list[dict[str, JsonValue]]  # the same, plus "metrics": true on a metrics file
    params: dict[str, JsonValue]


@dataclass(frozen=True, eq=False)
class ExperimentSummary(Record):
    """One experiment run in the list: an `exp list --json` entry (newest first; `datasets`
    counts the versions it used, `exp show` lists them)."""

    id: str
    name: str
    timestamp: str
    author: str
    message: str | None
    git_commit: str | None
    code_dirty: list[str]
    datasets: int  # how many dataset versions it used
    metrics: dict[str, JsonValue]

    @classmethod
    def from_record(cls, rec: Mapping[str, object]) -> ExperimentSummary:
        """A summary of an experiment journal record."""
        used = rec.get("datasets")
        return from_mapping(cls, rec, datasets=len(used) if isinstance(used, list) else 0)


@dataclass(frozen=True, eq=False)
class ExperimentDataset(Record):
    """A dataset version an experiment used (keys in the journal's sorted order)."""

    md5: str
    name: str
    path: str
    seq: int
    version: str


@dataclass(frozen=True, eq=False)
class Experiment(Record):
    """One experiment run in full: an `exp show --json` result (the journal record's keys in
    their stored, sorted order, then `runs`)."""

    author: str
    code_dirty: list[str]
    datasets: list[ExperimentDataset]
    dvc_lock: str | None  # id of the dvc.lock state recorded with it
    git_commit: str | None
    id: str
    message: str | None
    metrics: dict[str, JsonValue]
    metrics_file: str | None
    name: str
    params: dict[str, JsonValue]
    params_file: str | None
    pipeline: dict[str, JsonValue]
    timestamp: str
    runs: int  # how many runs its name has

    @classmethod
    def from_record(cls, rec: Mapping[str, object], *, runs: int) -> Experiment:
        """An experiment from its journal record."""
        used = rec.get("datasets")
        datasets = [from_mapping(ExperimentDataset, d) for d in (used if isinstance(used, list) else [])]
        return from_mapping(cls, rec, datasets=datasets, runs=runs)


# --- run -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """The settings of `Repo.run` (see its docstring)."""

    deps: list[str] | None = None
    outs: list[str] | None = None
    params: list[str] | None = None
    metrics: list[str] | None = None
    keys: list[str] | None = None
    labels: list[str] | None = None
    message: str | None = None
    author: str | None = None
    force: bool = False


@dataclass(frozen=True, eq=False)
class TrackedOutput(Record):
    """A stage output `run` registered as a new dataset: an entry of `run --json`'s `tracked`."""

    dataset: str
    path: str
    key: list[str]
    labels: list[str]
    inherited: bool  # key and labels taken from an input (not given with --key/--label)


@dataclass(frozen=True, eq=False)
class StageRun(Record):
    """A `run --json` result when the stage ran: the transformation it recorded, the inputs and
    outputs (path, md5, dataset version), the versions of output datasets, what it tracked."""

    stage: str
    transformation: str
    cmd: str
    git_commit: str | None  # the commit that recorded it
    code_commit: str | None  # the code it ran
    code_dirty: list[str]
    params: dict[str, JsonValue]
    inputs: list[dict[str, JsonValue]]
    outputs: list[dict[str, JsonValue]]
    versions: list[dict[str, JsonValue]]
    started: str | None
    ended: str | None
    ran: bool = True
    tracked: list[TrackedOutput] = dataclasses.field(default_factory=list)


@dataclass(frozen=True, eq=False)
class StageUpToDate(Record):
    """A `run --json` result when DVC found the stage up to date: nothing ran, nothing recorded."""

    stage: str
    ran: bool  # False
    transformation: None
    cmd: str
    inputs: list[dict[str, JsonValue]]
    outputs: list[dict[str, JsonValue]]
    tracked: list[TrackedOutput]
    versions: list[dict[str, JsonValue]]
    git_commit: None


@dataclass(frozen=True, kw_only=True)
class SyncOptions:
    """The settings of `Repo.sync` (`message`: the git commit's, for callers other than the CLI)."""

    author: str | None = None
    message: str | None = None
    all_commits: bool = False


@dataclass(frozen=True, eq=False)
class SyncResult(Record):
    """A `sync --json` result: the transformations recorded (past states first), the output
    versions recorded with them, and the commit (None: nothing recorded)."""

    transformations: list[Transformation]
    versions: list[dict[str, JsonValue]]
    git_commit: str | None


# --- exp -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ExpRecordOptions:
    """The settings of `Repo.exp_record` (see its docstring)."""

    data: list[str] | None = None
    params: str | None = None
    metrics: str | None = None
    message: str | None = None
    author: str | None = None


@dataclass(frozen=True, eq=False)
class UsedVersion(Record):
    """A dataset version an experiment used, as `exp record` chose it."""

    name: str
    version: str
    seq: int
    md5: str
    path: str


@dataclass(frozen=True, eq=False)
class ExperimentRecorded(Record):
    """An `exp record --json` result: the journal record written (its keys in their written
    order), the commit that holds it, and a warning if dvc.lock could not be synced first."""

    id: str
    timestamp: str
    name: str
    author: str
    message: str
    git_commit: str | None  # the code it ran
    code_dirty: list[str]
    datasets: list[UsedVersion]
    params_file: str | None
    params: dict[str, JsonValue]
    metrics_file: str | None
    metrics: dict[str, JsonValue]
    pipeline: dict[str, JsonValue]
    dvc_lock: str | None
    recorded_commit: str | None
    warnings: list[str]


@dataclass(frozen=True, eq=False)
class ExperimentRef(Record):
    """Which experiment run a side of `exp diff` is."""

    id: str
    name: str
    git_commit: str | None


@dataclass(frozen=True, eq=False)
class VersionRef(Record):
    """A dataset version on one side of `exp diff` (the version record's id, its number in
    the dataset's history, the md5 of its bytes)."""

    version: str
    seq: int
    md5: str


@dataclass(frozen=True, eq=False)
class DatasetChange(Record):
    """A dataset whose version differs between two experiments (None: a side did not use it),
    with row-level counts when both did (or why they could not be computed)."""

    name: str
    a: VersionRef | None
    b: VersionRef | None
    rows: dict[str, JsonValue] | None
    label_transitions: list[dict[str, JsonValue]] | None = dataclasses.field(default=None, metadata=OPTIONAL)
    error: str | None = dataclasses.field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True, eq=False)
class ValueChange(Record):
    """A param or metric whose value differs between two experiments (`key`: nested names
    dotted, as `train.lr`; a side's value None: it has no such key)."""

    key: str
    a: JsonValue
    b: JsonValue


@dataclass(frozen=True, eq=False)
class ExperimentDiff(Record):
    """An `exp diff --json` result."""

    a: ExperimentRef
    b: ExperimentRef
    datasets: list[DatasetChange]
    params: list[ValueChange]
    metrics: list[ValueChange]
    code_changed: bool


# --- reproduce -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReproduceOptions:
    """The settings of `Repo.reproduce` (see its docstring)."""

    into: str | None = None
    rerun: bool = False
    force: bool = False


@dataclass(frozen=True, eq=False)
class ReproducedDataset(Record):
    """A dataset version put in place by `reproduce`, and whether its md5 matched the record."""

    name: str
    version: str
    seq: int
    md5: str
    path: str
    verified: bool
    fetched: bool  # its object came from the DVC remote


@dataclass(frozen=True, eq=False)
class OutputDifference(Record):
    """A stage output whose re-run hash differs from the recorded one (`rows`: row-level counts
    when it is a dataset and both files exist)."""

    stage: str
    path: str
    recorded_md5: str
    rerun_md5: str | None
    dataset: str | None
    rows: dict[str, JsonValue] | None


@dataclass(frozen=True, eq=False)
class Rerun(Record):
    """What `reproduce --rerun` found re-running the pipeline at the experiment's code commit."""

    identical: bool
    differences: list[OutputDifference]
    outputs_checked: int
    stages_run: list[str]
    code_commit: str


@dataclass(frozen=True, eq=False)
class Reproduction(Record):
    """A `reproduce --json` result."""

    experiment: str
    id: str
    git_commit: str | None
    into: str
    datasets: list[ReproducedDataset]
    verified: bool
    rerun: Rerun | None
