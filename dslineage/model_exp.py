"""The records of pipeline runs and experiments (`sync`, `run`, `exp`): frozen dataclasses
whose field names, in order, are the keys of their `--json` contracts (see `dslineage.model`,
which re-exports them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dslineage.model_base import JsonValue, Record, _dict_list, _json_dict, _str, _str_list


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

    @classmethod
    def from_record(cls, rec: Mapping[str, object]) -> Transformation:
        """A transformation from its journal record."""
        return cls(
            id=str(rec["id"]),
            stage=str(rec.get("stage")),
            cmd=_str(rec.get("cmd")),
            git_commit=_str(rec.get("git_commit")),
            source=_str(rec.get("source")),
            started=_str(rec.get("started")),
            ended=_str(rec.get("ended")),
            inputs=_dict_list(rec.get("inputs")),
            outputs=_dict_list(rec.get("outputs")),
            params=_json_dict(rec.get("params")),
        )


@dataclass(frozen=True, eq=False)
class ExperimentSummary(Record):
    """One experiment run in the list: an `exp list --json` entry."""

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
        return cls(
            id=str(rec["id"]),
            name=str(rec.get("name")),
            timestamp=str(rec.get("timestamp") or ""),
            author=str(rec.get("author") or ""),
            message=_str(rec.get("message")),
            git_commit=_str(rec.get("git_commit")),
            code_dirty=_str_list(rec.get("code_dirty")),
            datasets=len(used) if isinstance(used, list) else 0,
            metrics=_json_dict(rec.get("metrics")),
        )


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
        return cls(
            author=str(rec.get("author") or ""),
            code_dirty=_str_list(rec.get("code_dirty")),
            datasets=[
                ExperimentDataset(
                    md5=str(d["md5"]),
                    name=str(d["name"]),
                    path=str(d["path"]),
                    seq=int(d["seq"]),
                    version=str(d["version"]),
                )
                for d in (used if isinstance(used, list) else [])
                if isinstance(d, dict)
            ],
            dvc_lock=_str(rec.get("dvc_lock")),
            git_commit=_str(rec.get("git_commit")),
            id=str(rec["id"]),
            message=_str(rec.get("message")),
            metrics=_json_dict(rec.get("metrics")),
            metrics_file=_str(rec.get("metrics_file")),
            name=str(rec.get("name")),
            params=_json_dict(rec.get("params")),
            params_file=_str(rec.get("params_file")),
            pipeline=_json_dict(rec.get("pipeline")),
            timestamp=str(rec.get("timestamp") or ""),
            runs=runs,
        )
