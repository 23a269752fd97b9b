"""`consensus` and `annotators` on synthetic votes: crowd-kit's own output, recovery of a known
truth, the relabel batch and its revert, the review queue, recorded votes, bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dslineage import Repo, journal
from tests.support import cli_json, invoke, snapshot_state, write_parquet, write_text

CLASSES = ["bird", "cat", "dog"]
ACCURACY = {"ann-a": 0.92, "ann-b": 0.85, "ann-c": 0.75, "ann-d": 0.6, "ann-e": 0.5, "ann-f": 0.45, "ann-g": 0.4}


def _world(n: int, seed: int = 7) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """A known truth, a dataset label per row (30% wrong) and each annotator's vote on each row,
    right with the annotator's accuracy and otherwise a uniformly wrong class."""
    rng = random.Random(seed)
    truth = [rng.choice(CLASSES) for _ in range(n)]
    given = [t if rng.random() > 0.3 else rng.choice([c for c in CLASSES if c != t]) for t in truth]
    votes = []
    for i, t in enumerate(truth):
        for who, acc in ACCURACY.items():
            if rng.random() < 0.15:
                continue  # not every annotator sees every row
            label = t if rng.random() < acc else rng.choice([c for c in CLASSES if c != t])
            votes.append({"id": i, "annotator": who, "label": label})
    return truth, given, votes


def _repo(root: Path, given: list[str]) -> Repo:
    data = write_parquet(
        root / "data" / "items.parquet",
        {"id": list(range(len(given))), "x": [float(i) for i in range(len(given))], "label": given},
    )
    repo = Repo(root)
    repo.track(str(data), ["id"], ["label"])
    repo.commit(["items"], "first labels", None)
    return repo


def _votes_file(path: Path, votes: list[dict[str, Any]]) -> Path:
    lines = ["id,annotator,label"] + [f"{v['id']},{v['annotator']},{v['label']}" for v in votes]
    return write_text(path, "\n".join(lines) + "\n")


def _labels(root: Path) -> list[str]:
    return pq.read_table(root / "data" / "items.parquet").column("label").to_pylist()


def _crowdkit(votes: list[dict[str, Any]], method: str) -> dict[int, str]:
    """crowd-kit's own answer on the same votes (what the test compares against)."""
    import pandas as pd
    from crowdkit.aggregation import DawidSkene, MajorityVote

    frame = pd.DataFrame(
        {
            "task": [v["id"] for v in votes],
            "worker": [v["annotator"] for v in votes],
            "label": [v["label"] for v in votes],
        }
    )
    model = DawidSkene(n_iter=100) if method == "dawid-skene" else MajorityVote()
    return {int(k): str(v) for k, v in model.fit_predict(frame).items()}


def _recorded(root: Path) -> tuple[dict[str, Any], Any]:
    recs = [journal.read(p) for p in sorted(journal.folder(root).glob("*-votes-*.json"))]
    assert len(recs) == 1
    return recs[0], pq.read_table(journal.folder(root) / recs[0]["votes"])


