"""`dslineage check NAME[@REF]` and the commit gate: run a dataset's rules on one version.

Each result is `{"rule", "column", "value", "threshold", "passed"}` (plus `detail` for
people and `statistic` for drift). Row work is SQL in `store/profile.py`; one scan
measures every null fraction and range together.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from dslineage.core import common
from dslineage.errors import ChecksFailedError, UsageError
from dslineage.model import to_json
from dslineage.model_quality import Baseline, CheckOptions, CheckResult, RuleResult
from dslineage.quality import drift as drift_mod
from dslineage.quality import fmt, require, results, rules
from dslineage.quality.rules import CHECKS_FILE, Rules
from dslineage.quality.types import type_matches
from dslineage.store import profile, rows

if TYPE_CHECKING:
    from dslineage.repo import Repo


def _result(rule: str, column: str | None, value: Any, threshold: Any, passed: bool, detail: str = "") -> dict:
    out = {"rule": rule, "column": column, "value": value, "threshold": threshold, "passed": bool(passed)}
    if detail:
        out["detail"] = detail
    return out


def _verify_columns(r: Rules, types: dict[str, str], label: str) -> None:
    """Rule columns must exist (unless `columns` expects them, which then reports them missing)."""
    named = [("ranges", c) for c in r.ranges] + [("max_null_fraction", c) for c in r.max_null_fraction if c != "*"]
    named += [("unique_key", c) for c in r.unique_key]
    named += [("max_drift.columns", c) for c in r.drift.get("columns", {})]
    for rule, col in named:
        if col not in types and col not in r.columns:
            shown = ", ".join(list(types)[:20])
            raise rules.RulesError(
                f"{CHECKS_FILE}: {r.dataset}.{rule}.{col}: no column {col!r} in {label} "
                f"(columns: {shown}): fix the column name"
            )
    for col in r.ranges:
        if col in types and not profile.is_numeric(types[col]):
            raise rules.RulesError(
                f"{CHECKS_FILE}: {r.dataset}.ranges.{col}: column {col!r} is {types[col]}, "
                "not numeric: remove the range or fix the column name"
            )


def _class_results(r: Rules, col: str, counts: list[tuple[Any, int]]) -> list[dict]:
    out = []
    classes = {rows.plain(v): n for v, n in counts if v is not None}
    allowed = r.allowed_labels.get(col)
    if allowed is not None:
        extra = {v: n for v, n in classes.items() if v not in allowed}
        shown = ", ".join(f"{v!r} ×{n}" for v, n in list(extra.items())[:5])
        out.append(
            _result(
                "allowed_labels", col, sum(extra.values()), allowed, not extra, f"unexpected: {shown}" if extra else ""
            )
        )
        for v in allowed:
            classes.setdefault(v, 0)
    total = sum(classes.values())
    if col in r.min_rows_per_class:
        v, n = min(classes.items(), key=lambda kv: kv[1]) if classes else (None, 0)
        out.append(
            _result(
                "min_rows_per_class",
                col,
                n,
                r.min_rows_per_class[col],
                n >= r.min_rows_per_class[col],
                f"smallest class {v!r}" if classes else "no labels",
            )
        )
    for rule, pick in (("min_class_share", min), ("max_class_share", max)):
        limit = getattr(r, rule).get(col)
        if limit is None:
            continue
        v, n = pick(classes.items(), key=lambda kv: kv[1]) if classes else (None, 0)
        share = n / total if total else 0.0
        ok = share >= limit if rule == "min_class_share" else share <= limit
        out.append(_result(rule, col, share, limit, ok, f"class {v!r}: {n} of {total} rows"))
    return out


def evaluate(con: Any, r: Rules, t: results.Target, p: results.Target | None, why_no_parent: str | None) -> list[dict]:
    """Every rule of `r` measured on target `t` (drift against `p`, its baseline)."""
    ds = t.ds
    rel = profile.relation(con, t.src, "_t")
    types = {c["name"]: c["type"] for c in rows.schema(con, t.src)}
    _verify_columns(r, types, t.label)
    out = []
    for col, spec in r.columns.items():
        actual = types.get(col)
        out.append(
            _result(
                "columns",
                col,
                actual,
                spec,
                actual is not None and type_matches(spec, actual),
                "" if actual else "column missing",
            )
        )
    nulls = dict(r.max_null_fraction)
    if "*" in nulls:
        star = nulls.pop("*")
        nulls = {**{c: star for c in types}, **nulls}
    nulls = {c: v for c, v in nulls.items() if c in types}
    ranges = {c: v for c, v in r.ranges.items() if c in types}
    st = profile.column_stats(con, rel, types, list(nulls), ranges)
    for col, limit in nulls.items():
        frac = st["nulls"][col] / st["rows"] if st["rows"] else 0.0
        detail = f"{st['nulls'][col]} of {st['rows']} rows"
        out.append(_result("max_null_fraction", col, frac, limit, frac <= limit, detail))
    for col, (lo, hi) in r.ranges.items():
        if col not in types:
            out.append(_result("ranges", col, None, [lo, hi], False, "column missing"))
            continue
        m = st["ranges"][col]
        out.append(
            _result("ranges", col, m["outside"], [lo, hi], m["outside"] == 0, f"observed {m['min']} .. {m['max']}")
        )
    if r.unique_key:
        if all(c in types for c in r.unique_key):
            n, few = profile.duplicated(con, rel, r.unique_key)
            shown = "; ".join(",".join(map(str, f[:-1])) + f" ×{f[-1]}" for f in few)
            out.append(_result("unique_key", ",".join(r.unique_key), n, 0, n == 0, f"duplicated: {shown}" if n else ""))
        else:
            out.append(_result("unique_key", ",".join(r.unique_key), None, 0, False, "column missing"))
    label_cols = set(r.allowed_labels) | set(r.min_rows_per_class) | set(r.min_class_share) | set(r.max_class_share)
    for col in [c for c in ds.labels if c in label_cols]:
        if col not in types:
            out.append(_result("labels", col, None, None, False, "label column missing"))
            continue
        out += _class_results(r, col, profile.value_counts(con, rel, col))
    if r.drift:
        out += _drift_results(con, r, t, rel, p, why_no_parent)
    return out


def _drift_results(
    con: Any, r: Rules, t: results.Target, rel: str, p: results.Target | None, why: str | None
) -> list[dict]:
    if p is None:
        return [_result("max_drift", None, None, None, True, f"skipped: {why}")]
    rel_p = profile.relation(con, p.src, "_p")
    types_p = {c["name"]: c["type"] for c in rows.schema(con, p.src)}
    types = {c["name"]: c["type"] for c in rows.schema(con, t.src)}
    entries = drift_mod.measure(con, t.ds, rel_p, rel, types_p, types, r.drift, defaults=False)
    return [
        {
            **_result("max_drift", e.column, e.value, e.threshold, not e.drifted, f"{e.statistic} vs {p.label}"),
            "statistic": e.statistic,
        }
        for e in entries
    ]


def run(repo: Repo, r: Rules, t: results.Target, *, against: str | None = None) -> CheckResult:
    """Check one target against its rules: the `check --json` shape (without storing it).

    Drift is measured against `against`, else the rules' `baseline:`, else the last version
    that passed its checks (see `results.baseline`)."""
    require()
    p, why, how = (None, None, None) if not r.drift else results.baseline(repo, t, against or r.baseline)
    con = common.row_connection(repo)
    try:
        res = evaluate(con, r, t, p, why)
    finally:
        con.close()
    return CheckResult(
        dataset=t.ds.name,
        version=t.version["id"] if t.version else None,
        seq=t.version["seq"] if t.version else None,
        md5=t.md5,
        workdir=t.version is None,
        parent=p.version["id"] if p and p.version else None,
        baseline=Baseline(**p.describe(), chosen=how) if p else None,
        passed=all(x["passed"] for x in res),
        results=[RuleResult.from_dict(x) for x in results.plain_json(res)],
    )


def rules_committed(repo: Repo) -> str | None:
    """Why results computed from the rules file must not be stored in git (None: they may).

    Results are stored in a git commit; rules that git does not hold (untracked, or changed
    since the last commit) would make that commit describe checks nobody can re-run."""
    state = repo.git.run("status", "--porcelain", "--", CHECKS_FILE).strip()
    if state.startswith("??"):
        return f"{CHECKS_FILE} is not tracked by git: commit it to store check results"
    if state:
        return f"{CHECKS_FILE} has uncommitted changes: commit them to store check results"
    return None


def check(repo: Repo, ref: str, opts: CheckOptions) -> CheckResult:
    """`dslineage check NAME[@REF]`: run the rules; store the results of a committed version
    (only when the rules file itself is committed: `check` never commits anything else)."""
    t = results.target(repo, ref, bare="working")
    r = rules.load(repo.root, repo.datasets()).get(t.ds.name)
    if r is None:
        raise UsageError(
            f"{t.ds.name} has no rules in {CHECKS_FILE}: add a `{t.ds.name}:` block (see README: data-quality gates)"
        )
    out = run(repo, r, t, against=opts.against)
    why_not = rules_committed(repo) if opts.record and t.version is not None else None
    if why_not:
        return dataclasses.replace(out, not_stored=why_not)
    if opts.record and t.version is not None:
        failed = sum(not x.passed for x in out.results)
        summary = "passed" if out.passed else f"{failed} failed"
        payload = {"passed": out.passed, "results": to_json(out.results), "parent": out.parent}
        saved = results.store(repo, "check", t, payload, summary)
        return dataclasses.replace(out, stored=True, record=saved["record"], new_record=saved["new"])
    return out


def gate(repo: Repo, datasets: list[Any], *, no_verify: bool = False) -> dict[str, dict[str, Any]]:
    """Run the rules of each dataset about to be committed; refuse failures unless `no_verify`.

    Returns `extra` for `snapshot()`: `{name: {"checks": {...}, "no_verify": bool}}`.
    """
    all_rules = rules.load(repo.root, repo.datasets())
    extra: dict[str, dict[str, Any]] = {}
    failures = []
    for ds in datasets:
        if ds.name not in all_rules:
            continue
        md5 = common.working_md5(repo, ds)
        head = common.current(repo, ds.name)
        if md5 is None or (head is not None and head["md5"] == md5):
            continue  # missing file or nothing to commit: snapshot handles both
        t = results.Target(ds, None, common.working_source(repo, ds), md5)
        out = run(repo, all_rules[ds.name], t)
        checks = {"passed": out.passed, "results": to_json(out.results), "parent": out.parent, "md5": md5}
        extra[ds.name] = {"checks": checks, "no_verify": bool(no_verify)}
        failures += [f"{ds.name} {describe(x)}" for x in out.results if not x.passed]
    if failures and not no_verify:
        raise ChecksFailedError(
            failed_message(failures, "fix the data (`dslineage check NAME` shows all), or commit with --no-verify")
        )
    return extra


def failed_message(failures: list[str], fix: str) -> str:
    """The one line the commit gate (and `relabel`) refuses with: the count, the first four, the fix."""
    shown = "; ".join(failures[:4]) + (f"; and {len(failures) - 4} more" if len(failures) > 4 else "")
    return f"{len(failures)} data-quality check(s) failed ({shown}): {fix}"


def label_gate(
    repo: Repo, ds: Any, column: str, before: list[tuple[Any, int]], moves: list[tuple[Any, Any, int]]
) -> None:
    """Refuse a label batch up front when it breaks a label rule of the rules file.

    `before` is the column's (value, rows) counts, `moves` the batch's (old, new, rows). A
    new label outside `allowed_labels` is always refused; a class rule (`min_rows_per_class`,
    `min/max_class_share`) only when the batch makes it fail (one already failing is not the
    batch's doing). The message is the commit gate's, with the fix for an edit batch."""
    r = rules.load(repo.root, repo.datasets()).get(ds.name)
    if r is None or not any(column in getattr(r, rule) for rule in rules.LABEL_RULES):
        return
    counts: dict[Any, int] = {}
    for v, n in before:
        counts[rows.plain(v)] = counts.get(rows.plain(v), 0) + n
    for old, new, n in moves:
        counts[rows.plain(old)] = counts.get(rows.plain(old), 0) - n
        counts[rows.plain(new)] = counts.get(rows.plain(new), 0) + n
    after = [(v, n) for v, n in counts.items() if n > 0]
    was = {x["rule"]: x["passed"] for x in _class_results(r, column, before)}
    failures = []
    allowed = r.allowed_labels.get(column)
    if allowed is not None:
        bad: dict[Any, int] = {}
        names = {str(a) for a in allowed}  # a CSV's labels may be text where the rules list numbers
        for _, new, n in moves:
            if rows.plain(new) is not None and str(rows.plain(new)) not in names:
                bad[rows.plain(new)] = bad.get(rows.plain(new), 0) + n
        if bad:
            x = _result("allowed_labels", column, sum(bad.values()), allowed, False)
            failures.append(f"{ds.name} {describe(x)}")
    for x in _class_results(r, column, after):
        if x["rule"] != "allowed_labels" and not x["passed"] and was.get(x["rule"], True):
            failures.append(f"{ds.name} {describe(x)}")
    if failures:
        raise ChecksFailedError(
            failed_message(failures, f"fix the edits (the rules are in {CHECKS_FILE}); nothing was changed")
        )


def describe(x: RuleResult | dict[str, Any]) -> str:
    """One failed result in a few words: `max_null_fraction x 0.12 > 0.05`."""
    col = f" {x['column']}" if x.get("column") else ""
    stat = f" {x['statistic']}" if x.get("statistic") else ""
    return f"{x['rule']}{stat}{col} {fmt(x['value'])} vs {fmt(x['threshold'])}"
