"""Byte-level JSON contracts of set-up and the annotation loop: init (new, again, without and
with the merge driver), track with every option, review (confident learning, active learning
per subgroup, unlabeled rows, a written queue), eval (every version, a range with classes and
subgroups, one version, not stored), consensus (with a queue, not committed, nothing to change),
the report's data model with its eval points, and the library results `Repo.resolve` and
`Repo.eval_results` as JSON. Goldens in `golden/annotation/` (first line: the exit code);
regenerate after a deliberate contract change with
`DSLINEAGE_REGEN_GOLDEN=1 pytest tests/func/test_json_contracts_annotation.py`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import invoke, write_parquet, write_text
from tests.support.golden import check_golden, mask

GOLDEN = Path(__file__).parent / "golden" / "annotation"
BOB = "Bob <bob@example.com>"
ANN = "Ann <ann@example.com>"
N = 24
LABELS = ["cat", "dog", "bird"]


def _scenario() -> Iterator[tuple[str, list[str], int]]:
    """(golden name, or a set-up step in capitals; CLI arguments; exit code) in the order they run.
    `{name}` in an argument is filled from the set-up (file paths, a queue id)."""
    yield "init_new", ["init", "{root}"], 0
    yield "init_again", ["init", "{root}"], 0
    yield "init_no_driver", ["init", "{root}", "--no-merge-driver"], 0
    yield "init_driver_back", ["init", "{root}"], 0
    yield "DATA", [], 0
    yield "track_train", ["-C", "{root}", "track", "data/train.parquet", "--key", "id", "--label", "label"], 0
    yield (
        "track_options",
        (
            "-C {root} track data/pets.csv --key id --label label --label label_name --name animals "
            "--format csv --labels-allowed 0,1,2 --feature x --prediction pred --group site --ignore note "
            "--label-pair label=label_name"
        ).split(),
        0,
    )
    yield "COMMIT_V1", [], 0
    yield "review_cl", ["-C", "{root}", "review", "train", "--predictions", "{probs}"], 0
    yield (
        "review_margin_group",
        ["-C", "{root}", "review", "train@v1", "-p", "{probs}", "--method", "margin", "--top", "2", "--group", "site"],
        0,
    )
    yield (
        "review_entropy_output",
        ["-C", "{root}", "review", "train", "-p", "{probs}", "--method", "entropy", "--top", "3", "-o", "{queue_csv}"],
        0,
    )
    yield "consensus_queue", ["-C", "{root}", "consensus", "train", "--votes", "{votes}", "--min-agreement", "0.7",
                              "--min-votes", "3", "--by", BOB, "--reason", "crowd round 1"], 0  # fmt: skip
    yield "consensus_again", ["-C", "{root}", "consensus", "train", "--votes", "{votes}", "--by", BOB], 0
    yield "COMMIT_V3", [], 0
    yield (
        "consensus_no_commit",
        ["-C", "{root}", "consensus", "train", "--votes", "{votes2}", "--no-commit", "--queue", "{queue}", "--by", BOB],
        0,
    )
    yield "COMMIT_V4", [], 0
    yield "eval_all", ["-C", "{root}", "eval", "train", "--predictions", "{probs}"], 0
    yield (
        "eval_range",
        ["-C", "{root}", "eval", "train", "-p", "{probs}", "--versions", "v2..latest", "--classes", "cat,dog",
         "--group", "site"],
        0,
    )  # fmt: skip
    yield "eval_one", ["-C", "{root}", "eval", "train@v1", "-p", "{hard}"], 0
    yield "eval_list_no_record", ["-C", "{root}", "eval", "train", "-p", "{probs}", "--versions", "v1,latest",
                                  "--no-record"], 0  # fmt: skip
    yield "report_train", ["-C", "{root}", "report", "train"], 0


def _data(root: Path, fill: dict[str, str]) -> None:
    """The datasets, a probabilities file, a hard-label predictions file and two vote files."""
    label = [LABELS[(i * 7) % 3] for i in range(N)]
    write_parquet(
        root / "data" / "train.parquet",
        {"id": list(range(N)), "x": [i / 4 for i in range(N)], "label": label, "site": ["north", "south"] * (N // 2)},
    )
    pets = ["id,label,label_name,x,pred,site,note"] + [
        f"{i},{i % 3},{['cat', 'dog', 'bird'][i % 3]},{i / 2},{(i + 1) % 3},{'ab'[i % 2]},n{i}" for i in range(6)
    ]
    write_text(root / "data" / "pets.csv", "\n".join(pets) + "\n")
    probs = ["id,cat,dog,bird"]
    hard = ["id,predicted,confidence"]
    for i in range(N):
        true = (i * 7) % 3 if i % 5 else (i + 1) % 3  # every fifth row: the model disagrees
        p = [0.1, 0.1, 0.1]
        p[true] = 0.8 - (i % 4) * 0.1
        rest = (1 - p[true]) / 2
        p = [round(x if j == true else rest, 4) for j, x in enumerate(p)]
        probs.append(f"{i},{p[0]},{p[1]},{p[2]}")
        hard.append(f"{i},{LABELS[true]},{p[true]}")
    fill["probs"] = str(write_text(root.parent / "probs.csv", "\n".join(probs) + "\n"))
    fill["hard"] = str(write_text(root.parent / "hard.csv", "\n".join(hard) + "\n"))
    fill["queue_csv"] = str(root.parent / "queue.csv")
    votes = ["id,annotator,label"]
    for i in range(8):  # rows 0..7: three annotators; 0 and 5 relabeled, 3 split (a queue)
        want = {0: "bird", 5: "cat"}.get(i, label[i])
        split = ["dog", "cat", "bird"] if i == 3 else [want, want, LABELS[(i + 1) % 3]]
        votes += [f"{i},ann-{w},{v}" for w, v in zip("abc", split)]
    votes.append("9,ann-a,dog")  # one vote only: below --min-votes
    fill["votes"] = str(write_text(root.parent / "votes.csv", "\n".join(votes) + "\n"))
    votes2 = ["id,annotator,label", "3,ann-a,cat", "3,ann-b,cat", "3,ann-c,dog"]
    fill["votes2"] = str(write_text(root.parent / "votes2.csv", "\n".join(votes2) + "\n"))


def _commit(root: Path, message: str) -> None:
    result = invoke(root, "commit", "-m", message, "--author", ANN)
    assert result.exit_code == 0, (message, result.stderr, result.exception)


def run_scenario(root: Path) -> dict[str, str]:
    """Run the scenario in a fresh folder `root`; the masked stdout of each step by golden name,
    with its exit code on the first line, and the library results as JSON."""
    from dslineage import Repo
    from dslineage.model import json_default, to_json

    fill: dict[str, str] = {"root": str(root)}
    ids: dict[str, str] = {}
    outputs: dict[str, str] = {}
    for name, args, code in _scenario():
        if name == "DATA":
            _data(root, fill)
            continue
        if name.startswith("COMMIT"):
            _commit(root, name.lower())
            continue
        result = invoke(None, *[a.format(**fill) for a in args], "--json")
        assert result.exit_code == code, (name, result.exit_code, result.stderr, result.exception)
        if name == "review_cl":
            fill["queue"] = json.loads(result.stdout)["queue"][:12]
        outputs[name] = f"exit {result.exit_code}\n" + mask(result.stdout, root, ids)
    with Repo(root) as repo:
        library = {
            "resolve_v1": repo.resolve("train@v1"),
            "resolve_latest_1": repo.resolve("train@latest~1"),
            "eval_results": repo.eval_results("train"),
        }
        for name, value in library.items():
            text = json.dumps(to_json(value), indent=2, default=json_default, ensure_ascii=False) + "\n"
            outputs[name] = "library\n" + mask(text, root, ids)
    return outputs


@pytest.fixture(scope="module")
def annotation_outputs(module_env: Path) -> dict[str, str]:
    """The masked `--json` outputs of the whole scenario, run once for the module."""
    return run_scenario(module_env / "repo")


NAMES = [n for n, _, _ in _scenario() if not n.isupper()] + ["resolve_v1", "resolve_latest_1", "eval_results"]


@pytest.mark.parametrize("name", NAMES)
def test_json_annotation_contract(annotation_outputs: dict[str, str], name: str) -> None:
    """`dslineage ... --json` (or a library result as JSON) is exactly the golden bytes."""
    check_golden(GOLDEN / f"{name}.json", annotation_outputs[name])