@pytest.mark.parametrize("method", ["dawid-skene", "majority"])
def test_consensus_equals_crowdkit_and_recovers_truth(tmp_repo: Path, method: str):
    """The consensus per row is crowd-kit's own, the changed rows are one batch, and Dawid-Skene
    recovers the known truth at least as well as majority vote does."""
    truth, given, votes = _world(240)
    repo = _repo(tmp_repo, given)
    try:
        r = repo.consensus("items", votes=str(_votes_file(tmp_repo / "votes.csv", votes)), method=method)
    finally:
        repo.close()
    rec, table = _recorded(tmp_repo)
    consensus = {k: c for k, c in zip(table.column("k0").to_pylist(), table.column("consensus").to_pylist())}
    expected = _crowdkit(votes, method)
    if method == "majority":  # a tie may be broken either way: compare rows with a clear majority
        counts: dict[int, dict[str, int]] = {}
        for v in votes:
            counts.setdefault(v["id"], {}).setdefault(v["label"], 0)
            counts[v["id"]][v["label"]] += 1
        top = {k: sorted(c.values(), reverse=True) + [0] for k, c in counts.items()}
        clear = {k for k, t in top.items() if t[0] > t[1]}
        assert len(clear) > 150
        assert {k: consensus[k] for k in clear} == {k: expected[k] for k in clear}
    else:
        assert consensus == expected
    after = _labels(tmp_repo)
    changed = {i for i in expected if expected[i] != given[i]}
    assert r.applied == len(changed) and r.confirmed + r.applied + r.queued == r.rows_voted == len(expected)
    assert {i for i in range(len(given)) if after[i] != given[i]} == changed
    assert all(after[i] == consensus[i] for i in consensus)
    assert r.batch and r.version and rec["batch"] == r.batch and rec["method"] == method
    assert table.num_rows == len(votes)  # every vote, also those agreeing with the label
    if method == "dawid-skene":
        mv = _crowdkit(votes, "majority")
        right_ds = sum(expected[i] == truth[i] for i in expected)
        right_mv = sum(mv[i] == truth[i] for i in mv)
        assert right_ds >= right_mv, (right_ds, right_mv)
        assert right_ds / len(expected) > 0.9


def test_consensus_batch_is_a_revertable_relabel_batch(tmp_repo: Path):
    """The batch carries op, method and the votes record; revert restores the labels; annotators
    then leaves the round out."""
    _, given, votes = _world(60, seed=3)
    repo = _repo(tmp_repo, given)
    try:
        r = repo.consensus(
            "items",
            votes=str(_votes_file(tmp_repo / "votes.csv", votes)),
            method="majority",
            by="curator",
            reason="crowd round 1",
        )
        batch = repo.batch(r.batch)
        assert batch["op"] == "consensus" and batch["method"] == "majority" and batch["rows"] == r.applied
        assert all(e["annotator"] == "consensus:majority" and 0 < e["confidence"] <= 1 for e in batch["edits"])
        mine = {}
        for v in votes:
            mine.setdefault(v["id"], {})[v["annotator"]] = v["label"]
        for e in batch["edits"]:  # each changed row keeps its votes, agreement and posterior
            row = mine[e["key"]["id"]]
            assert e["votes"] == row and e["posterior"] == e["confidence"]
            assert e["agreement"] == pytest.approx(sum(lab == e["new"] for lab in row.values()) / len(row))
        before = repo.annotators("items")
        assert sum(a.votes for a in before.annotators) == len(votes)
        repo.revert(r.batch)
        assert _labels(tmp_repo) == given
        after = repo.annotators("items")
        assert after.annotators == [] and after.alpha is None
        assert repo.annotator_rounds_left_out("items") == 1
    finally:
        repo.close()
    assert invoke(tmp_repo, "annotators", "items").stderr.count("1 left out") == 1


