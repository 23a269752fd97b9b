"""An edit session: a dataset's working file with a DuckDB connection over it, edits staged and
joined to it per label column (`Batch`). A parquet file is joined in SQL straight from the file
and loaded whole (Arrow, file order) only if asked for; other formats are loaded once. Used by
`relabel`, `revert`, `cherry-pick` and `consensus`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import dvcio
from dslineage.config import DIR_FORMAT, Dataset
from dslineage.core import common
from dslineage.errors import DirtyError, EditError, PathError, UsageError
from dslineage.ops import batches as batch_ops
from dslineage.ops import dirs
from dslineage.store import parts

if TYPE_CHECKING:
    from dslineage.repo import Repo


EDIT_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}


def pick_column(ds: Dataset, column: str | None) -> tuple[str, int]:
    """The label column edited (and its index): `--column`, or the only label column."""
    if column is None:
        if len(ds.labels) > 1:
            raise UsageError(f"{ds.name} has label columns {', '.join(ds.labels)}: choose one with --column")
        column = ds.labels[0]
    if column not in ds.labels:
        raise UsageError(f"{column!r} is not a label column of {ds.name} (labels: {', '.join(ds.labels)})")
    return column, ds.labels.index(column)


@dataclass
class Batch:
    """One label column's edits, joined to the file, ready to be applied and recorded."""

    column: str
    counts: dict[str, Any]
    raw_keys: list[Any]
    values: Any
    edits: Any  # pyarrow Table: k0.., old, new, annotator, reason, confidence
    transitions: list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)


