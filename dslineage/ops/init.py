"""`dslineage init`: git init and dvc init if needed, then the `.dslineage/` folder."""

from __future__ import annotations

from pathlib import Path

from dslineage import config, dvcio, recovery, txn
from dslineage.errors import PathError
from dslineage.gitio import Git
from dslineage.lock import RepoLock
from dslineage.model_ops import InitResult
from dslineage.ops import merge_driver as drivers

_DVC_FILES = (".dvc/config", ".dvc/.gitignore", ".dvcignore")
STEPS = txn.declare("init", "after-files", index=False)


def init(path: Path, *, merge_driver: bool = True) -> InitResult:
    """Initialize git, DVC and dslineage at `path`; idempotent. Commits what it created.

    Registers the git merge driver for tracked datasets' `.dvc` files (`.gitattributes` and
    `.git/config`), or with `merge_driver=False` removes it."""
    path = path.resolve()
    if path.exists() and not path.is_dir():
        raise PathError(f"{path} is not a directory: pass a folder to `dslineage init`")
    path.mkdir(parents=True, exist_ok=True)
    created_git = Git.init(path)
    root = Git.find_root(path)
    created_dvc = dvcio.init(root)
    meta = root / config.META_DIR
    created_meta = not meta.is_dir()
    git = Git(root)
    lock = None
    if not created_meta:  # an initialized repo: take its lock, finish an interrupted command
        lock = RepoLock(meta / "lock")
        lock.acquire()
    try:
        if not created_meta:
            recovery.recover(root, git)
            created_meta = not meta.is_dir()  # an interrupted `init` was rolled back
        meta.mkdir(exist_ok=True)
        with txn.begin(root, git, "init", dirs=[config.META_DIR] if created_meta else []) as t:
            commit = _write(root, git, t, created_dvc, merge_driver)
    finally:
        if lock is not None:
            lock.release()
    return InitResult(
        root=str(root),
        git_initialized=created_git,
        dvc_initialized=created_dvc,
        created=created_meta,
        git_commit=commit,
        merge_driver=merge_driver,
    )


def _write(root: Path, git: Git, t: txn.Transaction, created_dvc: bool, merge_driver: bool) -> str | None:
    """Create the missing `.dslineage/` files and commit them (with DVC's, if new to git)."""
    ignore = root / config.GITIGNORE
    settings = root / config.SETTINGS_FILE
    keep = root / config.JOURNAL_DIR / ".gitkeep"
    t.create(ignore, settings, keep)
    (root / config.JOURNAL_DIR).mkdir(exist_ok=True)
    keep.touch()
    if not ignore.exists():
        config.atomic_write_text(ignore, "\n".join(f"/{p}" for p in config.IGNORED) + "\n")
    else:  # a repository initialized by an older version: ignore what this one adds
        lines = ignore.read_text(encoding="utf-8").splitlines()
        missing = [f"/{p}" for p in config.IGNORED if f"/{p}" not in lines]
        if missing:
            config.atomic_write_text(ignore, "\n".join(lines + missing) + "\n")
    if not settings.exists():
        config.atomic_write_text(
            settings,
            "# dslineage settings (tracked by git). DSLINEAGE_MEMORY_LIMIT overrides memory_limit.\n"
            "memory_limit: null   # DuckDB memory limit for row work, e.g. '1GB'\n",
        )
    attrs = drivers.write_attributes(root, list(config.load_datasets(root).values()), remove=not merge_driver)
    if merge_driver:
        drivers.configure(git)
    else:
        drivers.unconfigure(git)
    t.step("after-files")
    paths = [config.GITIGNORE, config.SETTINGS_FILE, f"{config.JOURNAL_DIR}/.gitkeep"]
    if attrs:
        paths.append(drivers.ATTRIBUTES)
    dvc_files = [p for p in _DVC_FILES if (root / p).exists()]
    tracked = set(git.run("ls-files", "--", *dvc_files).split()) if dvc_files else set()
    # DVC's own files, when this init (or an interrupted one) made them
    paths += [p for p in dvc_files if created_dvc or p not in tracked]
    if git.run("status", "--porcelain", "--", *paths).strip():
        return t.commit(paths, "dslineage: initialize dataset versioning")
    return None
