"""`dslineage init`: git init and dvc init if needed, then the `.dslineage/` folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dslineage import config, dvcio
from dslineage.errors import PathError
from dslineage.gitio import Git

_DVC_FILES = (".dvc/config", ".dvc/.gitignore", ".dvcignore")


def init(path: Path) -> dict[str, Any]:
    """Initialize git, DVC and dslineage at `path`; idempotent. Commits what it created."""
    path = path.resolve()
    if path.exists() and not path.is_dir():
        raise PathError(f"{path} is not a directory: pass a folder to `dslineage init`")
    path.mkdir(parents=True, exist_ok=True)
    created_git = Git.init(path)
    root = Git.find_root(path)
    created_dvc = dvcio.init(root)
    meta = root / config.META_DIR
    created_meta = not meta.is_dir()
    meta.mkdir(exist_ok=True)
    (root / config.JOURNAL_DIR).mkdir(exist_ok=True)
    (root / config.JOURNAL_DIR / ".gitkeep").touch()
    ignore = root / config.GITIGNORE
    if not ignore.exists():
        config.atomic_write_text(ignore, "\n".join(f"/{p}" for p in config.IGNORED) + "\n")
    settings = root / config.SETTINGS_FILE
    if not settings.exists():
        config.atomic_write_text(
            settings,
            "# dslineage settings (tracked by git). DSLINEAGE_MEMORY_LIMIT overrides memory_limit.\n"
            "memory_limit: null   # DuckDB memory limit for row work, e.g. '1GB'\n",
        )
    paths = [config.GITIGNORE, config.SETTINGS_FILE, f"{config.JOURNAL_DIR}/.gitkeep"]
    if created_dvc:
        paths += [p for p in _DVC_FILES if (root / p).exists()]
    git = Git(root)
    commit = None
    if git.run("status", "--porcelain", "--", *paths).strip():
        commit = git.commit_paths(paths, "dslineage: initialize dataset versioning")
    return {
        "root": str(root),
        "git_initialized": created_git,
        "dvc_initialized": created_dvc,
        "created": created_meta,
        "git_commit": commit,
    }
