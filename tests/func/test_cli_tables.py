"""Tables for humans (issue 11, item 2): no word split across lines at 80 or 120 columns (long
cells end in "…", full values stay in --json), history's batch/annotator/reason columns,
`diff --rows` with only the changed columns, `exp show` params as columns, `blame` listing
the rows changed since the first version by default."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dslineage import Repo
from tests.support import invoke, new_repo, write_parquet, write_text

CLASSES = ["airplane", "automobile", "truck", "horse"]
REASON = "fixing the confusing automobile versus truck labels in the long tail of the crowd export"


@pytest.fixture(scope="module")
def wide(module_env: Path) -> dict[str, Any]:
    """`cifar` (30 rows, long column names and values): v1; v2 alice's batch (rows 1, 2, 5; carol
    on 5) with a long reason; v3 a hand commit changing weight_kg of rows 0-4 and the label of row 7;
    two experiments with nested params; checks.yaml."""
    root = new_repo(module_env / "wide")
    n = 30
    path = write_parquet(
        root / "data" / "cifar.parquet",
        {
            "id": list(range(n)),
            "label": [CLASSES[i % 4] for i in range(n)],
            "predicted_label": [CLASSES[(i + 1) % 4] for i in range(n)],
            "weight_kg": [float(i) for i in range(n)],
            "annotation_source": ["crowd-worker-pool-b-second-round" for _ in range(n)],
        },
    )
    edits = write_text(module_env / "crowd.csv", "id,label,annotator\n1,truck\n2,automobile\n5,airplane,carol\n")
    (root / ".dslineage" / "checks.yaml").write_text(
        json.dumps({"cifar": {"allowed_labels": CLASSES, "max_null_fraction": {"predicted_label": 0}}})
    )
    with Repo(root) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(["cifar"], "first import of the labelled images from the crowd vendor's export", None)
        batch = repo.relabel("cifar", from_file=str(edits), by="alice annotator", reason=REASON)["batch"]
        import pyarrow.parquet as pq

        t = pq.read_table(path).to_pydict()
        for i in range(5):
            t["weight_kg"][i] += 0.5
        t["label"][7] = "automobile"
        write_parquet(path, t)
        repo.commit(["cifar"], "hand fix: reweighed the first five images and corrected image seven", None)
        repo.tag("cifar@v1", "baseline")
        for run, lr in (("baseline-model", 0.001), ("cleaned-labels-model", 0.0005)):
            write_text(
                root / "params.yaml",
                f"train:\n  learning_rate: {lr}\n  epochs: 20\n  batch_size: 64\n"
                "featurize:\n  max_features: 200\n  ngrams: 2\n",
            )
            write_text(
                root / "metrics.json",
                json.dumps({"accuracy": 0.91 if lr > 0.0008 else 0.93, "loss": 0.23, "per_class": {"truck": 0.8}}),
            )
            repo.exp_record(run, params=str(root / "params.yaml"), metrics=str(root / "metrics.json"))
    return {"root": root, "batch": batch}


def _render(root: Path, args: tuple[str, ...], width: int, mp: pytest.MonkeyPatch) -> str:
    mp.setenv("COLUMNS", str(width))
    result = invoke(root, *args)
    assert result.exit_code in (0, 1, 3), (args, result.exit_code, result.stderr, result.exception)  # 1/3: a gate
    assert "error" not in result.stderr.lower(), (args, result.stderr)
    return str(result.stdout)


def broken_words(narrow: str, wide: str) -> list[str]:
    """Tokens of a narrow rendering that are neither a token of the wide one nor a truncation
    (a prefix of one, ending in "…"): a word split across lines shows up here."""
    known = set(wide.split())
    bad = []
    for tok in narrow.split():
        if tok in known:
            continue
        if tok.endswith("…") and any(k.startswith(tok[:-1]) for k in known):
            continue
        bad.append(tok)
    return bad


def test_broken_words_catches_a_split_word() -> None:
    """The checker itself: a word folded across lines is caught, a truncation ending in … is not."""
    wide = "max_null_fraction  predicted_label"
    assert broken_words("max_null_fracti\non  predicted_label", wide) == ["max_null_fracti", "on"]
    assert broken_words("max_null_fr…  predicted_label", wide) == []


COMMANDS: list[tuple[str, ...]] = [
    ("log",),
    ("log", "cifar"),
    ("show", "cifar@v3"),
    ("show", "BATCH"),
    ("batches",),
    ("blame", "cifar"),
    ("blame", "cifar", "--all"),
    ("history", "cifar", "5"),
    ("history", "cifar", "7"),
    ("diff", "cifar@v1", "cifar@v3", "--rows", "10"),
    ("status",),
    ("check", "cifar@v3", "--no-record"),
    ("drift", "cifar@v1", "cifar@v3"),
    ("audit", "cifar@v3", "--no-record"),
    ("exp", "list"),
    ("exp", "show", "baseline-model"),
    ("exp", "diff", "baseline-model", "cleaned-labels-model"),
    ("impact", "BATCH"),
    ("revert", "BATCH", "--dry-run"),
]


@pytest.mark.slow
@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
def test_tables_never_split_a_word(
    wide: dict[str, Any], args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each table-printing command at 80 and 120 columns: every word is whole or truncated with "…"
    (compared with the same output at 1000 columns), and every table fits the terminal (a line
    wider than it must be prose printed as is, the same line at 1000 columns)."""
    args = tuple(wide["batch"][:10] if a == "BATCH" else a for a in args)
    reference = _render(wide["root"], args, 1000, monkeypatch)
    assert reference.strip()
    prose = set(reference.splitlines())
    for width in (80, 120):
        text = _render(wide["root"], args, width, monkeypatch)
        too_long = [ln for ln in text.splitlines() if len(ln) > width and ln not in prose]
        assert not too_long, f"{' '.join(args)} at {width}: lines wider than the terminal: {too_long[:3]}"
        bad = broken_words(text, reference)
        assert not bad, f"{' '.join(args)} at {width} columns splits words: {bad[:10]}\n{text}"


