"""`dslineage tag NAME@REF TAG`: a name for a version, recorded in the journal."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from dslineage import journal, txn
from dslineage.core.refs import resolve
from dslineage.errors import UsageError
from dslineage.model_ops import TagResult

if TYPE_CHECKING:
    from dslineage.repo import Repo

_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,99}$")
_RESERVED = re.compile(r"^(latest|v\d+|[0-9a-f]{4,40})$")
STEPS = txn.declare("tag", "after-journal")


def tag(repo: Repo, ref: str, name: str) -> TagResult:
    """Record tag `name` on the version `ref` names, in its own git commit."""
    if not _TAG.match(name) or _RESERVED.match(name) or "~" in name:
        raise UsageError(
            f"invalid tag {name!r}: start with a letter, use letters, digits, '.', '_', '-', "
            "and avoid 'latest', 'vN' and hex strings"
        )
    ds, v = resolve(repo, ref)
    existing = repo.index.tags(ds.name)
    if name in existing:
        if existing[name] == v["id"]:
            return TagResult(dataset=ds.name, tag=name, version=v["id"], seq=v["seq"], created=False)
        raise UsageError(f"tag {name!r} already names another version of {ds.name}: choose another name")
    ts = journal.now()
    author = repo.git.identity()
    record = {
        "kind": "tag",
        "id": journal.make_id("tag", ds.name, name, v["id"], ts),
        "dataset": ds.name,
        "tag": name,
        "version": v["id"],
        "author": author,
        "timestamp": ts,
    }
    with txn.begin(repo.root, repo.git, "tag") as t:
        path = journal.write(repo.root, record)
        t.step("after-journal")
        t.commit([path.relative_to(repo.root).as_posix()], f"dslineage: tag {ds.name}@v{v['seq']} as {name}")
    repo.index.sync(force=True)
    return TagResult(dataset=ds.name, tag=name, version=v["id"], seq=v["seq"], created=True)
