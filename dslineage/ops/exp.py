"""`dslineage exp record|list|show|diff`: experiments as lineage nodes.

An experiment record names the exact dataset versions used, the code commit, params,
metrics (`--metrics FILE`, else the metrics files dvc.yaml declares) and the pipeline
state (`dvc.lock`: each stage's transformation and output hashes). Recording a name again
records a new run of that experiment; `exp show NAME` and `reproduce NAME` use its newest
run, an id prefix picks any run.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from dslineage import config, dvcio, journal, txn
from dslineage.core import common
from dslineage.errors import DirtyError, DslineageError, PathError, UnknownNodeError, UsageError
from dslineage.model_base import from_mapping, to_json
from dslineage.model_exp import (
    DatasetChange,
    Experiment,
    ExperimentDiff,
    ExperimentRecorded,
    ExperimentRef,
    ExperimentSummary,
    ExpRecordOptions,
    UsedVersion,
    ValueChange,
    VersionRef,
)
from dslineage.ops.stages import signature
from dslineage.ops.sync import maybe_sync

if TYPE_CHECKING:
    from dslineage.repo import Repo

STEPS = txn.declare("exp-record", "after-journal")


def _load_file(repo: Repo, path: str, what: str) -> tuple[str, dict[str, Any]]:
    """A params/metrics file (YAML or JSON) as a dict, and its repo-relative path."""
    import yaml

    rel = config.inside(repo.root, path, cwd=repo.root)
    full = repo.root / rel
    if not full.is_file():
        raise PathError(f"{what} file {rel} does not exist: check the path")
    try:
        data = yaml.safe_load(full.read_text(encoding="utf-8"))  # JSON is YAML too
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {what} file {rel}: {str(exc).splitlines()[0]}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"{what} file {rel} must hold a mapping of names to values")
    return rel, data


def _current_versions(repo: Repo, data: list[str] | None) -> list[dict[str, Any]]:
    """The dataset versions an experiment uses: each `NAME@REF`, or every tracked dataset
    at the version its working file holds."""
    from dslineage.core.refs import resolve

    chosen: list[dict[str, Any]] = []
    if data:
        for ref in data:
            ds, v = resolve(repo, ref if "@" in ref else f"{ref}@latest")
            chosen.append({"name": ds.name, "version": v["id"], "seq": v["seq"], "md5": v["md5"], "path": ds.path})
        names = [c["name"] for c in chosen]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise UsageError(f"--data names dataset {dup[0]!r} twice: pass one version per dataset")
        return chosen
    for ds in repo.datasets().values():
        work = common.working_state(repo, ds)
        found = work.version
        if found is None:
            state = "is missing" if work.missing else "has uncommitted changes"
            raise DirtyError(
                f"{ds.path} (dataset {ds.name}) {state}: commit it with `dslineage commit {ds.name} "
                f"-m MSG` or name the versions to record with --data NAME@REF"
            )
        chosen.append(
            {"name": ds.name, "version": found["id"], "seq": found["seq"], "md5": found["md5"], "path": ds.path}
        )
    return chosen


def _pipeline(repo: Repo) -> dict[str, Any]:
    """Each `dvc.lock` stage: its transformation node and output hashes."""
    recorded: dict[str, str] = {}
    for rec in repo.index.records("transformation"):
        if rec.get("lock_signature"):
            recorded[rec["lock_signature"]] = rec["id"]  # oldest first: the newest wins
    stages = {}
    for name, entry in dvcio.read_lock(repo.root).items():
        sig = signature(entry)
        stages[name] = {
            "signature": sig,
            "transformation": recorded.get(sig),
            "cmd": entry.cmd,
            "outs": {p: m for p, m in entry.outs},
        }
    return stages


def _declared_metrics(repo: Repo) -> tuple[str | None, dict[str, Any]]:
    """The metrics files dvc.yaml declares (`run -M`, `metrics:`) that exist: one file's
    values as they are; several files' values under their paths."""
    declared = sorted(p for p in dvcio.metrics_paths(dvcio.stage_definitions(repo.root)) if (repo.root / p).is_file())
    if len(declared) == 1:
        return _load_file(repo, declared[0], "metrics")
    return None, {p: _load_file(repo, p, "metrics")[1] for p in declared}


def record(repo: Repo, name: str, opts: ExpRecordOptions) -> ExperimentRecorded:
    """Record an experiment node and commit it (one journal file, one git commit)."""
    config.check_name(name)
    _, warning = maybe_sync(repo)
    datasets = _current_versions(repo, opts.data)
    params, metrics, message = opts.params, opts.metrics, opts.message
    params_file: str | None = None
    params_data: dict[str, Any] = {}
    if params:
        params_file, params_data = _load_file(repo, params, "params")
    elif (repo.root / "params.yaml").is_file():
        params_file, params_data = _load_file(repo, "params.yaml", "params")
    metrics_file, metrics_data = _load_file(repo, metrics, "metrics") if metrics else _declared_metrics(repo)
    who = opts.author or repo.git.identity()
    head = repo.git.head()
    dirty = repo.git.run("status", "--porcelain", "--untracked-files=no").splitlines() if head else []
    ts = journal.now()
    raw = dvcio.lock_bytes(repo.root)
    rec = {
        "kind": "experiment",
        "id": journal.make_id("experiment", name, ts, who, head, datasets),
        "timestamp": ts,
        "name": name,
        "author": who,
        "message": message or "",
        "git_commit": head,
        "code_dirty": sorted(line[3:].strip() for line in dirty if line.strip()),
        "datasets": datasets,
        "params_file": params_file,
        "params": params_data,
        "metrics_file": metrics_file,
        "metrics": metrics_data,
        "pipeline": _pipeline(repo),
        "dvc_lock": journal.make_id("dvc.lock", raw.decode("utf-8", "replace")) if raw else None,
    }
    with txn.begin(repo.root, repo.git, "exp-record") as t:
        jfile = journal.write(repo.root, rec)
        t.step("after-journal")
        t.commit(
            [jfile.relative_to(repo.root).as_posix()],
            f"dslineage exp record {name}" + (f": {message}" if message else ""),
        )
    repo.index.sync(force=True)
    return from_mapping(
        ExperimentRecorded,
        rec,
        datasets=[UsedVersion(**d) for d in datasets],
        recorded_commit=repo.git.head(),
        warnings=[warning] if warning else [],
    )


