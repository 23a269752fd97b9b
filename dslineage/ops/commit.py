"""`dslineage commit`: snapshot changed datasets through DVC and record their versions.

Write order, inside one transaction (`dslineage.txn`): 1. the intent file; 2. compute the
row-level changes and write the change set; 3. `dvc add` (cache object + `.dvc` file,
their previous bytes recorded first); 4. the journal record; 5. one git commit of the
`.dvc` file, DVC's `.gitignore`, the journal record and its change set — the commit
point; 6. sync the index. A crash before 5 is rolled back by the next command.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import config, dvcio, journal, txn
from dslineage.config import Dataset
from dslineage.core import common
from dslineage.errors import DslineageError, PathError, UsageError
from dslineage.model_edits import CommittedVersion
from dslineage.ops import dirs, mergestate
from dslineage.ops.batches import link_pending
from dslineage.ops.commit_known import KnownChanges, known_record, usable
from dslineage.store import rowdiff, rows

if TYPE_CHECKING:
    from dslineage.repo import Repo

# the fault steps of recording versions; operations that record versions inside their own
# transaction (relabel, revert, ...) declare these after their own steps
SNAPSHOT_STEPS = txn.declare("commit", "after-changes", "after-dvc-add", "after-journal")


def _change_file(
    repo: Repo, con: Any, vid: str, p: rowdiff.DiffPlan, summary: dict[str, Any]
) -> tuple[dict[str, Any], Path]:
    """Write the `_chg` table as the version's change set file; its `changes` entry."""
    name = journal.changes_name(vid)
    change_file = journal.folder(repo.root) / name
    change_file.parent.mkdir(parents=True, exist_ok=True)
    txn.will_create(repo.root, change_file)
    rowdiff.write_changes(con, change_file, p, digests=True)
    changes = {
        "known": True,
        "file": name,
        "keys": p.keys,
        "labels": p.labels,
        **{k: summary[k] for k in ("added", "removed", "relabeled", "modified")},
        "columns": summary["columns"],
        "digests": True,  # the change set has `d`: diffs fold from it exactly (store.changes)
        # the diff against the parent, whole: `diff PARENT THIS` reads it instead of folding
        "transitions": summary["label_transitions"],
    }
    return changes, change_file


def build_record(
    repo: Repo,
    con: Any,
    ds: Dataset,
    new: rows.Source,
    md5: str | common.Md5Ahead,
    parent: dict[str, Any] | None,
    parent_src: rows.Source | None,
    *,
    message: str,
    author: str,
    timestamp: str,
    extra: dict[str, Any] | None = None,
    known: KnownChanges | None = None,
) -> tuple[dict[str, Any] | None, Path | None]:
    """A version record for `new` against `parent`, and its change set file (if any).

    `parent_src` None with a parent means the parent's bytes are unavailable: the record
    then says its changes are unknown. `known` (a relabel's exact change set against the
    parent's bytes) replaces the scans of the new file. `md5` still being hashed
    (`common.Md5Ahead`) is waited for after the rows are diffed against the parent; then
    (None, None) when it names the parent's bytes (the file was only touched): a caller
    passing an md5 has compared it with the parent's already and always gets a record.
    """
    seq = (parent["seq"] + 1) if parent else 1

    def version_id(md5: str) -> str:
        return journal.make_id("version", ds.name, md5, parent and parent["id"], timestamp, author, message)

    changes: dict[str, Any]
    change_file: Path | None = None
    parts_diff = None
    if not isinstance(md5, str) and (parent is None or parent_src is None or usable(known, ds, parent)):
        md5 = md5.result()  # hashed on a thread; only a diff against the parent overlaps it
    if parent is not None and parent_src is not None and not usable(known, ds, parent) and isinstance(md5, str):
        parts_diff = dirs.diff_changed_parts(repo, con, ds, new, md5, parent)  # None: not a directory
    if usable(known, ds, parent):
        assert known is not None and parent is not None and isinstance(md5, str)
        changes, change_file, schema, dist = known_record(repo, con, ds, known, parent, version_id(md5))
        n_rows = parent["rows"]
    elif parts_diff is not None:
        assert isinstance(md5, str)
        p, summary, n_rows, schema, dist = parts_diff
        changes, change_file = _change_file(repo, con, version_id(md5), p, summary)
    else:
        # against a parent, the diff proves the keys non-null and unique: no separate key scan
        by_diff = parent is not None and parent_src is not None and parent.get("rows") is not None
        prof = rows.profile(con, new, ds, keys=not by_diff)
        n_rows, schema, dist = prof.rows, prof.schema, prof.label_distribution
        if parent is None:
            changes = {"known": True, "added": prof.rows, "removed": 0, "relabeled": 0, "modified": 0}
        elif parent_src is None:
            changes = {"known": False}
        else:
            p, summary = rowdiff.compare(con, parent_src, new, ds, prof.schema, digests=True)
            if by_diff:
                rowdiff.check_keys_by_diff(con, new, ds, prof, parent["rows"], summary)
            if not isinstance(md5, str):
                md5 = md5.result()
                if md5 == parent["md5"]:  # new stat, same bytes: nothing to record
                    return None, None
            changes, change_file = _change_file(repo, con, version_id(md5), p, summary)
    assert isinstance(md5, str)
    vid = version_id(md5)
    record = {
        "kind": "version",
        "id": vid,
        "dataset": ds.name,
        "seq": seq,
        "md5": md5,
        "parent": parent["id"] if parent else None,
        "parents": [parent["id"]] if parent else [],
        "path": ds.path,
        "message": message,
        "author": author,
        "timestamp": timestamp,
        "rows": n_rows,
        "schema": schema,
        "label_distribution": dist,
        "changes": changes,
        **(extra or {}),
    }
    return record, change_file


