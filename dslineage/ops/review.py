"""`dslineage review NAME --predictions FILE`: a review queue ranked by a model (issue 13 item 2).

`confident-learning` ranks likely label errors with cleanlab (`find_label_issues`, ranked by
self-confidence, and `get_label_quality_scores` for the scores); `margin`, `entropy` and
`least-confidence` rank rows for active learning (`--unlabeled`: rows whose label is null).
The queue is a journal record (kind "queue") with its ranked rows beside it as
`<id[:12]>.queue.parquet`: key columns, `label`, `suggested`, `score`, `rank` (1 = first).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import files, journal, txn
from dslineage.core import common
from dslineage.core.refs import resolve, split
from dslineage.errors import PredictionsError, UsageError
from dslineage.ops import predictions as preds_mod
from dslineage.ops import queues
from dslineage.quality.crowd import allow_pandas

if TYPE_CHECKING:
    import numpy as np

    from dslineage.model_quality import ReviewOptions
    from dslineage.repo import Repo

METHODS = ("confident-learning", "margin", "entropy", "least-confidence")
DEFAULT_TOP = 1000  # active-learning queues; confident learning keeps every row cleanlab flags
STEPS = txn.declare("review", "after-queue", "after-journal")


@dataclass(frozen=True)
class QueueRow:
    """One ranked row: its key (column → value), current label, the model's label, score, rank."""

    key: dict[str, Any]
    label: str | None
    suggested: str | None
    score: float
    rank: int


@dataclass(frozen=True)
class ReviewResult:
    """What `review --json` prints: the queue id, the version ranked on, the method, the rows."""

    queue: str
    version: str
    method: str
    rows: list[QueueRow]


def _scores(method: str, probs: np.ndarray | None, confidence: np.ndarray) -> tuple[np.ndarray, bool]:
    """Active-learning uncertainty per row and whether higher means "review first"."""
    import numpy as np

    if method == "least-confidence":
        return 1.0 - confidence, True
    if probs is None:
        raise UsageError(
            f"--method {method} needs one probability column per class; a predicted label and "
            "confidence allow --method least-confidence only"
        )
    if method == "margin":
        if probs.shape[1] < 2:
            return np.ones(len(probs)), False
        top2 = np.partition(probs, -2, axis=1)[:, -2:]
        return top2[:, 1] - top2[:, 0], False
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(probs > 0, probs * np.log(probs), 0.0).sum(axis=1)
    return ent, True


