"""`dslineage review`: queues ranked by a model (cleanlab, margin, entropy, least confidence),
recorded in the journal, listed and shown with their review outcome (issue 13 item 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dslineage import Repo
from tests.support import cli_json, invoke, run, snapshot_state, write_text
from tests.support.annotation import CLASSES, PROBS, cifar_arrays, cifar_repo, majority_errors, need_cifar

pytestmark = pytest.mark.slow  # the e2e tier: `pytest -m "not slow"` leaves it out


def _probs_csv(path: Path, rows: list[tuple[int, list[float]]], names: list[str]) -> Path:
    lines = ["id," + ",".join(f"p_{n}" for n in names)]
    lines += [f"{k}," + ",".join(str(x) for x in p) for k, p in rows]
    return write_text(path, "\n".join(lines) + "\n")


@pytest.fixture
def small(committed, tmp_path):
    """`train` (20 rows, cat/dog/bird) and a probabilities file that disagrees on rows 0 and 4."""
    labels = [["cat", "dog", "bird"][i % 3] for i in range(20)]
    names = ["bird", "cat", "dog"]
    rows = []
    for i, lab in enumerate(labels):
        p = [0.05, 0.05, 0.05]
        p[names.index(lab)] = 0.9
        if i in (0, 4):  # confidently another class
            p = [0.96, 0.02, 0.02] if lab != "bird" else [0.02, 0.96, 0.02]
        if i == 7:
            p = [0.34, 0.33, 0.33]
        rows.append((i, p))
    return committed, _probs_csv(tmp_path / "pred.csv", rows, names)


def test_margin_entropy_least_confidence_rank_by_hand(small):
    """Active-learning queues put the most uncertain row (7, near-uniform) first, by each measure."""
    repo, pred = small
    for method in ("margin", "entropy", "least-confidence"):
        r = repo.review("train", predictions=str(pred), method=method, top=3)
        assert r.method == method and len(r.rows) == 3
        assert r.rows[0].key == {"id": 7} and r.rows[0].rank == 1
        assert [x.rank for x in r.rows] == [1, 2, 3]
    r = repo.review("train", predictions=str(pred), method="margin", top=20)
    margins = [x.score for x in r.rows]
    assert margins == sorted(margins)


def test_queue_is_recorded_in_the_journal(small):
    """The queue record has the shared convention's fields and its rows sit beside it as parquet."""
    repo, pred = small
    r = repo.review("train", predictions=str(pred), method="least-confidence", top=5)
    rec = next(x for x in repo.index.records("queue", "train") if x["id"] == r.queue)
    assert rec["source"] == "review" and rec["method"] == "least-confidence" and rec["rows"] == 5
    assert rec["version"] == r.version and rec["batch"] is None and len(rec["predictions_md5"]) == 32
    table = pq.read_table(repo.root / ".dslineage" / "journal" / f"{r.queue[:12]}.queue.parquet")
    assert table.column_names == ["id", "label", "suggested", "score", "rank"]
    assert table.column("id").to_pylist() == [x.key["id"] for x in r.rows]
    tracked = run(repo.root, "git", "ls-files", ".dslineage/journal").stdout
    assert f"{r.queue[:12]}.queue.parquet" in tracked and "-queue-" in tracked
    assert run(repo.root, "git", "status", "--porcelain").stdout.strip() == ""
    assert [q.id for q in repo.queues("train")] == [r.queue]


def test_group_keeps_top_n_per_subgroup(committed, tmp_path, make_dataset):
    """`--group` keeps the first N rows of each value of the column."""
    make_dataset(n=20, src=["a" if i < 10 else "b" for i in range(20)])
    committed.commit(["train"], "add src", None)
    rows = [(i, [0.2 + 0.01 * i, 0.4 - 0.01 * i, 0.4]) for i in range(20)]
    pred = _probs_csv(tmp_path / "p.csv", rows, ["bird", "cat", "dog"])
    r = committed.review("train", predictions=str(pred), method="entropy", top=2, group="src")
    ids = [x.key["id"] for x in r.rows]
    assert len(ids) == 4 and sum(i < 10 for i in ids) == 2


