"""`dslineage track`: register a dataset file, adopting its earlier DVC history if any."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import config, dvcio, journal, txn
from dslineage.config import Dataset
from dslineage.core import common
from dslineage.errors import EditError, FormatError, PathError, UsageError
from dslineage.model_ops import TrackResult
from dslineage.model_quality import TrackOptions
from dslineage.ops.commit import build_record
from dslineage.store import edit_batch, rows

if TYPE_CHECKING:
    from dslineage.repo import Repo

STEPS = txn.declare("track", "after-adopt", "after-register")


def _csv_options(con: Any, path: Path) -> dict[str, Any]:
    """Delimiter, quote and header of a CSV/TSV file, as DuckDB's sniffer sees them."""
    import duckdb

    sniff = "SELECT Delimiter, Quote, HasHeader, Escape, len(Columns) FROM sniff_csv(?{})"
    long_lines = None
    try:
        row = con.execute(sniff.format(""), [str(path)]).fetchone()
    except duckdb.Error as exc:
        try:  # a valid file with a line longer than DuckDB's default 2 MB (a huge field)?
            row = con.execute(sniff.format(", max_line_size = ?"), [str(path), rows.LONG_LINES]).fetchone()
            long_lines = rows.LONG_LINES
        except duckdb.Error:
            where = rows.not_utf8(path)
            reason = (
                f"it is not UTF-8 text ({where}); convert it, e.g. `iconv -f latin1 -t utf-8`"
                if where
                else f"{str(exc).splitlines()[0][:200]}; fix the file or pass --format"
            )
            raise FormatError(f"cannot read {path.name} as CSV: {reason}") from None
    # the sniffer reports an option it did not find as the text "(empty)"
    delim, quote, header, escape, ncols = (None if v == "(empty)" else v for v in row)
    if path.suffix.lower() == ".tsv":
        delim = "\t"
    expected = "\t" if path.suffix.lower() == ".tsv" else ","
    with open(path, "rb") as fh:
        first = fh.readline(1 << 16)
    if ncols == 1 and expected.encode() in first:
        # the sniffer gives up on ragged rows or stray quotes by reading each line as one column
        raise FormatError(
            f"cannot read {path.name} as CSV: its rows do not split consistently on {expected!r} "
            "(ragged rows or an unterminated quote?); fix the file or pass --format"
        )
    return {
        "delimiter": delim,
        "quote": quote or '"',
        "header": bool(header),
        "escape": escape or quote or '"',
        **({"max_line_size": long_lines} if long_lines else {}),
    }


def track(repo: Repo, path: str, key: list[str], labels: list[str], opts: TrackOptions) -> TrackResult:
    """Register `path` as a dataset, validate its keys, import earlier `.dvc` history.

    `label_pairs` ("A=B" or (A, B)): label columns that map one-to-one (the mapping is learnt
    from the data, checked on relabel and commit; an edit of one fills the other).

    `roles` maps "features", "predictions", "groups", "ignore" to columns (`audit` never
    counts predictions, groups or ignored columns as features)."""
    rel = config.inside(repo.root, path, cwd=repo.root)
    full = repo.root / rel
    if not full.is_file() and not full.is_dir():
        raise PathError(f"{rel} does not exist or is not a file: check the path")
    if not key:
        raise UsageError("at least one key column is required: pass --key COL[,COL...]")
    if not labels:
        raise UsageError("at least one label column is required: pass --label COL")
    fmt = config.DIR_FORMAT if full.is_dir() else config.detect_format(rel, opts.format)
    ds_name = config.check_name(opts.name or Path(rel).name.split(".")[0])
    existing = repo.datasets()
    for other in existing.values():
        if other.path == rel and other.name != ds_name:
            raise UsageError(f"{rel} is already tracked as {other.name!r}")
    if ds_name in existing and existing[ds_name].path != rel:
        raise UsageError(f"dataset name {ds_name!r} is taken by {existing[ds_name].path}: pass --name")
    roles = opts.roles
    if not roles and ds_name in existing:  # tracking again without roles keeps the registered ones
        roles = {r: c for r, c in existing[ds_name].roles().items() if c}
    pairs = parse_pairs(labels, opts.label_pairs)
    if pairs is None and ds_name in existing:  # and the declared label pairs
        pairs = [p for p in existing[ds_name].label_pairs or [] if all(c in labels for c in p)] or None
    with txn.begin(repo.root, repo.git, "track") as t:
        return _register(
            repo, t, rel, full, fmt, ds_name, existing, key, labels, opts.labels_allowed, roles or {}, pairs
        )


