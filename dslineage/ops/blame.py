"""`dslineage blame NAME[@REF]`: for every row, who set its current label — when and in which
version and batch — with counts per author and per batch.

One SQL query over the version's rows, the index's change table (the last label-setting
event of each key along the version's ancestry) and the edits files of the batches those
versions carry. A row whose label never changed points at the version that added it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage import config
from dslineage.core import common
from dslineage.core.refs import resolve
from dslineage.errors import UsageError
from dslineage.model import Blame
from dslineage.model_edits import BlameOptions
from dslineage.ops import batches as batch_ops
from dslineage.store.index import changes_table

if TYPE_CHECKING:
    from dslineage.config import Dataset
    from dslineage.repo import Repo


def ancestry(repo: Repo, ds: Dataset, version: dict[str, Any]) -> list[dict[str, Any]]:
    """`version` and its parents back to the first version, newest first."""
    by_id = {v["id"]: v for v in repo.index.versions(ds.name)}
    by_id[version["id"]] = version
    return [by_id[vid] for vid in common.ancestors(by_id, version["id"], first=True)]


def blame(repo: Repo, ref: str, opts: BlameOptions) -> Blame:
    """Per row of NAME@REF: label, version, batch, author, reason, time; plus summary counts.

    `changed_only`: only rows whose label was set after the first version (what `blame` lists
    unless `--all`); `since` overrides it."""
    import pyarrow as pa

    from dslineage.ops.edit_session import pick_column
    from dslineage.store import edit_batch, label_history

    ds, v = resolve(repo, ref if "@" in ref else f"{ref}@latest")
    col, j = pick_column(ds, opts.column)
    out_rel = None
    output, since, batch, by = opts.output, opts.since, opts.batch, opts.by
    if output:
        out_rel = config.inside(repo.root, output, cwd=repo.root)
        if not out_rel.lower().endswith((".parquet", ".csv")):
            raise UsageError(f"--output must end in .parquet or .csv, not {output!r}")
    chain = ancestry(repo, ds, v)
    since_seq = None
    if since:
        _, s = resolve(repo, since if "@" in since else f"{ds.name}@{since}")
        since_seq = s["seq"]
    elif opts.changed_only:
        since_seq = chain[-1]["seq"]
    linked = batch_ops.links(repo, ds.name)
    vidx = {c["id"]: i for i, c in enumerate(chain)}
    recs = [
        r
        for r in repo.index.records("batch", ds.name)
        if linked.get(r["id"], {}).get("id") in vidx
        and r.get("column") == col
        and batch_ops.edits_path(repo, r).exists()
    ]
    recs.sort(key=lambda r: (r["timestamp"], r["id"]))  # bidx grows with time
    files = [str(batch_ops.edits_path(repo, r)) for r in recs]
    src = common.version_source(repo, ds, v)
    repo.index.sync()
    con = repo.index.con.cursor()
    try:
        names = _Names(
            [c["author"] for c in chain]
            + [x for r in recs for x in (r.get("author"), r.get("reason"))]
            + label_history.blame_names(con, files)
        )
        stamps = [c["timestamp"] for c in chain] + [r["timestamp"] for r in recs]
        con.register(
            "_dsl_chain",
            pa.table(
                {
                    "id": pa.array([c["id"] for c in chain], pa.string()),
                    "seq": pa.array([c["seq"] for c in chain], pa.int64()),
                    "vidx": pa.array(range(len(chain)), pa.int32()),
                    "aidx": pa.array([names.code(c["author"]) for c in chain], pa.int32()),
                    "tidx": pa.array(range(len(chain)), pa.int32()),
                }
            ),
        )
        con.register(
            "_dsl_batches",
            pa.table(
                {
                    "file": pa.array(files, pa.string()),
                    "vidx": pa.array([vidx[linked[r["id"]]["id"]] for r in recs], pa.int32()),
                    "bidx": pa.array(range(len(recs)), pa.int32()),
                    "aidx": pa.array([names.code(r.get("author")) for r in recs], pa.int32()),
                    "ridx": pa.array([names.code(r.get("reason")) for r in recs], pa.int32()),
                    "tidx": pa.array([len(chain) + i for i in range(len(recs))], pa.int32()),
                    "timestamp": pa.array([r["timestamp"] for r in recs], pa.string()),
                }
            ),
        )
        con.register(
            "_dsl_names",
            pa.table(
                {"name": pa.array(names.values, pa.string()), "idx": pa.array(range(len(names.values)), pa.int32())}
            ),
        )
        filters: dict[str, Any] = {"label": opts.label}
        post: dict[str, list[int]] = {}
        if batch:
            post["batches"] = [i for i, r in enumerate(recs) if r["id"].startswith(batch.lower())]
        if by:
            post["authors"] = [i for i, name in enumerate(names.values) if by.lower() in name.lower()]
        # a row a revert restored is credited to the batch whose value it holds again (filters
        # on batch or author then apply after that credit)
        reverts = [i for i, r in enumerate(recs) if r.get("op") == "revert"]
        if not reverts:
            filters.update(post)
        name = f"changes/{ds.name}"
        codes = label_history.blame(
            con,
            src.sql,
            list(src.params),
            ds,
            j,
            changes_table(ds.name) if edit_batch.table_exists(con, name) else None,
            files,
            {
                "vidx": len(chain) - 1,
                "aidx": names.code(chain[-1]["author"]) or 0,
                "tidx": len(chain) - 1,
                "seq": chain[-1]["seq"],
            },
            since_seq,
            filters,
            shared=len({linked[r["id"]]["id"] for r in recs}) < len(recs),
        )
        sources = label_history.restored_sources(con, files, len(ds.key), reverts) if reverts else None
    finally:
        con.close()
    codes = _credit_restored(
        codes,
        sources,
        reverts,
        ds,
        {"vidx": len(chain) - 1, "aidx": names.code(chain[-1]["author"]), "tidx": len(chain) - 1},
    )
    if reverts and post:
        import pyarrow.compute as pc

        for f, column in (("batches", "bidx"), ("authors", "aidx")):
            if f in post:
                codes = codes.filter(
                    pc.fill_null(pc.is_in(codes.column(column), value_set=pa.array(post[f], pa.int32())), False)
                )
    table = _decode(codes, chain, recs, names.values, stamps)
    if out_rel:
        common.write_table(repo, table, out_rel)
    ids = [r["id"] for r in recs]
    return Blame(
        dataset=ds.name,
        version=v["id"],
        seq=v["seq"],
        column=col,
        key=list(ds.key),
        table=table,
        total=table.num_rows,
        by_author=_counts(codes.column("aidx"), names.values),
        by_batch=_counts(codes.column("bidx"), ids),
        by_version=_counts(codes.column("vidx"), [f"v{c['seq']}" for c in chain]),
        output=out_rel,
        since_seq=since_seq,
    )


def _credit_restored(codes: Any, sources: Any, reverts: list[int], ds: Dataset, root: dict[str, Any]) -> Any:
    """`codes` plus `rbidx` (the revert batch that restored the row's label, else null), with
    the rows a revert restored credited to the batch whose value they hold again (`sources`
    from `label_history.restored_sources`), or to the first version when no batch set that value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from dslineage.store.label_history import key_alias

    n = codes.num_rows
    if not reverts or n == 0:
        return codes.append_column("rbidx", pa.nulls(n, pa.int32()))
    bidx = codes.column("bidx").combine_chunks()
    mask = pc.fill_null(pc.is_in(bidx, value_set=pa.array(reverts, pa.int32())), False)
    hit = codes.filter(mask)
    if hit.num_rows == 0:
        return codes.append_column("rbidx", pa.nulls(n, pa.int32()))
    nk = len(ds.key)
    found = {(r["rbidx"], *(r[f"k{i}"] for i in range(nk))): r["w"] for r in sources.to_pylist()}
    keys = [hit.column(key_alias(k)).to_pylist() for k in ds.key]
    repl: dict[str, list[Any]] = {c: [] for c in ("vidx", "bidx", "aidx", "ridx", "tidx")}
    for row, rb in enumerate(hit.column("bidx").to_pylist()):
        w = found.get((rb, *(k[row] for k in keys)))
        if w is None:  # the value no batch set: the first version's
            w = {"v": root["vidx"], "b": None, "a": root["aidx"], "r": None, "t": root["tidx"]}
        for c, f in (("vidx", "v"), ("bidx", "b"), ("aidx", "a"), ("ridx", "r"), ("tidx", "t")):
            value = w[f]
            repl[c].append(None if value is None or (f in "ar" and value == -1) else value)
    out = codes
    for c, values in repl.items():
        col = codes.column(c).combine_chunks()
        new = pc.replace_with_mask(col, mask, pa.array(values, pa.int32()))
        out = out.set_column(out.column_names.index(c), c, new)
    restored = pc.replace_with_mask(pa.nulls(n, pa.int32()), mask, hit.column("bidx").combine_chunks())
    return out.append_column("rbidx", restored)


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


def _decode(
    codes: Any, chain: list[dict[str, Any]], recs: list[dict[str, Any]], names: list[str], stamps: list[str]
) -> Any:
    """The blame table: codes turned into dictionary columns (values stored once, not per row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def dictionary(column: str, values: list[Any]) -> Any:
        idx = codes.column(column).combine_chunks()
        return pa.DictionaryArray.from_arrays(idx, pa.array(values, pa.string()))

    vidx = codes.column("vidx").combine_chunks()
    cols = {c: codes.column(c) for c in codes.column_names[: codes.num_columns - 6]}
    cols["version"] = dictionary("vidx", [c["id"] for c in chain])
    cols["seq"] = pc.take(pa.array([c["seq"] for c in chain], pa.int64()), vidx)
    cols["batch"] = dictionary("bidx", [r["id"] for r in recs])
    cols["author"] = dictionary("aidx", names)
    cols["reason"] = dictionary("ridx", names)
    cols["timestamp"] = dictionary("tidx", stamps)
    cols["restored_by"] = dictionary("rbidx", [r["id"] for r in recs])
    return pa.table(cols)


def _counts(codes: Any, values: list[Any]) -> dict[Any, int]:
    """Rows per value of a code column, most first (nulls left out)."""
    import pyarrow.compute as pc

    pairs = [(values[d["values"]], d["counts"]) for d in pc.value_counts(codes).to_pylist() if d["values"] is not None]
    return dict(sorted(pairs, key=lambda p: (-p[1], str(p[0]))))


def rows_json(result: Blame, limit: int | None = None) -> list[dict[str, Any]]:
    """The `blame --json` rows: {"key": {COL: value}, "label", "version", "batch", "author", ...}."""
    from dslineage.store.label_history import BLAME_COLUMNS, key_alias
    from dslineage.store.rows import plain

    table: Any = result.table
    if limit is not None:
        table = table.slice(0, limit)
    keys = result.key
    out = []
    for r in table.to_pylist():
        row = {"key": {k: plain(r[key_alias(k)]) for k in keys}}
        row.update({f: plain(r[f]) for f in BLAME_COLUMNS})
        out.append(row)
    return out
