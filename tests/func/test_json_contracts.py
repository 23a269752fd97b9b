"""Byte-level JSON contracts: every documented `--json` output, compared with golden files.

One deterministic scenario (fixed data, authors and messages) runs the commands in order
through the CLI; volatile values (ids, md5s, git shas, timestamps, durations, temporary
paths) are masked by `mask`, everything else — key order, value types, spacing — must match
`tests/golden/NAME.json` byte for byte. Regenerate the golden files after a deliberate
contract change with `DSLINEAGE_REGEN_GOLDEN=1 pytest tests/test_json_contracts.py`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import invoke, new_repo, run, write_parquet, write_text
from tests.support.golden import mask

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("DSLINEAGE_REGEN_GOLDEN") == "1"


def _scenario(root: Path) -> Iterator[tuple[str, list[str]]]:
    """(golden name, CLI arguments) in the order they run; `{batch}` etc. are filled from earlier
    outputs by the runner."""
    yield "track", ["track", "data/train.parquet", "--key", "id", "--label", "label"]
    yield "commit", ["commit", "train", "-m", "first version", "--author", "Ann <ann@example.com>"]
    yield (
        "relabel",
        [
            "relabel",
            "train",
            "--set",
            "1=bird",
            "--set",
            "2=dog",
            "--by",
            "Bob <bob@example.com>",
            "--reason",
            "guideline v2",
        ],
    )
    yield "tag", ["tag", "train@v2", "gold"]
    yield "log", ["log"]
    yield "log_train", ["log", "train"]
    yield "show", ["show", "train@v2"]
    yield "show_batch", ["show", "{batch}"]
    yield "diff", ["diff", "train@v1", "train@v2"]
    yield "diff_rows", ["diff", "train@v1", "train@v2", "--rows", "1"]
    yield "history", ["history", "train", "1"]
    yield "batches", ["batches"]
    yield "blame", ["blame", "train"]
    yield "impact", ["impact", "{batch}"]
    yield "status_clean", ["status"]
    yield "edit_file", []
    yield "status_dirty", ["status"]
    yield "diff_workdir", ["diff", "train@v2"]
    yield "check", ["check", "train", "--no-record"]
    yield "drift", ["drift", "train@v1", "train@v2"]
    yield "audit", ["audit", "train@v2", "--no-record"]
    yield "commit_second", ["commit", "-m", "third version", "--author", "Ann <ann@example.com>"]
    yield "commit_nothing", ["commit", "-m", "nothing", "--author", "Ann <ann@example.com>"]
    yield "revert_dry", ["revert", "{batch}", "--dry-run"]
    yield "revert", ["revert", "{batch}", "--by", "Bob <bob@example.com>", "--reason", "undo"]
    yield "cherry_pick", ["cherry-pick", "{batch}", "--by", "Bob <bob@example.com>"]
    yield "rollback", ["rollback", "train", "--to", "v1", "-m", "back to v1", "--author", "Ann <ann@example.com>"]
    yield "checkout", ["checkout", "train@v2"]
    yield "checkout_back", ["checkout", "train@latest"]
    yield "exp_files", []
    yield (
        "exp_record",
        [
            "exp",
            "record",
            "base",
            "--params",
            "params.yaml",
            "--metrics",
            "metrics.json",
            "-m",
            "baseline",
            "--author",
            "Ann <ann@example.com>",
        ],
    )
    yield (
        "exp_record_2",
        [
            "exp",
            "record",
            "second",
            "--data",
            "train@v1",
            "--params",
            "params.yaml",
            "--metrics",
            "metrics.json",
            "-m",
            "older data",
            "--author",
            "Ann <ann@example.com>",
        ],
    )
    yield "exp_list", ["exp", "list"]
    yield "exp_show", ["exp", "show", "base"]
    yield "exp_diff", ["exp", "diff", "base", "second"]
    yield "reproduce", ["reproduce", "second", "--into", "{root}/../repro"]
    yield "lineage", ["lineage", "train@v2"]
    yield "impact_version", ["impact", "train@v1"]
    yield "remote", []
    yield "push", ["push", "train", "-r", "storage"]
    yield "pull", ["pull", "train@v1", "-r", "storage"]
    yield (
        "run",
        [
            "run",
            "-n",
            "prep",
            "-d",
            "data/train.parquet",
            "-d",
            "prep.py",
            "-o",
            "data/clean.parquet",
            "-m",
            "prepare",
            "--author",
            "Ann <ann@example.com>",
            "--",
            "{python}",
            "prep.py",
        ],
    )
    yield "sync", ["sync"]
    yield "repro", []
    yield "sync_recorded", ["sync", "--author", "Ann <ann@example.com>"]
    yield "reindex", ["reindex"]
    yield "fsck", ["fsck"]
    yield "batches_prune", ["batches", "--prune"]


def _run_all(root: Path) -> dict[str, str]:
    """Run the scenario in `root`; the masked stdout of each step by golden name."""
    import json

    ids: dict[str, str] = {}
    outputs: dict[str, str] = {}
    fill: dict[str, str] = {"root": str(root), "python": sys.executable}
    for name, args in _scenario(root):
        if name == "edit_file":  # an uncommitted change: one row relabeled, one added
            write_parquet(
                root / "data" / "train.parquet",
                {
                    "id": [*range(7), 7],
                    "x": [i / 2 for i in range(7)] + [9.5],
                    "label": ["cat", "bird", "dog", "cat", "dog", "cat", "cat", "dog"],
                    "annotator": ["a", "b", "a", "b", "a", "b", "a", "b"],
                },
            )
            continue
        if name == "remote":
            run(root, "dvc", "remote", "add", "storage", str(root.parent / "remote"))
            continue
        if name == "repro":  # the user's own `dvc repro` after a code change: sync records it
            write_text(root / "prep.py", "import shutil\n\nshutil.copy('data/train.parquet', 'data/clean.parquet')\n")
            run(root, "dvc", "repro")
            continue
        if name == "exp_files":
            write_text(root / "params.yaml", "lr: 0.1\nepochs: 3\n")
            write_text(root / "metrics.json", '{"accuracy": 0.75}\n')
            write_text(root / "prep.py", "import shutil\nshutil.copy('data/train.parquet', 'data/clean.parquet')\n")
            continue
        argv = [a.format(**fill) for a in args]
        at = argv.index("--") if "--" in argv else len(argv)  # options before a stage command
        result = invoke(root, *argv[:at], "--json", *argv[at:])
        assert result.exit_code == 0, (name, result.exit_code, result.stderr, result.exception)
        if name == "relabel":
            fill["batch"] = json.loads(result.stdout)["batch"][:12]
        outputs[name] = mask(result.stdout, root, ids)
    return outputs


@pytest.fixture(scope="module")
def contract_outputs(module_env: Path) -> dict[str, str]:
    """The masked `--json` outputs of the whole scenario, run once for the module."""
    root = new_repo(module_env / "repo")
    write_parquet(
        root / "data" / "train.parquet",
        {
            "id": list(range(7)),
            "x": [i / 2 for i in range(7)],
            "label": ["cat", "dog", "bird", "cat", "dog", "bird", "cat"],
            "annotator": ["a", "b", "a", "b", "a", "b", "a"],
        },
    )
    write_text(
        root / ".dslineage" / "checks.yaml",
        (
            "train:\n  columns: {id: int64, x: float, label: string}\n"
            "  allowed_labels: [cat, dog, bird]\n  unique_key: true\n  min_class_share: 0.05\n"
        ),
    )
    run(root, "git", "add", ".dslineage/checks.yaml")
    run(root, "git", "commit", "-q", "-m", "rules")
    return _run_all(root)


NAMES = [n for n, _ in _scenario(Path(".")) if n not in ("edit_file", "exp_files", "remote", "repro")]


@pytest.mark.parametrize("name", NAMES)
def test_json_contract(contract_outputs: dict[str, Any], name: str) -> None:
    """`dslineage ... --json` prints exactly the golden bytes (volatile values masked)."""
    path = GOLDEN / f"{name}.json"
    if REGEN:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(contract_outputs[name], encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with DSLINEAGE_REGEN_GOLDEN=1"
    assert contract_outputs[name] == path.read_text(encoding="utf-8")


def test_mask_numbers_ids_by_first_appearance() -> None:
    """Masking maps one id (and its prefixes) to one placeholder and leaves plain numbers."""
    ids: dict[str, str] = {}
    a, b = "ab" * 20, "cd" * 20
    text = mask(f'"{a}" "{b}" "{a[:10]}" 1234567 "2026-01-02T03:04:05.000001+00:00"', Path("/nowhere"), ids)
    assert text == '"<h1>" "<h2>" "<h1:10>" 1234567 "<time>"'
