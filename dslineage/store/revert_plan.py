"""Row-level SQL for reverting (and cherry-picking) an edit batch: the target labels from
a batch or a change set, the plan that says which rows revert cleanly and which conflict,
and the provenance the new batch carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dslineage.store.edit_batch import stage_rows
from dslineage.store.labels import keys_eq, klist
from dslineage.store.rows import plain, q


def target_from_batch(con: Any, path: Path | str, n_keys: int, *, forward: bool = False) -> None:
    """The label changes a batch made, as `_dsl_target(k0.., before, after)`.

    `path`: the batch's edits file, or the name of a relation registered on `con` with the
    same columns. `forward` (cherry-pick) swaps the sides: `plan_revert` then re-applies the
    batch to rows that still have its old label, instead of undoing it.
    """
    src, params = ("read_parquet(?)", [str(path)]) if isinstance(path, Path) else (q(path), [])
    before, after = ("new", "old") if forward else ("old", "new")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_target AS SELECT {klist(n_keys)}, {before} AS before, "
        f"{after} AS after FROM {src}",
        params,
    )


def target_from_changes(con: Any, path: Path, n_keys: int, label_index: int) -> int:
    """The changes a version made to one label column, as `_dsl_target`; returns their count."""
    i = int(label_index)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_target AS SELECT {klist(n_keys)}, o{i} AS before, n{i} AS after "
        f"FROM read_parquet(?) WHERE change = 'relabeled' AND o{i} IS DISTINCT FROM n{i}",
        [str(path)],
    )
    return int(con.execute("SELECT count(*) FROM _dsl_target").fetchone()[0])


def plan_revert(con: Any, n_keys: int, label_index: int, force: bool, *, settled_ok: bool = False) -> dict[str, Any]:
    """Classify the target's rows against the file and stage the revert edits.

    A row is restored when it still has the label the target gave it; a conflict when
    its label changed since (kept, or with `force` set back anyway); skipped when gone.
    `settled_ok` (cherry-pick): a row that already has the label it would get is no
    conflict but `settled` (nothing to do).
    """
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_rv AS SELECT {klist(n_keys, 't.')}, t.before, t.after, "
        f"f.l{int(label_index)} AS cur, f.k0 IS NOT NULL AS present FROM _dsl_target t "
        f"LEFT JOIN _dsl_f f ON {keys_eq('t', 'f', n_keys)}"
    )
    settled = "(cur IS NOT DISTINCT FROM before AND cur IS DISTINCT FROM after)" if settled_ok else "false"
    clash = f"present AND cur IS DISTINCT FROM after AND NOT {settled}"
    restore, conflicts, skipped, done = con.execute(
        "SELECT count(*) FILTER (WHERE present AND cur IS NOT DISTINCT FROM after), "
        f"count(*) FILTER (WHERE {clash}), "
        f"count(*) FILTER (WHERE NOT present), count(*) FILTER (WHERE present AND {settled}) FROM _dsl_rv"
    ).fetchone()
    ks = klist(n_keys)
    conflict_rows = con.execute(f"SELECT {ks}, cur, after, before FROM _dsl_rv WHERE {clash} ORDER BY {ks}").fetchall()
    skipped_rows = con.execute(f"SELECT {ks} FROM _dsl_rv WHERE NOT present ORDER BY {ks}").fetchall()
    chosen = "present" if force else "present AND cur IS NOT DISTINCT FROM after"
    stage_rows(con, f"(SELECT {ks}, before AS new FROM _dsl_rv WHERE {chosen})", n_keys)
    return {
        "restore": int(restore),
        "conflicts": int(conflicts),
        "skipped": int(skipped),
        "settled": int(done),
        "conflict_rows": [
            ([plain(v) for v in r[:n_keys]], plain(r[n_keys]), plain(r[n_keys + 1]), plain(r[n_keys + 2]))
            for r in conflict_rows
        ],
        "skipped_keys": [[plain(v) for v in r] for r in skipped_rows],
    }


def carry_provenance(con: Any, relation: str, n_keys: int, author: str | None, reason: str | None) -> None:
    """Give the staged `_dsl_edits` the per-row annotator, reason and confidence of the batch
    edits registered as `relation` (the batch's own author and reason where a row has none)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dsl_edits AS SELECT {klist(n_keys, 'e.')}, e.new, "
        "CAST(COALESCE(s.annotator, ?) AS VARCHAR) AS annotator, CAST(COALESCE(s.reason, ?) AS VARCHAR) AS reason, "
        f"CAST(s.confidence AS DOUBLE) AS confidence FROM _dsl_edits e LEFT JOIN {q(relation)} s "
        f"ON {keys_eq('e', 's', n_keys)}",
        [author, reason],
    )


def still_applied(con: Any, path: Path, n_keys: int, label_index: int) -> int:
    """How many rows of a batch's edits file still carry the batch's new label in `_dsl_f`."""
    return int(
        con.execute(
            f"SELECT count(*) FROM read_parquet(?) e JOIN _dsl_f f ON {keys_eq('e', 'f', n_keys)} "
            f"WHERE f.l{int(label_index)} IS NOT DISTINCT FROM e.new",
            [str(path)],
        ).fetchone()[0]
    )
