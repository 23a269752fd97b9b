"""Bad rules files: one line naming the file, the rule and the fix; nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dslineage.cli.app import app
from dslineage.config import Dataset
from dslineage.errors import RulesError
from dslineage.quality import rules
from tests.support import head, run, write_parquet

DS = Dataset(name="train", path="data/train.parquet", format="parquet", key=["id"], labels=["label"])


def parse(text: str):
    """Parse a rules file text for the one dataset DS."""
    import yaml

    return rules.parse(DS, yaml.safe_load(text)["train"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "train:\n  max_nul_fraction: 0.1\n",
            r"train.max_nul_fraction: unknown rule 'max_nul_fraction': did you mean 'max_null_fraction'\?",
        ),
        (
            "train:\n  max_null_fraction: {x: 1.5}\n",
            r"train.max_null_fraction.x: expected a fraction between 0 and 1, got 1.5: fix the value",
        ),
        ("train:\n  ranges: {x: [5, 1]}\n", r"train.ranges.x: min 5 is above max 1: swap them"),
        ("train:\n  ranges: {x: five}\n", r"train.ranges.x: expected \{min: A, max: B\} or \[A, B\]"),
        ("train:\n  min_rows_per_class: {species: 3}\n", r"train.min_rows_per_class.species: not a label column"),
        ("train:\n  allowed_labels: []\n", r"train.allowed_labels: expected a non-empty list of labels"),
        ("train:\n  max_drift: {label_jsd: 0.1}\n", r"unknown drift setting 'label_jsd': did you mean 'label_js'\?"),
        ("train:\n  max_drift: {columns: {x: {wasserstein: 1}}}\n", r"unknown column statistic 'wasserstein'"),
        ("train:\n  columns: {x: 3}\n", r"train.columns.x: expected a type name"),
        ("train:\n  unique_key: 7\n", r"train.unique_key: expected true or a list of columns"),
        ("train: [1, 2]\n", r"train: expected a mapping of rules"),
    ],
)
def test_malformed_rules_name_the_rule_and_the_fix(text, message):
    """Each kind of malformed rule gives one line naming the file, the rule path and what to do."""
    with pytest.raises(RulesError, match=message) as info:
        parse(text)
    assert str(info.value).startswith(".dslineage/checks.yaml: ") and "\n" not in str(info.value)


def test_rules_normalise_per_label_and_defaults():
    """Scalars apply to every label column; `unique_key: true` means the registered key; '*' stays."""
    r = parse(
        "train:\n  min_rows_per_class: 3\n  unique_key: true\n  max_null_fraction: 0.2\n"
        "  allowed_labels: [a, b]\n  ranges: {x: {max: 4}}\n"
    )
    assert r.min_rows_per_class == {"label": 3} and r.unique_key == ["id"]
    assert r.max_null_fraction == {"*": 0.2} and r.allowed_labels == {"label": ["a", "b"]}
    assert r.ranges == {"x": (None, 4.0)}


def cli(root: Path, *args: str):
    """Run the CLI in `root`."""
    return CliRunner().invoke(app, ["-C", str(root), *args])


@pytest.fixture(scope="module")
def shared(module_env: Path) -> Path:
    """One repository with `train` committed as v1, shared by tests that must change nothing."""
    from dslineage import Repo

    root = module_env / "repo"
    root.mkdir()
    Repo.init(root)
    write_parquet(
        root / "data" / "train.parquet",
        {"id": list(range(20)), "x": [i / 2 for i in range(20)], "label": ["a", "b"] * 10},
    )
    with Repo(root) as repo:
        repo.track(str(root / "data" / "train.parquet"), ["id"], ["label"])
        repo.commit(["train"], "first version", None)
    return root


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("train:\n  ranges: {x: [0, 1]\n", "not valid YAML (line"),
        ("trian:\n  unique_key: true\n", "trian: no tracked dataset of that name (tracked: train): fix the name"),
        ("train:\n  ranges: {nope: [0, 1]}\n", "train.ranges.nope: no column 'nope' in train@v1"),
        ("train:\n  max_null_fraction: {nope: 0}\n", "train.max_null_fraction.nope: no column 'nope'"),
        ("train:\n  ranges: {label: [0, 1]}\n", "column 'label' is VARCHAR, not numeric"),
        ("train:\n  max_drift: {columns: {nope: {ks: 0.1}}}\n", "train.max_drift.columns.nope: no column 'nope'"),
    ],
)
def test_cli_bad_rules_one_line_and_nothing_changed(shared, text, message):
    """check with a bad rules file: exit 1, one line on stderr, no traceback, nothing changed."""
    tmp_repo = shared
    (tmp_repo / ".dslineage" / "checks.yaml").write_text(text, encoding="utf-8")
    before = head(tmp_repo), run(tmp_repo, "git", "status", "--porcelain").stdout
    r = cli(tmp_repo, "check", "train@v1")
    assert r.exit_code == 1 and message in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr and r.stdout == ""
    assert (head(tmp_repo), run(tmp_repo, "git", "status", "--porcelain").stdout) == before


def test_cli_commit_with_bad_rules_refuses(committed, tmp_repo):
    """A malformed rules file stops `commit` too (it cannot verify): no version, HEAD unchanged."""
    (tmp_repo / ".dslineage" / "checks.yaml").write_text("train:\n  bogus: 1\n", encoding="utf-8")
    write_parquet(tmp_repo / "data" / "train.parquet", {"id": [1, 2], "x": [0.0, 1.0], "label": ["a", "b"]})
    before = head(tmp_repo)
    r = cli(tmp_repo, "commit", "train", "-m", "x")
    assert r.exit_code == 1 and "unknown rule 'bogus'" in r.stderr and r.stderr.count("\n") == 1
    assert head(tmp_repo) == before and len(committed.log("train")) == 1


def test_cli_unknown_dataset_and_version(shared):
    """check/drift/audit name unknown datasets and versions in one line."""
    tmp_repo = shared
    (tmp_repo / ".dslineage" / "checks.yaml").write_text("train:\n  unique_key: true\n", encoding="utf-8")
    for args in (["check", "nope"], ["drift", "train@v9"], ["audit", "nope@v1"]):
        r = cli(tmp_repo, *args)
        assert r.exit_code == 1 and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, args


def test_missing_quality_extra_is_one_line(monkeypatch):
    """Without scipy/krippendorff (a broken install: they are dependencies) the gates say how to reinstall."""
    import importlib.util

    from dslineage.errors import DslineageError
    from dslineage.quality import require

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "krippendorff" else real(n, *a))
    with pytest.raises(DslineageError, match=r"need krippendorff: reinstall dslineage"):
        require()