def default_author(repo: Repo, author: str | None) -> str:
    """`--author`, else the git identity."""
    return author or repo.git.identity()


def snapshot(
    repo: Repo,
    datasets: list[Dataset],
    message: str,
    author: str | None,
    *,
    extra: dict[str, dict[str, Any]] | None = None,
    extra_paths: list[str] | None = None,
    known: dict[str, KnownChanges] | None = None,
) -> list[dict[str, Any]]:
    """Record a version of each dataset whose working file differs from its latest version.

    `extra` adds keys to a dataset's record (by name); `extra_paths` are more files to
    include in the same git commit (e.g. an edit batch's journal record); `known` gives a
    dataset's exact change set when the caller has it (see `KnownChanges`).
    """
    return record_versions(
        repo, working_items(repo, datasets), message, author, extra=extra, extra_paths=extra_paths, known=known
    )


def require_message(message: str) -> None:
    """Refuse an empty commit message (checked once, where a command enters this module)."""
    if not message.strip():
        raise UsageError("a commit message is required: pass -m MESSAGE")


def working_items(
    repo: Repo, datasets: list[Dataset], *, ahead: bool = False
) -> list[tuple[Dataset, str | common.Md5Ahead, Path | None]]:
    """`(dataset, md5, None)` for each dataset's working file (`record_versions`' items), or
    PathError naming a missing file. `ahead`: a file not hashed for its current stat is hashed
    on a thread meanwhile (`common.Md5Ahead`: hashlib releases the GIL), beside the checks and
    the diff against its parent."""
    items: list[tuple[Dataset, str | common.Md5Ahead, Path | None]] = []
    for ds in datasets:
        md5 = common.working_md5_ahead(repo, ds) if ahead else common.working_md5(repo, ds)
        if md5 is None:
            raise PathError(
                f"{ds.path} (dataset {ds.name}) does not exist: restore it with `dslineage checkout {ds.name}@latest`"
            )
        items.append((ds, md5, None))
    return items


def record_versions(
    repo: Repo,
    items: Sequence[tuple[Dataset, str | common.Md5Ahead, Path | None]],
    message: str,
    author: str | None,
    *,
    extra: dict[str, dict[str, Any]] | None = None,
    extra_paths: list[str] | None = None,
    dvc_add: bool = True,
    on_records: Callable[[list[dict[str, Any]]], list[Path]] | None = None,
    known: dict[str, KnownChanges] | None = None,
) -> list[dict[str, Any]]:
    """Record versions of `(dataset, md5, bytes)` items whose md5 differs from their latest,
    as one transaction (joining the caller's, if it opened one); see `_record_versions` for
    the options."""
    require_message(message)
    with txn.begin(repo.root, repo.git, "commit"):
        return _record_versions(
            repo,
            items,
            message,
            author,
            extra=extra,
            extra_paths=extra_paths,
            dvc_add=dvc_add,
            on_records=on_records,
            known=known,
        )