def test_unlabeled_ranks_null_labels_only(committed, tmp_path, make_dataset):
    """`--unlabeled` ranks only rows whose label is null; confident learning refuses it."""
    labels = [None if i % 4 == 0 else ["cat", "dog", "bird"][i % 3] for i in range(20)]
    make_dataset(labels=labels)
    committed.commit(["train"], "some unlabeled", None)
    rows = [(i, [0.5, 0.3, 0.2]) for i in range(20)]
    pred = _probs_csv(tmp_path / "p.csv", rows, ["bird", "cat", "dog"])
    r = committed.review("train", predictions=str(pred), method="margin", unlabeled=True)
    assert sorted(x.key["id"] for x in r.rows) == [i for i in range(20) if i % 4 == 0]
    assert all(x.label is None and x.suggested == "bird" for x in r.rows)
    with pytest.raises(Exception, match="--unlabeled"):
        committed.review("train", predictions=str(pred), unlabeled=True)


def test_predicted_label_and_confidence_shape(small, tmp_path):
    """Key + predicted label + confidence: least-confidence works, methods needing probabilities refuse."""
    repo, _ = small
    lines = ["id,predicted,confidence"] + [f"{i},{'cat' if i % 2 else 'dog'},{0.5 + i / 50}" for i in range(20)]
    pred = write_text(tmp_path / "lab.csv", "\n".join(lines) + "\n")
    r = repo.review("train", predictions=str(pred), method="least-confidence", top=3)
    assert [x.key["id"] for x in r.rows] == [0, 1, 2] and r.rows[0].suggested == "dog"
    with pytest.raises(Exception, match="probability column"):
        repo.review("train", predictions=str(pred), method="entropy")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("id,p_bird,p_cat,p_dog\n", "empty"),
        ("id,p_bird,p_cat,p_dog\n999,0.2,0.3,0.5\n0,0.2,0.3,0.5\n", "not in train"),
        ("id,p_bird,p_cat,p_dog\n0,0.2,0.3,0.6\n", "do not sum to 1"),
        ("id,p_bird,p_cat,p_fish\n0,0.2,0.3,0.5\n", "name no class"),
        ("ident,p_bird,p_cat,p_dog\n0,0.2,0.3,0.5\n", "no key column"),
        ("id,predicted,confidence\n0,fish,0.9\n", "not in train's label set"),
    ],
)
def test_bad_predictions_are_one_line_errors_and_change_nothing(small, tmp_path, text, problem):
    """Empty file, unknown keys, rows not summing to 1, unknown classes: one line, exit 1, nothing changed."""
    repo, _ = small
    root = repo.root
    repo.close()
    bad = write_text(tmp_path / "bad.csv", text)
    before = snapshot_state(root)
    res = invoke(root, "review", "train", "--predictions", str(bad))
    assert res.exit_code == 1, res.output
    assert problem in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.stderr
    assert snapshot_state(root) == before


def test_cli_review_json_list_show_and_label_studio_output(small, tmp_path):
    """`review --json` prints the contract; `-o x.json` writes Label Studio tasks; list and show work."""
    repo, pred = small
    root = repo.root
    repo.close()
    out = tmp_path / "tasks.json"
    data = cli_json(
        root,
        "review",
        "train",
        "--predictions",
        str(pred),
        "--method",
        "least-confidence",
        "--top",
        "4",
        "-o",
        str(out),
    )
    assert set(data) == {"queue", "version", "method", "rows"}
    assert set(data["rows"][0]) == {"key", "label", "suggested", "score", "rank"}
    tasks = json.loads(out.read_text())
    assert len(tasks) == 4 and tasks[0]["data"]["id"] == data["rows"][0]["key"]["id"]
    assert tasks[0]["predictions"][0]["result"][0]["value"]["choices"] == [data["rows"][0]["suggested"]]
    assert tasks[0]["data"]["review_score"] == pytest.approx(data["rows"][0]["score"])
    assert 0 < tasks[0]["predictions"][0]["score"] <= 1
    listed = cli_json(root, "review", "list", "train")
    assert [q["id"] for q in listed] == [data["queue"]]
    shown = cli_json(root, "review", "show", data["queue"][:8])
    assert shown["queue"]["id"] == data["queue"] and shown["reviewed"] == 0 and shown["precision"] is None
    text = invoke(root, "review", "show", data["queue"][:8])
    assert text.exit_code == 0 and "precision" in text.stdout
    res = invoke(root, "review", "show", "ffffffff")
    assert res.exit_code == 1 and "no review queue" in res.stderr


def test_review_show_counts_batches_made_from_the_queue(small):
    """Batches whose record links the queue count as reviewed: changed rows from their edits,
    confirmed rows from `queue_confirmed` (what `relabel --queue` / `consensus --queue` record)."""
    repo, pred = small
    r = repo.review("train", predictions=str(pred), method="least-confidence", top=5)
    ids = [x.key["id"] for x in r.rows]
    batch = repo.relabel("train", [f"{ids[0]}={r.rows[0].suggested}", f"{ids[1]}=fish"], queue=r.queue)["batch"]
    rec = next(b for b in repo.index.records("batch", "train") if b["id"] == batch)
    assert rec["queue"] == r.queue
    d = repo.queue(r.queue[:10])
    assert d.changed == 2 and d.batches == [batch]
    assert d.changed_as_suggested == (1 if r.rows[0].suggested != r.rows[0].label else 0) + 0
    assert d.reviewed == d.changed + d.confirmed


