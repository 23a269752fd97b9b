"""A dataset version's bytes copied out of the DVC cache to any place (`reproduce --into`,
the worktree of `reproduce --rerun`) and verified there, a file or a directory alike.

A directory version (a `.dir` md5) becomes a directory holding exactly its manifest's parts
(each part copied as a new file; files the target held that the version lacks are removed
with the folders they leave empty, so `--force` into a used directory leaves no stray
part); its md5 is computed as DVC does, from the parts' md5s."""

from __future__ import annotations

import shutil
from pathlib import Path

from dslineage import dvcio, files
from dslineage.store import parts


def _copy(src: Path, dst: Path) -> None:
    """Copy a cache object to `dst` as a new file (never writing through a DVC link)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    files.atomic_write(dst, lambda tmp: shutil.copyfile(src, tmp))


def copy_version(root: Path, md5: str, dest: Path) -> None:
    """Make `dest` hold the version `md5` from the local DVC cache (its objects fetched before)."""
    if not parts.is_dir_md5(md5):
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        _copy(dvcio.cache_path(root, md5), dest)
        return
    want = {p.relpath: p for p in parts.parts_of(root, md5)}
    if dest.exists() and not dest.is_dir():
        dest.unlink()
    for path in sorted(dest.rglob("*")) if dest.is_dir() else []:
        rel = path.relative_to(dest).as_posix()
        if (path.is_file() or path.is_symlink()) and rel not in want:
            files.remove_pruning(path, dest)  # and the folders it leaves empty
    for rel, p in sorted(want.items()):
        target = dest / rel
        if target.is_file() and not target.is_symlink() and dvcio.file_md5(target) == p.md5:
            continue
        _copy(dvcio.cache_path(root, p.md5), target)
    dest.mkdir(parents=True, exist_ok=True)


def md5_of(path: Path) -> str | None:
    """DVC's md5 of a file, or of a directory (its `.dir` manifest's); None when absent."""
    if path.is_dir():
        found = [
            parts.Part(p.relative_to(path).as_posix(), dvcio.file_md5(p), p.stat().st_size)
            for p in sorted(path.rglob("*"))
            if p.is_file()
        ]
        return parts.manifest_md5(found)
    return dvcio.file_md5(path) if path.is_file() else None