def test_low_agreement_rows_go_to_a_review_queue(tmp_repo: Path):
    """Rows under --min-agreement / --min-votes are queued (shared queue format), not applied."""
    given = ["cat"] * 6
    votes = [{"id": 0, "annotator": a, "label": "dog"} for a in ("a", "b", "c")]  # 3/3 dog: applied
    votes += [{"id": 1, "annotator": a, "label": lab} for a, lab in (("a", "dog"), ("b", "dog"), ("c", "bird"))]
    votes += [{"id": 2, "annotator": "a", "label": "bird"}]  # one vote: below --min-votes 2
    votes += [{"id": 3, "annotator": a, "label": "cat"} for a in ("a", "b")]  # confirmed
    repo = _repo(tmp_repo, given)
    try:
        r = repo.consensus("items", votes=str(_votes_file(tmp_repo / "v.csv", votes)), min_agreement=0.7, min_votes=2)
    finally:
        repo.close()
    assert (r.applied, r.confirmed, r.queued, r.rows_voted) == (1, 1, 2, 4)
    assert _labels(tmp_repo) == ["dog", "cat", "cat", "cat", "cat", "cat"]
    queues = [journal.read(p) for p in journal.folder(tmp_repo).glob("*-queue-*.json")]
    assert len(queues) == 1
    q = queues[0]
    assert q["source"] == "consensus" and q["batch"] == r.batch and q["rows"] == 2 and len(q["id"]) == 40
    # the one queue record builder: a consensus queue names its version's seq and its side file, as review's do
    assert q["seq"] == 1 and q["file"] == f"{q['id'][:12]}.queue.parquet" and q["votes"] == _recorded(tmp_repo)[0]["id"]
    with Repo(tmp_repo) as again:
        assert again.queues("items")[0].seq == 1 and again.queue(q["id"][:8]).queue.source == "consensus"
    rows = pq.read_table(journal.folder(tmp_repo) / f"{q['id'][:12]}.queue.parquet").to_pylist()
    # least agreement first: key 1 (2 of 3 votes agree), then key 2 (1 of 1, but too few votes)
    assert [(x["id"], x["label"], x["suggested"], x["rank"]) for x in rows] == [
        (1, "cat", "dog", 1),
        (2, "cat", "bird", 2),
    ]
    assert rows[0]["score"] == pytest.approx(1 / 3) and rows[1]["score"] == pytest.approx(0.0)
    assert not [s for s in _status(tmp_repo) if ".dslineage" in s]  # queue, votes and batch are committed


def _status(root: Path) -> list[str]:
    from tests.support import run

    return run(root, "git", "status", "--porcelain").stdout.splitlines()


def test_votes_are_recorded_when_nothing_changes(tmp_repo: Path):
    """Votes that all confirm the labels: no batch, no version, but a committed votes record."""
    given = ["cat", "dog", "bird"]
    votes = [{"id": i, "annotator": a, "label": given[i]} for i in range(3) for a in ("a", "b")]
    repo = _repo(tmp_repo, given)
    try:
        head = repo.git.run("rev-parse", "HEAD").strip()
        r = repo.consensus("items", votes=str(_votes_file(tmp_repo / "v.csv", votes)))
        assert (r.batch, r.version, r.applied, r.confirmed) == (None, None, 0, 3)
        assert repo.git.run("rev-parse", "HEAD").strip() != head
        assert [a.votes for a in repo.annotators("items").annotators] == [3, 3]
    finally:
        repo.close()
    rec, table = _recorded(tmp_repo)
    assert rec["batch"] is None and table.num_rows == 6 and set(table.column("outcome").to_pylist()) == {"confirmed"}
    assert not [s for s in _status(tmp_repo) if ".dslineage" in s]  # the record and votes are committed


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ("id,annotator,label\n99,a,cat\n", "not in items"),
        ("id,annotator,label\n", "has no votes"),
        ("id,label\n1,cat\n", "no column annotator"),
        ("id,annotator,label\n1,a,horse\n", "outside the allowed labels"),
        ("id,annotator,label\n1,,cat\n", "no annotator"),
    ],
)
def test_bad_votes_are_one_line_errors_changing_nothing(tmp_repo: Path, lines: str, problem: str):
    """Unknown keys, an empty file, missing columns, labels outside the allowed ones: one line, no change."""
    data = write_parquet(tmp_repo / "data" / "items.parquet", {"id": [0, 1, 2], "label": ["cat", "dog", "bird"]})
    with Repo(tmp_repo) as repo:
        repo.track(str(data), ["id"], ["label"], labels_allowed=["cat", "dog", "bird"])
        repo.commit(["items"], "v1", None)
    path = write_text(tmp_repo / "bad.csv", lines)
    before = snapshot_state(tmp_repo)
    result = invoke(tmp_repo, "consensus", "items", "--votes", str(path))
    assert result.exit_code == 1 and problem in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert snapshot_state(tmp_repo) == before