def test_cifar10_confident_learning_equals_cleanlab(tmp_path):
    """On the real CIFAR-10 labels and cross-validated probabilities, the queue is cleanlab's own
    ranking (same rows, same order, same scores); report where the 18 crowd-confirmed errors fall."""
    need_cifar()
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    root = cifar_repo(tmp_path / "cifar")
    labels, probs = cifar_arrays()
    expected = find_label_issues(labels, probs, return_indices_ranked_by="self_confidence")
    quality = get_label_quality_scores(labels, probs, method="self_confidence")
    with Repo(root) as repo:
        r = repo.review("cifar", predictions=str(PROBS))
    assert [x.key["id"] for x in r.rows] == [int(i) for i in expected]
    assert [x.score for x in r.rows] == pytest.approx([float(quality[i]) for i in expected])
    assert all(x.suggested == CLASSES[int(probs[x.key["id"]].argmax())] for x in r.rows[:50])
    errors = majority_errors()
    assert len(errors) == 18
    ranked = [x.key["id"] for x in r.rows]
    top100, top275 = (len(set(ranked[:n]) & set(errors)) for n in (100, 275))
    print(
        f"\nCIFAR-10 confident learning: {len(ranked)} rows flagged; of the 18 majority-confirmed errors "
        f"{top100} in the top 100, {top275} in the top 275"
    )
    assert top100 <= top275 <= 18 and top275 >= 1


def test_parquet_predictions_in_any_row_order_rank_the_same(small, tmp_path):
    """A parquet predictions file (read with its row numbers) in shuffled order ranks like the CSV."""
    import pyarrow.csv as pacsv

    repo, pred = small
    table = pacsv.read_csv(pred)
    shuffled = table.take([(i * 7) % table.num_rows for i in range(table.num_rows)])
    pq.write_table(shuffled, tmp_path / "pred.parquet")
    a = repo.review("train", predictions=str(pred), method="entropy", top=20)
    b = repo.review("train", predictions=str(tmp_path / "pred.parquet"), method="entropy", top=20)
    rows = [sorted((x.key["id"], round(x.score, 12), x.suggested, x.label) for x in r.rows) for r in (a, b)]
    assert rows[0] == rows[1] and len(rows[0]) == 20
    assert [x.score for x in b.rows] == sorted((x.score for x in b.rows), reverse=True)


def test_outcome_counts_edits_confirmed_keys_and_consensus_votes(tmp_path):
    """Changed = queued keys in the edits (as suggested when new = suggested); confirmed = queued
    keys a batch listed or consensus votes confirmed, and not changed; other keys are not reviewed."""
    import duckdb
    import pyarrow as pa

    from dslineage.store import review as sql

    queue = tmp_path / "q.parquet"
    pq.write_table(
        pa.table(
            {
                "id": [1, 2, 3, 4, 5, 6],
                "label": ["a"] * 6,
                "suggested": ["b", "b", "c", "b", "b", "b"],
                "score": [0.1] * 6,
                "rank": [1, 2, 3, 4, 5, 6],
            }
        ),
        queue,
    )
    edits = tmp_path / "e.parquet"
    pq.write_table(pa.table({"k0": [1, 3, 9], "old": ["a", "a", "a"], "new": ["b", "b", "b"]}), edits)
    votes = tmp_path / "v.parquet"
    pq.write_table(
        pa.table(
            {
                "k0": [4, 4, 5, 3],
                "annotator": ["x", "y", "x", "x"],
                "outcome": ["confirmed", "confirmed", "queued", "confirmed"],
            }
        ),
        votes,
    )
    con = duckdb.connect()
    try:
        out = sql.outcome(con, queue, ["id"], [edits], [[2], [3]], [votes])
    finally:
        con.close()
    assert out == {"changed": 2, "as_suggested": 1, "confirmed": 2}


