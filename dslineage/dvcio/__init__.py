"""The DVC adapter: every call into DVC goes through this package (dvc 3.x, pinned major).

DVC's in-process `Repo` API is not promised stable, so it is used for the few things that
must match DVC exactly (`add`, `checkout`, `fetch`); cheap facts (a `.dvc` file's md5, where
a cache object lives) are read directly from DVC's documented on-disk formats.

Its modules: `data` (add, checkout, fetch, `.dvc` files, the cache), `pipelines`
(`dvc.yaml`, `dvc.lock`, running stages) and `remotes` (push, status, shared caches);
callers use the names collected here (`from dslineage import dvcio; dvcio.add(...)`).
"""

from __future__ import annotations

from dslineage.dvcio.data import (
    DvcOut,
    HashingFile,
    add,
    cache_path,
    cache_root,
    dir_children,
    dvcfile_for,
    file_md5,
    has_remote,
    init,
    is_initialized,
    parse_dvcfile,
    preload,
    read_dvcfile,
)
from dslineage.dvcio.pipelines import (
    LOCK_FILE,
    PROJECT_FILE,
    LockEntry,
    command_text,
    lock_bytes,
    metrics_paths,
    parse_definitions,
    parse_lock,
    read_lock,
    reproduce_all,
    run_stage,
    stage_definitions,
    stage_output_md5,
)
from dslineage.dvcio.remote_read import (
    ReadCounter,
    S3Location,
    object_size,
    read_failed,
    remote_filesystem,
    s3_location,
)
from dslineage.dvcio.remotes import (
    PushResult,
    RemoteStatus,
    checkout,
    checkout_dvcfiles,
    default_remote,
    dvcfile_outs,
    fetch_objects,
    fetch_version,
    push_objects,
    remote_name,
    remote_names,
    remote_status,
    share_cache,
)

__all__ = [
    "dir_children",
    "DvcOut",
    "HashingFile",
    "LOCK_FILE",
    "LockEntry",
    "PROJECT_FILE",
    "PushResult",
    "ReadCounter",
    "RemoteStatus",
    "S3Location",
    "add",
    "cache_path",
    "cache_root",
    "checkout",
    "checkout_dvcfiles",
    "command_text",
    "default_remote",
    "dvcfile_for",
    "dvcfile_outs",
    "fetch_objects",
    "fetch_version",
    "file_md5",
    "has_remote",
    "init",
    "is_initialized",
    "lock_bytes",
    "object_size",
    "metrics_paths",
    "parse_definitions",
    "parse_dvcfile",
    "parse_lock",
    "preload",
    "push_objects",
    "read_dvcfile",
    "read_failed",
    "read_lock",
    "remote_filesystem",
    "remote_name",
    "remote_names",
    "remote_status",
    "reproduce_all",
    "run_stage",
    "s3_location",
    "share_cache",
    "stage_definitions",
    "stage_output_md5",
]