class Session:
    """A dataset's working file loaded for editing, with a DuckDB connection over it."""

    def __init__(self, repo: Repo, ds: Dataset, *, force: bool = False, check: bool = True) -> None:
        from dslineage.store import labels, rows

        self.repo, self.ds = repo, ds
        head = common.current(repo, ds.name)
        if head is None:
            raise EditError(f"{ds.name} has no versions yet: record one with `dslineage commit {ds.name} -m MSG` first")
        self.head = head
        self.path = common.working_path(repo, ds)
        src = common.working_source(repo, ds)
        work = common.working_state(repo, ds)
        self.md5 = work.md5
        self.pending = batch_ops.pending(repo, ds, head)
        self.clean = self.md5 == head["md5"] or bool(self.pending and self.pending[-1].get("result_md5") == self.md5)
        if check and not self.clean and not force and self.md5 is not None and not work.unsaved:
            raise DirtyError(
                f"{ds.path} holds another version's bytes, not v{head['seq']} that HEAD records (a branch "
                f"switch or a checkout): restore it with `dslineage checkout {ds.name}@latest`, or record "
                f"these bytes with `dslineage commit {ds.name} -m MSG`"
            )
        if check and not self.clean and not force:
            raise DirtyError(
                f"{ds.path} has uncommitted changes, which the batch would take credit for: commit them "
                f"first (`dslineage commit {ds.name} -m MSG`) or pass --force to edit on top of them"
            )
        self.text = ds.format == "csv"
        self.con = labels.ordered(common.row_connection(repo))
        try:
            self.types = {c["name"]: c["type"] for c in rows.schema(self.con, src)}
            absent = [c for c in ds.key + ds.labels if c not in self.types]
            if absent:
                raise EditError(f"{ds.path} has no column {', '.join(absent)}: fix the file or its registration")
            self.spans: list[parts.Span] | None = None  # a directory's parts, where their rows are in `table`
            self._table: Any = None
            self._lazy = False  # the whole file is read on first use of `table`
            self.snapshot: Path | None = None  # the cache object the rows are read from, if so
            if ds.format == DIR_FORMAT:
                self.table, self.spans = self._load_dir()
                labels.register(self.con, self.table, ds, self.types, self.text)
            elif ds.format == "parquet" and (snapshot := self._cached()) is not None:
                self.snapshot = snapshot
                # the edits are staged and joined in SQL straight over the bytes (DuckDB reads the key
                # and label columns of the DVC cache object holding them: the working file is replaced
                # while the session still asks about the rows as they were); the whole table is loaded
                # only if asked for (`edit_apply` streams the rewrite of a file of several row groups)
                labels.register_file(self.con, snapshot, ds, self.types)
                self._lazy = True
            else:
                self.table = labels.load(self.con, self.path, ds)
                labels.register(self.con, self.table, ds, self.types, self.text)
        except BaseException:
            self.con.close()
            raise

    def _cached(self) -> Path | None:
        """The DVC cache object holding the working file's bytes, if there is one."""
        if self.md5 is None:
            return None
        obj = dvcio.cache_path(self.repo.root, self.md5)
        return obj if obj.is_file() else None

    @property
    def table(self) -> Any:
        """The file's rows (Arrow, file order); of a directory, the rows of the parts loaded."""
        if self._lazy:
            from dslineage.store import labels

            assert self.snapshot is not None
            self._table, self._lazy = labels.load(self.con, self.snapshot, self.ds), False
        return self._table

    @table.setter
    def table(self, value: Any) -> None:
        self._table = value

    def _load_dir(self) -> tuple[Any, list[parts.Span]]:
        """A directory's rows to edit (`ops.dir_edit.NarrowSession` loads only the parts the edits touch)."""
        return dirs.load_working(self.repo, self.ds)

    def label_counts(self, column: str) -> list[tuple[Any, int]]:
        """(value, rows) of a label column before the edits, for the label rules' gate."""
        import pyarrow.compute as pc

        from dslineage.store import labels

        if self._lazy:  # (not the whole file for one column)
            assert self.snapshot is not None
            values = labels.read_column(self.snapshot, self.ds, column)
        else:
            values = self.table.column(column)
        return [(d["values"], int(d["counts"])) for d in pc.value_counts(values).to_pylist()]

    def close(self) -> None:
        """Release the DuckDB connection."""
        self.con.close()

    def stage_pairs(self, pairs: list[tuple[list[str], str]], column: str, allowed: list[Any] | None) -> int:
        """Stage `--set KEY=LABEL` edits (text, cast to the dataset's types)."""
        import pyarrow as pa

        from dslineage.store import edit_batch

        data = {k: pa.array([p[0][i] for p in pairs], pa.string()) for i, k in enumerate(self.ds.key)}
        data[column if column not in self.ds.key else "new_label"] = pa.array([p[1] for p in pairs], pa.string())
        self.con.register("_dsl_set", pa.table(data))
        return edit_batch.stage(self.con, "_dsl_set", [], self.ds, column, self.types, allowed, "--set")

    def file_columns(self, path: str, column: str | None, ignore_columns: bool) -> list[str]:
        """The label columns an edits file edits: every label column it has; with `column`, that
        one (a file carrying other label columns is refused unless `ignore_columns`)."""
        import duckdb

        sql, params, name = self._edits_sql(path)
        try:
            names = [r[0] for r in self.con.execute(f"DESCRIBE SELECT * FROM {sql}", params).fetchall()]
        except duckdb.Error as exc:
            raise EditError(f"cannot read {name}: {str(exc).splitlines()[0][:200]}") from None
        present = [c for c in self.ds.labels if c in names and c not in self.ds.key]
        if column is not None:
            col = pick_column(self.ds, column)[0]
            others = [c for c in present if c != col]
            if others and not ignore_columns:
                raise UsageError(
                    f"{name} also has label column(s) {', '.join(others)}, which --column {col} would "
                    f"ignore: drop --column to apply every label column, or pass --ignore-columns"
                )
            return [col]
        if present:
            return present
        return [pick_column(self.ds, None)[0]]

    def source(self, path: str, noun: str = "edits file") -> tuple[str, list[Any], str]:
        """A CSV, TSV, parquet or JSON Lines file as a DuckDB relation: (SQL, parameters, file name)."""
        return self._edits_sql(path, noun)

    def _edits_sql(self, path: str, noun: str = "edits file") -> tuple[str, list[Any], str]:
        p = Path(path)
        if not p.is_file():
            raise PathError(f"{noun} {path} does not exist: check the path")
        kind = EDIT_FORMATS.get(p.suffix.lower())
        if kind is None:
            raise UsageError(f"{noun} {p.name}: use .csv, .tsv, .parquet or .jsonl")
        sql = {
            "csv": "read_csv(?, all_varchar = true, header = true, null_padding = true)",
            "tsv": "read_csv(?, all_varchar = true, header = true, null_padding = true, delim = '\t')",
            "parquet": "read_parquet(?)",
            "jsonl": "read_json(?, format = 'newline_delimited')",
            "json": "read_json(?)",
        }[kind]
        return sql, [str(p)], p.name

    def stage_file(self, path: str, column: str, allowed: list[Any] | None, *, blanks: bool = False) -> int:
        """Stage edits from a CSV, TSV, parquet or JSON Lines file (`blanks`: see `edit_batch.stage`)."""
        from dslineage.store import edit_batch

        sql, params, name = self._edits_sql(path)
        return edit_batch.stage(self.con, sql, params, self.ds, column, self.types, allowed, name, blanks=blanks)

    def fill_pairs(self, plans: list[Batch]) -> list[Batch]:
        """For each plan on one side of a declared label pair whose other side has no plan, the
        plan that fills the other side from the one-to-one mapping the file holds now."""
        from dslineage import config
        from dslineage.store import edit_batch

        done = {b.column for b in plans}
        out: list[Batch] = []
        for b in list(plans):
            other = config.pair_of(self.ds, b.column)
            if other is None or other in done or not b.counts["applied"]:
                continue
            self.con.register("_dsl_applied_src", b.edits)
            self.con.execute("CREATE OR REPLACE TEMP TABLE _dsl_applied AS SELECT * FROM _dsl_applied_src")
            unknown = edit_batch.stage_fill(
                self.con, len(self.ds.key), self.ds.labels.index(b.column), self.ds.labels.index(other)
            )
            if unknown:
                pair = next(f"{x}={y}" for x, y in self.ds.label_pairs or [] if b.column in (x, y))
                raise EditError(
                    f"{b.column} {', '.join(map(str, unknown))} has no {other} yet (label pair "
                    f"{pair}): give both columns in an edits file (--from)"
                )
            out.append(self.join(other))
            done.add(other)
        return out

    def join(self, column: str) -> Batch:
        """Join the staged edits to the file: what applies, what is a no-op, which keys are missing."""
        from dslineage.store import edit_batch

        n = len(self.ds.key)
        counts = edit_batch.join(self.con, n, self.ds.labels.index(column), self.text)
        raw_keys, values = edit_batch.applied_columns(self.con, n)
        return Batch(
            column=column,
            counts=counts,
            raw_keys=raw_keys,
            values=values,
            edits=edit_batch.applied_edits(self.con, n),
            transitions=edit_batch.transitions(self.con),
        )

    def same_bytes(self, table: Any, candidate: dict[str, Any] | None) -> Path | None:
        """The DVC cache object of `candidate` when its content equals `table` (same md5 back)."""
        from dslineage.store import labels

        if candidate is None or candidate.get("rows") != table.num_rows:
            return None
        obj = dvcio.cache_path(self.repo.root, candidate["md5"])
        if not obj.is_file():
            return None
        try:
            other = labels.load(self.con, obj, self.ds)
        except Exception:  # an unreadable old object just means: write the file anew
            return None
        return obj if other.equals(table) else None