def test_lineage_links_version_queue_batch_version(small):
    """`lineage` shows the version a queue was ranked on → the queue → the batch reviewing it → its version."""
    repo, pred = small
    r = repo.review("train", predictions=str(pred), method="least-confidence", top=3)
    out = repo.relabel("train", [f"{r.rows[0].key['id']}=fish"], queue=r.queue[:10])
    g = repo.lineage(f"queue:{r.queue[:10]}", direction="both")
    edges = {(e["from"], e["to"], e["kind"]) for e in g["edges"]}
    kinds = {n["id"]: n["kind"] for n in g["nodes"]}
    assert kinds[r.queue] == "queue"
    assert (r.version, r.queue, "ranked") in edges and (r.queue, out["batch"], "reviews") in edges
    root = repo.root
    repo.close()
    for fmt in ("tree", "dot", "mermaid"):
        res = invoke(root, "lineage", r.queue[:10], "--format", fmt)
        assert res.exit_code == 0 and "queue" in res.stdout, (fmt, res.output)


def test_lineage_links_predictions_to_queue(small):
    """`lineage` shows the predictions file a queue was ranked with (named, by md5) → the queue →
    the batch → its version, in JSON and in the tree, dot and mermaid views."""
    repo, pred = small
    r = repo.review("train", predictions=str(pred), method="least-confidence", top=3)
    out = repo.relabel("train", [f"{r.rows[0].key['id']}=fish"], queue=r.queue[:10])
    rec = next(x for x in repo.index.records("queue", "train") if x["id"] == r.queue)
    assert rec["predictions_file"] == pred.name  # outside the repository: its name alone
    pid = f"predictions:{rec['predictions_md5']}"
    g = repo.lineage(f"queue:{r.queue[:10]}", direction="both")
    edges = {(e["from"], e["to"], e["kind"]) for e in g["edges"]}
    by_id = {n["id"]: n for n in g["nodes"]}
    assert by_id[pid]["kind"] == "predictions" and pred.name in by_id[pid]["label"]
    assert by_id[pid]["md5"] == rec["predictions_md5"]
    assert (pid, r.queue, "input") in edges and (r.queue, out["batch"], "reviews") in edges
    down = repo.lineage(f"predictions:{rec['predictions_md5'][:8]}", direction="downstream")
    assert {r.queue, out["batch"], out["version"]} <= {n["id"] for n in down["nodes"]}
    root = repo.root
    repo.close()
    for fmt in ("tree", "dot", "mermaid"):
        res = invoke(root, "lineage", f"queue:{r.queue[:10]}", "--format", fmt)
        assert res.exit_code == 0 and f"predictions {pred.name}" in res.stdout, (fmt, res.output)
    whole = invoke(root, "lineage").stdout  # the queue is listed with what it read
    assert f"\n    <- predictions {pred.name}  [predictions " in whole, whole


def test_lineage_links_predictions_to_queue_and_eval(small):
    """One predictions file used by `review` and `eval` is one node, linked to the queue and to
    the eval record (which the version it scored also links to); the version chain still collapses."""
    repo, pred = small
    r = repo.review("train", predictions=str(pred), method="margin", top=3)
    v2 = repo.relabel("train", ["1=bird"])["version"]
    v3 = repo.relabel("train", ["2=cat"])["version"]
    ev = repo.eval("train", predictions=str(pred))
    assert [v.seq for v in ev.versions] == [1, 2, 3]
    assert [c["versions"] for c in repo.lineage(None)["chains"]] == [[v2, v3]]  # evals hang off the chain
    pid = f"predictions:{ev.predictions_md5}"
    evals = {x["id"]: x for x in repo.index.records("eval", "train")}
    assert evals and all(x["predictions_file"] == pred.name for x in evals.values())
    g = repo.lineage(pid, direction="downstream")
    edges = {(e["from"], e["to"], e["kind"]) for e in g["edges"]}
    kinds = {n["id"]: n["kind"] for n in g["nodes"]}
    assert kinds[pid] == "predictions" and kinds[r.queue] == "queue"
    assert (pid, r.queue, "input") in edges
    assert {e for e, k in kinds.items() if k == "eval"} == set(evals)
    for eid, x in evals.items():
        assert (pid, eid, "input") in edges
        up = repo.lineage(eid, direction="upstream", depth=1)
        assert (x["version"], eid, "evaluated") in {(e["from"], e["to"], e["kind"]) for e in up["edges"]}
    root = repo.root
    repo.close()
    eid = sorted(evals)[-1]
    for fmt in ("tree", "dot", "mermaid"):
        res = invoke(root, "lineage", eid[:12], "--format", fmt, "--upstream")
        assert res.exit_code == 0 and f"predictions {pred.name}" in res.stdout, (fmt, res.output)
        assert "eval " in res.stdout and (fmt == "tree" or "evaluated" in res.stdout), (fmt, res.output)
