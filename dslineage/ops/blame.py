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
    changed_only: bool = False,
) -> dict[str, Any]:
    """Per row of NAME@REF: label, version, batch, author, reason, time; plus summary counts.

    `changed_only`: only rows whose label was set after the first version (what `blame` lists
    unless `--all`); `since` overrides it."""
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
    elif changed_only:
        since_seq = chain[-1]["seq"]
    linked = batch_ops.links(repo, ds.name)
    vidx = {c["id"]: i for i, c in enumerate(chain)}
    recs = [
        r for r in repo.index.records("batch", ds.name)
        if linked.get(r["id"], {}).get("id") in vidx and r.get("column") == col
        and batch_ops.edits_path(repo, r).exists()
    ]
    recs.sort(key=lambda r: (r["timestamp"], r["id"]))  # bidx grows with time
    files = [str(batch_ops.edits_path(repo, r)) for r in recs]
    src = common.version_source(repo, ds, v)
    repo.index.sync()
    con = repo.index.con.cursor()
    try:
        names = _Names([c["author"] for c in chain] + [x for r in recs for x in (r.get("author"), r.get("reason"))]
                       + labels.blame_names(con, files))
        stamps = [c["timestamp"] for c in chain] + [r["timestamp"] for r in recs]
        con.register("_dsl_chain", pa.table({
            "id": pa.array([c["id"] for c in chain], pa.string()),
            "seq": pa.array([c["seq"] for c in chain], pa.int64()),
            "vidx": pa.array(range(len(chain)), pa.int32()),
            "aidx": pa.array([names.code(c["author"]) for c in chain], pa.int32()),
            "tidx": pa.array(range(len(chain)), pa.int32()),
        }))
        con.register("_dsl_batches", pa.table({
            "file": pa.array(files, pa.string()),
            "vidx": pa.array([vidx[linked[r["id"]]["id"]] for r in recs], pa.int32()),
            "bidx": pa.array(range(len(recs)), pa.int32()),
            "aidx": pa.array([names.code(r.get("author")) for r in recs], pa.int32()),
            "ridx": pa.array([names.code(r.get("reason")) for r in recs], pa.int32()),
            "tidx": pa.array([len(chain) + i for i in range(len(recs))], pa.int32()),
            "timestamp": pa.array([r["timestamp"] for r in recs], pa.string()),
        }))
        con.register("_dsl_names", pa.table({"name": pa.array(names.values, pa.string()),
                                             "idx": pa.array(range(len(names.values)), pa.int32())}))
        filters: dict[str, Any] = {"label": label}
        if batch:
            filters["batches"] = [i for i, r in enumerate(recs) if r["id"].startswith(batch.lower())]
        if by:
            filters["authors"] = [i for i, name in enumerate(names.values) if by.lower() in name.lower()]
        name = f"changes/{ds.name}"
        codes = labels.blame(
            con, src.sql, list(src.params), ds, j,
            changes_table(ds.name) if labels.table_exists(con, name) else None,
            files, {"vidx": len(chain) - 1, "aidx": names.code(chain[-1]["author"]) or 0,
                    "tidx": len(chain) - 1, "seq": chain[-1]["seq"]},
            since_seq, filters, shared=len({linked[r["id"]]["id"] for r in recs}) < len(recs),
        )
    finally:
        con.close()
    table = _decode(codes, chain, recs, names.values, stamps)
    if out_rel:
        common.write_table(repo, table, out_rel)
    ids = [r["id"] for r in recs]
    return {
        "dataset": ds.name, "version": v["id"], "seq": v["seq"], "column": col, "key": list(ds.key),
        "table": table, "total": table.num_rows,
        "by_author": _counts(codes.column("aidx"), names.values),
        "by_batch": _counts(codes.column("bidx"), ids),
        "by_version": _counts(codes.column("vidx"), [f"v{c['seq']}" for c in chain]),
        "output": out_rel, "since_seq": since_seq,
    }


class _Names:
    """Distinct author and reason texts, each with a small integer code."""

    def __init__(self, texts: list[str | None]) -> None:
        self.values: list[str] = []
        self._code: dict[str, int] = {}
        for t in texts:
            self.code(t)

    def code(self, text: str | None) -> int | None:
        if text is None:
            return None
        if text not in self._code:
            self._code[text] = len(self.values)
            self.values.append(text)
        return self._code[text]


def _decode(codes: Any, chain: list[dict[str, Any]], recs: list[dict[str, Any]], names: list[str],
            stamps: list[str]) -> Any:
    """The blame table: codes turned into dictionary columns (values stored once, not per row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def dictionary(column: str, values: list[Any]) -> Any:
        idx = codes.column(column).combine_chunks()
        return pa.DictionaryArray.from_arrays(idx, pa.array(values, pa.string()))

    vidx = codes.column("vidx").combine_chunks()
    cols = {c: codes.column(c) for c in codes.column_names[: codes.num_columns - 5]}
    cols["version"] = dictionary("vidx", [c["id"] for c in chain])
    cols["seq"] = pc.take(pa.array([c["seq"] for c in chain], pa.int64()), vidx)
    cols["batch"] = dictionary("bidx", [r["id"] for r in recs])
    cols["author"] = dictionary("aidx", names)
    cols["reason"] = dictionary("ridx", names)
    cols["timestamp"] = dictionary("tidx", stamps)
    return pa.table(cols)


def _counts(codes: Any, values: list[Any]) -> dict[Any, int]:
    """Rows per value of a code column, most first (nulls left out)."""
    import pyarrow.compute as pc

    pairs = [(values[d["values"]], d["counts"]) for d in pc.value_counts(codes).to_pylist()
             if d["values"] is not None]
    return dict(sorted(pairs, key=lambda p: (-p[1], str(p[0]))))


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
