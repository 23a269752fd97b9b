"""`dslineage diff`: the row-level difference between two versions (or a version and the file)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NamedTuple

from dslineage import config
from dslineage.config import Dataset
from dslineage.core import common
from dslineage.core.refs import resolve, split
from dslineage.errors import ExternalError, MissingDataError, UsageError
from dslineage.model import DiffResult, DiffRows, DiffSide, LabelShift, SchemaChange
from dslineage.store import rowdiff
from dslineage.store import rows as row_sql

if TYPE_CHECKING:
    from dslineage.repo import Repo

_OUTPUT_FORMATS = {".parquet": "parquet", ".csv": "csv"}
_FEW_KEYS = 1000  # changed keys looked up by value (`key IN (...)`) rather than by their range


class _Side(NamedTuple):
    """One side of a byte-level diff: its description (`a`/`b` of the result), source and label
    distribution; a committed version's row count (None if unknown), the working file's profile."""

    desc: dict[str, Any]
    src: row_sql.Source
    dist: dict[str, Any]
    rows: int | None = None
    prof: row_sql.Profile | None = None


def _side(repo: Repo, con: Any, ds: Dataset, ref: str | None, *, keys: bool = True) -> _Side:
    """One side of a diff: a ref, or the working file when None (profiled, its keys scanned unless
    `keys` is false)."""
    if ref is None:
        src = common.working_source(repo, ds)
        prof = row_sql.profile(con, src, ds, keys=keys)
        md5 = common.working_md5(repo, ds)
        return _Side({"id": None, "seq": None, "md5": md5, "workdir": True}, src, prof.label_distribution, prof=prof)
    _, v = resolve(repo, ref)
    src = common.version_source(repo, ds, v)
    dist = json.loads(v["label_distribution"]) if v.get("label_distribution") else None
    if dist is None:
        dist = row_sql.profile(con, src, ds).label_distribution
    rows = int(v["rows"]) if v.get("rows") is not None else None
    return _Side({"id": v["id"], "seq": v["seq"], "md5": v["md5"]}, src, dist, rows)


def class_distribution(ds: Dataset, a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Per label column and label: count in A and in B (labels sorted by B count)."""
    out = []
    for col in ds.labels:
        ca = {json.dumps(d["label"]): d["count"] for d in a.get(col, [])}
        cb = {json.dumps(d["label"]): d["count"] for d in b.get(col, [])}
        values = {json.dumps(d["label"]): d["label"] for d in a.get(col, []) + b.get(col, [])}
        for k in sorted(values, key=lambda k: (-cb.get(k, 0), -ca.get(k, 0), k)):
            out.append({"column": col, "label": values[k], "a": ca.get(k, 0), "b": cb.get(k, 0)})
    return out


