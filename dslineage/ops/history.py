"""`dslineage history NAME KEY`: the label timeline of one row, from the journal's change sets.

The first version's rows are not stored row by row (that would cost the dataset's size);
a row present in the first version is inferred: its first recorded event is not an
addition, or it has no events and is present in the current version. Only the current
version's first-parent line counts (see `common.current`): after a branch switch nothing
from the other branch shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage.core import common
from dslineage.errors import UnknownKeyError, UsageError
from dslineage.model import History, HistoryEntry
from dslineage.ops.batches import provenance
from dslineage.store import rows

if TYPE_CHECKING:
    from dslineage.repo import Repo


def parse_key(ds_key: list[str], key: list[Any] | dict[str, Any] | str) -> list[Any]:
    """Key values in the order of the dataset's key columns."""
    if isinstance(key, str):
        key = key.split(",") if len(ds_key) > 1 else [key]
    if isinstance(key, dict):
        unknown = [c for c in key if c not in ds_key]
        missing = [c for c in ds_key if c not in key]
        if unknown or missing:
            raise UsageError(
                f"key columns are {', '.join(ds_key)}; "
                + (f"unknown: {', '.join(unknown)}; " if unknown else "")
                + (f"missing: {', '.join(missing)}" if missing else "")
            )
        return [key[c] for c in ds_key]
    if len(key) != len(ds_key):
        raise UsageError(
            f"the key has {len(ds_key)} column(s) ({', '.join(ds_key)}) but {len(key)} value(s) "
            "were given: pass KEY1,KEY2 or --key-value COL=VALUE for each"
        )
    return list(key)


def history(repo: Repo, name: str, key: list[Any] | dict[str, Any] | str) -> History:
    """Every version where the row was added, relabeled, otherwise modified or removed."""
    ds = repo.dataset(name)
    values = parse_key(ds.key, key)
    # only the versions this key's events name (and the first): not every version of the chain
    root = repo.index.edge_version(ds.name, last=False)
    if root is None:
        raise UsageError(f"{ds.name} has no versions yet: record one with `dslineage commit -m MSG`")
    nk, nl = len(ds.key), len(ds.labels)
    found = repo.index.key_events(ds.name, values)
    versions = repo.index.versions_in(ds.name, sorted({e["version"] for e in found}))
    if versions:
        # only the current version's first-parent line: not another branch's versions (whose
        # journal a merge brought in), and a merge version's change set is against its first
        # parent, so a change from the merged branch counts once
        head = common.current(repo, ds)
        line = set(common.ancestors(repo.index.version_links(ds.name), head["id"] if head else None, first=True))
        versions = {vid: v for vid, v in versions.items() if vid in line}
    found = sorted(
        (e for e in found if e["version"] in versions), key=lambda e: (e["seq"], versions[e["version"]]["timestamp"])
    )
    events: list[dict[str, Any]] = []
    typed_key: list[Any] | None = None
    for e in found:
        v = versions[e["version"]]
        new = {ds.labels[i]: rows.plain(e[f"n{i}"]) for i in range(nl)}
        old = {ds.labels[i]: rows.plain(e[f"o{i}"]) for i in range(nl)}
        typed_key = [rows.plain(e[f"k{i}"]) for i in range(nk)]
        event = _event(v, e["change"], old if e["change"] == "removed" else new)
        if e["change"] == "relabeled":
            event["from"] = old
        events.append(event)
    if not events or events[0]["change"] != "added":
        if events:
            # the labels the row had before its first recorded change
            root_labels = events[0].get("from") or events[0]["labels"]
        else:
            typed_key, root_labels = _lookup_latest(repo, ds, values)
        events.insert(0, _event(root, "added", root_labels))
    key_out = dict(zip(ds.key, typed_key if typed_key is not None else values))
    # relabel events name the edit batch, annotator and reason that made them
    return _record(provenance(repo, ds, {"dataset": ds.name, "key": key_out, "events": events}))


_ENTRY_KEYS = ("version", "seq", "change", "labels", "author", "timestamp", "message")


def _record(result: dict[str, Any]) -> History:
    """The history result as a `History`: the one place it is built. An event's keys beyond the
    common ones (`from`, `batch`, `annotator`, `reason`, `batches`, ...) go to `more`, in order."""
    return History(
        dataset=result["dataset"],
        key=result["key"],
        events=[
            HistoryEntry(**{k: e[k] for k in _ENTRY_KEYS}, more={k: v for k, v in e.items() if k not in _ENTRY_KEYS})
            for e in result["events"]
        ],
    )


def _lookup_latest(repo: Repo, ds: Any, values: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """Key and labels of a row never changed since the first version, from the latest one."""
    head = common.current(repo, ds.name)
    assert head is not None
    # a point lookup: the index's open connection reads the parquet as well as a new one would
    found = rows.key_rows(repo.index.con, common.version_source(repo, ds, head), ds, values)
    if found is None:
        raise UnknownKeyError(
            f"no row with key {', '.join(map(str, values))} in any version of {ds.name}: "
            f"check the value (and its key columns: {', '.join(ds.key)})"
        )
    return found


def _event(v: dict[str, Any], change: str, labels: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": v["id"],
        "seq": v["seq"],
        "change": change,
        "labels": labels,
        "author": v["author"],
        "timestamp": v["timestamp"],
        "message": v["message"],
    }