def parse_pairs(labels: list[str], given: list[str] | list[tuple[str, str]] | None) -> list[list[str]] | None:
    """`--label-pair A=B` values as [[A, B], ...]: two different label columns, each in one pair."""
    if not given:
        return None
    out: list[list[str]] = []
    for item in given:
        parts = item.split("=") if isinstance(item, str) else list(item)
        if len(parts) != 2 or not all(isinstance(c, str) and c.strip() for c in parts):
            raise UsageError(f"--label-pair takes A=B (two label columns), not {item!r}")
        a, b = (c.strip() for c in parts)
        bad = [c for c in (a, b) if c not in labels]
        if bad or a == b:
            raise UsageError(
                f"--label-pair {a}={b}: both sides must be different label columns "
                f"(labels: {', '.join(labels)}; add one with --label)"
            )
        if any(c in p for p in out for c in (a, b)):
            raise UsageError(f"--label-pair {a}={b}: a label column can be in one pair only")
        out.append([a, b])
    return out


def _check_roles(ds: Dataset, roles: dict[str, list[str]], columns: list[str]) -> None:
    """Role columns exist, are not key or label columns, and have one role each."""
    unknown = set(roles) - set(config.ROLES)
    if unknown:
        raise UsageError(f"unknown column role {sorted(unknown)[0]!r}: use {', '.join(config.ROLES)}")
    seen: dict[str, str] = {}
    for role, cols in roles.items():
        flag = {"features": "--feature", "predictions": "--prediction", "groups": "--group"}.get(role, "--ignore")
        for c in cols:
            if c not in columns:
                raise UsageError(f"{flag} {c}: no such column in {ds.path} (columns: {', '.join(columns[:20])})")
            if c in ds.key or c in ds.labels:
                raise UsageError(f"{flag} {c}: {c!r} is a key or label column; a role is for the other columns")
            if c in seen and seen[c] != role:
                raise UsageError(f"{flag} {c}: {c!r} already has the role {seen[c]}; give a column one role")
            seen[c] = role


def _register(
    repo: Repo,
    t: txn.Transaction,
    rel: str,
    full: Path,
    fmt: str,
    ds_name: str,
    existing: dict[str, Dataset],
    key: list[str],
    labels: list[str],
    labels_allowed: list[Any] | None,
    roles: dict[str, list[str]],
    pairs: list[list[str]] | None = None,
) -> TrackResult:
    con = common.row_connection(repo)
    try:
        ds = Dataset(
            name=ds_name,
            path=rel,
            format=fmt,
            key=list(key),
            labels=list(labels),
            labels_allowed=labels_allowed,
            label_pairs=pairs,
        )
        for role, cols in roles.items():
            setattr(ds, role, list(dict.fromkeys(cols)))
        if fmt == "csv":
            ds.csv = _csv_options(con, full)
        if full.is_file() and full.stat().st_size == 0:
            raise FormatError(f"{rel} is empty: a dataset needs a header and rows")
        src = common.working_source(repo, ds)
        if fmt == config.DIR_FORMAT:
            _check_partition_labels(repo, ds)
        rows.validate(con, src, ds)
        if roles:
            _check_roles(ds, roles, [c["name"] for c in rows.schema(con, src)])
        for a, b in pairs or []:
            bad = edit_batch.pair_conflicts(con, (src.sql, list(src.params)), a, b)
            if bad:
                shown = edit_batch.pair_text(bad, a, b)
                raise EditError(
                    f"--label-pair {a}={b}: {ds.path} maps them more than one way ({shown}): "
                    "fix the data or drop the pair"
                )
        imported, missing, files = _adopt(repo, con, ds) if ds_name not in existing else ([], [], [])
    finally:
        con.close()
    t.step("after-adopt")
    t.backup(config.dataset_file(repo.root, ds.name))
    reg = config.save_dataset(repo.root, ds)
    t.step("after-register")
    paths = [reg.relative_to(repo.root).as_posix(), *files]
    from dslineage.ops import merge_driver

    if merge_driver.configured(repo.git) and merge_driver.write_attributes(repo.root, [ds]):
        paths.append(merge_driver.ATTRIBUTES)
    if repo.git.run("status", "--porcelain", "--", *paths).strip():
        t.commit(paths, f"dslineage: track {ds_name} ({rel}; key {', '.join(key)}; label {', '.join(labels)})")
    repo.index.sync(force=True)
    return TrackResult(
        dataset=ds_name,
        path=rel,
        format=fmt,
        key=ds.key,
        labels=ds.labels,
        roles=ds.roles(),
        label_pairs=ds.label_pairs or [],
        imported_versions=imported,
        missing_objects=missing,
    )


