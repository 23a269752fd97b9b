"""`dslineage audit NAME[@REF] [--against OTHER@REF] [--on COLS] [--group COL]`.

Conflicting duplicates (same features, different labels), leakage against another
dataset (same key or same feature content), annotator agreement from the relabel
history, class imbalance and subgroup gaps. Row work is SQL in `store/profile.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage.core import common
from dslineage.errors import UsageError
from dslineage.model_quality import AuditOptions, AuditResult
from dslineage.quality import agreement as agreement_mod
from dslineage.quality import require, results, stats
from dslineage.store import profile, rows

if TYPE_CHECKING:
    from dslineage.repo import Repo

MAX_GROUPS = 50


def _need(cols: list[str], types: dict[str, str], label: str, option: str) -> None:
    missing = [c for c in cols if c not in types]
    if missing:
        shown = ", ".join(list(types)[:20])
        raise UsageError(f"no column {', '.join(map(repr, missing))} in {label} (columns: {shown}): fix {option}")


def imbalance(counts: list[tuple[Any, int]]) -> dict[str, Any]:
    """Share per class (nulls left out) and the ratio of the largest class to the smallest."""
    classes = [(v, n) for v, n in counts if v is not None]
    total = sum(n for _, n in classes)
    shares = {str(v): n / total for v, n in classes} if total else {}
    ratio = max(n for _, n in classes) / min(n for _, n in classes) if classes else None
    return {"ratio": ratio, "shares": shares, "classes": len(classes), "rows": total}


def subgroups(cells: list[tuple[Any, Any, int]], column: str, label: str, min_rows: int) -> dict[str, Any]:
    """Label shares per subgroup and the largest gap in one class's share between two subgroups."""
    import numpy as np

    groups = sorted({str(g) for g, _, _ in cells})
    labels = sorted({str(v) for _, v, _ in cells if v is not None})
    gi, li = {g: i for i, g in enumerate(groups)}, {v: i for i, v in enumerate(labels)}
    table = np.zeros((len(groups), len(labels)), dtype=np.int64)
    for g, v, n in cells:
        if v is not None:
            table[gi[str(g)], li[str(v)]] += n
    sizes = table.sum(axis=1)
    keep = sizes >= max(min_rows, 1)
    out: dict[str, Any] = {
        "column": column,
        "label_column": label,
        "groups": int(len(groups)),
        "compared": int(keep.sum()),
        "min_group_rows": min_rows,
        "max_gap": None,
    }
    if keep.sum() >= 2:
        shares = table[keep] / sizes[keep][:, None]
        kept = [g for g, k in zip(groups, keep) if k]
        gaps = shares.max(axis=0) - shares.min(axis=0)
        c = int(gaps.argmax())
        out.update(
            {
                "max_gap": float(gaps[c]),
                "class": labels[c],
                "highest": kept[int(shares[:, c].argmax())],
                "lowest": kept[int(shares[:, c].argmin())],
            }
        )
        out.update(stats.independence(table[keep]))
    order = np.argsort(-sizes, kind="stable")[:MAX_GROUPS]
    out["shares"] = [
        {
            "group": groups[i],
            "rows": int(sizes[i]),
            "shares": {lab: float(table[i, j] / sizes[i]) for j, lab in enumerate(labels) if table[i, j]},
        }
        for i in order
        if sizes[i]
    ]
    return out


def _leakage(
    con: Any,
    t: results.Target,
    rel: str,
    types: dict,
    other: results.Target,
    feats: list[str],
    on_given: bool,
    examples: int,
) -> dict[str, Any]:
    rel_o = profile.relation(con, other.src, "_o")
    types_o = {c["name"]: c["type"] for c in rows.schema(con, other.src)}
    out: dict[str, Any] = {"against": other.describe(), "by_key": None, "by_content": None}
    if all(k in types_o for k in t.ds.key):
        n, few = profile.overlap(con, rel, rel_o, t.ds.key, profile.common_types(types, types_o, t.ds.key), examples)
        out["by_key"], out["key_examples"] = n, few
    if on_given:
        _need(feats, types_o, other.label, "--on")
    common_feats = [c for c in feats if c in types_o]
    out["on"] = common_feats
    if common_feats:
        casts = profile.common_types(types, types_o, common_feats)
        n, few = profile.overlap(con, rel, rel_o, common_feats, casts, examples)
        out["by_content"], out["content_examples"] = n, few
    return out


