"""The merging state of datasets: `.dslineage/merge/NAME.json` (+ `NAME.conflicts.parquet`).

Local to the clone and ignored by git, like `.git/MERGE_HEAD`. A state is either
`"conflicts"` (a stopped merge: the work file keeps ours; `dslineage merge --resolve` or
`--abort` ends it) or `"merged"` (the git merge driver merged the rows; the merge version
is recorded by the next dslineage command, once git has finished the merge).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import files, txn
from dslineage.config import META_DIR, Dataset, atomic_write_text
from dslineage.errors import MergingError

if TYPE_CHECKING:
    from dslineage.repo import Repo

MERGE_DIR = f"{META_DIR}/merge"


def folder(root: Path) -> Path:
    """The folder of merging states (created ignored by git: it is local to the clone)."""
    path = root / MERGE_DIR
    path.mkdir(parents=True, exist_ok=True)
    ignore = path / ".gitignore"
    if not ignore.exists():
        atomic_write_text(ignore, "*\n")
    return path


def state_path(root: Path, name: str) -> Path:
    """Where the merging state of dataset `name` lives."""
    return root / MERGE_DIR / f"{name}.json"


def conflicts_path(root: Path, name: str) -> Path:
    """Where the conflicting cells of dataset `name` are kept while it is merging."""
    return root / MERGE_DIR / f"{name}.conflicts.parquet"


def read(root: Path, name: str) -> dict[str, Any] | None:
    """The merging state of a dataset, or None."""
    path = state_path(root, name)
    if not path.is_file():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data


def states(root: Path) -> dict[str, dict[str, Any]]:
    """Every dataset's merging state, by dataset name."""
    base = root / MERGE_DIR
    if not base.is_dir():
        return {}
    out = {}
    for path in sorted(base.glob("*.json")):
        data = read(root, path.stem)
        if data is not None:
            out[path.stem] = data
    return out


def write(root: Path, state: dict[str, Any], conflicts: Any = None) -> Path:
    """Write a dataset's merging state (and its conflicting cells) as new files, renamed."""
    import pyarrow.parquet as pq

    folder(root)
    name = state["dataset"]
    if conflicts is not None:
        target = conflicts_path(root, name)
        txn.will_create(root, target)
        files.atomic_write(target, lambda tmp: pq.write_table(conflicts, tmp))
    path = state_path(root, name)
    txn.will_create(root, path)
    atomic_write_text(path, json.dumps(state, indent=1, sort_keys=True) + "\n")
    return path


def remove(root: Path, name: str) -> None:
    """Forget a dataset's merging state (its conflicts file too)."""
    for path in (conflicts_path(root, name), state_path(root, name)):
        txn.will_change(root, path)
        path.unlink(missing_ok=True)
    base = root / MERGE_DIR
    if base.is_dir() and not [p for p in base.iterdir() if p.name != ".gitignore"]:
        txn.will_change(root, base / ".gitignore")
        shutil.rmtree(base, ignore_errors=True)  # no merge left: leave no trace


def refuse_if_merging(repo: Repo, ds: Dataset, action: str) -> None:
    """Refuse `action` on a dataset whose merge stopped on conflicts (one line: what to do)."""
    state = read(repo.root, ds.name)
    if state is not None and state.get("state") == "conflicts":
        raise MergingError(
            f"{ds.name} is in the middle of a merge ({state.get('cells', '?')} conflicting cells), "
            f"so it cannot be {action}: list them with `dslineage merge --conflicts {ds.name}`, "
            f"then `dslineage merge --resolve {ds.name} --ours|--theirs|--from FILE` "
            "or `dslineage merge --abort`"
        )