def _header(text: str, word: str) -> list[str]:
    """The words of the first line containing `word` as a whole word (a table's header row)."""
    for line in text.splitlines():
        if word in line.split():
            return line.split()
    raise AssertionError(f"no line with {word!r} in:\n{text}")


def test_history_has_batch_annotator_and_reason_columns(wide: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """`history` shows batch, annotator and reason as columns, not folded into the message cell."""
    text = _render(wide["root"], ("history", "cifar", "5"), 200, monkeypatch)
    head = _header(text, "annotator")
    assert {"batch", "annotator", "reason", "message"} <= set(head)
    assert "(batch" not in text
    row = next(ln for ln in text.splitlines() if "relabeled" in ln)
    assert wide["batch"][:10] in row and "carol" in row and "fixing the confusing" in row


def test_diff_rows_shows_only_changed_columns(wide: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """`diff --rows`: the key, the change and the columns that changed (old → new); unchanged columns
    and old./new. pairs are gone from the text (still all in --json)."""
    text = _render(wide["root"], ("diff", "cifar@v1", "cifar@v3", "--rows", "10"), 200, monkeypatch)
    head = next(ln.split() for ln in text.splitlines() if ln.split()[:2] == ["id", "change"])
    assert head[:2] == ["id", "change"] and set(head) == {"id", "change", "label", "weight_kg"}
    assert "old." not in text and "new." not in text
    assert "annotation_source" not in text and "predicted_label" not in text
    assert "crowd-worker-pool-b-second-round" not in text
    full = json.loads(
        _render(wide["root"], ("diff", "cifar@v1", "cifar@v3", "--rows", "10", "--json"), 80, monkeypatch)
    )
    assert "old.annotation_source" in full["sample"][0]


def test_exp_show_params_and_metrics_as_columns(wide: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """`exp show`: nested params and metrics flattened to dotted columns (train.learning_rate), no JSON blob."""
    for width in (80, 120):
        text = _render(wide["root"], ("exp", "show", "baseline-model"), width, monkeypatch)
        assert "{" not in text and "}" not in text
        assert "train.learning_rate" in _header(text, "train.learning_rate")
        assert "per_class.truck" in text.split() and "accuracy" in text.split()
        below = text.split("train.learning_rate", 1)[1].splitlines()[1].split()
        assert "0.001" in below


def test_blame_lists_changed_rows_by_default(wide: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """`blame` lists the rows whose label changed since the first version; `--all` every row."""
    changed = json.loads(_render(wide["root"], ("blame", "cifar", "--json"), 80, monkeypatch))
    every = json.loads(_render(wide["root"], ("blame", "cifar", "--all", "--json"), 80, monkeypatch))
    assert sorted(r["key"]["id"] for r in changed["rows"]) == [1, 2, 5, 7]
    assert changed["total"] == 4 and every["total"] == 30 and len(every["rows"]) == 30
    text = _render(wide["root"], ("blame", "cifar"), 120, monkeypatch)
    assert "4 row(s)" in text


def test_long_cells_are_truncated_with_an_ellipsis(wide: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """At 80 columns a long commit message is cut with "…" on one line, not wrapped over several."""
    text = _render(wide["root"], ("log", "cifar"), 80, monkeypatch)
    rows = [ln for ln in text.splitlines() if "cifar@v" in ln]
    assert len(rows) == 3, text
    assert any(ln.rstrip().endswith("…") for ln in rows)


def test_fit_widths_fits_shrinks_free_text_first_and_never_grows() -> None:
    """Widths fit the terminal when they can; free text gives way first, ids and times last; no
    column is wider than its content."""
    from dslineage.cli._shared import fit_widths

    natural = [8, 10, 16, 11, 4, 9, 70]  # version, id, time, author, rows, relabeled, message
    flex = [False, False, False, True, False, False, True]
    rigid = [False, True, True, False, False, False, False]
    assert fit_widths(natural, flex, 200, rigid=rigid) == natural
    at80 = fit_widths(natural, flex, 80, rigid=rigid)
    assert sum(at80) + 2 * 6 <= 80 and at80[:3] == natural[:3] and at80[4:6] == natural[4:6]
    assert all(w <= n for w, n in zip(at80, natural))
    narrow = fit_widths(natural, flex, 50, rigid=rigid)
    assert sum(narrow) + 2 * 6 <= 50 and narrow[1] == 10  # the id stays whole longest
    for width in range(20, 200, 7):
        got = fit_widths(natural, flex, width, rigid=rigid)
        assert all(3 <= w <= n or w == n for w, n in zip(got, natural))
        assert sum(got) + 12 <= width or all(w == min(n, 3) for w, n in zip(got, natural))


def test_no_arguments_prints_the_help() -> None:
    """`dslineage` and `dslineage exp` alone print their git-style help on stdout (exit 2)."""
    for args in ((), ("exp",)):
        result = invoke(None, *args)
        assert result.exit_code == 2 and result.stdout.startswith("Usage: dslineage")
        assert "Commands:" in result.stdout and result.stderr == ""
