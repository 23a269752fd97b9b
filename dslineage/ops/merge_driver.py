"""The git merge driver for the `.dvc` files of tracked datasets, so that plain `git merge`,
`git pull` and `git pull --rebase` merge datasets row by row.

Registration: one `.gitattributes` line for every `.dvc` file (`*.dvc merge=dslineage`,
tracked by git; one line that never changes, so two branches that each track a new dataset
do not conflict on it) and the driver command in this clone's `.git/config` (`[merge "dslineage"]`),
which every dslineage command adds when `.gitattributes` names the driver but the clone
lacks it (a fresh clone), as `git lfs install` does.

The driver (`dslineage merge-driver BASE OURS THEIRS PATH`) runs inside git, maybe inside a
`dslineage merge` or while another dslineage command holds the repository lock: it takes no
lock, never touches git's index, and never opens the index database. Trivial cases resolve
by md5. Otherwise it merges the rows; on success it writes the merged bytes into the DVC
cache and the work file, the merged `.dvc` into OURS, and a note under `.dslineage/merge/`
from which the next dslineage command records the merge version. On conflicts it exits 1,
leaving OURS as it was (git reports the conflict); the dataset is then in the merging state.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import config, files
from dslineage.config import Dataset, atomic_write_bytes, atomic_write_text
from dslineage.ops import mergestate
from dslineage.store import rows

if TYPE_CHECKING:
    from dslineage.gitio import Git

ATTRIBUTES = ".gitattributes"
DRIVER = "dslineage"
ATTR = f"merge={DRIVER}"


def command() -> str:
    """The driver command for `.git/config`: this interpreter's dslineage (works in a venv)."""
    return f"{shlex.quote(sys.executable)} -m dslineage merge-driver %O %A %B %P"


ATTR_LINE = f"*.dvc {ATTR}"  # one glob: a `.dvc` file that is no tracked dataset merges as text


def names_driver(root: Path) -> bool:
    """Whether the work tree's `.gitattributes` assigns the dslineage merge driver."""
    path = root / ATTRIBUTES
    return path.is_file() and ATTR in path.read_text(encoding="utf-8", errors="replace")


def write_attributes(root: Path, datasets: list[Dataset], *, remove: bool = False) -> bool:
    """Add the driver line (`*.dvc merge=dslineage`, whatever `datasets` holds) or, with
    `remove`, drop every line naming the driver; True when `.gitattributes` changed."""
    path = root / ATTRIBUTES
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    if remove:
        new = [line for line in lines if not line.rstrip().endswith(ATTR)]
    else:
        new = lines if any(line.rstrip().endswith(ATTR) for line in lines) else [*lines, ATTR_LINE]
    if new == lines:
        return False
    from dslineage import txn

    txn.will_change(root, path)
    if new:
        atomic_write_text(path, "\n".join(new) + "\n")
    else:
        path.unlink(missing_ok=True)
    return True


def configured(git: Git) -> bool:
    """Whether this clone's `.git/config` defines the dslineage merge driver."""
    text = git.local_config_text()  # every command asks: spare it a git process when possible
    if text is None:
        return git.config_get(f"merge.{DRIVER}.driver") is not None
    head = f'[merge "{DRIVER}"]'
    if head not in text:
        return False
    section = text.split(head, 1)[1].split("\n[", 1)[0]
    return any(line.strip().startswith("driver") for line in section.splitlines())


def configure(git: Git) -> None:
    """Define the driver in this clone's `.git/config`."""
    git.config_set(f"merge.{DRIVER}.name", "dslineage row-level merge of dataset .dvc files")
    git.config_set(f"merge.{DRIVER}.driver", command())


def unconfigure(git: Git) -> None:
    """Remove the driver from this clone's `.git/config`."""
    git.config_remove_section(f"merge.{DRIVER}")


def ensure(root: Path, git: Git) -> bool:
    """Add the `.git/config` entry when `.gitattributes` names the driver but this clone
    lacks it; True when it was missing."""
    if not names_driver(root) or configured(git):
        return False
    configure(git)
    return True


# -- the driver itself --------------------------------------------------------------------


def _md5(path: Path) -> str | None:
    from dslineage import dvcio  # the driver's own imports: every command runs `ensure`, never these

    try:
        data = path.read_bytes()
    except OSError:
        return None
    out = dvcio.parse_dvcfile(data) if data.strip() else None
    return out.md5 if out else None


def _dataset(root: Path, dvcfile: str) -> Dataset | None:
    from dslineage import dvcio

    for ds in config.load_datasets(root).values():
        if dvcio.dvcfile_for(ds.path) == dvcfile:
            return ds
    return None


def _store(root: Path, merged: Path, md5: str) -> None:
    """Put the merged bytes into the DVC cache (read-only, as DVC keeps its objects)."""
    from dslineage import dvcio

    obj = dvcio.cache_path(root, md5)
    if obj.exists():
        return
    obj.parent.mkdir(parents=True, exist_ok=True)

    def copy(tmp: Path) -> None:
        shutil.copyfile(merged, tmp)
        os.chmod(tmp, 0o444)

    files.atomic_write(obj, copy)


