"""Dataset registrations and settings: small YAML files under `.dslineage/`, tracked by git.

One file per dataset (`.dslineage/datasets/NAME.yaml`) so that two branches that each
track a dataset merge without conflicts.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from dslineage import txn
from dslineage.errors import PathError, UnknownDatasetError, UsageError
from dslineage.files import (  # noqa: F401  (the layout constants and writers, named here too)
    DATASETS_DIR,
    GITIGNORE,
    IGNORED,
    INDEX_FILE,
    JOURNAL_DIR,
    META_DIR,
    SETTINGS_FILE,
    atomic_write_bytes,
    atomic_write_text,
)

FORMATS = ("parquet", "csv", "jsonl")
DIR_FORMAT = "parquet-dir"  # a directory of parquet files (`store.parts`), tracked as one DVC directory output
SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass
class Dataset:
    """A tracked dataset file: where it lives, how to read it, which columns key and label it."""

    name: str
    path: str  # relative to the repository root, POSIX separators
    format: str
    key: list[str]
    labels: list[str]
    csv: dict[str, Any] = field(default_factory=dict)  # delimiter, quote, header
    labels_allowed: list[Any] | None = None
    # column roles (`track --feature/--prediction/--group/--ignore`); empty in older registrations
    features: list[str] = field(default_factory=list)  # audit's feature columns (default: the rest)
    predictions: list[str] = field(default_factory=list)  # model outputs: never features
    groups: list[str] = field(default_factory=list)  # subgroup columns (audit's default --group)
    ignore: list[str] = field(default_factory=list)  # ids, notes, paths: no feature, no drift
    # one-to-one label columns (`track --label-pair label=label_name`): [[a, b], ...]; None before pairs
    label_pairs: list[list[str]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The registration as written to YAML (empty optional fields left out)."""
        data = asdict(self)
        if not data["csv"]:
            del data["csv"]
        if data["labels_allowed"] is None:
            del data["labels_allowed"]
        if not data["label_pairs"]:
            del data["label_pairs"]
        for role in ROLES:
            if not data[role]:
                del data[role]
        return data

    def roles(self) -> dict[str, list[str]]:
        """The column roles by name (features, predictions, groups, ignore)."""
        return {role: list(getattr(self, role)) for role in ROLES}


ROLES = ("features", "predictions", "groups", "ignore")


def pair_of(ds: Dataset, column: str) -> str | None:
    """The label column declared one-to-one with `column` (`track --label-pair`), if any."""
    for a, b in ds.label_pairs or []:
        if column in (a, b):
            return b if column == a else a
    return None


def check_name(name: str) -> str:
    """Return `name` if it is a safe dataset name, else raise a usage error."""
    if not _NAME.match(name):
        raise UsageError(
            f"invalid dataset name {name!r}: use letters, digits, '.', '_' or '-' "
            "(start with a letter or digit); pass --name to choose one"
        )
    return name


def detect_format(path: str, override: str | None) -> str:
    """The dataset format from `--format` or the file suffix."""
    if override:
        fmt = override.lower()
        if fmt in ("tsv", "json", "ndjson"):
            fmt = "csv" if fmt == "tsv" else "jsonl"
        if fmt not in FORMATS:
            raise UsageError(f"unsupported format {override!r}: use one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise PathError(
            f"unsupported file type {suffix or '(no suffix)'!r} for {path}: "
            "use parquet, CSV/TSV or JSON Lines, or pass --format"
        )
    return SUFFIXES[suffix]


def inside(root: Path, path: str | os.PathLike[str], *, cwd: Path | None = None) -> str:
    """Resolve `path` (relative to `cwd`) and return it relative to `root`; refuse escapes."""
    raw = Path(path)
    full = (cwd or Path.cwd()) / raw if not raw.is_absolute() else raw
    resolved = full.resolve()
    try:
        rel = resolved.relative_to(root)
    except ValueError:
        raise PathError(f"{path} is outside the repository {root}: move the file into the repository") from None
    if rel.parts and rel.parts[0] in (".git", ".dvc", META_DIR):
        raise PathError(f"{path} is inside {rel.parts[0]}/: datasets live in the work tree")
    return rel.as_posix()


def _yaml() -> Any:
    import yaml

    return yaml