def test_cli_json_contracts(tmp_repo: Path):
    """`consensus --json` and `annotators --json` print exactly the contract's keys."""
    _, given, votes = _world(30, seed=5)
    repo = _repo(tmp_repo, given)
    repo.close()
    path = tmp_repo / "votes.parquet"
    pq.write_table(pa.Table.from_pylist(votes), path)
    out = cli_json(tmp_repo, "consensus", "items", "--votes", str(path), "--method", "glad")
    assert set(out) == {
        "batch",
        "version",
        "method",
        "rows_voted",
        "applied",
        "confirmed",
        "queued",
        "agreement",
        "annotators",
    }
    assert set(out["agreement"]) == {"alpha", "mean_kappa"}
    assert out["method"] == "glad" and out["rows_voted"] == 30
    assert {tuple(sorted(a)) for a in out["annotators"]} == {("annotator", "skill", "votes")}
    ann = cli_json(tmp_repo, "annotators", "items")
    assert set(ann) == {"dataset", "annotators", "alpha"}
    assert {tuple(sorted(a)) for a in ann["annotators"]} == {
        ("agreement_with_consensus", "annotator", "batches", "skill", "votes")
    }
    skills = {a["annotator"]: a["skill"] for a in out["annotators"]}
    assert {a["annotator"]: a["skill"] for a in ann["annotators"]} == pytest.approx(skills)
    assert json.loads(json.dumps(ann)) == ann


def _ls_export(path: Path, votes: list[dict[str, Any]]) -> Path:
    """A Label Studio JSON export (tasks with annotations[].completed_by and choices results)."""
    tasks: dict[int, dict[str, Any]] = {}
    for n, v in enumerate(votes):
        task = tasks.setdefault(
            v["id"],
            {
                "id": 100 + v["id"],
                "data": {"image_id": v["id"], "image": "x.png"},
                "annotations": [],
                "predictions": [],
            },
        )
        task["annotations"].append(
            {
                "id": 1000 + n,
                "completed_by": {"id": 7, "email": f"{v['annotator']}@example.com"},
                "result": [
                    {
                        "from_name": "label",
                        "to_name": "item",
                        "type": "choices",
                        "origin": "manual",
                        "id": f"r{n}",
                        "value": {"choices": [v["label"]]},
                    }
                ],
                "was_cancelled": False,
                "ground_truth": False,
                "created_at": "2026-11-30T10:00:00.000000Z",
                "updated_at": "2026-11-30T10:00:00.000000Z",
                "lead_time": 3.1,
                "task": 100 + v["id"],
            }
        )
    path.write_text(json.dumps(list(tasks.values())))
    return path


def test_label_studio_export_as_votes(tmp_repo: Path):
    """`--format label-studio --key-field F` reads an export's annotations as votes (annotator = email)."""
    _, given, votes = _world(40, seed=11)
    repo = _repo(tmp_repo, given)
    repo.close()
    path = _ls_export(tmp_repo / "export.json", votes)
    out = cli_json(
        tmp_repo, "consensus", "items", "--votes", str(path), "--format", "label-studio", "--key-field", "image_id"
    )
    expected = _crowdkit(votes, "majority")
    assert out["rows_voted"] == len(expected)
    assert sorted(a["annotator"] for a in out["annotators"]) == sorted(f"{a}@example.com" for a in ACCURACY)
    assert sum(a["votes"] for a in out["annotators"]) == len(votes)


