"""`dslineage diff`: the row-level difference between two versions (or a version and the file)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dslineage import config
from dslineage.config import Dataset
from dslineage.errors import UsageError
from dslineage.ops import common
from dslineage.ops.refs import resolve, split
from dslineage.store import rows as sql

if TYPE_CHECKING:
    from dslineage.repo import Repo

_OUTPUT_FORMATS = {".parquet": "parquet", ".csv": "csv"}


def _side(repo: Repo, con: Any, ds: Dataset, ref: str | None) -> tuple[dict[str, Any], sql.Source, dict[str, Any]]:
    """(description, source, label distribution) for a ref, or the working file when None."""
    if ref is None:
        src = common.working_source(repo, ds)
        prof = sql.profile(con, src, ds)
        md5 = common.working_md5(repo, ds)
        return {"id": None, "seq": None, "md5": md5, "workdir": True}, src, prof.label_distribution
    _, v = resolve(repo, ref)
    src = common.version_source(repo, ds, v)
    dist = json.loads(v["label_distribution"]) if v.get("label_distribution") else None
    if dist is None:
        dist = sql.profile(con, src, ds).label_distribution
    return {"id": v["id"], "seq": v["seq"], "md5": v["md5"]}, src, dist


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
    repo: Repo, a: str, b: str | None, *, rows: int = 0, output: str | None = None
) -> dict[str, Any]:
    """Counts, per-column changes, label transitions, class shift and schema change A → B."""
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
    con = common.row_connection(repo)
    try:
        desc_a, src_a, dist_a = _side(repo, con, ds, a if "@" in a else f"{a}@latest")
        desc_b, src_b, dist_b = _side(repo, con, ds, b if b is None or "@" in b else f"{b}@latest")
        schema_a, schema_b = sql.schema(con, src_a), sql.schema(con, src_b)
        plan = sql.plan(schema_a, schema_b, ds)
        sql.build_changes(
            con, src_a, src_b, plan, {c["name"] for c in schema_a}, {c["name"] for c in schema_b}
        )
        summary = sql.summarize_changes(con, plan)
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
            "schema": {
                "added": plan.added_cols,
                "removed": plan.removed_cols,
                "retyped": plan.retyped,
            },
        }
        if rows:
            sample = sql.sample_changes(con, plan, src_a, src_b, rows)
            result["sample"] = [
                {k: sql.plain(v) for k, v in r.items()} for r in sample.to_pylist()
            ]
        if out_path:
            _write_output(repo, con, plan, src_a, src_b, out_path)
            result["output"] = out_path
    finally:
        con.close()
    return result


def _write_output(repo: Repo, con: Any, plan: sql.DiffPlan, a: sql.Source, b: sql.Source, rel: str) -> None:
    """Every changed row with old and new values, written atomically to `rel`."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = sql.sample_changes(con, plan, a, b, None)
    target = repo.root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    if rel.lower().endswith(".parquet"):
        pq.write_table(table, tmp)
    else:
        pacsv.write_csv(table, tmp)
    tmp.replace(target)
