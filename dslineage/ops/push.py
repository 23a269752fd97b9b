"""`dslineage push [NAME ...] [-r REMOTE]`: send the DVC cache objects of every version of the
tracked datasets to a DVC remote — not only the work tree's, which is all `dvc push` sends.

A teammate's fresh clone can then `checkout NAME@v1`, `diff --rows` or `blame` any version.
Objects already on the remote are not sent again. A version whose object is in neither the
local cache nor the remote cannot be pushed from here: it is listed on stderr (and by
`dslineage fsck --remote`), and is not an error — push it from a machine that has it.

Push writes nothing in the repository (no journal record, no git commit, no tracked file):
it reads the local DVC cache and writes to the remote (and DVC's remote index under
`.dvc/tmp`), so it declares no fault points and needs no transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage import dvcio, journal
from dslineage.model_merge import RemoteOptions
from dslineage.model_ops import MissingObject, PushResult

if TYPE_CHECKING:
    from dslineage.repo import Repo


def version_objects(repo: Repo, names: list[str]) -> list[dict[str, Any]]:
    """Every version of the named (default: every tracked) dataset, oldest first per dataset."""
    wanted = [repo.dataset(n).name for n in names] if names else sorted(repo.datasets())
    found: list[dict[str, Any]] = []
    for name in wanted:
        found += sorted(repo.index.versions(name), key=lambda v: (v["seq"], v["timestamp"], v["id"]))
    return found


def push(repo: Repo, names: list[str], opts: RemoteOptions) -> PushResult:
    """Push the objects of every version; counts of objects sent and already there, plus the
    versions whose object is missing everywhere (`missing`, not part of `--json`)."""
    versions = version_objects(repo, names)
    result = dvcio.push_objects(repo.root, [v["md5"] for v in versions], remote=opts.remote)
    return PushResult(
        remote=result.remote,
        versions=len(versions),
        objects_pushed=len(result.pushed),
        objects_present=len(result.present),
        missing=[
            MissingObject(
                dataset=v["dataset"],
                version=v["id"],
                seq=v["seq"],
                md5=v["md5"],
                label=f"{v['dataset']}@v{v['seq']} ({journal.short(v['id'])})",
            )
            for v in versions
            if v["md5"] in result.missing or result.missing.intersection(dvcio.dir_children(repo.root, v["md5"]))
        ],
    )
