"""`dslineage run -n STAGE -d DEP -o OUT [-M METRICS] [-p PARAM] -- COMMAND`: a DVC stage, recorded.

Writes the stage into dvc.yaml as `dvc stage add --force` does and runs it through DVC
(so a later `dvc repro` alone reproduces it), then records a transformation: stage,
command, code commit, params used, input and output dataset versions (other deps and
outs by md5; `-M` metrics files, uncached as DVC's `-M`, marked as metrics), start and end
time, who. Parquet/CSV/JSONL outputs become tracked datasets
on their first run (`--key`/`--label`, or inherited from an input whose key columns they
have); their versions come from the hashes in dvc.lock. One git commit holds dvc.yaml,
dvc.lock, DVC's .gitignore files, new registrations and the journal records.

If anything fails — the command (its exit status is passed on), a key check, the git
commit — dvc.yaml, dvc.lock, the .gitignore files and the outputs are put back as they
were: nothing is recorded and nothing is half-written.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from dslineage import config, dvcio, journal, txn
from dslineage.config import Dataset
from dslineage.core import common
from dslineage.errors import DirtyError, SchemaError, UnknownNodeError, UsageError
from dslineage.model_base import from_mapping
from dslineage.model_exp import RunOptions, StageRun, StageUpToDate, TrackedOutput
from dslineage.ops.stages import code_dirty, edges_of, items_for, pipeline_paths, signature
from dslineage.store import rows

if TYPE_CHECKING:
    from dslineage.repo import Repo

_BAD_STAGE_CHARS = set("\\/@:#,") | {" "}
STEPS = txn.declare("run", "after-stage", "after-register", "after-changes", "after-journal")


def _paths(repo: Repo, paths: list[str]) -> list[str]:
    """Repo-relative POSIX paths (URLs such as s3://... stay as written)."""
    return [p if "://" in p else config.inside(repo.root, p, cwd=repo.root) for p in paths]


def _column_specs(specs: list[str], outs: list[str], what: str) -> dict[str | None, list[str]]:
    """`--key`/`--label` values: `[OUT=]COL[,COL...]` -> {OUT or None (every output): cols}."""
    result: dict[str | None, list[str]] = {}
    for spec in specs:
        target, sep, cols = spec.rpartition("=")
        if sep and target:
            norm = PurePosixPath(target).as_posix()
            if norm not in outs:
                raise UsageError(f"--{what} {spec!r} names {target!r}, which is not an output (-o)")
            key: str | None = norm
        else:
            key, cols = None, spec
        result.setdefault(key, []).extend(c.strip() for c in cols.split(",") if c.strip())
    return result


class _Undo:
    """What the run may change, saved so a failure puts everything back."""

    def __init__(self, repo: Repo, outs: list[str]) -> None:
        self.root = repo.root
        self.tmp = repo.root / config.META_DIR / "tmp" / f"run-{os.getpid()}"
        files = [dvcio.PROJECT_FILE, dvcio.LOCK_FILE]
        files += [(PurePosixPath(o).parent / ".gitignore").as_posix() for o in outs]
        self.saved = {f: (self.root / f).read_bytes() if (self.root / f).exists() else None for f in files}
        # the same, recorded in the open transaction: a crash (SIGKILL) is undone by the next command
        txn.will_change(self.root, *files, *(o for o in outs if not (self.root / o).is_dir()))
        t = txn.current(self.root)
        if t is not None:
            t.scratch(self.tmp)
        self.outs: dict[str, Path | None] = {}
        self.tmp.mkdir(parents=True, exist_ok=True)
        for i, out in enumerate(outs):
            src = self.root / out
            if not src.exists():
                self.outs[out] = None
                continue
            dst = self.tmp / f"out{i}"
            if src.is_dir():
                shutil.copytree(src, dst, symlinks=True)
            else:
                try:
                    os.link(src, dst)  # DVC unlinks outputs before a run: the inode survives
                except OSError:
                    shutil.copy2(src, dst)
            self.outs[out] = dst
        self.registrations: list[Path] = []

    def restore(self) -> None:
        """Put every saved file and output back."""
        for rel, content in self.saved.items():
            path = self.root / rel
            if content is None:
                path.unlink(missing_ok=True)
            else:
                config.atomic_write_bytes(path, content)
        for out, backup in self.outs.items():
            path = self.root / out
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
            if backup is not None:
                os.replace(backup, path)
        for reg in self.registrations:
            reg.unlink(missing_ok=True)
        self.discard()

    def discard(self) -> None:
        """Drop the backups."""
        shutil.rmtree(self.tmp, ignore_errors=True)


def run(repo: Repo, stage: str, command: list[str], opts: RunOptions) -> StageRun | StageUpToDate:
    """Define (or update) and run a DVC stage, then record it as a transformation."""
    deps, outs, params, metrics = opts.deps, opts.outs, opts.params, opts.metrics
    if not stage or _BAD_STAGE_CHARS & set(stage):
        raise UsageError(f"invalid stage name {stage!r}: use letters, digits, '_', '-' or '.'")
    defined = dvcio.stage_definitions(repo.root)
    metric_list = _paths(repo, metrics or [])
    if command:
        dep_list, out_list = _paths(repo, deps or []), _paths(repo, outs or [])
        cmd: str | None = dvcio.command_text(command)
    else:
        if deps or outs or params or metrics:
            raise UsageError("-d/-o/-M/-p describe a new command: give it after `--`")
        if stage not in defined:
            known = ", ".join(sorted(defined)) or "none"
            raise UnknownNodeError(
                f"unknown stage {stage!r} in dvc.yaml (stages: {known}): define it with "
                f"`dslineage run -n {stage} -d DEP -o OUT -- COMMAND`"
            )
        dep_list = [str(d) for d in defined[stage].get("deps") or []]
        out_list = [str(next(iter(o))) if isinstance(o, dict) else str(o) for o in defined[stage].get("outs") or []]
        metric_list = sorted(dvcio.metrics_paths({stage: defined[stage]}))
        cmd = None
    both = sorted(set(dep_list) & set(out_list + metric_list))
    if both:
        raise UsageError(f"{both[0]} is both an input (-d) and an output (-o): write the output to a new path")
    key_specs = _column_specs(opts.keys or [], out_list, "key")
    label_specs = _column_specs(opts.labels or [], out_list, "label")
    by_path = {ds.path: ds for ds in repo.datasets().values()}
    _check_inputs(repo, dep_list, by_path)
    who = opts.author or repo.git.identity()
    head = repo.git.head()
    with txn.begin(repo.root, repo.git, "run") as t:
        undo = _Undo(repo, [o for o in out_list + metric_list if "://" not in o])
        try:
            before = dvcio.read_lock(repo.root).get(stage)
            started: str | None = journal.now()
            ran = dvcio.run_stage(
                repo.root,
                stage,
                cmd=cmd,
                deps=dep_list,
                outs=out_list,
                params=params,
                metrics=metric_list,
                force=opts.force,
            )
            ended: str | None = journal.now()
            t.step("after-stage")
            if not ran:  # up to date: DVC ran nothing now (dvc.lock state from an earlier run)
                started = ended = None
            entry = dvcio.read_lock(repo.root).get(stage)
            if entry is None:
                raise UsageError(f"stage {stage!r} left no entry in dvc.lock: check its definition in dvc.yaml")
            if not ran and before is not None and signature(before) == signature(entry):
                undo.restore()
                return StageUpToDate(
                    stage=stage,
                    ran=False,
                    transformation=None,
                    cmd=entry.cmd,
                    inputs=[],
                    outputs=[],
                    tracked=[],
                    versions=[],
                    git_commit=None,
                )
            tracked = _track_outputs(repo, undo, entry, key_specs, label_specs, by_path)
            t.step("after-register")
            by_path = {ds.path: ds for ds in repo.datasets().values()}
            result = _record(repo, stage, entry, by_path, who, head, started, ended, opts.message)
        except BaseException:
            undo.restore()
            raise
        undo.discard()
    return dataclasses.replace(result, tracked=tracked)


def _check_inputs(repo: Repo, deps: list[str], by_path: dict[str, Dataset]) -> None:
    """Every tracked-dataset input must hold a recorded version (so the run can name it)."""
    for path in deps:
        ds = by_path.get(path)
        if ds is None:
            continue
        work = common.working_state(repo, ds)
        if work.version is None:
            state = "is missing" if work.missing else "has uncommitted changes"
            fix = (
                f"restore it with `dslineage checkout {ds.name}@latest`"
                if work.missing
                else f"commit them with `dslineage commit {ds.name} -m MSG`"
            )
            raise DirtyError(f"input {path} (dataset {ds.name}) {state}: {fix} first")


def _track_outputs(
    repo: Repo,
    undo: _Undo,
    entry: dvcio.LockEntry,
    key_specs: dict[str | None, list[str]],
    label_specs: dict[str | None, list[str]],
    by_path: dict[str, Dataset],
) -> list[TrackedOutput]:
    """Register parquet/CSV/JSONL outputs not tracked yet; returns what was registered."""
    from dslineage.ops.track import _csv_options

    inputs = [by_path[p] for p, _ in entry.deps if p in by_path]
    existing = repo.datasets()
    tracked: list[TrackedOutput] = []
    con = common.row_connection(repo)
    try:
        for path, md5 in entry.outs:
            if path in by_path or PurePosixPath(path).suffix.lower() not in config.SUFFIXES:
                continue
            key = key_specs.get(path) or key_specs.get(None)
            labels = label_specs.get(path) or label_specs.get(None)
            explicit = bool(key)
            full = dvcio.cache_path(repo.root, md5)
            if not full.exists():
                full = repo.root / path
            fmt = config.detect_format(path, None)
            ds = Dataset(name=PurePosixPath(path).name.split(".")[0], path=path, format=fmt, key=[], labels=[])
            if fmt == "csv":
                ds.csv = _csv_options(con, full)
            src = rows.source(full, ds, path)
            columns = {c["name"] for c in rows.schema(con, src)}
            if not key:
                parent = next((d for d in inputs if set(d.key) <= columns and set(d.labels) & columns), None)
                if parent is None:
                    continue
                key, labels = list(parent.key), labels or [c for c in parent.labels if c in columns]
            if not labels:
                raise UsageError(f"output {path} needs a label column: pass --label {path}=COL")
            ds.key, ds.labels = list(key), list(labels)
            if ds.name in existing or not _valid_name(ds.name):
                if explicit:
                    raise UsageError(
                        f"cannot track output {path} as {ds.name!r}: the name is taken or invalid; "
                        "rename the output file"
                    )
                continue
            try:
                rows.validate(con, src, ds)
            except SchemaError:
                if explicit:
                    raise
                continue  # inherited key does not hold in this output: leave it untracked
            undo.registrations.append(config.save_dataset(repo.root, ds))
            existing[ds.name] = ds
            tracked.append(
                TrackedOutput(dataset=ds.name, path=path, key=ds.key, labels=ds.labels, inherited=not explicit)
            )
    finally:
        con.close()
    return tracked


def _valid_name(name: str) -> bool:
    try:
        config.check_name(name)
    except UsageError:
        return False
    return True


def _record(
    repo: Repo,
    stage: str,
    entry: dvcio.LockEntry,
    by_path: dict[str, Dataset],
    who: str,
    head: str | None,
    started: str | None,
    ended: str | None,
    message: str | None,
) -> StageRun:
    """Record output versions and the transformation in one git commit."""
    from dslineage.core.graph import check_acyclic, load
    from dslineage.ops.commit import record_versions

    sig = signature(entry)
    metrics = dvcio.metrics_paths({stage: dvcio.stage_definitions(repo.root).get(stage) or {}})
    tid = journal.make_id("transformation", stage, sig, started, who)
    dirty = code_dirty(repo, entry, by_path)
    items: list[tuple[Dataset, str, Path | None]] = [
        (by_path[p], md5, dvcio.cache_path(repo.root, md5)) for p, md5 in entry.outs if p in by_path
    ]
    holder: dict[str, Any] = {}

    def write_record(versions: list[dict[str, Any]]) -> list[Path]:
        made = {(v["dataset"], v["md5"]): v for v in versions}
        rec = {
            "kind": "transformation",
            "id": tid,
            "timestamp": ended or journal.now(),
            "stage": stage,
            "cmd": entry.cmd,
            "git_commit": head,
            "code_dirty": dirty,
            "params": entry.params,
            "inputs": items_for(repo, entry.deps, by_path, made),
            "outputs": items_for(repo, entry.outs, by_path, made, metrics),
            "started": started,
            "ended": ended,
            "author": who,
            "source": "run",
            "lock_signature": sig,
        }
        check_acyclic(load(repo), tid, edges_of(rec))
        holder["record"] = rec
        return [journal.write(repo.root, rec)]

    text = message or f"dslineage run {stage}: {entry.cmd[:72]}"
    versions = record_versions(
        repo,
        items,
        text,
        who,
        extra={ds.name: {"produced_by": tid, "stage": stage} for ds, _, _ in items},
        extra_paths=pipeline_paths(repo, [entry]) + sorted(m for m in metrics if (repo.root / m).is_file()),
        dvc_add=False,
        on_records=write_record,
    )
    # the result repeats the record it wrote (stage, cmd, code_dirty, params, inputs, outputs, times)
    return from_mapping(
        StageRun, holder["record"], transformation=tid, git_commit=repo.git.head(), code_commit=head, versions=versions
    )
