"""Label Studio round trip against a real server: queue → tasks → two annotators → export → dslineage.

One server (tests/support/labelstudio.py) serves the module: a project with a choices config
over the CIFAR-10 classes, a review queue imported as tasks written by `write_tasks`, annotations
posted through the API by two real users (each with its own personal access token), and the
project's JSON export, which `relabel --format label-studio` and `consensus --votes --format
label-studio` then read. Skipped without `.venv-ls` (failed when CI is set).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.support import cli_json
from tests.support import labelstudio as ls

pytestmark = pytest.mark.slow

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
N_ROWS = 20
QUEUED = [3, 5, 8, 11, 14, 17]  # the review queue's keys, rank order
# what each annotator answers (key -> label); bob annotates after alice, on four of the six tasks
ALICE = {3: "dog", 5: "cat", 8: "ship", 11: "airplane", 14: "deer", 17: "horse"}
BOB = {3: "dog", 5: "dog", 8: "automobile", 14: "truck"}


def current_label(key: int) -> str:
    """The dataset's label of row `key` before any edit."""
    return CLASSES[key % len(CLASSES)]


def labeling_config() -> str:
    """A single-choice image classification config over the CIFAR-10 classes."""
    choices = "".join(f'<Choice value="{c}"/>' for c in CLASSES)
    return (
        f'<View><Image name="item" value="$image"/>'
        f'<Choices name="label" toName="item" choice="single" showInLine="true">{choices}</Choices></View>'
    )


@dataclass(frozen=True)
class RoundTrip:
    """What the server gave back: the export file, the two users, the import counts."""

    export: Path
    alice: ls.User
    bob: ls.User
    imported: dict[str, Any]
    tasks: list[dict[str, Any]]
    started_in: float


def review_queue() -> pa.Table:
    """A queue-shaped table (key, image, label, suggested, score, rank) as a review writes it."""
    suggested = [ALICE[k] if k != 11 else None for k in QUEUED]  # one row without a suggestion
    return pa.table(
        {
            "id": QUEUED,
            "image": [f"/data/img/{k}.png" for k in QUEUED],
            "label": [current_label(k) for k in QUEUED],
            "suggested": suggested,
            "score": [0.05 * (i + 1) for i in range(len(QUEUED))],
            "rank": list(range(1, len(QUEUED) + 1)),
        }
    )


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoundTrip]:
    """Run the whole Label Studio side once for the module; the server is stopped afterwards."""
    from dslineage.interop.labelstudio import write_tasks

    base = tmp_path_factory.mktemp("label-studio")
    with ls.label_studio(base) as server:
        config = base / "config.xml"
        config.write_text(labeling_config())
        project = server.sdk(server.admin, "project", "dslineage review queue", str(config))["id"]
        tasks_file = base / "tasks.json"
        n = write_tasks(
            tasks_file,
            review_queue(),
            key_columns=["id"],
            data_columns=["image", "label"],
            from_name="label",
            to_name="item",
            model_version="cifar-cv-probs",
        )
        imported = server.sdk(server.admin, "import", str(project), str(tasks_file))
        assert n == len(QUEUED) and imported["task_count"] == n
        by_key = dict(zip(QUEUED, imported["task_ids"], strict=True))
        bob = server.add_annotator("bob@example.com", "bob-secret-pw-42")
        for user, answers in ((server.admin, ALICE), (bob, BOB)):
            pairs = base / f"pairs-{user.id}.json"
            pairs.write_text(json.dumps([[by_key[k], "label", "item", label] for k, label in answers.items()]))
            assert len(server.sdk(user, "annotate", str(pairs))["annotations"]) == len(answers)
        export = base / "export.json"
        server.sdk(server.admin, "export", str(project), str(export))
        yield RoundTrip(export, server.admin, bob, imported, json.loads(export.read_text()), server.started_in)


def _dataset(tmp_repo: Path, make_dataset: Any) -> Any:
    """Dataset `train`: N_ROWS rows keyed by id, CIFAR-10 class labels, an image path; committed as v1."""
    from dslineage import Repo

    path = make_dataset(
        n=N_ROWS, labels=[current_label(i) for i in range(N_ROWS)], image=[f"/data/img/{i}.png" for i in range(N_ROWS)]
    )
    repo = Repo(tmp_repo)
    repo.track(str(path), ["id"], ["label"])
    repo.commit(["train"], "first version", None)
    return repo


