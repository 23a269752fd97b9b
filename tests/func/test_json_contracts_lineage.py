"""Byte-level JSON contracts of the pipeline, experiment and lineage variants
`test_json_contracts.py` does not reach: a run that tracks a new output with a metrics file,
an up-to-date run, a forced re-run of a stage as defined, sync with nothing new and with
`--all-commits`; exp record with the default params and declared metrics, exp list/show of
several runs, exp diff of changed, equal and one-sided datasets; lineage upstream with a
depth, as OpenLineage, of a stage; impact of a version read by a stage and an experiment;
reproduce in place and `--into` with `--rerun`. Goldens in `golden/lineage/` (first line: the
exit code); regenerate after a deliberate contract change with
`DSLINEAGE_REGEN_GOLDEN=1 pytest tests/func/test_json_contracts_lineage.py`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import invoke, new_repo, run, write_parquet, write_text
from tests.support.golden import check_golden, mask

GOLDEN = Path(__file__).parent / "golden" / "lineage"
ANN = "Ann <ann@example.com>"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # OpenLineage runIds
PREP = (
    "import json, shutil\n"
    "shutil.copy('data/train.parquet', 'data/clean.parquet')\n"
    "json.dump({'rows': 12, 'acc': 0.5}, open('metrics.json', 'w'))\n"
)
RUN_PREP = [
    *"run -n prep -d data/train.parquet -d prep.py -o data/clean.parquet -M metrics.json -p lr".split(),
    *"--key id --label label -m prepare --author".split(),
    ANN,
    *"-- {python} prep.py".split(),
]


def _scenario() -> Iterator[tuple[str, list[str], int]]:
    """(golden name, or a set-up step in capitals; CLI arguments; exit code) in the order they run."""
    yield "run_tracks_output", RUN_PREP, 0
    yield "run_up_to_date", RUN_PREP, 0
    yield "run_defined_force", ["run", "-n", "prep", "--force", "--author", ANN], 0
    yield "sync_nothing", ["sync"], 0
    yield "exp_record_defaults", ["exp", "record", "base", "--author", ANN], 0
    yield "RELABEL", [], 0
    yield "exp_record_again", ["exp", "record", "base", "-m", "relabeled", "--author", ANN], 0
    yield "exp_record_data", ["exp", "record", "only-train", "--data", "train@v1", "--author", ANN], 0
    yield "exp_list", ["exp", "list"], 0
    yield "exp_show_runs", ["exp", "show", "base"], 0
    yield "exp_diff_changed", ["exp", "diff", "only-train", "base"], 0
    yield "exp_diff_same", ["exp", "diff", "base", "base"], 0
    yield "lineage_upstream", ["lineage", "clean@v1", "--upstream", "--depth", "1"], 0
    yield "lineage_stage", ["lineage", "stage:prep"], 0
    yield "lineage_experiment", ["lineage", "exp:base", "--format", "openlineage", "--namespace", "ns"], 0
    yield "impact_pipeline", ["impact", "train@v1"], 0
    yield "reproduce_rerun", ["reproduce", "only-train", "--into", "{root}/../out", "--rerun"], 0
    yield "reproduce_in_place", ["reproduce", "only-train"], 0
    yield "CODE", [], 0
    yield "sync_all_commits", ["sync", "--all-commits", "--author", ANN], 0


def _setup(root: Path, name: str) -> None:
    """The set-up steps between commands."""
    if name == "RELABEL":
        result = invoke(root, "relabel", "train", "--set", "1=bird", "--by", ANN)
        assert result.exit_code == 0, (result.stderr, result.exception)
    elif name == "CODE":  # a past stage state in dvc.lock's history that no transformation records
        write_text(root / "prep.py", PREP + "# v2\n")
        run(root, "dvc", "repro", "-q")
        run(root, "git", "add", "prep.py", "dvc.lock")
        run(root, "git", "commit", "-q", "-m", "code v2, run by hand")
        write_text(root / "prep.py", PREP + "# v3\n")
        run(root, "dvc", "repro", "-q")
        run(root, "git", "add", "prep.py", "dvc.lock")
        run(root, "git", "commit", "-q", "-m", "code v3, run by hand")


def run_scenario(root: Path) -> dict[str, str]:
    """Run the scenario in a fresh repository at `root`; the masked stdout of each step by
    golden name, with its exit code on the first line."""
    write_parquet(
        root / "data" / "train.parquet",
        {"id": list(range(12)), "x": [i / 2 for i in range(12)], "label": ["cat", "dog", "bird"] * 4},
    )
    write_text(root / "prep.py", PREP)
    write_text(root / "params.yaml", "lr: 0.1\nepochs: 3\n")
    run(root, "git", "add", "prep.py", "params.yaml")
    run(root, "git", "commit", "-q", "-m", "code")
    for args in (["track", "data/train.parquet", "--key", "id", "--label", "label"], ["commit", "-m", "v1"]):
        result = invoke(root, *args, "--author", ANN) if args[0] == "commit" else invoke(root, *args)
        assert result.exit_code == 0, (args, result.stderr, result.exception)
    ids: dict[str, str] = {}
    fill = {"root": str(root), "python": sys.executable}
    outputs: dict[str, str] = {}
    for name, args, code in _scenario():
        if name.isupper():
            _setup(root, name)
            continue
        argv = [a.format(**fill) for a in args]
        at = argv.index("--") if "--" in argv else len(argv)  # options before a stage command
        result = invoke(root, *argv[:at], "--json", *argv[at:])
        assert result.exit_code == code, (name, result.exit_code, result.stderr, result.exception)
        outputs[name] = f"exit {result.exit_code}\n" + mask(_UUID.sub("<uuid>", result.stdout), root, ids)
    return outputs


@pytest.fixture(scope="module")
def lineage_outputs(module_env: Path) -> dict[str, str]:
    """The masked `--json` outputs of the whole scenario, run once for the module."""
    return run_scenario(new_repo(module_env / "repo"))


NAMES = [n for n, _, _ in _scenario() if not n.isupper()]


@pytest.mark.parametrize("name", NAMES)
def test_json_lineage_variant(lineage_outputs: dict[str, str], name: str) -> None:
    """`dslineage ... --json` prints exactly the golden bytes in each variant (volatile values masked)."""
    check_golden(GOLDEN / f"{name}.json", lineage_outputs[name])