def _check_pairs(con: Any, ds: Dataset, new: rows.Source, parent_src: rows.Source | None) -> None:
    """Refuse a version whose declared label pairs (`track --label-pair`) are not one-to-one
    with the mapping the parent version holds (one line, nothing recorded)."""
    from dslineage.errors import EditError
    from dslineage.store import edit_batch

    for a, b in ds.label_pairs or []:
        before = (parent_src.sql, list(parent_src.params)) if parent_src is not None else None
        bad = edit_batch.pair_conflicts(con, (new.sql, list(new.params)), a, b, before=before)
        if bad:
            raise EditError(
                f"{ds.path} breaks the label pair {a}={b} of {ds.name}: {edit_batch.pair_text(bad, a, b)}; "
                f"fix those rows (or edit both columns with `dslineage relabel`), then commit"
            )


def _record_versions(
    repo: Repo,
    items: Sequence[tuple[Dataset, str | common.Md5Ahead, Path | None]],
    message: str,
    author: str | None,
    *,
    extra: dict[str, dict[str, Any]] | None,
    extra_paths: list[str] | None,
    dvc_add: bool,
    on_records: Callable[[list[dict[str, Any]]], list[Path]] | None,
    known: dict[str, KnownChanges] | None,
) -> list[dict[str, Any]]:
    """Record versions of `(dataset, md5, bytes)` items whose md5 differs from their latest
    (the body of `record_versions`, which owns the options' defaults and the transaction).

    `bytes` None means the working file; a path (e.g. the DVC cache object of a pipeline
    output) is read instead. `dvc_add=False` skips `dvc add`: for outputs of DVC stages,
    whose hashes `dvc.lock` already records (DVC refuses to `dvc add` them).
    `on_records(records)` runs just before the git commit (even with no new version) and
    returns more files it wrote for that commit (e.g. a transformation naming the versions).
    The caller checked the message (`require_message`).
    """
    for ds, _, _ in items:
        mergestate.refuse_if_merging(repo, ds, "committed")
    if dvc_add:
        dvcio.preload()  # DVC's import runs beside the diff (on the second core)
    who = default_author(repo, author)
    con = common.row_connection(repo)
    pending: list[tuple[Dataset, dict[str, Any], Path | None]] = []
    try:
        for ds, md5, data in items:
            parent = common.current(repo, ds.name)
            if parent is not None and parent["md5"] == md5:  # (an md5 still hashing is checked later)
                continue
            new = common.working_source(repo, ds) if data is None else rows.source(data, ds, ds.path)
            fast = usable((known or {}).get(ds.name), ds, parent)
            parent_src = common.version_source(repo, ds, parent) if parent and not fast else None
            if ds.label_pairs and not fast:  # (a relabel checked its own edits already)
                _check_pairs(con, ds, new, parent_src)
            record, change_file = build_record(
                repo,
                con,
                ds,
                new,
                md5,
                parent,
                parent_src,
                message=message,
                author=who,
                timestamp=journal.now(),
                known=(known or {}).get(ds.name),
            )
            if record is None:  # only touched (its md5, hashed meanwhile, is the parent's)
                continue
            # edit batches applied with `relabel --no-commit` travel with this version
            ds_extra, batch_paths = link_pending(repo, ds, parent, (extra or {}).get(ds.name))
            record.update(ds_extra or {})
            extra_paths = [*(extra_paths or []), *batch_paths]
            pending.append((ds, record, change_file))
    except BaseException:
        for _, _, change_file in pending:
            if change_file is not None:
                change_file.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    if not pending and on_records is None:
        return []
    return _write(repo, pending, message, extra_paths or [], dvc_add=dvc_add, on_records=on_records)


