"""`dslineage blame NAME[@REF]`: for every row, who set its current label — when and in which
version and batch — with counts per author and per batch.

One SQL query over the version's rows, the index's change table (the last label-setting
event of each key along the version's ancestry) and the edits files of the batches those
versions carry. A row whose label never changed points at the version that added it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage import config
from dslineage.errors import UsageError
from dslineage.ops import batches as batch_ops
from dslineage.ops import common
from dslineage.ops.refs import resolve
from dslineage.store.index import changes_table

if TYPE_CHECKING:
    from dslineage.config import Dataset
    from dslineage.repo import Repo



def ancestry(repo: Repo, ds: Dataset, version: dict[str, Any]) -> list[dict[str, Any]]:
    """`version` and its parents back to the first version, newest first."""
    by_id = {v["id"]: v for v in repo.index.versions(ds.name)}
    chain, seen = [], set()
    v: dict[str, Any] | None = version
    while v is not None and v["id"] not in seen:
        chain.append(v)
        seen.add(v["id"])
        v = by_id.get(v.get("parent") or "")
    return chain


def blame(
    repo: Repo,
    ref: str,
    *,
    column: str | None = None,
    label: Any = None,
    by: str | None = None,
    batch: str | None = None,
    since: str | None = None,
    output: str | None = None,
) -> dict[str, Any]:
    """Per row of NAME@REF: label, version, batch, author, reason, time; plus summary counts."""
    import pyarrow as pa

    from dslineage.ops.relabel import pick_column
    from dslineage.store import labels

    ds, v = resolve(repo, ref if "@" in ref else f"{ref}@latest")
    col, j = pick_column(ds, column)
    out_rel = None
    if output:
        out_rel = config.inside(repo.root, output, cwd=repo.root)
        if not out_rel.lower().endswith((".parquet", ".csv")):
            raise UsageError(f"--output must end in .parquet or .csv, not {output!r}")
    chain = ancestry(repo, ds, v)
    since_seq = None
    if since:
        _, s = resolve(repo, since if "@" in since else f"{ds.name}@{since}")
        since_seq = s["seq"]
    linked = batch_ops.links(repo, ds.name)
    ids = {c["id"] for c in chain}
    recs = [
        r for r in repo.index.records("batch", ds.name)
        if linked.get(r["id"], {}).get("id") in ids and r.get("column") == col
        and batch_ops.edits_path(repo, r).exists()
    ]
    chain_t = pa.table({
        "id": pa.array([c["id"] for c in chain], pa.string()),
        "seq": pa.array([c["seq"] for c in chain], pa.int64()),
        "author": pa.array([c["author"] for c in chain], pa.string()),
        "timestamp": pa.array([c["timestamp"] for c in chain], pa.string()),
    })
    src = common.version_source(repo, ds, v)
    repo.index.sync()
    con = repo.index.con.cursor()
    try:
        con.register("_dsl_chain", chain_t)
        con.register("_dsl_batches", batch_ops.batch_table(repo, recs, {r["id"]: linked[r["id"]]["id"] for r in recs}))
        name = f"changes/{ds.name}"
        table = labels.blame(
            con, src.sql, list(src.params), ds, j,
            changes_table(ds.name) if labels.table_exists(con, name) else None,
            [str(batch_ops.edits_path(repo, r)) for r in recs], chain[-1]["id"], since_seq,
            {"label": label, "by": by, "batch": batch},
        )
    finally:
        con.close()
    if out_rel:
        _write(repo, table, out_rel)
    return {
        "dataset": ds.name, "version": v["id"], "seq": v["seq"], "column": col, "key": list(ds.key),
        "table": table, "total": table.num_rows,
        "by_author": _counts(table, "author"), "by_batch": _counts(table, "batch"),
        "by_version": {f"v{k}": n for k, n in _counts(table, "seq").items()},
        "output": out_rel,
    }


def _counts(table: Any, column: str) -> dict[Any, int]:
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return {}
    vc = pc.value_counts(table.column(column)).to_pylist()
    pairs = [(d["values"], d["counts"]) for d in vc if d["values"] is not None]
    return dict(sorted(pairs, key=lambda p: (-p[1], str(p[0]))))


def _write(repo: Repo, table: Any, rel: str) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    target = repo.root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    if rel.lower().endswith(".parquet"):
        pq.write_table(table, tmp)
    else:
        pacsv.write_csv(table, tmp)
    tmp.replace(target)


def rows_json(result: dict[str, Any], limit: int | None = None) -> list[dict[str, Any]]:
    """The `blame --json` rows: {"key": {COL: value}, "label", "version", "batch", "author", ...}."""
    from dslineage.store.labels import BLAME_COLUMNS, key_alias
    from dslineage.store.rows import plain

    table = result["table"]
    if limit is not None:
        table = table.slice(0, limit)
    keys = result["key"]
    out = []
    for r in table.to_pylist():
        row = {"key": {k: plain(r[key_alias(k)]) for k in keys}}
        row.update({f: plain(r[f]) for f in BLAME_COLUMNS})
        out.append(row)
    return out
