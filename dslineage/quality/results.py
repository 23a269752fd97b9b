"""What the quality commands run on (a version or the working file) and where results go.

Results of a committed version are journal records — kind "check" or "audit", with the
dataset and version id — committed to git in their own commit, so they travel with the
repository and survive `reindex`. A commit's own check results live in its version
record (`checks`, and `no_verify` when the gate was skipped). The same result computed
twice is not recorded twice (the record id is a hash of the content).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dslineage import journal, txn
from dslineage.config import Dataset
from dslineage.ops import common
from dslineage.ops.refs import resolve, split
from dslineage.store import rows

if TYPE_CHECKING:
    from dslineage.repo import Repo

# recording results is a write: a journal record and its git commit
STEPS = txn.declare("check", "after-journal"), txn.declare("audit", "after-journal")


@dataclass
class Target:
    """A dataset as a quality command sees it: a committed version or the working file."""

    ds: Dataset
    version: dict[str, Any] | None  # None: the working file, which differs from every version
    src: rows.Source
    md5: str | None

    @property
    def label(self) -> str:
        """How to name it to people: `train@v3` or `train (working file)`."""
        return f"{self.ds.name}@v{self.version['seq']}" if self.version else f"{self.ds.name} (working file)"

    def describe(self) -> dict[str, Any]:
        """The JSON description: id, seq, md5 and whether it is the working file."""
        v = self.version
        return {"dataset": self.ds.name, "id": v["id"] if v else None, "seq": v["seq"] if v else None,
                "md5": self.md5, "workdir": v is None}


def target(repo: Repo, ref: str, *, bare: str = "working") -> Target:
    """`NAME@REF` → that version; bare `NAME` → the working file (`bare="working"`) or latest.

    A working file identical to the latest version *is* that version, so results attach to it.
    """
    name, text = split(ref)
    if "@" in ref or bare == "latest":
        ds, v = resolve(repo, ref if "@" in ref else f"{name}@latest")
        return Target(ds, v, common.version_source(repo, ds, v), v["md5"])
    ds = repo.dataset(name)
    src = common.working_source(repo, ds)
    md5 = common.working_md5(repo, ds)
    head = common.current(repo, ds.name)
    if head is not None and head["md5"] == md5:
        return Target(ds, head, src, md5)
    return Target(ds, None, src, md5)


def parent(repo: Repo, t: Target) -> tuple[Target | None, str | None]:
    """The version a target is compared with for drift (its parent; latest for the working file).

    Returns (None, reason) when there is none or its bytes are unavailable.
    """
    if t.version is None:
        v = common.current(repo, t.ds.name)
    else:
        v = repo.index.version(t.version["parent"]) if t.version.get("parent") else None
    if v is None:
        return None, "no parent version"
    try:
        src = common.version_source(repo, t.ds, v)
    except Exception as exc:  # MissingDataError, or a failing DVC fetch: drift is then skipped
        return None, f"parent v{v['seq']} unavailable ({str(exc).splitlines()[0][:120]})"
    return Target(t.ds, v, src, v["md5"]), None


def store(repo: Repo, kind: str, t: Target, payload: dict[str, Any], summary: str) -> dict[str, Any]:
    """Record results of a committed version in the journal and git (once: the id is a hash
    of the content). Returns `{"record": id, "new": bool}`."""
    assert t.version is not None
    vid = t.version["id"]
    rid = journal.make_id(kind, vid, payload)
    if any(r["id"] == rid for r in repo.index.records(kind, t.ds.name)):
        return {"record": rid, "new": False}
    record = {"kind": kind, "id": rid, "dataset": t.ds.name, "version": vid, "seq": t.version["seq"],
              "author": repo.git.identity(), "timestamp": journal.now(), **payload}
    with txn.begin(repo.root, repo.git, kind) as tx:
        path = journal.write(repo.root, record)
        tx.step("after-journal")
        tx.commit([path.relative_to(repo.root).as_posix()], f"dslineage: {kind} {t.label}: {summary}")
    repo.index.sync(force=True)
    return {"record": rid, "new": True}


def for_version(repo: Repo, dataset: str, vid: str) -> dict[str, Any]:
    """The newest stored check and audit results of a version (None where there are none)."""
    out: dict[str, Any] = {"checks": None, "audit": None, "no_verify": False}
    for rec in repo.index.records("version", dataset):
        if rec["id"] == vid and rec.get("checks"):
            out["checks"] = {**rec["checks"], "timestamp": rec["timestamp"], "at_commit": True}
            out["no_verify"] = bool(rec.get("no_verify"))
    for kind, key in (("check", "checks"), ("audit", "audit")):
        mine = [r for r in repo.index.records(kind, dataset) if r.get("version") == vid]
        if mine:
            newest = mine[-1]
            out[key] = {k: v for k, v in newest.items() if k not in ("kind", "format", "dataset", "version")}
    return out


def plain_json(data: Any) -> Any:
    """Round-trip through JSON so stored results hold only plain values."""
    return json.loads(json.dumps(data, default=str))
