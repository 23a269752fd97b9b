"""The row diff of two partitioned versions, one task per partition, reduced on the client.

`build_changes_parts` makes exactly the temp table `rowdiff.build_changes` makes for (the union
of the old parts) vs (the union of the new parts), so `summarize_changes`, `write_changes` and
`sample_changes` read it unchanged. Each pair `(relpath, old, new)` is one task (`diff_pair`), run
by an `engine.Engine` (a local process pool or Dask workers): a DuckDB query over the two files
that returns

* the changed rows whose key is in both files (final: keys are unique across a version), and
* the rows whose key is on one side only, with the columns the diff compares. Those are added,
  removed, or MOVED between partitions: the client joins every task's one-sided rows with the
  same SQL (`rowdiff.changes_select`), so a key removed from part X and added to part Y is one
  modified (or relabeled) row, and unchanged if only its partition changed.

Hive-style `col=value/` directories of `relpath` are read as columns (typed as `cols_a`/`cols_b`
say), never from the location, which may be a cache object or an s3:// URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dslineage.dvcio.remote_read import ReadCounter, S3Location, read_failed, remote_filesystem
from dslineage.errors import FormatError
from dslineage.store.parts import hive_values
from dslineage.store.parttask import TaskReads, task_cursor
from dslineage.store.rowdiff import DiffPlan, changes_select
from dslineage.store.rows import literal, q

if TYPE_CHECKING:
    from dslineage.engine import Engine

Pair = tuple[str, "str | None", "str | None"]  # (relpath, old location, new location)


def part_select(con: Any, relpath: str, location: str, names: list[str], cols: dict[str, str]) -> str:
    """SQL selecting columns `names` of one part file: a hive folder's value (typed as `cols` says)
    for a column the file lacks, NULL for one neither has (as a union of parts reads it).

    Values are quoted literals, not bound: binding any value makes DuckDB's client import
    pandas (about 1 s in each fresh worker process) to check the parameter's type."""
    read = f"read_parquet({literal(location)}, hive_partitioning = false)"
    hive = hive_values(relpath)
    in_file = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {read}").fetchall()}
    exprs = []
    for c in names:
        if c in in_file:
            exprs.append(q(c))
        else:
            value = literal(hive[c]) if c in hive else "NULL"
            exprs.append(f"CAST({value} AS {cols[c]}) AS {q(c)}")
    return f"SELECT {', '.join(exprs)} FROM {read}"


def needed(p: DiffPlan, cols: dict[str, str]) -> list[str]:
    """The columns of one side the diff reads: keys, labels and compared columns it has."""
    wanted = dict.fromkeys([*p.keys, *p.labels, *p.compared])
    return [c for c in wanted if c in cols]


def diff_pair(
    relpath: str,
    old: str | None,
    new: str | None,
    p: DiffPlan,
    cols_a: dict[str, str],
    cols_b: dict[str, str],
    digests: bool,
    threads: int | None,
    filesystem: Any = None,
) -> tuple[Any, Any, Any, TaskReads]:
    """One task: (changed rows with the key in both files, old-only rows, new-only rows) as
    Arrow tables (None for a side the pair does not have), and what it read from the remote.
    Runs in a pool process or on a worker; `filesystem` says how locations are read (see
    `store.parttask`: None, an fsspec filesystem, or the S3 remote's `S3Location`)."""
    import duckdb

    with task_cursor(threads, filesystem, [old, new]) as (con, tally):
        try:
            for alias, loc, cols in (("a", old, cols_a), ("b", new, cols_b)):
                if loc is not None:
                    con.execute(f"CREATE TEMP TABLE {alias} AS {part_select(con, relpath, loc, needed(p, cols), cols)}")
            if old is None:
                return None, None, con.execute("SELECT * FROM b").to_arrow_table(), tally.reads()
            if new is None:
                return None, con.execute("SELECT * FROM a").to_arrow_table(), None, tally.reads()
            on = " AND ".join(f"a.{q(k)} = b.{q(k)}" for k in p.keys)
            changed = con.execute(changes_select("a", "b", p, cols_a, cols_b, digests=digests, join="INNER"))
            both = changed.to_arrow_table()
            gone = con.execute(f"SELECT a.* FROM a ANTI JOIN b ON {on}").to_arrow_table()
            came = con.execute(f"SELECT b.* FROM b ANTI JOIN a ON {on}").to_arrow_table()
            return both, gone, came, tally.reads()
        except duckdb.Error as exc:
            raise task_error(f"diff part {relpath}", [old, new], exc, tally, filesystem) from None


