"""`dslineage pull NAME@REF [-r REMOTE]`: bring exactly one version's DVC cache object from a
DVC remote into the local cache (the work tree is not touched: `dslineage checkout NAME@REF`
then restores the file without the network).

Pull writes nothing in the repository (no journal record, no git commit, no tracked file):
only DVC's cache, which DVC fills atomically (a temporary file, renamed). So it declares no
fault points and needs no transaction: a killed pull leaves the object absent or complete.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dslineage import dvcio
from dslineage.core.refs import resolve
from dslineage.model_ops import PullResult

if TYPE_CHECKING:
    from dslineage.model_merge import RemoteOptions
    from dslineage.repo import Repo


def pull(repo: Repo, ref: str, opts: RemoteOptions) -> PullResult:
    """Fetch the object of the version `ref` names; `fetched` is False when it was already here."""
    ds, v = resolve(repo, ref if "@" in ref else f"{ref}@latest")
    remote = opts.remote
    label = f"{ds.name}@v{v['seq']}"
    fetched = dvcio.fetch_objects(repo.root, [v["md5"]], {v["md5"]: label}, remote=remote)
    return PullResult(
        dataset=ds.name,
        version=v["id"],
        seq=v["seq"],
        md5=v["md5"],
        remote=remote or dvcio.default_remote(repo.root),
        fetched=bool(fetched),
    )
