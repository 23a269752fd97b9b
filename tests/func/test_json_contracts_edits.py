"""Byte-level JSON contracts of the label-edit, commit, show and merge variants: relabel with
nothing to change, --skip-missing, --no-commit, several label columns and a review queue;
revert dry, in conflict (keep and force), of a version and of a two-column batch; commit of
several datasets and of nothing; show of versions and of pending, multi-column, queue and
revert batches; rollback with nothing to do; merge clean, up to date, fast-forward, in
conflict, --conflicts, --resolve and --abort; `batches --prune` of a discarded batch. Goldens
in `golden/edits/` (first line: the exit code); regenerate after a deliberate contract change
with `DSLINEAGE_REGEN_GOLDEN=1 pytest tests/func/test_json_contracts_edits.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import invoke, new_repo, run, write_parquet, write_text
from tests.support.golden import check_golden, mask

GOLDEN = Path(__file__).parent / "golden" / "edits"
# the time in a journal file's name (`20261202T024851865821Z-batch-….json`), as `batches --prune` lists it
_STAMP = re.compile(r"(?<![0-9])\d{8}T\d{6,12}Z(?=-)")
BOB = "Bob <bob@example.com>"
ANN = "Ann <ann@example.com>"


def _scenario() -> Iterator[tuple[str, list[str], int]]:
    """(golden name, or a set-up step in capitals; CLI arguments; exit code) in the order they run.
    `{name}` in an argument is the batch (or queue) id an earlier step printed under that name."""
    yield "commit_two", ["commit", "-m", "first", "--author", ANN], 0
    yield "commit_none", ["commit", "-m", "again", "--author", ANN], 0
    yield "show_version", ["show", "train@v1"], 0
    yield "show_version_pets", ["show", "pets@latest"], 0
    yield "relabel_noop", ["relabel", "train", "--set", "0=cat", "--by", BOB], 0
    yield (
        "relabel_skip_missing",
        ["relabel", "train", "--set", "1=bird", "--set", "99=cat", "--skip-missing", "--by", BOB, "--reason", "r1"],
        0,
    )
    yield "relabel_no_commit", ["relabel", "train", "--set", "2=cat", "--no-commit", "--by", BOB], 0
    yield "show_batch_pending", ["show", "{relabel_no_commit}"], 0
    yield "commit_pending", ["commit", "train", "-m", "carry the batch", "--author", ANN], 0
    yield "EDITS", [], 0
    yield "relabel_multi", ["relabel", "pets", "--from", "{edits}", "--by", BOB, "--reason", "both"], 0
    yield "show_batch_multi", ["show", "{relabel_multi}"], 0
    yield "REVIEW", [], 0
    yield "relabel_queue", ["relabel", "train", "--set", "3=dog", "--queue", "{queue}", "--by", BOB], 0
    yield "show_batch_queue", ["show", "{relabel_queue}"], 0
    yield "revert_dry_skip", ["revert", "{relabel_skip_missing}", "--dry-run"], 0
    yield "relabel_again", ["relabel", "train", "--set", "1=cat", "--by", ANN, "-m", "row 1 again"], 0
    yield "revert_conflict_dry", ["revert", "{relabel_skip_missing}", "--dry-run"], 0
    yield "revert_conflict_keep", ["revert", "{relabel_skip_missing}", "--by", BOB], 0
    yield (
        "revert_force",
        ["revert", "{relabel_skip_missing}", "--strategy", "force", "--by", BOB, "--reason", "undo"],
        0,
    )
    yield "show_batch_revert", ["show", "{revert_force}"], 0
    yield "revert_version", ["revert", "train@v4", "--by", BOB, "-m", "undo v4"], 0
    yield "revert_multi", ["revert", "{relabel_multi}", "--by", BOB], 0
    yield "rollback_nothing", ["rollback", "train", "--to", "latest", "-m", "same", "--author", ANN], 0
    yield "BRANCH_BOB", [], 0
    yield "merge_clean", ["merge", "bob", "-m", "merge bob", "--author", ANN], 0
    yield "merge_uptodate", ["merge", "bob"], 0
    yield "show_version_merge", ["show", "train@latest"], 0
    yield "BRANCH_CAROL", [], 0
    yield "merge_conflict", ["merge", "carol", "-m", "merge carol", "--author", ANN], 1
    yield "merge_conflicts_list", ["merge", "--conflicts", "train"], 0
    yield "merge_resolve", ["merge", "--resolve", "train", "--theirs", "--author", ANN], 0
    yield "BRANCH_DAN", [], 0
    yield "merge_conflict_dan", ["merge", "dan"], 1
    yield "merge_abort", ["merge", "--abort"], 0
    yield "BRANCH_EVE", [], 0
    yield "merge_ff", ["merge", "eve"], 0
    yield "DISCARD", [], 0
    yield "batches_prune_one", ["batches", "train", "--prune"], 0


def _cli(root: Path, *args: str) -> None:
    """A set-up command that must succeed."""
    result = invoke(root, *args)
    assert result.exit_code == 0, (args, result.exit_code, result.stderr, result.exception)


def _branch(root: Path, name: str, theirs: str, ours: str | None) -> None:
    """Branch `name` relabels `theirs` (KEY=LABEL); back on main, `ours` is relabeled there too."""
    run(root, "git", "checkout", "-q", "-b", name)
    _cli(root, "relabel", "train", "--set", theirs, "--by", f"{name} <{name}@example.com>", "-m", f"{name}'s edit")
    run(root, "git", "checkout", "-q", "main")
    run(root, "dvc", "checkout", "-q", "data/train.parquet.dvc")
    if ours is not None:
        _cli(root, "relabel", "train", "--set", ours, "--by", BOB, "-m", f"main against {name}")


def _setup(root: Path, name: str, fill: dict[str, str]) -> None:
    """The set-up steps between commands."""
    if name == "EDITS":  # both label columns of pets, one row each and one row both
        fill["edits"] = str(write_text(root.parent / "edits.csv", "id,label,label_name\n0,1,dog\n1,2,bird\n"))
    elif name == "REVIEW":  # a review queue ranking train (the relabel links its batch to it)
        lines = ["id,p_bird,p_cat,p_dog"] + [f"{i},0.2,0.3,0.5" for i in range(12)]
        pred = write_text(root.parent / "pred.csv", "\n".join(lines) + "\n")
        result = invoke(root, "review", "train", "--predictions", str(pred), "--method", "least-confidence", "--json")
        assert result.exit_code == 0, (result.stderr, result.exception)
        fill["queue"] = json.loads(result.stdout)["queue"][:12]
    elif name == "BRANCH_BOB":
        _branch(root, "bob", "5=dog", "6=bird")
    elif name == "BRANCH_CAROL":
        _branch(root, "carol", "7=bird", "7=dog")
    elif name == "BRANCH_DAN":
        _branch(root, "dan", "8=bird", "8=cat")
    elif name == "BRANCH_EVE":
        _branch(root, "eve", "9=cat", None)
    elif name == "DISCARD":  # a batch applied with --no-commit whose edits a forced checkout dropped
        _cli(root, "relabel", "train", "--set", "10=dog", "--no-commit", "--by", BOB, "--reason", "dropped")
        _cli(root, "checkout", "train@latest", "--force")


def run_scenario(root: Path) -> dict[str, str]:
    """Run the scenario in a fresh repository at `root`; the masked stdout of each step by
    golden name, with its exit code on the first line."""
    write_parquet(
        root / "data" / "train.parquet",
        {
            "id": list(range(12)),
            "x": [i / 2 for i in range(12)],
            "label": ["cat", "dog", "bird", "cat", "dog", "bird", "cat", "cat", "dog", "bird", "cat", "dog"],
            "annotator": ["a", "b"] * 6,
        },
    )
    write_parquet(
        root / "data" / "pets.parquet",
        {"id": list(range(6)), "label": [0, 1, 2, 0, 1, 2], "label_name": ["cat", "dog", "bird"] * 2},
    )
    _cli(root, "track", "data/train.parquet", "--key", "id", "--label", "label")
    _cli(root, "track", "data/pets.parquet", "--key", "id", "--label", "label", "--label", "label_name")
    ids: dict[str, str] = {}
    fill: dict[str, str] = {}
    outputs: dict[str, str] = {}
    for name, args, code in _scenario():
        if name.isupper():
            _setup(root, name, fill)
            continue
        result = invoke(root, *[a.format(**fill) for a in args], "--json")
        assert result.exit_code == code, (name, result.exit_code, result.stderr, result.exception)
        if name.startswith(("relabel", "revert")):
            batch = json.loads(result.stdout)["batch"]
            if batch:
                fill[name] = batch[:12]
        outputs[name] = f"exit {result.exit_code}\n" + mask(_STAMP.sub("<stamp>", result.stdout), root, ids)
    return outputs


@pytest.fixture(scope="module")
def edit_outputs(module_env: Path) -> dict[str, str]:
    """The masked `--json` outputs of the whole scenario, run once for the module."""
    return run_scenario(new_repo(module_env / "repo"))


NAMES = [n for n, _, _ in _scenario() if not n.isupper()]


@pytest.mark.parametrize("name", NAMES)
def test_json_edit_variant(edit_outputs: dict[str, str], name: str) -> None:
    """`dslineage ... --json` prints exactly the golden bytes in each variant (volatile values masked)."""
    check_golden(GOLDEN / f"{name}.json", edit_outputs[name])