def _labels(tmp_repo: Path) -> dict[int, str]:
    """The working file's labels by id."""
    table = pq.read_table(tmp_repo / "data" / "train.parquet")
    return dict(zip(table.column("id").to_pylist(), table.column("label").to_pylist(), strict=True))


def test_server_imports_queue_and_exports_both_annotators(round_trip: RoundTrip) -> None:
    """The queue's tasks arrive with their pre-annotations; the export has every posted vote."""
    from dslineage.interop.labelstudio import read_export

    assert round_trip.imported["prediction_count"] == len(QUEUED) - 1  # the row without a suggestion
    assert sorted(t["data"]["id"] for t in round_trip.tasks) == sorted(QUEUED)
    votes = read_export(round_trip.export, key_field="id")
    got = sorted(
        zip(
            votes.column("id").to_pylist(),
            votes.column("annotator").to_pylist(),
            votes.column("label").to_pylist(),
            strict=True,
        )
    )
    alice, bob = str(round_trip.alice.id), str(round_trip.bob.id)
    want = sorted([(str(k), alice, v) for k, v in ALICE.items()] + [(str(k), bob, v) for k, v in BOB.items()])
    assert got == want
    assert all(t and t.endswith("Z") for t in votes.column("time").to_pylist())


def test_relabel_from_server_export(round_trip: RoundTrip, tmp_repo: Path, make_dataset: Any) -> None:
    """`relabel --format label-studio` applies each task's latest annotation (bob's where he voted)."""
    repo = _dataset(tmp_repo, make_dataset)
    latest = {**ALICE, **BOB}
    changed = {k: v for k, v in latest.items() if v != current_label(k)}
    out = cli_json(
        tmp_repo, "relabel", "train", "--from", str(round_trip.export), "--format", "label-studio", "--key-field", "id"
    )
    assert out["applied"] == len(changed) and out["noop"] == len(latest) - len(changed)
    batch = repo.batch(out["batch"])
    assert batch["annotations_superseded"] == len(BOB)
    who = {k: str((round_trip.bob if k in BOB else round_trip.alice).id) for k in latest}
    assert {e["key"]["id"]: (e["new"], e["annotator"]) for e in batch["edits"]} == {
        k: (v, who[k]) for k, v in changed.items()
    }
    labels = _labels(tmp_repo)
    assert all(labels[k] == latest.get(k, current_label(k)) for k in range(N_ROWS))
    repo.close()


def test_consensus_from_server_export(round_trip: RoundTrip, tmp_repo: Path, make_dataset: Any) -> None:
    """`consensus --votes export.json --format label-studio` (branch f-consensus) records both annotators'
    votes and applies what they agree on."""
    repo = _dataset(tmp_repo, make_dataset)
    out = cli_json(
        tmp_repo,
        "consensus",
        "train",
        "--votes",
        str(round_trip.export),
        "--format",
        "label-studio",
        "--key-field",
        "id",
    )
    assert out["rows_voted"] == len(QUEUED)
    assert out["applied"] + out["confirmed"] + out["queued"] == len(QUEUED)
    votes = {a["annotator"]: a["votes"] for a in out["annotators"]}
    assert votes == {str(round_trip.alice.id): len(ALICE), str(round_trip.bob.id): len(BOB)}
    agreed = {k: v for k, v in BOB.items() if ALICE[k] == v}  # two votes, the same label
    labels = _labels(tmp_repo)
    assert all(labels[k] == v for k, v in agreed.items())
    assert all(labels[k] == current_label(k) for k in range(N_ROWS) if k not in QUEUED)
    if out["batch"] is not None:
        batch = repo.batch(out["batch"])
        edited = {e["key"]["id"] for e in batch["edits"]}
        assert edited <= set(QUEUED)
        assert {k for k, v in agreed.items() if v != current_label(k)} <= edited
    repo.close()


def test_missing_environment_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without .venv-ls the server tests skip with the reason, but fail when CI is set."""
    monkeypatch.setattr(ls, "VENV", tmp_path / "absent")
    monkeypatch.setattr(ls, "LS_BIN", tmp_path / "absent" / "bin" / "label-studio")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("DSL_REQUIRE_LABEL_STUDIO", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Label Studio environment"):
        ls.require()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI .* is set but no Label Studio environment"):
        ls.require()