def diff(
    repo: Repo, a: str, b: str | None, *, rows: int = 0, output: str | None = None, fold: bool = True
) -> DiffResult:
    """Counts, per-column changes, label transitions, class shift and schema change A → B.

    Two committed versions are folded from their change sets (`fold_committed`) when they can
    be; `--rows`/`--output` then read from the bytes only the changed rows they show.
    `fold=False` reads both versions' bytes (the reference the fold is tested against).
    """
    name_a, _ = split(a)
    if b is not None and split(b)[0] != name_a:
        raise UsageError(f"diff compares versions of one dataset: {a} and {b} differ in name")
    ds = repo.dataset(name_a)
    out_path = None
    if output:
        out_path = config.inside(repo.root, output, cwd=repo.root)
        suffix = "." + out_path.rsplit(".", 1)[-1].lower() if "." in out_path else ""
        if suffix not in _OUTPUT_FORMATS:
            raise UsageError(f"--output must end in .parquet or .csv, not {output!r}")
    ref_a = a if "@" in a else f"{a}@latest"
    ref_b = b if b is None or "@" in b else f"{b}@latest"
    if ref_b is not None and fold:
        # two committed versions: no bytes needed, but for the rows shown
        exact = fold_committed(repo, ds, ref_a, ref_b, changed=None if out_path else rows)
        if exact is not None:
            changed = exact.pop("changed", None)
            if changed is not None:
                _rows_of(repo, ds, exact, changed, (ref_a, ref_b), (rows, out_path))
            return _record(exact)
    con = common.row_connection(repo)
    try:
        try:
            desc_a, src_a, dist_a, rows_a, _ = _side(repo, con, ds, ref_a)
            # the working file's keys are proved non-null and unique from its join with A (a committed
            # version, so valid) as a commit proves them: no GROUP BY over every key before the join
            by_join = repo.engine_spec is None and rows_a is not None
            desc_b, src_b, dist_b, _, prof_b = _side(repo, con, ds, ref_b, keys=not by_join)
        except (MissingDataError, ExternalError):
            # no bytes (a clone without the old data, no reachable remote): labels from the journal
            folded = None if rows or out_path or ref_b is None else from_journal(repo, ds, ref_a, ref_b)
            if folded is None:
                raise
            return _record(folded)
        routed = None
        if repo.engine_spec is not None:  # a directory's changed parts, one task each on the engine
            from dslineage.core import partwork

            routed = partwork.compare(repo, con, ds, [(desc_a, src_a), (desc_b, src_b)])
        plan, summary = routed or rowdiff.compare(con, src_a, src_b, ds, prof_b.schema if prof_b else None)
        if prof_b is not None and rows_a is not None and by_join:
            rowdiff.check_keys_by_diff(con, src_b, ds, prof_b, rows_a, summary)
        n_b = sum(d["count"] for d in dist_b[ds.labels[0]]) if ds.labels else 0
        changed_both = summary["relabeled"] + summary["modified"]
        result: dict[str, Any] = {
            "dataset": ds.name,
            "a": desc_a,
            "b": desc_b,
            "rows": {
                "added": summary["added"],
                "removed": summary["removed"],
                "modified": changed_both,
                "relabeled": summary["relabeled"],
                "unchanged": n_b - summary["added"] - changed_both,
            },
            "columns": summary["columns"],
            "label_transitions": summary["label_transitions"],
            "class_distribution": class_distribution(ds, dist_a, dist_b),
            "schema": {"added": plan.added_cols, "removed": plan.removed_cols, "retyped": plan.retyped},
        }
        _show_rows(repo, con, plan, (src_a, src_b), result, (rows, out_path))
    finally:
        con.close()
    return _record(result)


def _show_rows(
    repo: Repo,
    con: Any,
    plan: rowdiff.DiffPlan,
    sources: tuple[row_sql.Source, row_sql.Source],
    result: dict[str, Any],
    shown: tuple[int, str | None],
    **where: Any,
) -> None:
    """Add the first `rows` changed rows as `sample` and write all of them to `output`, for
    `shown` = (rows, output path); `where` narrows the rows read (`rowdiff.sample_changes`)."""
    rows, out_path = shown
    if rows:
        sample = rowdiff.sample_changes(con, plan, *sources, rows, **where)
        result["sample"] = [{k: row_sql.plain(v) for k, v in r.items()} for r in sample.to_pylist()]
    if out_path:
        common.write_table(repo, rowdiff.sample_changes(con, plan, *sources, None), out_path)
        result["output"] = out_path


_COMMON = ("dataset", "a", "b", "rows", "columns", "label_transitions", "class_distribution", "schema")


def _record(d: dict[str, Any]) -> DiffResult:
    """A diff as a `DiffResult`: the one place it is built, from either path's dict. The keys
    only one path emits (`source`, `exact`, `sample`, `output`) go to `more` in their order."""

    def side(s: dict[str, Any]) -> DiffSide:
        return DiffSide(
            id=s["id"], seq=s["seq"], md5=s["md5"], more={k: v for k, v in s.items() if k not in ("id", "seq", "md5")}
        )

    n, schema = d["rows"], d["schema"]
    return DiffResult(
        dataset=d["dataset"],
        a=side(d["a"]),
        b=side(d["b"]),
        rows=DiffRows(
            added=n["added"],
            removed=n["removed"],
            modified=n["modified"],
            relabeled=n["relabeled"],
            unchanged=n["unchanged"],
        ),
        columns=d["columns"],
        label_transitions=d["label_transitions"],
        class_distribution=[
            LabelShift(column=c["column"], label=c["label"], a=c["a"], b=c["b"]) for c in d["class_distribution"]
        ],
        schema=SchemaChange(added=schema["added"], removed=schema["removed"], retyped=schema["retyped"]),
        more={k: v for k, v in d.items() if k not in _COMMON},
    )