def features(ds: Any, columns: list[str]) -> list[str]:
    """The feature columns of a dataset: its registered `--feature` columns, else every column
    that is not a key, label, prediction, group or ignored column (predictions never count)."""
    if ds.features:
        return list(ds.features)
    other = set(ds.key) | set(ds.labels) | set(ds.predictions) | set(ds.groups) | set(ds.ignore)
    return [c for c in columns if c not in other]


def audit(repo: Repo, ref: str, opts: AuditOptions) -> AuditResult:
    """Audit one version (bare NAME: the working file); store the result of a committed version."""
    group = opts.group  # default: the dataset's first registered subgroup column
    require()
    t = results.target(repo, ref, bare="working")
    ds = t.ds
    other = results.target(repo, opts.against, bare="latest") if opts.against else None
    con = common.row_connection(repo)
    try:
        rel = profile.relation(con, t.src, "_t")
        types = {c["name"]: c["type"] for c in rows.schema(con, t.src)}
        _need(ds.key + ds.labels, types, t.label, "the registration (`dslineage track`)")
        feats = list(opts.on) if opts.on else features(ds, list(types))
        _need(feats, types, t.label, "--on" if opts.on else "the registration's --feature (`dslineage track`)")
        if group is None and ds.groups and ds.groups[0] in types:
            group = ds.groups[0]
        if group is not None:
            _need([group], types, t.label, "--group")
        from dslineage.core import partaudit  # a directory's per-part statistics on the chosen engine

        prof: Any = partaudit.on_engine(repo, t, types, feats, group) or profile
        out: dict[str, Any] = {
            "dataset": ds.name,
            "version": t.version["id"] if t.version else None,
            "seq": t.version["seq"] if t.version else None,
            "md5": t.md5,
            "workdir": t.version is None,
        }
        if feats and ds.labels:
            out["conflicting_duplicates"] = {
                "on": feats,
                **prof.conflicting_duplicates(con, rel, feats, ds.labels, ds.key, opts.examples),
            }
        else:
            out["conflicting_duplicates"] = {"on": feats, "groups": 0, "rows": 0, "note": "no feature columns"}
        out["leakage"] = _leakage(con, t, rel, types, other, feats, bool(opts.on), opts.examples) if other else None
        ratings = (
            agreement_mod.ratings_from_history(
                repo, ds.name, ds.labels[0], t.version["seq"] if t.version else None, con=con
            )
            if ds.labels
            else None
        )
        out["agreement"] = (
            agreement_mod.agreement(ratings, con=con, examples=opts.examples) if ratings is not None else None
        )
        per = {c: imbalance(prof.value_counts(con, rel, c)) for c in ds.labels}
        out["imbalance"] = {"column": ds.labels[0], **per[ds.labels[0]]} if ds.labels else None
        if len(ds.labels) > 1:
            out["imbalance"]["by_column"] = per
        out["subgroups"] = (
            subgroups(prof.crosstab(con, rel, group, ds.labels[0]), group, ds.labels[0], opts.min_group_rows)
            if group and ds.labels
            else None
        )
    finally:
        con.close()
    out = results.plain_json(out)
    out["stored"] = False
    if opts.record and t.version is not None:
        cd = out["conflicting_duplicates"]
        summary = f"{cd['groups']} conflicting duplicate groups"
        payload = {k: v for k, v in out.items() if k not in ("dataset", "version", "seq", "md5", "workdir", "stored")}
        payload["options"] = {"against": opts.against, "on": opts.on, "group": group}
        payload["roles"] = ds.roles()
        saved = results.store(repo, "audit", t, payload, summary)
        out.update(stored=True, record=saved["record"], new_record=saved["new"])
    return AuditResult.from_dict(out)