def _check_partition_labels(repo: Repo, ds: Dataset) -> None:
    """A label column of a directory dataset must be a column of its files, not a partition
    folder (`relabel` rewrites files in place of others; it does not move rows)."""
    from dslineage.store import parts

    folders = {c for rel, _ in parts.scan(repo.root, ds.path) for c in parts.hive_values(rel)}
    clash = [c for c in ds.labels if c in folders]
    if clash:
        raise UsageError(
            f"--label {clash[0]}: {clash[0]!r} is a partition folder of {ds.path}, not a column of its files; "
            "label a column the files hold (move rows between folders by rewriting the files)"
        )


def _adopt(repo: Repo, con: Any, ds: Dataset) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Import earlier git commits of the file's `.dvc` file as versions.

    Returns the imported records, the md5s whose cache objects are missing (their versions
    are recorded without rows or changes), and the journal files written.
    """
    dvcfile = dvcio.dvcfile_for(ds.path)
    if repo.git.head() is None:
        return [], [], []
    history = repo.git.file_log(dvcfile)
    imported: list[dict[str, Any]] = []
    missing: list[str] = []
    files: list[str] = []
    parent: dict[str, Any] | None = None
    parent_src: rows.Source | None = None
    try:
        for info in history:
            blob = repo.git.show(info.sha, dvcfile)
            out = dvcio.parse_dvcfile(blob) if blob else None
            if out is None or (parent is not None and out.md5 == parent["md5"]):
                continue
            obj = dvcio.cache_path(repo.root, out.md5)
            src = common.md5_source(repo, ds, out.md5, f"{ds.name} at {info.sha[:8]}") if obj.exists() else None
            ts = journal.iso_from_epoch(info.timestamp)
            extra = {"imported_commit": info.sha}
            if src is None:
                missing.append(out.md5)
                record = _record_without_data(ds, out.md5, parent, info, ts)
                change_file = None
            else:
                built, change_file = build_record(
                    repo,
                    con,
                    ds,
                    src,
                    out.md5,
                    parent,
                    parent_src,
                    message=info.message,
                    author=info.author,
                    timestamp=ts,
                    extra=extra,
                )
                assert built is not None  # (an md5 given)
                record = built
            jfile = journal.write(repo.root, record)
            files.append(jfile.relative_to(repo.root).as_posix())
            if change_file is not None:
                files.append(change_file.relative_to(repo.root).as_posix())
            imported.append(record)
            parent, parent_src = record, src
    except BaseException:
        for f in files:
            (repo.root / f).unlink(missing_ok=True)
        raise
    return imported, missing, files


def _record_without_data(ds: Dataset, md5: str, parent: dict[str, Any] | None, info: Any, ts: str) -> dict[str, Any]:
    vid = journal.make_id("version", ds.name, md5, parent and parent["id"], ts, info.author, info.message)
    return {
        "kind": "version",
        "id": vid,
        "dataset": ds.name,
        "seq": (parent["seq"] + 1) if parent else 1,
        "md5": md5,
        "parent": parent["id"] if parent else None,
        "parents": [parent["id"]] if parent else [],
        "path": ds.path,
        "message": info.message,
        "author": info.author,
        "timestamp": ts,
        "rows": None,
        "schema": None,
        "label_distribution": None,
        "changes": {"known": False},
        "imported_commit": info.sha,
    }
