"""`dslineage consensus NAME --votes FILE`: reconcile several annotators' votes into labels.

Order: load the working file (the relabel `Session`) → check and stage the votes (SQL,
`store.votes`) → aggregate them with crowd-kit (`quality.crowd`, the only pandas
boundary) → per row: votes, agreement, outcome (SQL) → rows whose consensus differs from
the current label become ONE relabel batch (op "consensus", through `edit_apply.apply`);
rows below `--min-agreement` / `--min-votes` go to a review queue instead. Every vote
(also those agreeing with the current label) is recorded as `<id>.votes.parquet` beside
a journal record of kind "votes", in the same transaction as the batch (or, when nothing
changes, in one of its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import journal, txn
from dslineage.errors import UsageError
from dslineage.ops import mergestate, queues
from dslineage.ops.commit import SNAPSHOT_STEPS
from dslineage.quality.crowd import METHODS

if TYPE_CHECKING:
    from dslineage.model_quality import ConsensusOptions
    from dslineage.ops.edit_session import Session
    from dslineage.repo import Repo

# the batch path passes through relabel's steps; "after-votes": the votes/queue records are written
STEPS = txn.declare("consensus", "after-data", "after-votes", "after-batch", *SNAPSHOT_STEPS)
# nothing to relabel: only the votes (and a queue) are recorded, in a git commit of their own
VOTES_STEPS = txn.declare("consensus-votes", "after-votes")
FORMATS = ("auto", "label-studio")


@dataclass(frozen=True)
class Agreement:
    """Agreement among the annotators over the votes given: Krippendorff's alpha (nominal) and
    the mean of the pairwise Cohen's kappas (None when undefined)."""

    alpha: float | None
    mean_kappa: float | None


@dataclass(frozen=True)
class AnnotatorSkill:
    """One annotator's votes in this consensus and their skill (the method's, else accuracy
    against the consensus)."""

    annotator: str
    votes: int
    skill: float | None


@dataclass(frozen=True)
class ConsensusResult:
    """What `consensus` did (the `consensus --json` contract)."""

    batch: str | None
    version: str | None
    method: str
    rows_voted: int
    applied: int
    confirmed: int
    queued: int
    agreement: Agreement
    annotators: list[AnnotatorSkill]


def _source(session: Session, votes: str, fmt: str, key_field: str | None) -> tuple[str, list[Any], str]:
    """The votes as a DuckDB relation: a CSV/parquet/JSON Lines file, or a Label Studio export."""
    if fmt not in FORMATS:
        raise UsageError(f"--format must be auto or label-studio, not {fmt!r}")
    p = Path(votes)
    if fmt == "label-studio":
        from dslineage.errors import PathError
        from dslineage.interop.labelstudio import read_export

        if not p.is_file():
            raise PathError(f"votes file {votes} does not exist: check the path")
        key = key_field or session.ds.key[0]
        if len(session.ds.key) != 1:
            raise UsageError(f"{session.ds.name} has a composite key: a Label Studio export names one key field")
        table = read_export(p, key_field=key)
        if key != session.ds.key[0]:
            table = table.rename_columns([session.ds.key[0] if c == key else c for c in table.column_names])
        session.con.register("_dsl_ls_votes", table)
        return "_dsl_ls_votes", [], p.name
    return session.source(votes, "votes file")


def _queue_ref(repo: Repo, name: str, ref: str | None) -> str | None:
    """The full id of the review queue `--queue` names (id or unique prefix)."""
    if ref is None:
        return None
    found = [r["id"] for r in repo.index.records("queue", name) if r["id"].startswith(ref.lower())]
    if len(found) != 1:
        what = "unknown" if not found else "ambiguous"
        raise UsageError(f"{what} review queue {ref!r} of {name}: give a queue id or a unique prefix")
    return found[0]