def _path(versions: dict[str, dict[str, Any]], old: dict[str, Any], new: dict[str, Any]) -> list[str] | None:
    """Ids of the versions after `old` up to `new` along first-parent links, or None if `old`
    is not one of them."""
    line = common.ancestors(versions, new["id"], first=True)
    return line[: line.index(old["id"])] if old["id"] in line else None


def from_journal(repo: Repo, ds: Dataset, ref_a: str, ref_b: str) -> dict[str, Any] | None:
    """The diff of two committed versions folded from the journal's change sets, without their bytes.

    Added, removed and relabeled rows, label transitions, class distributions and schema
    changes are exact; `modified` counts every row that had any change in between (one
    whose features changed back still counts). None when the change sets do not connect A
    and B (one is not an ancestor of the other, or a change set in between is unknown).
    """
    from dslineage.store import changes

    _, va = resolve(repo, ref_a)
    _, vb = resolve(repo, ref_b)
    versions = {v["id"]: v for v in repo.index.versions(ds.name)}
    inverted = False
    chain = _path(versions, va, vb)
    if chain is None:
        chain, inverted = _path(versions, vb, va), True
    if chain is None or any(not versions[v]["changes_known"] for v in chain):
        return None
    if not (va.get("label_distribution") and vb.get("label_distribution") and va.get("schema") and vb.get("schema")):
        return None
    f = changes.fold(repo.index.con, ds.name, chain, len(ds.key), len(ds.labels))
    if inverted:
        f["added"], f["removed"] = f["removed"], f["added"]
    transitions = []
    for label, found in zip(ds.labels, f["transitions"]):
        for t in found:
            old, new = (t["to"], t["from"]) if inverted else (t["from"], t["to"])
            transitions.append({"column": label, "from": old, "to": new, "count": t["count"]})
    if inverted:  # the order of the SQL path: label column, count desc, from, to (NULLs last)
        transitions.sort(
            key=lambda t: (
                ds.labels.index(t["column"]),
                -t["count"],
                t["from"] is None,
                t["from"] if t["from"] is not None else 0,
                t["to"] is None,
                t["to"] if t["to"] is not None else 0,
            )
        )
    plan = rowdiff.plan(json.loads(va["schema"]), json.loads(vb["schema"]), ds)
    columns = {label: n for label, n in zip(ds.labels, f["labels"]) if n}
    return {**_folded(ds, va, vb, f, columns, transitions, plan), "exact": False}


def _folded(
    ds: Dataset,
    va: dict[str, Any],
    vb: dict[str, Any],
    f: dict[str, Any],
    columns: dict[str, int],
    transitions: list[dict[str, Any]],
    plan: Any,
) -> dict[str, Any]:
    """The diff result of a fold of the change sets between versions `va` and `vb`."""
    return {
        "dataset": ds.name,
        "a": {"id": va["id"], "seq": va["seq"], "md5": va["md5"]},
        "b": {"id": vb["id"], "seq": vb["seq"], "md5": vb["md5"]},
        "rows": {
            "added": f["added"],
            "removed": f["removed"],
            "modified": f["modified"],
            "relabeled": f["relabeled"],
            "unchanged": int(vb["rows"]) - f["added"] - f["modified"],
        },
        "columns": columns,
        "label_transitions": transitions,
        "class_distribution": class_distribution(
            ds, _as_obj(va["label_distribution"]), _as_obj(vb["label_distribution"])
        ),
        "schema": {"added": plan.added_cols, "removed": plan.removed_cols, "retyped": plan.retyped},
        "source": "journal",
    }


def _same_types(versions: dict[str, dict[str, Any]], ids: list[str], names: set[str]) -> bool:
    """Whether every column in `names` has one type in all of the versions `ids`."""
    types: dict[str, str] = {}
    for vid in ids:
        cols = {c["name"]: c["type"] for c in json.loads(versions[vid]["schema"] or "[]")}
        for name in names:
            if name not in cols or types.setdefault(name, cols[name]) != cols[name]:
                return False
    return True


