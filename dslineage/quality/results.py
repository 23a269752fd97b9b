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
from dslineage.core import common
from dslineage.core.refs import resolve, split
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
        return {
            "dataset": self.ds.name,
            "id": v["id"] if v else None,
            "seq": v["seq"] if v else None,
            "md5": self.md5,
            "workdir": v is None,
        }


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


def verdicts(repo: Repo, dataset: str) -> dict[str, bool]:
    """Version id → whether its newest stored check results passed (the commit gate's, or a
    later `check` record's); versions never checked are absent."""
    out: dict[str, bool] = {}
    for rec in repo.index.records("version", dataset):
        if rec.get("checks"):
            out[rec["id"]] = bool(rec["checks"].get("passed"))
    for rec in repo.index.records("check", dataset):  # oldest first: the newest wins
        if rec.get("version"):
            out[rec["version"]] = bool(rec.get("passed"))
    return out


def _ancestors(repo: Repo, t: Target) -> list[dict[str, Any]]:
    """The versions before a target, nearest first (first parents; the current version and its
    ancestors for the working file)."""
    v = (
        common.current(repo, t.ds.name)
        if t.version is None
        else (repo.index.version(t.version["parent"]) if t.version.get("parent") else None)
    )
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    while v is not None and v["id"] not in seen and len(out) < 100_000:
        out.append(v)
        seen.add(v["id"])
        v = repo.index.version(v["parent"]) if v.get("parent") else None
    return out


def baseline(repo: Repo, t: Target, against: str | None = None) -> tuple[Target | None, str | None, str]:
    """The version a target's drift is measured against, and why that one.

    `against` (a `--against` option or the rules' `baseline:`) names it: `NAME@REF`, or a bare
    REF of the target's dataset (a tag, `vN`, an id prefix). Otherwise the nearest earlier
    version whose stored check results passed — not simply the parent, so a revert that
    undoes a drift passes — else the nearest earlier version not known to fail.
    Returns (target or None, reason when None, how it was chosen).
    """
    v: dict[str, Any] | None
    if against:
        ref = against if "@" in against else f"{t.ds.name}@{against}"
        v = resolve(repo, ref)[1]
        how = f"baseline {against}"
    else:
        known = verdicts(repo, t.ds.name)
        chain = _ancestors(repo, t)
        passed = [a for a in chain if known.get(a["id"]) is True]
        unknown = [a for a in chain if a["id"] not in known]
        v = passed[0] if passed else (unknown[0] if unknown else None)
        how = "last version that passed its checks" if passed else "nearest version not known to fail"
        if v is None:
            return None, "no earlier version passed its checks" if chain else "no parent version", how
    try:
        src = common.version_source(repo, t.ds, v)
    except Exception as exc:  # MissingDataError, or a failing DVC fetch: drift is then skipped
        return None, f"baseline v{v['seq']} unavailable ({str(exc).splitlines()[0][:120]})", how
    return Target(t.ds, v, src, v["md5"]), None, how


def store(repo: Repo, kind: str, t: Target, payload: dict[str, Any], summary: str) -> dict[str, Any]:
    """Record results of a committed version in the journal and git (once: the id is a hash
    of the content). Returns `{"record": id, "new": bool}`."""
    assert t.version is not None
    vid = t.version["id"]
    rid = journal.make_id(kind, vid, payload)
    if any(r["id"] == rid for r in repo.index.records(kind, t.ds.name)):
        return {"record": rid, "new": False}
    record = {
        "kind": kind,
        "id": rid,
        "dataset": t.ds.name,
        "version": vid,
        "seq": t.version["seq"],
        "author": repo.git.identity(),
        "timestamp": journal.now(),
        **payload,
    }
    with txn.begin(repo.root, repo.git, kind) as tx:
        path = journal.write(repo.root, record)
        tx.step("after-journal")
        tx.commit([path.relative_to(repo.root).as_posix()], f"dslineage: {kind} {t.label}: {summary}")
    repo.index.sync(force=True)
    return {"record": rid, "new": True}


def for_version(repo: Repo, dataset: str, vid: str) -> dict[str, Any]:
    """The newest stored check and audit results of a version (None where there are none), and
    `eval` (the newest result per predictions file) only when the version has any."""
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
    newest_eval: dict[str, dict[str, Any]] = {}  # one per predictions file: its newest result
    for rec in repo.index.records("eval", dataset):
        if rec.get("version") == vid:
            newest_eval[rec.get("predictions_md5") or ""] = rec
    if newest_eval:  # absent otherwise: `show --json` stays byte-identical for versions never scored
        out["eval"] = [
            {k: v for k, v in r.items() if k not in ("kind", "format", "dataset", "version")}
            for r in newest_eval.values()
        ]
    return out


def plain_json(data: Any) -> Any:
    """Round-trip through JSON so stored results hold only plain values."""
    return json.loads(json.dumps(data, default=str))