def _check_options(method: str, min_agreement: float | None, min_votes: int | None) -> None:
    if method not in METHODS:
        raise UsageError(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
    if min_agreement is not None and not 0 <= min_agreement <= 1:
        raise UsageError(f"--min-agreement is a share between 0 and 1, not {min_agreement}")
    if min_votes is not None and min_votes < 1:
        raise UsageError(f"--min-votes must be at least 1, not {min_votes}")


def consensus(repo: Repo, name: str, opts: ConsensusOptions) -> ConsensusResult:
    """Aggregate votes with crowd-kit; apply rows whose consensus differs from their label as one
    relabel batch, queue rows below the agreement/vote thresholds, and record every vote
    (`Repo.consensus` documents the options)."""
    from dslineage.ops.commit import default_author
    from dslineage.ops.edit_session import Session, pick_column
    from dslineage.quality import agreement as agreement_mod
    from dslineage.quality import crowd
    from dslineage.store import votes as vsql

    _check_options(opts.method, opts.min_agreement, opts.min_votes)
    ds = repo.dataset(name)
    mergestate.refuse_if_merging(repo, ds, "given a consensus")
    col, j = pick_column(ds, opts.column)
    review = _queue_ref(repo, ds.name, opts.queue)
    who = default_author(repo, opts.by)
    session = Session(repo, ds)
    try:
        src, params, what = _source(session, opts.votes, opts.fmt, opts.key_field)
        vsql.stage(session.con, (src, params), ds, col, session.types, _allowed(repo, ds, col), what)
        agg = crowd.aggregate(vsql.task_frame(session.con), opts.method)
        session.con.register("_dsl_agg", agg.table)
        counts = vsql.outcome(session.con, len(ds.key), j, opts.min_votes or 1, opts.min_agreement or 0.0)
        rows_voted = sum(counts.values())
        per = vsql.per_annotator(session.con)
        # the method's own skill estimate where it has one; accuracy against the consensus otherwise
        skills = {a: (agg.skills or {}).get(a, acc) for a, _, acc in per}
        vsql.ratings(session.con)
        alpha, mean_kappa = agreement_mod.alpha_and_kappa(session.con)
        agreement = Agreement(alpha=alpha, mean_kappa=mean_kappa)
        ts = journal.now()
        rid = journal.make_id("votes", ds.name, col, session.md5, ts, who, opts.method, what, rows_voted)
        rec: dict[str, Any] = {
            "kind": "votes",
            "id": rid,
            "timestamp": ts,
            "dataset": ds.name,
            "column": col,
            "keys": list(ds.key),
            "author": who,
            "reason": opts.reason,
            "source": what,
            "method": opts.method,
            "params": {"min_agreement": opts.min_agreement, "min_votes": opts.min_votes},
            "version": session.head["id"],
            "votes": journal.side_file(rid, "votes"),
            "review_queue": review,
            "rows_voted": rows_voted,
            **counts,
            "skills": skills,
            "agreement": {"alpha": agreement.alpha, "mean_kappa": agreement.mean_kappa},
        }
        batch_id, version_id = _record(repo, session, rec, col, opts.method, opts.reason, who, opts.commit, review)
    finally:
        session.close()
    return ConsensusResult(
        batch=batch_id,
        version=version_id,
        method=opts.method,
        rows_voted=rows_voted,
        applied=counts["applied"],
        confirmed=counts["confirmed"],
        queued=counts["queued"],
        agreement=agreement,
        annotators=[AnnotatorSkill(annotator=a, votes=n, skill=skills[a]) for a, n, _ in per],
    )


def _allowed(repo: Repo, ds: Any, column: str) -> list[Any] | None:
    """The labels a vote may carry: the dataset's `labels_allowed`, narrowed by the label rules
    of `.dslineage/checks.yaml` (`allowed_labels`) when they name this column."""
    from dslineage.quality import rules as qrules

    allowed = list(ds.labels_allowed) if ds.labels_allowed is not None else None
    r = qrules.load(repo.root, repo.datasets()).get(ds.name)
    ruled = r.allowed_labels.get(column) if r is not None else None
    if ruled is not None:
        allowed = [v for v in ruled if allowed is None or str(v) in {str(a) for a in allowed}]
    return allowed


def _record(
    repo: Repo,
    session: Session,
    rec: dict[str, Any],
    col: str,
    method: str,
    reason: str | None,
    who: str,
    commit: bool,
    review: str | None,
) -> tuple[str | None, str | None]:
    """Write the batch (when any row changes), the votes record and the queue; returns
    (batch id, version id)."""
    from dslineage.ops.edit_apply import apply, label_rules
    from dslineage.store import edit_batch
    from dslineage.store import votes as vsql

    ds = session.ds
    plans: list[Any] = []
    if rec["applied"]:
        rel = vsql.applied_relation(session.con, ds, col, f"consensus:{method}", reason)
        edit_batch.stage(session.con, rel, [], ds, col, session.types, ds.labels_allowed, "the consensus")
        plan = session.join(col)
        plan.extra = {
            "method": method,
            "votes": rec["votes"],
            "consensus": rec["id"],
            **({"queue": review} if review else {}),
        }
        label_rules(session, plan)
        # a declared label pair (`track --label-pair`) has its other column filled, as relabel does
        plans = [plan, *session.fill_pairs([plan])]

    def attach(batch_ids: list[str]) -> list[str]:
        """Write the queue and the votes record (linked to the batch and the queue); their journal paths."""
        batch = batch_ids[0] if batch_ids else None
        paths: list[str] = []
        qid = None
        if rec["queued"]:
            qid, paths = _write_queue(repo, session, rec, batch)
        paths += _write_votes(repo, session, {**rec, "batch": batch, "queue": qid})
        t = txn.current(repo.root)
        assert t is not None, "record the votes inside txn.begin()"
        t.step("after-votes")
        return paths

    if plans:
        text = f"consensus ({method}) of {ds.name}: {rec['applied']} row(s) relabelled"
        out = apply(
            session,
            plans,
            by=who,
            reason=reason,
            commit=commit,
            source=rec["source"],
            op="consensus",
            message=text + (f": {reason}" if reason else ""),
            attach=attach,
        )
        v = out["version"]
        return out["batches"][0], (v["id"] if v else None)
    with txn.begin(repo.root, repo.git, "consensus-votes") as t:
        paths = attach([])
        t.commit(paths, f"consensus ({method}) of {ds.name}: {rec['rows_voted']} row(s) voted, nothing relabelled")
    repo.index.sync(force=True)
    return None, None


def _write_votes(repo: Repo, session: Session, rec: dict[str, Any]) -> list[str]:
    """The votes parquet (registered with the open transaction first), then its record."""
    from dslineage.store import votes as vsql

    folder = journal.folder(repo.root)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / rec["votes"]
    txn.will_create(repo.root, path)
    vsql.write_votes(session.con, len(session.ds.key), path)
    target = journal.write(repo.root, rec)
    return [p.relative_to(repo.root).as_posix() for p in (target, path)]


def _write_queue(repo: Repo, session: Session, rec: dict[str, Any], batch: str | None) -> tuple[str, list[str]]:
    """The review queue of the rows below the thresholds (`source: "consensus"`)."""
    from dslineage.store import votes as vsql

    ts = journal.now()
    qid = queues.new_id(rec["dataset"], rec["version"], ts, rec["id"])
    folder = journal.folder(repo.root)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / journal.side_file(qid, "queue")
    txn.will_create(repo.root, path)
    rows = vsql.write_queue(session.con, session.ds, path)
    qrec = queues.new_record(
        qid,
        dataset=rec["dataset"],
        version=session.head,
        source="consensus",
        method=rec["method"],
        params=rec["params"],
        rows=rows,
        author=rec["author"],
        timestamp=ts,
        batch=batch,
        votes=rec["id"],
    )
    target = journal.write(repo.root, qrec)
    return qid, [p.relative_to(repo.root).as_posix() for p in (target, path)]