def task_error(doing: str, where: list[str | None], exc: Exception, tally: Any, reads: Any) -> Exception:
    """The one-line error of a failed task (`cannot {doing} (...)`), or the remote's when reading
    from it failed (a ranged read, or, checked by one HEAD, the object's metadata: no credentials
    in the worker's environment, an unreachable endpoint)."""
    if tally is not None and tally.failed is not None:
        return read_failed(reads, tally.failed)
    urls = [x for x in where if x and x.startswith("s3://")]
    if urls and isinstance(reads, S3Location):
        try:
            remote_filesystem(reads, ReadCounter(keep=0)).info(urls[0])
        except Exception as probe:  # any failure to reach the object is the remote's
            return read_failed(reads, probe)
    shown = " / ".join(x for x in where if x)
    return FormatError(f"cannot {doing} ({shown}): {str(exc).strip().splitlines()[0][:300]}")


def _empty(p: DiffPlan, cols: dict[str, str]) -> str:
    """A typed relation with no rows: one side that no pair has."""
    names = ", ".join(f"CAST(NULL AS {cols[c]}) AS {q(c)}" for c in needed(p, cols))
    return f"(SELECT {names} LIMIT 0)"


def _concat(tables: list[Any]) -> Any:
    """One table of the tasks' tables, in fresh buffers (unpickled ones may be misaligned for Arrow's scanner)."""
    import pyarrow as pa

    return pa.concat_tables(tables, promote_options="permissive").combine_chunks()


def build_changes_parts(
    con: Any,
    pairs: Sequence[Pair],
    p: DiffPlan,
    cols_a: dict[str, str],
    cols_b: dict[str, str],
    *,
    engine: Engine,
    table: str = "_chg",
    digests: bool = False,
    filesystem: Any = None,
) -> TaskReads:
    """Materialise every changed row of (old parts) → (new parts) into temp table `table`, one
    `engine` task per pair: the same rows, columns and values as `rowdiff.build_changes` over
    the unions. Pairs whose two files are identical may be left out (they change nothing).
    `filesystem`: a picklable fsspec filesystem each task registers to read its locations (an
    s3fs for `s3://` URLs), or the S3 remote's `dvcio.S3Location` (each task opens its own
    counted filesystem; credentials come from the environment where the task runs). Returns
    what the tasks read from the remote."""
    items = [(rel, old, new, p, cols_a, cols_b, digests, engine.task_threads, filesystem) for rel, old, new in pairs]
    results = engine.map(diff_pair, items)
    both = [r[0] for r in results if r[0] is not None]
    gone = [r[1] for r in results if r[1] is not None]
    came = [r[2] for r in results if r[2] is not None]
    names = [f"_pd_{table}_{what}" for what in ("both", "gone", "came")]
    registered = []
    try:
        for name, tables in zip(names, (both, gone, came)):
            if tables:
                con.register(name, _concat(tables))
                registered.append(name)
        a_rel = q(names[1]) if gone else _empty(p, cols_a)
        b_rel = q(names[2]) if came else _empty(p, cols_b)
        moved = changes_select(a_rel, b_rel, p, cols_a, cols_b, digests=digests)
        body = f"SELECT * FROM {q(names[0])} UNION ALL {moved}" if both else moved
        con.execute(f"CREATE OR REPLACE TEMP TABLE {q(table)} AS {body}")
    finally:
        for name in registered:
            con.unregister(name)
    return sum((r[3] for r in results), TaskReads())