def load_datasets(root: Path) -> dict[str, Dataset]:
    """Every dataset registered in the work tree, by name."""
    folder = root / DATASETS_DIR
    result: dict[str, Dataset] = {}
    if not folder.is_dir():
        return result
    for entry in sorted(folder.glob("*.yaml")):
        ds = load_registration(root, entry)
        result[ds.name] = ds
    return result


def load_registration(root: Path, entry: Path) -> Dataset:
    """One registration file, checked: its name matches the file, its path stays inside the
    work tree (a cloned repository is not trusted to point at `../../secret`)."""
    rel = entry.relative_to(root).as_posix()
    fix = f"restore it with `git checkout -- {rel}` or delete it"
    yaml = _yaml()
    try:
        data = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
        ds = Dataset(**data)
    except (yaml.YAMLError, TypeError, ValueError) as exc:
        detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise PathError(f"registration {rel} is damaged ({detail}): {fix}") from None
    lists = (ds.key, ds.labels)
    roles = [getattr(ds, role) for role in ROLES]
    if not all(isinstance(v, list) and all(isinstance(c, str) for c in v) for v in roles):
        raise PathError(f"registration {rel} is invalid (features, predictions, groups or ignore): {fix}")
    pairs = ds.label_pairs
    if pairs is not None and not (
        isinstance(pairs, list)
        and all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(c, str) and c in ds.labels for c in p) for p in pairs
        )
    ):
        raise PathError(f"registration {rel} is invalid (label_pairs): {fix}")
    if (
        not isinstance(ds.name, str)
        or ds.name != entry.stem
        or not _NAME.match(ds.name)
        or ds.format not in (*FORMATS, DIR_FORMAT)
        or not all(isinstance(v, list) and v for v in lists)
        or not all(isinstance(c, str) for v in lists for c in v)
    ):
        raise PathError(f"registration {rel} is invalid (name, format, key or labels): {fix}")
    path = PurePosixPath(ds.path) if isinstance(ds.path, str) else None
    if (
        path is None
        or path.is_absolute()
        or not path.parts
        or ".." in path.parts
        or "\\" in ds.path
        or path.parts[0] in (".git", ".dvc", META_DIR)
        or not (root / path.parent).resolve().is_relative_to(root.resolve())
    ):
        raise PathError(f"registration {rel} points outside the work tree ({str(ds.path)[:80]!r}): {fix}")
    return ds


def get_dataset(root: Path, name: str) -> Dataset:
    """The dataset called `name`, or an error listing the tracked ones."""
    if _NAME.match(name):
        path = dataset_file(root, name)  # one file per dataset: read just that one
        if path.is_file():
            return load_registration(root, path)
    datasets = load_datasets(root)
    if name not in datasets:
        known = ", ".join(sorted(datasets)) or "none yet"
        raise UnknownDatasetError(f"unknown dataset {name!r} (tracked: {known}); register it with `dslineage track`")
    return datasets[name]


def dataset_file(root: Path, name: str) -> Path:
    """Where the registration of dataset `name` is stored."""
    return root / DATASETS_DIR / f"{name}.yaml"


def save_dataset(root: Path, ds: Dataset) -> Path:
    """Write the registration of `ds` atomically and return its path."""
    target = dataset_file(root, ds.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    txn.will_change(root, target)  # an interrupted operation puts the old registration back
    text = _yaml().safe_dump(ds.to_dict(), sort_keys=False, allow_unicode=True)
    atomic_write_text(target, text)
    return target


def load_settings(root: Path) -> dict[str, Any]:
    """Repository settings from `.dslineage/config.yaml`, overridden by DSLINEAGE_* variables."""
    path = root / SETTINGS_FILE
    settings: dict[str, Any] = {}
    if path.exists():
        settings = _yaml().safe_load(path.read_text(encoding="utf-8")) or {}
    env = os.environ.get("DSLINEAGE_MEMORY_LIMIT")
    if env:
        settings["memory_limit"] = env
    engine = os.environ.get("DSLINEAGE_ENGINE")
    if engine:
        settings["engine"] = engine  # checked where it is used (`Repo.engine`), not by every command
    threads = os.environ.get("DSLINEAGE_THREADS")
    if threads:
        settings["threads"] = int(threads)
    return settings
