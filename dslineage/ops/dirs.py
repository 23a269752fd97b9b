"""Directory datasets in the verbs: a commit's change set from the changed parts only,
DVC's hints for the parts, backing up and rewriting only the parts that hold edited rows.
The parts themselves (manifests, scans, sources) live in `store.parts`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import dvcio
from dslineage.config import DIR_FORMAT, Dataset
from dslineage.core import common
from dslineage.store import parts, rowdiff, rows

if TYPE_CHECKING:
    from dslineage.repo import Repo

Located = dict[str, tuple[parts.Part, Path]]  # relpath -> (part, where its bytes are)


def part_hints(repo: Repo, ds: Dataset) -> dict[str, str]:
    """The working parts' md5s already known for their current stat (relpath -> md5), for
    DVC's state db: `dvc add` then hashes none of them again."""
    found = common.working_parts(repo, ds, compute=False) or []
    return {p.relpath: p.md5 for p in found}


def located(repo: Repo, ds: Dataset, md5: str) -> Located | None:
    """The parts of the directory with this `.dir` md5 and where to read each: the DVC cache
    when it holds the manifest, else the working directory when its parts have this md5
    (e.g. before `dvc add`); None when neither."""
    if not parts.is_dir_md5(md5):
        return None
    if dvcio.cache_path(repo.root, md5).is_file():
        return {p.relpath: (p, common.object_path(repo, p.md5, f"{ds.name}/{p.relpath}"))
                for p in parts.parts_of(repo.root, md5)}
    work = common.working_parts(repo, ds, compute=False)
    if work is None or parts.manifest_md5(work) != md5:
        return None
    top = common.working_path(repo, ds)
    return {p.relpath: (p, top / p.relpath) for p in work}


def changed_pairs(before: Located, after: Located) -> list[tuple[str, str | None, str | None]]:
    """(relpath, old location | None, new location | None) of every part whose md5 differs."""
    out = []
    for rel in sorted({*before, *after}):
        a, b = before.get(rel), after.get(rel)
        if a is not None and b is not None and a[0].md5 == b[0].md5:
            continue
        out.append((rel, str(a[1]) if a else None, str(b[1]) if b else None))
    return out


def _obj(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def diff_changed_parts(
    repo: Repo, con: Any, ds: Dataset, new: rows.Source, md5: str, parent: dict[str, Any]
) -> tuple[rowdiff.DiffPlan, dict[str, Any], int, list[dict[str, str]], dict[str, Any]] | None:
    """A directory version's change set against its parent read from the CHANGED parts only,
    with its row count (from footers), schema and label distribution (the parent's, moved by
    the changes): (plan, summary, rows, schema, distribution); the `_chg` table is left in
    `con`. None when this does not apply (not a directory, or the parent is not profiled).

    Keys stay unique across the whole directory: the changed parts prove theirs by counts
    (as `rowdiff.check_keys_by_diff` does), and keys new to them must not occur in the
    unchanged parts (their key columns only are read); else the full key scan raises."""
    if (ds.format != DIR_FORMAT or not parts.is_dir_md5(parent["md5"]) or parent.get("rows") is None
            or not parent.get("schema") or not parent.get("label_distribution")):
        return None
    after = located(repo, ds, md5)
    before = located(repo, ds, parent["md5"]) if after is not None else None
    if after is None or before is None:
        return None
    schema_a, schema_b = _obj(parent["schema"]), rows.check_columns(con, new, ds)
    p = rowdiff.plan(schema_a, schema_b, ds)
    cols_a = {c["name"]: c["type"] for c in schema_a}
    cols_b = {c["name"]: c["type"] for c in schema_b}
    pairs = changed_pairs(before, after)
    parts.build_changes_changed(con, pairs, p, cols_a, cols_b, digests=True)
    summary = rowdiff.summarize_changes(con, p)
    n_rows = parts.row_count([path for _, path in after.values()])
    if not _keys_proven(con, ds, schema_b, pairs, after, summary):
        rows.check_keys(con, new, ds, schema_b)  # raises the usual one-line error
    return p, summary, n_rows, schema_b, _moved(con, p, _obj(parent["label_distribution"]))


def _keys_proven(con: Any, ds: Dataset, schema: list[dict[str, str]], pairs: list[tuple[str, str | None, str | None]],
                 after: Located, summary: dict[str, Any]) -> bool:
    if any(c["name"] in ds.key and c["type"] in ("DOUBLE", "FLOAT") for c in schema):
        return False  # NaN keys need the full scan
    old_rows = parts.row_count([Path(a) for _, a, _ in pairs if a is not None])
    new_rows = parts.row_count([Path(b) for _, _, b in pairs if b is not None])
    if new_rows != old_rows - summary["removed"] + summary["added"]:
        return False
    if not summary["added"]:
        return True
    n = len(ds.key)
    nulls = " OR ".join(f"k{i} IS NULL" for i in range(n))
    ks = ", ".join(f"k{i}" for i in range(n))
    bad = con.execute(
        f"SELECT count(*) FILTER (WHERE {nulls}), count(*) - count(DISTINCT ({ks})) FROM _chg WHERE change = 'added'"
    ).fetchone()
    if any(bad):
        return False
    changed = {rel for rel, _, _ in pairs}
    unchanged = [(rel, path) for rel, (_, path) in after.items() if rel not in changed]
    return not parts.keys_clash(con, unchanged, ds.key)


def _moved(con: Any, p: rowdiff.DiffPlan, parent_dist: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The parent's label distribution moved by the `_chg` table (removed rows leave their old
    label, added rows bring their new one, relabeled rows move)."""
    out: dict[str, Any] = {}
    for i, label in enumerate(p.labels):
        counts = {json.dumps(d["label"]): int(d["count"]) for d in parent_dist.get(label, [])}
        values = {json.dumps(d["label"]): d["label"] for d in parent_dist.get(label, [])}
        for v, n in con.execute(
            f"SELECT v, sum(d) FROM (SELECT o{i} AS v, -1 AS d FROM _chg WHERE change <> 'added' "
            f"UNION ALL SELECT n{i}, 1 FROM _chg WHERE change <> 'removed') GROUP BY v"
        ).fetchall():
            key = json.dumps(rows.plain(v))
            counts[key] = counts.get(key, 0) + int(n)
            values.setdefault(key, rows.plain(v))
        dist = [{"label": values[k], "count": n} for k, n in counts.items() if n]
        dist.sort(key=lambda d: (-d["count"], d["label"] is None, "" if d["label"] is None else d["label"]))
        out[label] = dist
    return out
