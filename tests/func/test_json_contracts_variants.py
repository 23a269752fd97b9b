"""Byte-level JSON contracts of the variants `test_json_contracts.py` does not reach: keys that
appear only sometimes (a check's stored record or why it was not stored, an audit's leakage,
fsck's problems, repairs and remote report, a cherry-pick's conflicts), failing gates, and
the whole lineage graph. Goldens in `golden/variants/`; regenerate after a deliberate
contract change with `DSLINEAGE_REGEN_GOLDEN=1 pytest tests/func/test_json_contracts_variants.py`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import invoke, new_repo, run, write_parquet, write_text
from tests.support.golden import mask

GOLDEN = Path(__file__).parent / "golden" / "variants"
REGEN = os.environ.get("DSLINEAGE_REGEN_GOLDEN") == "1"
RULES = (
    "train:\n  columns: {id: int64, x: float, label: string}\n"
    "  allowed_labels: [cat, dog, bird]\n  unique_key: true\n  min_class_share: 0.05\n"
    "  ranges: {x: [0, 10]}\n  max_null_fraction: {x: 0.1}\n"
    "  max_drift: {label_js: 0.01, numeric_psi: 0.01}\n"
)


def _scenario() -> Iterator[tuple[str, list[str]]]:
    """(golden name or a set-up step in capitals, CLI arguments) in the order they run."""
    yield "track", ["track", "data/train.parquet", "--key", "id", "--label", "label"]
    yield "track_test", ["track", "data/test.parquet", "--key", "id", "--label", "label"]
    yield "commit", ["commit", "-m", "first", "--author", "Ann <ann@example.com>"]
    yield "check_stored", ["check", "train@v1"]
    yield "check_again", ["check", "train@v1"]
    yield "check_workdir", ["check", "train"]
    yield (
        "relabel",
        [
            "relabel",
            "train",
            "--set",
            "1=bird",
            "--set",
            "2=dog",
            "--set",
            "3=dog",
            "--by",
            "Bob <bob@example.com>",
            "--reason",
            "r1",
        ],
    )
    yield "check_failed", ["check", "train@latest"]
    yield "check_against", ["check", "train@latest", "--against", "v1"]
    yield "drift_workdir", ["drift", "train"]
    yield "drift_two", ["drift", "train@v1", "train@latest"]
    yield "drift_against", ["drift", "train@latest", "--against", "v1"]
    yield (
        "audit_leakage",
        ["audit", "train@latest", "--against", "test@latest", "--group", "annotator", "--min-group-rows", "1"],
    )
    yield (
        "audit_again",
        ["audit", "train@latest", "--against", "test@latest", "--group", "annotator", "--min-group-rows", "1"],
    )
    yield "audit_on", ["audit", "train", "--on", "x", "--no-record"]
    yield "RULES_DIRTY", []
    yield "check_not_stored", ["check", "train@v1"]
    yield "RULES_CLEAN", []
    yield "tag", ["tag", "train@v1", "base"]
    yield "tag_again", ["tag", "train@v1", "base"]
    yield "impact_batch", ["impact", "{batch}"]
    yield "lineage_whole", ["lineage"]
    yield "lineage_downstream", ["lineage", "train@v1", "--downstream"]
    yield "lineage_expand", ["lineage", "--expand"]
    yield "revert", ["revert", "{batch}", "--by", "Bob <bob@example.com>"]
    yield "cherry_pick_dry", ["cherry-pick", "{batch}", "--dry-run"]
    yield "relabel_again", ["relabel", "train", "--set", "1=cat", "--by", "Cy <cy@example.com>"]
    yield "cherry_pick_conflict", ["cherry-pick", "{batch}", "--dry-run"]
    yield "cherry_pick_force", ["cherry-pick", "{batch}", "--force", "--dry-run"]
    yield "cherry_pick", ["cherry-pick", "{batch}", "--by", "Bob <bob@example.com>"]
    yield "LEFTOVER", []
    yield "fsck_leftover", ["fsck"]
    yield "fsck_repair", ["fsck", "--repair"]
    yield "REMOTE", []
    yield "fsck_remote", ["fsck", "--remote"]
    yield "push_one", ["push", "train", "-r", "storage"]
    yield "pull_current", ["pull", "train", "-r", "storage"]


def _setup(root: Path, name: str) -> None:
    """The set-up steps between commands."""
    rules = root / ".dslineage" / "checks.yaml"
    if name == "RULES_DIRTY":  # results of a rules file with uncommitted changes are not stored
        rules.write_text(RULES + "# edited\n", encoding="utf-8")
    elif name == "RULES_CLEAN":
        run(root, "git", "checkout", "--", ".dslineage/checks.yaml")
    elif name == "LEFTOVER":  # temporary files an interrupted write left
        write_text(root / ".dslineage" / ".x.tmp123", "junk")
        write_text(root / "data" / ".train.parquet.tmp9", "junk")
    elif name == "REMOTE":
        run(root, "dvc", "remote", "add", "storage", str(root.parent / "remote"))


def run_variants(root: Path) -> dict[str, str]:
    """Run the scenario in a fresh repository at `root`; the masked stdout of each step by
    golden name, with its exit code (0, or 3 for a failed gate) on the first line."""
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
        root / "data" / "test.parquet",
        {
            "id": list(range(10, 16)),
            "x": [i / 2 for i in range(10, 16)],
            "label": ["cat", "dog", "bird", "cat", "dog", "bird"],
            "annotator": ["a"] * 6,
        },
    )
    write_text(root / ".dslineage" / "checks.yaml", RULES)
    run(root, "git", "add", ".dslineage/checks.yaml")
    run(root, "git", "commit", "-q", "-m", "rules")
    ids: dict[str, str] = {}
    fill: dict[str, str] = {}
    outputs: dict[str, str] = {}
    for name, args in _scenario():
        if name.isupper():
            _setup(root, name)
            continue
        result = invoke(root, *[a.format(**fill) for a in args], "--json")
        assert result.exit_code in (0, 3), (name, result.exit_code, result.stderr, result.exception)
        if name == "relabel":
            fill["batch"] = json.loads(result.stdout)["batch"][:12]
        outputs[name] = f"exit {result.exit_code}\n" + mask(result.stdout, root, ids)
    return outputs


@pytest.fixture(scope="module")
def variant_outputs(module_env: Path) -> dict[str, str]:
    """The masked `--json` outputs of the whole scenario, run once for the module."""
    return run_variants(new_repo(module_env / "repo"))


NAMES = [n for n, _ in _scenario() if not n.isupper()]


@pytest.mark.parametrize("name", NAMES)
def test_json_variant(variant_outputs: dict[str, str], name: str) -> None:
    """`dslineage ... --json` prints exactly the golden bytes in each variant (volatile values masked)."""
    path = GOLDEN / f"{name}.json"
    if REGEN:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(variant_outputs[name], encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with DSLINEAGE_REGEN_GOLDEN=1"
    assert variant_outputs[name] == path.read_text(encoding="utf-8")