def list_experiments(repo: Repo) -> list[ExperimentSummary]:
    """Every experiment run, newest first."""
    return [ExperimentSummary.from_record(r) for r in reversed(repo.index.records("experiment"))]


def find(repo: Repo, text: str) -> dict[str, Any]:
    """The experiment record `text` names: a name (its newest run), `exp:NAME`, or an id prefix."""
    text = text.removeprefix("exp:")
    records = repo.index.records("experiment")
    named = [r for r in records if r.get("name") == text]
    if named:
        return named[-1]
    low = text.lower()
    by_id = {r["id"]: r for r in records if len(low) >= 4 and r["id"].startswith(low)}
    if len(by_id) == 1:
        return next(iter(by_id.values()))
    if len(by_id) > 1:
        listed = "; ".join(f"{r['name']} ({r['id'][:10]})" for r in by_id.values())
        raise UnknownNodeError(f"ambiguous experiment {text!r} could be: {listed}; use a longer id prefix")
    names = sorted({str(r.get("name")) for r in records})
    known = ", ".join(names[:10]) or "none yet"
    raise UnknownNodeError(f"unknown experiment {text!r} (experiments: {known}): list them with `dslineage exp list`")


def show(repo: Repo, text: str) -> Experiment:
    """One experiment run in full, with how many runs its name has."""
    rec = find(repo, text)
    runs = sum(1 for r in repo.index.records("experiment") if r.get("name") == rec.get("name"))
    return Experiment.from_record(rec, runs=runs)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested params or metrics as dotted names: {"train": {"lr": 0.1}} → {"train.lr": 0.1}."""
    if isinstance(data, dict):
        flat: dict[str, Any] = {}
        for k, v in data.items():
            flat.update(flatten(v, f"{prefix}{k}."))
        return flat
    return {prefix[:-1]: data}


def _changed(a: dict[str, Any], b: dict[str, Any]) -> list[ValueChange]:
    fa, fb = flatten(a), flatten(b)
    keys = sorted(set(fa) | set(fb))
    return [ValueChange(key=k, a=fa.get(k), b=fb.get(k)) for k in keys if fa.get(k) != fb.get(k)]


def _ref(d: dict[str, Any] | None) -> VersionRef | None:
    return VersionRef(version=d["version"], seq=d["seq"], md5=d["md5"]) if d else None


def _exp_ref(e: dict[str, Any]) -> ExperimentRef:
    return ExperimentRef(id=e["id"], name=e["name"], git_commit=e.get("git_commit"))


def _dataset_change(repo: Repo, name: str, va: dict[str, Any] | None, vb: dict[str, Any] | None) -> DatasetChange:
    """How dataset `name` differs between two experiments' versions of it (row counts when both have one)."""
    change = DatasetChange(name=name, a=_ref(va), b=_ref(vb), rows=None)
    if va and vb and va["md5"] != vb["md5"]:
        try:
            d = repo.diff(f"{name}@{va['version']}", f"{name}@{vb['version']}")
        except DslineageError as exc:  # e.g. a missing cache object: report, don't fail
            return dataclasses.replace(change, error=str(exc))
        rows = to_json(d.rows)
        assert isinstance(rows, dict)
        return dataclasses.replace(change, rows=rows, label_transitions=d.label_transitions)
    if va and vb:
        return dataclasses.replace(change, rows={"added": 0, "removed": 0, "modified": 0, "relabeled": 0})
    return change


def diff(repo: Repo, a: str, b: str) -> ExperimentDiff:
    """Datasets whose versions differ (with row-level counts), and params/metrics that differ."""
    ea, eb = find(repo, a), find(repo, b)
    da = {d["name"]: d for d in ea.get("datasets") or []}
    db = {d["name"]: d for d in eb.get("datasets") or []}
    datasets = [
        _dataset_change(repo, name, da.get(name), db.get(name))
        for name in sorted(set(da) | set(db))
        if not (name in da and name in db and da[name]["version"] == db[name]["version"])
    ]
    return ExperimentDiff(
        a=_exp_ref(ea),
        b=_exp_ref(eb),
        datasets=datasets,
        params=_changed(ea.get("params") or {}, eb.get("params") or {}),
        metrics=_changed(ea.get("metrics") or {}, eb.get("metrics") or {}),
        code_changed=ea.get("git_commit") != eb.get("git_commit"),
    )


def dumps(value: Any) -> str:
    """A param or metric value as short text."""
    return value if isinstance(value, str) else json.dumps(value, default=str)