def _write(
    repo: Repo,
    pending: list[tuple[Dataset, dict[str, Any], Path | None]],
    message: str,
    extra_paths: list[str],
    *,
    dvc_add: bool = True,
    on_records: Callable[[list[dict[str, Any]]], list[Path]] | None = None,
) -> list[dict[str, Any]]:
    t = txn.current(repo.root)
    assert t is not None, "record_versions opens the transaction"
    t.step("after-changes")
    paths: list[str] = list(extra_paths)
    for ds, record, change_file in pending:
        if dvc_add:
            # hand DVC the md5 we computed (if the file is unchanged since) instead of rehashing
            hint = record["md5"] if common.known_md5(repo, ds) == record["md5"] else None
            stale = DslineageError(f"{ds.path} changed while it was being committed: run the commit again")
            paths += dvc_add_version(repo, t, ds, record["md5"], hint=hint, stale=stale)
            # DVC relinked the file from its cache (a new inode): remember its md5 under the new stat,
            # or the next command would hash the whole file again
            common.remember_working_md5(repo, ds, record["md5"])
            t.step("after-dvc-add")
        paths += journal_version(repo, t, record, change_file)
        ignore = Path(ds.path).parent / ".gitignore"
        if (repo.root / ignore).exists():
            paths.append(ignore.as_posix())
        reg = config.dataset_file(repo.root, ds.name).relative_to(repo.root).as_posix()
        paths.append(reg)
    if on_records is not None:
        more = on_records([rec for _, rec, _ in pending])
        paths += [f.relative_to(repo.root).as_posix() for f in more]
    lines = [message, ""] + [f"dslineage-version: {ds.name}@v{rec['seq']} {rec['id']}" for ds, rec, _ in pending]
    t.commit(sorted(set(paths)), "\n".join(lines))
    repo.index.sync(force=True)
    return [repo.index.version(rec["id"]) or rec for _, rec, _ in pending]


def commit(
    repo: Repo, names: list[str], message: str, author: str | None, *, no_verify: bool = False
) -> list[CommittedVersion]:
    """`dslineage commit [NAME ...] -m MSG`: new versions of the datasets that changed.

    Datasets with rules in `.dslineage/checks.yaml` are checked first: a failing version is
    refused unless `no_verify`; the results (and the flag) go into the version record.
    """
    from dslineage.quality.check import gate

    all_ds = repo.datasets()
    if names:
        datasets = [repo.dataset(n) for n in names]
    else:
        datasets = list(all_ds.values())
        if not datasets:
            raise UsageError("no datasets are tracked yet: register one with `dslineage track`")
    require_message(message)  # before the checks run (record_versions checks it again: cheap)
    dvcio.preload()  # DVC's import runs beside the hashing and the diff (on the second core)
    items = working_items(repo, datasets, ahead=True)
    extra = gate(repo, datasets, no_verify=no_verify)
    versions = record_versions(repo, items, message, author, extra=extra)
    return [CommittedVersion.build(v, extra.get(v["dataset"])) for v in versions]


def dvc_add_version(
    repo: Repo, t: txn.Transaction, ds: Dataset, md5: str, *, hint: str | None, stale: DslineageError
) -> list[str]:
    """`dvc add` the work file of a new version whose bytes hash to `md5`, its `.dvc` file and its
    folder's `.gitignore` backed up first. `hint` (the work file is unchanged since it was hashed)
    spares DVC the hashing: a file's md5 is handed over, a directory's parts' md5s instead. Raises
    `stale` when DVC found other bytes (the file changed meanwhile); returns the files it wrote,
    for the git commit: the `.dvc` file, and the `.gitignore` when there is one."""
    dvcfile = dvcio.dvcfile_for(ds.path)
    ignore = (Path(ds.path).parent / ".gitignore").as_posix()
    t.backup(dvcfile, ignore)
    if ds.format == config.DIR_FORMAT:
        out = dvcio.add(repo.root, ds.path, part_hints=dirs.part_hints(repo, ds) if hint else None)
    else:
        out = dvcio.add(repo.root, ds.path, md5_hint=hint)
    if out.md5 != md5:
        raise stale
    return [dvcfile, *([ignore] if (repo.root / ignore).exists() else [])]


def journal_version(repo: Repo, t: txn.Transaction, record: dict[str, Any], change_file: Path | None) -> list[str]:
    """Write a version's journal record (its change set file is written already): the files to
    commit, the record's and the change set's."""
    jfile = journal.write(repo.root, record)
    t.step("after-journal")
    return [
        jfile.relative_to(repo.root).as_posix(),
        *([change_file.relative_to(repo.root).as_posix()] if change_file else []),
    ]
