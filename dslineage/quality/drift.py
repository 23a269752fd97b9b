"""`dslineage drift NAME@A [NAME@B]` / `drift NAME[@B] [--against REF]`: how far B's
distributions moved from A's (bare NAME: the working file against its baseline).

Label columns: Jensen–Shannon distance, PSI and the largest shift of one class's share of
the class distribution (counts by SQL). Numeric columns: PSI over ten quantile bins of A (plus a null bin) and the
two-sample Kolmogorov–Smirnov statistic D, both from each side's values sorted by DuckDB.
Thresholds come from the dataset's `max_drift` rule, else `rules.DRIFT_DEFAULTS`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dslineage.config import Dataset
from dslineage.core import common
from dslineage.core.refs import split
from dslineage.errors import UsageError
from dslineage.model_quality import DriftEntry, DriftOptions, DriftResult, SideRows, TargetRef
from dslineage.quality import require, results, rules, stats
from dslineage.store import profile, rows

if TYPE_CHECKING:
    from dslineage.repo import Repo

BINS = 10


def _aligned(a: list[tuple[Any, int]], b: list[tuple[Any, int]]) -> tuple[list[int], list[int]]:
    ca = {json.dumps(v, default=str): n for v, n in a}
    cb = {json.dumps(v, default=str): n for v, n in b}
    keys = sorted(set(ca) | set(cb))
    return [ca.get(k, 0) for k in keys], [cb.get(k, 0) for k in keys]


def measure(
    con: Any,
    ds: Dataset,
    rel_a: str,
    rel_b: str,
    types_a: dict[str, str],
    types_b: dict[str, str],
    settings: dict[str, Any],
    *,
    defaults: bool,
) -> list[DriftEntry]:
    """Drift entries (column, statistic, value, threshold, drifted) for A → B.

    With `defaults`, every label and numeric column is measured (unset thresholds take
    DRIFT_DEFAULTS); without, only what `settings` (the rule) gives a threshold for.
    """
    th = {**rules.DRIFT_DEFAULTS, **settings} if defaults else dict(settings)
    per_col = settings.get("columns", {})
    out: list[DriftEntry] = []

    def add(col: str, stat: str, value: float | None, limit: float, *, at_least: bool = False) -> None:
        over = value is not None and (value >= limit - 1e-9 if at_least else value > limit)
        out.append(DriftEntry(column=col, statistic=stat, value=value, threshold=limit, drifted=over))

    for col in [c for c in ds.labels if c in types_a and c in types_b]:
        if all(th.get(k) is None for k in ("label_js", "label_psi", "label_shift")):
            break
        ca, cb = _aligned(profile.value_counts(con, rel_a, col), profile.value_counts(con, rel_b, col))
        if th.get("label_js") is not None:
            add(col, "js", stats.js_distance(ca, cb), th["label_js"])
        if th.get("label_psi") is not None:
            add(col, "psi", stats.psi(ca, cb), th["label_psi"])
        if th.get("label_shift") is not None:  # flags at or above: "2% of the rows moved"
            add(col, "shift", stats.class_shift(ca, cb), th["label_shift"], at_least=True)
    skip = set(ds.key) | set(ds.labels) | set(ds.ignore)
    for col in [c for c in types_b if c in types_a and c not in skip]:
        if not (profile.is_numeric(types_a[col]) and profile.is_numeric(types_b[col])):
            continue
        limits = {s: per_col.get(col, {}).get(s, th.get(f"numeric_{s}")) for s in ("psi", "ks")}
        if all(v is None for v in limits.values()):
            continue
        (a, nulls_a), (b, nulls_b) = profile.sorted_values(con, rel_a, col), profile.sorted_values(con, rel_b, col)
        if limits["psi"] is not None:
            add(col, "psi", stats.psi_numeric(a, b, nulls_a, nulls_b, BINS), limits["psi"])
        if limits["ks"] is not None:
            add(col, "ks", stats.ks_sorted(a, b), limits["ks"])
    return out


def drift(repo: Repo, a: str, b: str | None, opts: DriftOptions) -> DriftResult:
    """`dslineage drift`: drift statistics A → B.

    `drift NAME@A NAME@B` compares two versions; `drift NAME@A` A with the working file;
    `drift X --against REF` REF with X (NAME: the working file); bare `drift NAME` the working
    file with its baseline (the rules' `baseline:`, else the last version that passed its checks).
    """
    require()
    if opts.against and b:
        raise UsageError("give either a second version or --against, not both")
    name = split(a)[0]
    r = rules.load(repo.root, repo.datasets()).get(name)
    how = None
    if opts.against or "@" not in a:
        tb = results.target(repo, a, bare="working")
        if "@" not in a and tb.version is not None:
            tb = results.Target(tb.ds, None, tb.src, tb.md5)  # the working file, even if unchanged
        found, why, how = results.baseline(repo, tb, opts.against or (r.baseline if r else None))
        if found is None:
            raise UsageError(f"{name} has no baseline to compare with ({why}): name one with --against REF")
        ta = found
    else:
        ta = results.target(repo, a, bare="latest")
        tb = results.target(repo, b, bare="latest") if b else results.target(repo, name, bare="working")
        if b is None and tb.version is not None:
            tb = results.Target(tb.ds, None, tb.src, tb.md5)  # the working file, even if unchanged
    settings = r.drift if r else {}
    con = common.row_connection(repo)
    try:
        rel_a, rel_b = profile.relation(con, ta.src, "_a"), profile.relation(con, tb.src, "_b")
        types_a = {c["name"]: c["type"] for c in rows.schema(con, ta.src)}
        types_b = {c["name"]: c["type"] for c in rows.schema(con, tb.src)}
        entries = measure(con, ta.ds, rel_a, rel_b, types_a, types_b, settings, defaults=True)
        n_a, n_b = (con.execute(f"SELECT count(*) FROM {x}").fetchone()[0] for x in (rel_a, rel_b))
    finally:
        con.close()
    return DriftResult(
        dataset=ta.ds.name,
        a=TargetRef(**ta.describe()),
        b=TargetRef(**tb.describe()),
        rows=SideRows(a=n_a, b=n_b),
        drifted=any(e.drifted for e in entries),
        columns=entries,
        thresholds="rules" if settings else "defaults",
        baseline=how,
    )