def _dvc_text(ours: Path, md5: str, size: int, nfiles: int | None = None) -> bytes:
    """OURS' `.dvc` content with the merged object's md5 and size (and a directory's file count)."""
    import yaml

    data: dict[str, Any] = yaml.safe_load(ours.read_text(encoding="utf-8")) or {}
    out = data["outs"][0]
    out["md5"], out["size"] = md5, size
    if nfiles is not None:
        out["nfiles"] = nfiles
    return yaml.safe_dump(data, sort_keys=False).encode("utf-8")


def run(cwd: Path, base: str, ours: str, theirs: str, path: str) -> int:
    """`dslineage merge-driver %O %A %B %P`: 0 merged (OURS holds the result), 1 conflict."""
    from dslineage import dvcio
    from dslineage.gitio import Git, merge_file
    from dslineage.store.merge import merge3, write_merged

    root = Git.find_root(cwd)
    o_path = Path(ours) if Path(ours).is_absolute() else cwd / ours
    b_md5 = _md5(Path(base) if Path(base).is_absolute() else cwd / base)
    o_md5 = _md5(o_path)
    t_path = Path(theirs) if Path(theirs).is_absolute() else cwd / theirs
    t_md5 = _md5(t_path)
    b_path = Path(base) if Path(base).is_absolute() else cwd / base
    ds = _dataset(root, path)
    if ds is None or o_md5 is None or t_md5 is None:
        # not a tracked dataset's single-output `.dvc` file: git's own text merge (with
        # conflict markers when both sides changed the same lines), as without the driver
        return merge_file(o_path, b_path, t_path)
    if t_md5 in (o_md5, b_md5):
        return 0  # theirs brings no new bytes: OURS is the result
    if o_md5 == b_md5:
        atomic_write_bytes(o_path, t_path.read_bytes())  # only theirs changed it
        return 0
    state = {
        "dataset": ds.name,
        "started_by": "git",
        "branch": os.environ.get("GIT_REFLOG_ACTION"),
        "base_md5": b_md5,
        "ours_md5": o_md5,
        "theirs_md5": t_md5,
    }
    if ds.format == config.DIR_FORMAT:  # part by part: see ops/merge_dir_driver.py
        from dslineage.ops.merge_dir_driver import run_dir

        code, out = run_dir(root, ds, state, _store)
        if out is None:
            return code
        _note(root, ds, state, out["md5"])
        atomic_write_bytes(o_path, _dvc_text(o_path, out["md5"], out["size"], out["nfiles"]))
        return 0
    dvcio.fetch_objects(root, [m for m in (b_md5, o_md5, t_md5) if m], {t_md5: f"{ds.name} (theirs)"})
    con = rows.connect(config.load_settings(root), root / config.META_DIR / "tmp")
    try:
        src = {
            side: rows.source(dvcio.cache_path(root, m), ds, f"{ds.name} ({side})") if m else None
            for side, m in (("base", b_md5), ("ours", o_md5), ("theirs", t_md5))
        }
        assert src["ours"] is not None and src["theirs"] is not None
        outcome = merge3(con, src["base"], src["ours"], src["theirs"], ds)
        if outcome.table is None:
            mergestate.write(
                root, {**state, "state": "conflicts", "cells": outcome.conflicts.num_rows}, outcome.conflicts
            )
            sys.stderr.write(
                f"dslineage: {outcome.conflicts.num_rows} conflicting cells in {ds.name}: list them with "
                f"`dslineage merge --conflicts {ds.name}`, then `dslineage merge --resolve {ds.name} ...`\n"
            )
            return 1
        work = root / ds.path
        tmp = work.with_name(f".{work.name}.merge-tmp")
        write_merged(con, outcome, dvcio.cache_path(root, o_md5), tmp, ds)
    finally:
        con.close()
    md5 = dvcio.file_md5(tmp)
    _store(root, tmp, md5)
    size = tmp.stat().st_size
    files.rename_into_place(tmp, work)
    _note(root, ds, state, md5)
    atomic_write_bytes(o_path, _dvc_text(o_path, md5, size))
    return 0


def _note(root: Path, ds: Dataset, state: dict[str, Any], md5: str) -> None:
    """Leave the note the next dslineage command records the merge version from."""
    prev = mergestate.read(root, ds.name)
    earlier: list[dict[str, Any]] = []
    if prev is not None and prev.get("state") == "merged" and prev.get("merged_md5") == state["ours_md5"]:
        # a rebase replaying several commits: each merge builds on the one before; keep them all
        earlier = [*prev.get("earlier", []), {k: v for k, v in prev.items() if k != "earlier"}]
    mergestate.write(root, {**state, "state": "merged", "merged_md5": md5, "earlier": earlier})