def test_no_commit_then_commit_and_queue_link(tmp_repo: Path):
    """--no-commit leaves the batch pending (its votes and queue committed to git); `commit` carries
    it; a second round with --queue QUEUE links its batch to that queue; fsck stays clean."""
    given = ["cat"] * 5
    first = [{"id": 0, "annotator": a, "label": "dog"} for a in "ab"]
    first += [{"id": 1, "annotator": "a", "label": "dog"}, {"id": 1, "annotator": "b", "label": "bird"}]
    repo = _repo(tmp_repo, given)
    try:
        r = repo.consensus("items", votes=str(_votes_file(tmp_repo / "v1.csv", first)), min_agreement=0.6, commit=False)
        assert r.batch and r.version is None and r.queued == 1
        assert [b["state"] for b in repo.batches("items")] == ["pending"]
        assert not [s for s in _status(tmp_repo) if "votes" in s or "queue" in s]
        repo.commit(["items"], "carry the consensus", None)
        assert [(b["id"], b["state"]) for b in repo.batches("items")] == [(r.batch, "committed")]
        queue = next(p for p in journal.folder(tmp_repo).glob("*-queue-*.json"))
        qid = journal.read(queue)["id"]
        second = [{"id": 1, "annotator": a, "label": "bird"} for a in "cd"]
        r2 = repo.consensus("items", votes=str(_votes_file(tmp_repo / "v2.csv", second)), queue=qid[:8])
        assert repo.batch(r2.batch)["queue"] == qid
        assert repo.fsck()["problems"] == []
    finally:
        repo.close()
    assert _labels(tmp_repo) == ["dog", "bird", "cat", "cat", "cat"]
    bad = invoke(tmp_repo, "consensus", "items", "--votes", str(tmp_repo / "v2.csv"), "--queue", "ffff")
    assert bad.exit_code != 0 and "unknown review queue" in bad.stderr


def test_annotators_since_counts_later_rounds_only(tmp_repo: Path):
    """`annotators --since REF` counts only the rounds recorded after version REF."""
    given = ["cat"] * 4
    one = [{"id": 0, "annotator": a, "label": "dog"} for a in "ab"]
    two = [{"id": i, "annotator": a, "label": "bird"} for i in (1, 2) for a in "bc"]
    repo = _repo(tmp_repo, given)
    try:
        repo.consensus("items", votes=str(_votes_file(tmp_repo / "one.csv", one)))  # → v2
        repo.consensus("items", votes=str(_votes_file(tmp_repo / "two.csv", two)))  # → v3
        every = {a.annotator: (a.votes, a.batches) for a in repo.annotators("items").annotators}
        later = {a.annotator: (a.votes, a.batches) for a in repo.annotators("items", since="v2").annotators}
    finally:
        repo.close()
    assert every == {"a": (1, 1), "b": (3, 2), "c": (2, 1)}
    assert later == {"b": (2, 1), "c": (2, 1)}


def test_consensus_fills_the_other_column_of_a_label_pair(tmp_repo: Path) -> None:
    """On a dataset with a declared label pair, a consensus on one column also sets the other (as relabel does)."""
    names = ["bird", "cat", "dog"]
    data = write_parquet(
        tmp_repo / "data" / "pairs.parquet", {"id": [0, 1, 2], "label": [0, 1, 2], "label_name": ["bird", "cat", "dog"]}
    )
    repo = Repo(tmp_repo)
    repo.track(str(data), ["id"], ["label", "label_name"], label_pairs=["label=label_name"])
    repo.commit(["pairs"], "first labels", None)
    votes = _votes_file(
        tmp_repo / "votes.csv",
        [{"id": 0, "annotator": w, "label": "dog"} for w in ("a", "b", "c")]
        + [{"id": 1, "annotator": w, "label": "cat"} for w in ("a", "b", "c")],
    )
    res = repo.consensus("pairs", votes=str(votes), column="label_name")
    repo.close()
    assert res.applied == 1 and res.confirmed == 1
    table = pq.read_table(data).to_pydict()
    assert table["label_name"] == ["dog", "cat", "dog"]
    assert table["label"] == [2, 1, 2] and [names[i] for i in table["label"]] == table["label_name"]