def _rows_of(
    repo: Repo, ds: Dataset, result: dict[str, Any], changed: Any, refs: tuple[str, str], shown: tuple[int, str | None]
) -> None:
    """Add `sample` / write `output` (`_show_rows`, `shown`) to a folded diff of `refs`: only the
    changed rows (`changed`, their keys) are read from the bytes."""
    va, vb = (resolve(repo, ref)[1] for ref in refs)
    plan = rowdiff.plan(_as_list(va["schema"]), _as_list(vb["schema"]), ds)
    con = common.row_connection(repo)
    try:
        src_a, src_b = common.version_source(repo, ds, va), common.version_source(repo, ds, vb)
        con.register("_chg_arrow", changed)
        con.execute("CREATE OR REPLACE TEMP TABLE _chg AS SELECT * FROM _chg_arrow")
        lo, hi, n = con.execute("SELECT min(k0), max(k0), count(*) FROM _chg").fetchone()
        few = None  # a few changed keys of a one-column key: only their row groups are read
        if len(ds.key) == 1 and 0 < n <= _FEW_KEYS:
            few = [r[0] for r in con.execute("SELECT k0 FROM _chg ORDER BY k0").fetchall()]
        where = {"key_range": None if lo is None else (lo, hi), "key_in": few}
        _show_rows(repo, con, plan, (src_a, src_b), result, shown, **where)
    finally:
        con.close()


def fold_committed(
    repo: Repo, ds: Dataset, ref_a: str, ref_b: str, *, changed: int | None = 0
) -> dict[str, Any] | None:
    """The exact diff of two committed versions folded from their change sets, without bytes.

    A and B connect through the nearest version on both first-parent lines (A itself when it
    is an ancestor of B): A's side is undone, B's side applied (`store.changes.fold_exact`).
    When A is B's first parent, B's commit recorded this very diff (counts, columns and label
    transitions: `store.changes.recorded`), which is read instead: constant time.
    None — the caller reads bytes instead — when a change set in between lacks value digests
    (recorded before they existed, or unknown) or a column compared by the diff changes type
    (or goes missing) somewhere in between. Same keys as the byte-level diff, plus `source`
    ("journal") and `exact` (true); `changed` (a count, None for all) adds `changed`, the
    first changed rows' keys and change kinds (see `store.changes.fold_exact`).
    """
    from dslineage.store import changes

    _, va = resolve(repo, ref_a)
    _, vb = resolve(repo, ref_b)
    if not (va.get("label_distribution") and vb.get("label_distribution") and va.get("schema") and vb.get("schema")):
        return None
    repo.index.sync()
    versions = changes.chain(repo.index.con, ds.name)
    line_a, line_b = (common.ancestors(versions, v["id"], first=True) for v in (va, vb))
    on_a = {v: i for i, v in enumerate(line_a)}
    meet = next((i for i, v in enumerate(line_b) if v in on_a), None)
    if meet is None:
        return None
    back, forward = line_a[: on_a[line_b[meet]]], line_b[:meet]
    if not all(versions[v]["exact"] for v in back + forward):
        return None
    schema_a, schema_b = _as_list(va["schema"]), _as_list(vb["schema"])
    plan = rowdiff.plan(schema_a, schema_b, ds)
    shared = {c["name"] for c in schema_a} & {c["name"] for c in schema_b}
    if not set(ds.key + ds.labels) <= shared or not _same_types(versions, [*back, *forward, line_b[meet]], shared):
        return None
    whole = changes.recorded(repo.index.con, forward[0]) if not back and len(forward) == 1 and changed == 0 else None
    if whole is not None:  # B's own change set against A, its parent: the diff its commit recorded
        f = {
            "added": whole["added"],
            "removed": whole["removed"],
            "relabeled": whole["relabeled"],
            "modified": whole["relabeled"] + whole["modified"],
        }
        columns = {c: whole["columns"][c] for c in plan.compared if whole["columns"].get(c)}
        transitions = [{k: t[k] for k in ("column", "from", "to", "count")} for t in whole["transitions"]]
        return {**_folded(ds, va, vb, f, columns, transitions, plan), "exact": True}
    f = changes.fold_exact(
        repo.index.con, ds.name, back, forward, len(ds.key), list(ds.labels), plan.compared, changed=changed
    )
    transitions = [
        {"column": label, "from": t["from"], "to": t["to"], "count": t["count"]}
        for label, found in zip(ds.labels, f["transitions"])
        for t in found
    ]
    return {
        **_folded(ds, va, vb, f, f["columns"], transitions, plan),
        "exact": True,
        **({"changed": f["changed"]} if "changed" in f else {}),
    }


def _as_obj(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _as_list(value: Any) -> list[dict[str, str]]:
    return list(_as_obj(value))
