"""Benchmark parameters (`params.yaml`, section `bench`) and where the pipeline writes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@dataclass
class Params:
    """Everything a benchmark run depends on; defaults are the committed `params.yaml`."""

    seed: int = 42
    sizes: list[int] = field(default_factory=lambda: [1_000_000, 5_000_000])
    runs: int = 3
    relabel_rate: float = 0.01
    add_rate: float = 0.002
    remove_rate: float = 0.002
    history_rows: int = 1_000_000
    history_versions: list[int] = field(default_factory=lambda: [10, 200, 1000])
    history_keys: int = 20
    startup_runs: int = 5
    startup_compare: str = ""  # another dslineage executable timed in the same rounds (before/after)
    storage_fixed_changes: int = 1000
    doltlite_max_rows: int = 5_000_000
    doltlite_history_versions: int = 200
    ops_batch: int = 50_000
    big_rows: int = 0
    reindex_records: int = 20_000  # journal records of the cold-reindex benchmark
    reindex_window: int = 5  # rows each version of that journal relabels
    reindex_old_runs: int = 1  # runs of the record-by-record path (~7 ms a record; 0 skips it)
    big_memory_limit: str = "1GB"
    report_versions: int = 50  # versions of the `history_rows` dataset `dslineage report` draws
    consensus_votes: list[int] = field(default_factory=lambda: [1_000_000])  # votes per `consensus` run
    consensus_methods: list[str] = field(default_factory=lambda: ["majority", "dawid-skene"])
    annotation_rows: int = 1_000_000  # `review` and `eval` (issue 13): rows × 10 classes
    annotation_versions: int = 10  # label versions `eval` scores
    partdiff_rows: int = 1_000_000  # partdiff: rows of the partitioned dataset ...
    partdiff_parts: int = 100  # ... in this many parquet parts ...
    partdiff_changed: int = 2  # ... of which this many change (relabels and moved rows)
    lineage_datasets: int = 100  # lineage graph: datasets x versions, a stage between neighbours (issue 15)
    lineage_versions: int = 100
    scale_rows: int = 100_000_000  # `scale` (issue 16): rows of the partitioned dataset (0 skips the stage)
    scale_parts: int = 100  # ... hive partitions `part=NNN/` (the baseline: the same rows in one file)
    scale_edit_rate: float = 0.001  # ... relabel this share of all rows ...
    scale_edit_parts: int = 2  # ... every one in this many partitions
    scale_runs: int = 3  # ... rounds (median; each round relabels and diffs both layouts)
    scale_remote: bool = True  # ... and the diff of two versions read from a SeaweedFS S3 remote
    out: str = "bench"  # folder for data, work repos, parts and results (relative to root)

    @classmethod
    def load(cls, path: Path | None, **overrides: Any) -> Params:
        """Read the `bench` section of `path` (if it exists), then apply overrides."""
        data: dict[str, Any] = {}
        if path is not None and path.exists():
            import yaml

            data = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("bench", {}) or {}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown bench parameter(s) in {path}: {', '.join(unknown)}")
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """The parameters as plain data (recorded in results.json)."""
        return asdict(self)


@dataclass(frozen=True)
class Layout:
    """Paths the stages read and write, all under one folder (default `bench/`)."""

    base: Path

    @property
    def data(self) -> Path:
        """Generated datasets (a DVC output, never in git)."""
        return self.base / "data"

    @property
    def work(self) -> Path:
        """Scratch repositories built by the stages (gitignored, rebuilt every run)."""
        return self.base / "work"

    @property
    def parts(self) -> Path:
        """One JSON file of measurements per stage."""
        return self.base / "parts"

    @property
    def results(self) -> Path:
        """The merged results (DVC metrics)."""
        return self.base / "results.json"

    @property
    def plot(self) -> Path:
        """Time against rows, dslineage and each peer (DVC plot)."""
        return self.base / "scaling.png"

    def pair(self, rows: int) -> tuple[Path, Path]:
        """The two generated versions (v1, v2) of the dataset with `rows` rows."""
        folder = self.data / f"n{rows}"
        return folder / "v1.parquet", folder / "v2.parquet"

    def part(self, stage: str) -> Path:
        """Where a stage writes its measurements."""
        return self.parts / f"{stage}.json"

    def write_part(self, stage: str, data: dict[str, Any]) -> Path:
        """Write a stage's measurements as JSON (atomically)."""
        from dslineage.config import atomic_write_text

        self.parts.mkdir(parents=True, exist_ok=True)
        target = self.part(stage)
        atomic_write_text(target, json.dumps(data, indent=1, sort_keys=True) + "\n")
        return target

    def read_part(self, stage: str) -> dict[str, Any] | None:
        """A stage's measurements, or None when the stage has not run."""
        p = self.part(stage)
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None