def rank_rows(
    method: str, probs: np.ndarray | None, confidence: np.ndarray, y: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Order `rows` (indices into the predictions) for review; returns (ordered rows, scores)."""
    import numpy as np

    if method == "confident-learning":
        if probs is None:
            raise UsageError(
                "--method confident-learning needs one probability column per class: "
                "use --method least-confidence with a predicted label and confidence"
            )
        allow_pandas()  # cleanlab imports pandas, which the CLI blocks
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores

        labels, pp = y[rows], probs[rows]
        ranked = find_label_issues(labels, pp, return_indices_ranked_by="self_confidence")
        quality = get_label_quality_scores(labels, pp, method="self_confidence")
        return rows[ranked], quality[ranked]
    score, high_first = _scores(method, probs, confidence)
    sub = score[rows]
    order = np.argsort(-sub if high_first else sub, kind="stable")
    return rows[order], sub[order]


def per_group(order: np.ndarray, group: Any, top: int) -> np.ndarray:
    """A mask over `order` keeping the first `top` rows of each subgroup (nulls are one group)."""
    import numpy as np
    import pyarrow.compute as pc

    codes = pc.dictionary_encode(group.take(order), null_encoding="encode").indices
    inv = codes.to_numpy(zero_copy_only=False)
    s = np.argsort(inv, kind="stable")
    inv_s = inv[s]
    first = np.r_[0, np.flatnonzero(np.diff(inv_s)) + 1] if len(inv_s) else np.zeros(0, dtype=np.int64)
    counts = np.diff(np.r_[first, len(inv_s)])
    within = np.arange(len(inv_s)) - np.repeat(first, counts)
    pos = np.empty_like(within)
    pos[s] = within
    return pos < top


def review(repo: Repo, ref: str, opts: ReviewOptions) -> ReviewResult:
    """Rank a version's rows for review with a model's predictions; record the queue."""
    import numpy as np
    import pyarrow as pa

    if opts.method not in METHODS:
        raise UsageError(f"unknown --method {opts.method!r}: use one of {', '.join(METHODS)}")
    if opts.top is not None and opts.top < 1:
        raise UsageError("--top must be at least 1")
    if opts.unlabeled and opts.method == "confident-learning":
        raise UsageError(
            "--unlabeled ranks rows with no label to judge: use --method margin, entropy or least-confidence"
        )
    if opts.output is not None and Path(opts.output).suffix.lower() not in (".csv", ".parquet", ".json"):
        raise UsageError(f"-o {opts.output}: write the queue as .csv, .parquet or .json (Label Studio tasks)")
    name, _ = split(ref)
    ds, version = resolve(repo, ref if "@" in ref else f"{name}@latest")
    src = common.version_source(repo, ds, version)
    con = common.row_connection(repo)
    try:
        if opts.group is not None:
            from dslineage.store.predictions import key_types

            if opts.group not in key_types(con, src, [opts.group]):
                raise UsageError(f"no column {opts.group!r} in {ds.name}@v{version['seq']}: fix --group")
        p = preds_mod.load(con, ds, src, opts.predictions, opts.column)
        lab = preds_mod.labels_for(con, ds, src, p, opts.group)
        absent = int((~lab["present"]).sum())
        if absent:
            from dslineage.store.predictions import first_keys

            idx = int(np.flatnonzero(~lab["present"])[0])
            key = first_keys(con, ds.key, f"_i = {idx}", 1)[0]
            raise PredictionsError(
                f"predictions file {p.path.name}: {absent} key(s) are not in {ds.name}@v{version['seq']} "
                f"(first: {', '.join(map(str, key))}): drop them or rank on the version that has them"
            )
        if opts.method == "confident-learning" and lab["unclassed"]:
            raise PredictionsError(
                f"label value(s) {', '.join(map(str, lab['unclassed'][:5]))} of {ds.name} have no probability "
                f"column in {p.path.name}: add one per class"
            )
        mask = ~lab["labelled"] if opts.unlabeled else lab["labelled"]
        rows = np.flatnonzero(mask)
        if len(rows) == 0:
            raise PredictionsError(
                f"no predicted row of {ds.name}@v{version['seq']} has "
                f"{'a null' if opts.unlabeled else 'a'} label to rank"
            )
        order, scores = rank_rows(opts.method, p.probs, p.confidence, lab["y"], rows)
        limit = opts.top if opts.top is not None else (None if opts.method == "confident-learning" else DEFAULT_TOP)
        if limit is not None:
            keep = per_group(order, lab["group"], limit) if opts.group else np.arange(len(order)) < limit
            order, scores = order[keep], scores[keep]
        keys = _key_table(con, ds.key, order)
    finally:
        con.close()
    suggested = pa.array(np.asarray(p.classes, dtype=object)[p.predicted[order]] if len(order) else [], pa.string())
    table = keys
    for col, arr in (
        ("label", preds_mod.label_text(lab["names"], lab["y"][order])),
        ("suggested", suggested),
        ("score", pa.array(scores, pa.float64())),
        ("rank", pa.array(np.arange(1, len(order) + 1), pa.int64())),
    ):
        table = table.append_column(col, arr)
    params = {
        "top": opts.top,
        "unlabeled": opts.unlabeled,
        "group": opts.group,
        "column": p.column,
        **(
            {"ranked_by": "self_confidence", "filter_by": "prune_by_noise_rate"}
            if opts.method == "confident-learning"
            else {}
        ),
    }
    qid = _record(repo, ds.name, version, opts.method, params, p.md5, preds_mod.recorded_name(repo.root, p.path), table)
    if opts.output is not None:
        write_output(Path(opts.output), table, ds.key, opts.method, p.md5, confidence=p.confidence[order])
    rows_out = [
        QueueRow(
            key={k: r[k] for k in ds.key},
            label=r["label"],
            suggested=r["suggested"],
            score=float(r["score"]),
            rank=int(r["rank"]),
        )
        for r in table.to_pylist()
    ]
    return ReviewResult(queue=qid, version=version["id"], method=opts.method, rows=rows_out)


def _key_table(con: Any, keys: list[str], order: np.ndarray) -> Any:
    from dslineage.store.predictions import key_table

    return key_table(con, keys, order.tolist())


def _record(
    repo: Repo,
    dataset: str,
    version: dict[str, Any],
    method: str,
    params: dict[str, Any],
    md5: str,
    predictions_file: str,
    table: Any,
) -> str:
    """Write the queue's rows and record in the journal and commit them (one transaction)."""
    import pyarrow.parquet as pq

    ts = journal.now()
    author = repo.git.identity()
    qid = queues.new_id(dataset, version["id"], ts, method, params, md5, author)
    record = queues.new_record(
        qid,
        dataset=dataset,
        version=version,
        source="review",
        method=method,
        params=params,
        rows=table.num_rows,
        author=author,
        timestamp=ts,
        predictions_md5=md5,
        predictions_file=predictions_file,
    )
    folder = journal.folder(repo.root)
    path = folder / journal.side_file(qid, "queue")
    with txn.begin(repo.root, repo.git, "review") as tx:
        folder.mkdir(parents=True, exist_ok=True)
        txn.will_create(repo.root, path)
        files.atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        tx.step("after-queue")
        rec_path = journal.write(repo.root, record)
        tx.step("after-journal")
        tx.commit(
            [p.relative_to(repo.root).as_posix() for p in (path, rec_path)],
            f"dslineage: review queue of {dataset}@v{version['seq']} ({method}, {table.num_rows} rows)",
        )
    repo.index.sync(force=True)
    return qid


def write_output(path: Path, table: Any, keys: list[str], method: str, md5: str, *, confidence: Any) -> None:
    """The queue as CSV, parquet or Label Studio tasks (`.json`), written to a new file and renamed.

    In Label Studio tasks a prediction's `score` is the model's confidence in its suggestion;
    the queue's own score goes into the task data as `review_score` (with `label` and `rank`)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    suffix = path.suffix.lower()
    if suffix == ".json":
        from dslineage.interop.labelstudio import write_tasks

        tasks = table.rename_columns([("review_score" if c == "score" else c) for c in table.column_names])
        tasks = tasks.append_column("score", pa.array(confidence, pa.float64()))
        write_tasks(
            path,
            tasks,
            key_columns=keys,
            data_columns=["label", "review_score", "rank"],
            model_version=f"dslineage-review {method} {md5[:8]}",
        )
        return
    if suffix == ".parquet":
        files.atomic_write(path, lambda tmp: pq.write_table(table, tmp))
    else:
        files.atomic_write(path, lambda tmp: pacsv.write_csv(table, tmp))
