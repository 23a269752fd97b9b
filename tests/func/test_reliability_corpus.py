"""The bad-input corpus: odd but valid input works correctly; bad input gives ONE line on
stderr, a non-zero exit, no traceback — and leaves git HEAD, the working files and the
index (the log) exactly as they were.

Small fixtures live in tests/corpus/; big or binary ones are generated here.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dslineage import Repo
from tests.support import invoke, snapshot_state, write_parquet
from tests.support.reliability import base_repo, copy_repo, data

CORPUS = Path(__file__).resolve().parent / "corpus"
Setup = Callable[[Path], Any]


@dataclass
class Case:
    """One corpus entry: files to plant, the command, and what must happen."""

    name: str
    argv: list[str]
    expect: str  # "error": refused, nothing changed | "ok": works (then `check`) | "either"
    setup: Setup | None = None
    check: Callable[[Path], Any] | None = None
    code: int | None = None  # the exit code an error must have, when it matters
    message: str | None = None  # text the error line must contain


def put(*names: str) -> Setup:
    """Copy corpus fixtures into data/."""

    def setup(root: Path) -> None:
        for name in names:
            shutil.copyfile(CORPUS / name, root / "data" / name)

    return setup


def raw(name: str, content: bytes | Callable[[], bytes]) -> Setup:
    """Write data/NAME with these bytes."""

    def setup(root: Path) -> None:
        (root / "data" / name).write_bytes(content() if callable(content) else content)

    return setup


def table(name: str, columns: dict[str, list[Any]]) -> Setup:
    """Write data/NAME.parquet with these columns."""

    def setup(root: Path) -> None:
        write_parquet(root / "data" / name, columns)

    return setup


def chain(*steps: Setup) -> Setup:
    """Several setup steps in order."""

    def setup(root: Path) -> None:
        for step in steps:
            step(root)

    return setup


def truncated_parquet() -> bytes:
    """The first half of a valid parquet file."""
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table(data()), sink)
    whole = sink.getvalue().to_pybytes()
    return whole[: len(whole) // 2]


def wide(root: Path) -> None:
    """10,000 columns."""
    cols: dict[str, list[Any]] = {"id": [1, 2, 3], "label": ["a", "b", "a"]}
    cols.update({f"c{i}": [i, i, i] for i in range(9998)})
    write_parquet(root / "data" / "wide.parquet", cols)


def big_field(root: Path) -> None:
    """A CSV whose second row has a 10 MB field."""
    (root / "data" / "big.csv").write_bytes(b"id,label,blob\n1,cat,x\n2,dog," + b"y" * 10_000_000 + b"\n")


def big_field_tracked(root: Path) -> None:
    """big.csv (a 10 MB field) tracked and committed."""
    big_field(root)
    with Repo(root) as repo:
        repo.track(str(root / "data" / "big.csv"), ["id"], ["label"])
        repo.commit(["big"], "big", None)


def big_label(root: Path) -> None:
    """The relabel of big.csv landed and the 10 MB field is intact."""
    text = (root / "data" / "big.csv").read_bytes()
    assert text.startswith(b"id,label,blob\n1,cat,x\n2,bird,") and text.count(b"y") == 10_000_000


def symlink_out(root: Path) -> None:
    """data/link.csv pointing at a file outside the repository."""
    outside = root.parent / "outside.csv"
    outside.write_text("id,label\n1,cat\n")
    (root / "data" / "link.csv").symlink_to(outside)


def outside(root: Path) -> None:
    """A dataset file beside (not inside) the repository."""
    (root.parent / "outside.csv").write_text("id,label\n1,cat\n")


def working(columns: dict[str, list[Any]] | None = None, raw_bytes: bytes | None = None) -> Setup:
    """Replace the working file of `d` (new file + rename, as editors should)."""

    def setup(root: Path) -> None:
        path = root / "data" / "d.parquet"
        if raw_bytes is not None:
            tmp = path.with_name(".d.tmp")
            tmp.write_bytes(raw_bytes)
            os.replace(tmp, path)
        else:
            write_parquet(path, columns or data())

    return setup


# -- checks for the cases that must work --------------------------------------------------


def tracked(name: str, rows: int | None = None, **expect: Any) -> Callable[[Path], None]:
    """The dataset is registered (and, with `rows`, commits with that many rows)."""

    def check(root: Path) -> None:
        with Repo(root) as repo:
            ds = repo.dataset(name)
            for key, value in expect.items():
                assert getattr(ds, key) == value, (key, getattr(ds, key))
            if rows is not None:
                made = repo.commit([name], "corpus", None)
                assert made and made[0]["rows"] == rows

    return check


def labels_of(expected: dict[int, Any]) -> Callable[[Path], None]:
    """The working file of `d` now has these labels at these ids."""

    def check(root: Path) -> None:
        got = pq.read_table(root / "data" / "d.parquet").to_pydict()
        by_id = dict(zip(got["id"], got["label"]))
        assert {k: by_id[k] for k in expected} == expected

    return check


SQLISH = ['id"; DROP TABLE versions; --', "label') OR 1=1; --", "select * from x"]

CASES = [
    # -- track: file formats ----------------------------------------------------------------
    Case(
        "truncated-parquet",
        ["track", "data/t.parquet", "-k", "id", "-l", "label"],
        "error",
        raw("t.parquet", truncated_parquet),
    ),
    Case(
        "garbage-named-csv",
        ["track", "data/g.csv", "-k", "id", "-l", "label"],
        "error",
        raw("g.csv", lambda: bytes(range(256)) * 8),
    ),
    Case(
        "garbage-named-parquet",
        ["track", "data/g.parquet", "-k", "id", "-l", "label"],
        "error",
        raw("g.parquet", b"PAR1" + os.urandom(200) + b"PAR1"),
    ),
    Case(
        "non-utf8-csv",
        ["track", "data/latin1.csv", "-k", "id", "-l", "label"],
        "error",
        put("latin1.csv"),
        message="not UTF-8 text (byte 0xe9 at offset 14)",
    ),
    Case(
        "commit-non-utf8-csv",
        ["commit", "-m", "x"],
        "error",
        chain(
            put("bom.csv"),
            lambda root: Repo(root).track(str(root / "data" / "bom.csv"), ["id"], ["label"]),
            lambda root: Repo(root).commit(["bom"], "bom", None),
            put("latin1.csv"),
            lambda root: os.replace(root / "data" / "latin1.csv", root / "data" / "bom.csv"),
        ),
        message="not UTF-8 text",
    ),
    Case(
        "bom-csv",
        ["track", "data/bom.csv", "-k", "id", "-l", "label"],
        "ok",
        put("bom.csv"),
        tracked("bom", rows=3, key=["id"]),
    ),
    Case("ragged-rows", ["track", "data/ragged.csv", "-k", "id", "-l", "label"], "either", put("ragged.csv")),
    Case(
        "truncated-jsonl", ["track", "data/truncated.jsonl", "-k", "id", "-l", "label"], "error", put("truncated.jsonl")
    ),
    Case(
        "tsv",
        ["track", "data/tabs.tsv", "-k", "id", "-l", "label"],
        "ok",
        put("tabs.tsv"),
        tracked("tabs", rows=2, format="csv"),
    ),
    Case(
        "quoted-multiline-csv",
        ["track", "data/quoted.csv", "-k", "id", "-l", "label"],
        "ok",
        put("quoted.csv"),
        tracked("quoted", rows=2),
    ),
    Case(
        "ten-thousand-columns", ["track", "data/wide.parquet", "-k", "id", "-l", "label"], "ok", wide, tracked("wide")
    ),
    Case("empty-file", ["track", "data/e.csv", "-k", "id", "-l", "label"], "error", raw("e.csv", b"")),
    Case(
        "header-only-csv",
        ["track", "data/header_only.csv", "-k", "id", "-l", "label"],
        "ok",
        put("header_only.csv"),
        tracked("header_only", rows=0),
    ),
    Case("unsupported-suffix", ["track", "data/x.txt", "-k", "id", "-l", "label"], "error", raw("x.txt", b"id\n1\n")),
    Case(
        "unknown-format-option",
        ["track", "data/d.parquet", "-k", "id", "-l", "label", "--format", "xls"],
        "error",
        code=2,
    ),
    # -- track: keys and labels -------------------------------------------------------------
    Case(
        "float-keys-with-nan",
        ["track", "data/n.parquet", "-k", "id", "-l", "label"],
        "error",
        table("n.parquet", {"id": [1.5, float("nan"), 3.0], "label": ["a", "b", "c"]}),
    ),
    Case(
        "null-keys",
        ["track", "data/n.parquet", "-k", "id", "-l", "label"],
        "error",
        table("n.parquet", {"id": [1, None, 3], "label": ["a", "b", "c"]}),
    ),
    Case(
        "duplicate-keys",
        ["track", "data/dup.parquet", "-k", "id", "-l", "label"],
        "error",
        table("dup.parquet", {"id": [1, 1, 2], "label": ["a", "b", "c"]}),
    ),
    Case(
        "null-labels",
        ["track", "data/null_labels.csv", "-k", "id", "-l", "label"],
        "ok",
        put("null_labels.csv"),
        tracked("null_labels", rows=3),
    ),
    # labels 7, "cat", true, null: kept apart as JSON text ("7", '"cat"', "true") and null
    Case(
        "mixed-type-labels",
        ["track", "data/mixed_labels.jsonl", "-k", "id", "-l", "label"],
        "ok",
        put("mixed_labels.jsonl"),
        tracked("mixed_labels", rows=4),
    ),
    Case("missing-key-column", ["track", "data/d.parquet", "-k", "nope", "-l", "label", "--name", "d2"], "error"),
    Case(
        "sql-looking-columns",
        ["track", "data/sql_columns.csv", "-k", SQLISH[0], "-l", SQLISH[1], "--name", "sq"],
        "ok",
        put("sql_columns.csv"),
        tracked("sq", rows=2, key=[SQLISH[0]], labels=[SQLISH[1]]),
    ),
    # -- track: paths and names -------------------------------------------------------------
    Case("symlink-outside", ["track", "data/link.csv", "-k", "id", "-l", "label"], "error", symlink_out),
    Case("dotdot-path", ["track", "../outside.csv", "-k", "id", "-l", "label"], "error", outside),
    Case("absolute-outside", ["track", "/etc/hostname", "-k", "id", "-l", "label"], "error"),
    Case(
        "inside-dot-git",
        ["track", ".git/HEAD.csv", "-k", "id", "-l", "label"],
        "error",
        lambda root: (root / ".git" / "HEAD.csv").write_text("id,label\n1,a\n"),
    ),
    Case("missing-file", ["track", "data/nope.csv", "-k", "id", "-l", "label"], "error"),
    Case("directory", ["track", "data", "-k", "id", "-l", "label"], "error"),
    Case(
        "shell-metachar-name",
        ["track", "data/d.parquet", "-k", "id", "-l", "label", "--name", "x;rm -rf ~"],
        "error",
        code=2,
    ),
    Case(
        "shell-metachar-path",
        ["track", "data/a;b $(touch pwned).csv", "-k", "id", "-l", "label", "--name", "ab"],
        "ok",
        raw("a;b $(touch pwned).csv", b"id,label\n1,cat\n"),
        tracked("ab", rows=1),
    ),
    # -- commit ---------------------------------------------------------------------------------
    Case("commit-corrupt-working-file", ["commit", "-m", "x"], "error", working(raw_bytes=b"PAR1garbagePAR1")),
    Case(
        "commit-working-file-deleted",
        ["commit", "-m", "x"],
        "error",
        lambda root: (root / "data" / "d.parquet").unlink(),
    ),
    Case(
        "commit-duplicate-keys",
        ["commit", "-m", "x"],
        "error",
        working({"id": [1, 1, 2], "x": [0.0, 1.0, 2.0], "label": ["a", "b", "c"]}),
    ),
    Case("commit-key-column-dropped", ["commit", "-m", "x"], "error", working({"label": ["a", "b"]})),
    Case("commit-unknown-dataset", ["commit", "nope", "-m", "x"], "error"),
    Case("commit-empty-message", ["commit", "-m", "  "], "error", working(data(relabel={1: "cat"})), code=2),
    # -- relabel ------------------------------------------------------------------------------
    Case("edits-duplicate-keys", ["relabel", "d", "--from", "data/dup_edits.csv"], "error", put("dup_edits.csv")),
    Case(
        "edits-without-label", ["relabel", "d", "--from", "data/edits_no_label.csv"], "error", put("edits_no_label.csv")
    ),
    Case("edits-garbage", ["relabel", "d", "--from", "data/g.parquet"], "error", raw("g.parquet", b"PAR1xxxxPAR1")),
    Case("relabel-unknown-key", ["relabel", "d", "--set", "999=cat"], "error"),
    Case("relabel-malformed-set", ["relabel", "d", "--set", "nolabel"], "error"),
    Case("relabel-wrong-key-type", ["relabel", "d", "--set", "abc=cat"], "error"),
    Case(
        "relabel-sql-label",
        ["relabel", "d", "--set", "1=x'); DROP TABLE versions; --"],
        "ok",
        None,
        labels_of({1: "x'); DROP TABLE versions; --"}),
    ),
    # a 10 MB field: tracked and committed (setup), then relabeled with the field intact
    Case("ten-mb-field", ["relabel", "big", "--set", "2=bird"], "ok", big_field_tracked, big_label),
    Case(
        "relabel-unicode-label",
        ["relabel", "d", "--set", '2=猫 🐈 "quoted"'],
        "ok",
        None,
        labels_of({2: '猫 🐈 "quoted"'}),
    ),
    # -- diff / history / show / log -------------------------------------------------------
    Case("huge-rows", ["diff", "d@v1", "d@v2", "--rows", "100000"], "ok"),
    Case("enormous-rows", ["diff", "d@v1", "--rows", "1000000000000"], "error", code=2),
    Case("negative-rows", ["diff", "d@v1", "--rows", "-5"], "error", code=2),
    Case("unknown-ref", ["diff", "d@v99"], "error"),
    Case("unknown-ref-tilde", ["show", "d@latest~99"], "error"),
    Case("ref-that-looks-like-an-option", ["show", "d@--help"], "error"),
    Case("unknown-dataset-ref", ["diff", "nope@v1"], "error"),
    Case(
        "diff-output-missing-dir",
        ["diff", "d@v1", "d@v2", "--output", "no/such/dir/x.parquet"],
        "ok",
        None,
        lambda root: pq.read_table(root / "no/such/dir/x.parquet"),
    ),
    Case("diff-output-bad-suffix", ["diff", "d@v1", "d@v2", "--output", "out.xlsx"], "error"),
    Case("history-unknown-key", ["history", "d", "12345"], "either"),
    Case("history-wrong-key-type", ["history", "d", "abc"], "either"),
    Case("log-unknown-dataset", ["log", "nope"], "error"),
    # -- checkout / tag / revert / rollback ----------------------------------------------------
    Case("checkout-over-uncommitted", ["checkout", "d@v1"], "error", working(data(relabel={3: "dog"}))),
    Case("checkout-missing-object", ["checkout", "d@v1"], "error", lambda root: _drop_object(root, seq=1)),
    Case("tag-reserved-name", ["tag", "d@v1", "v2"], "error", code=2),
    Case("tag-shell-metachar", ["tag", "d@v1", "x;touch pwned"], "error", code=2),
    Case("revert-unknown-batch", ["revert", "deadbeef"], "error"),
    Case("rollback-unknown-ref", ["rollback", "d", "--to", "v42", "-m", "x"], "error"),
    # -- run / exp / repository ----------------------------------------------------------------
    Case("run-bad-stage-name", ["run", "-n", "a b", "-o", "o.txt", "--", "true"], "error", code=2),
    Case("run-failing-command", ["run", "-n", "s", "-o", "data/o.txt", "--", "false"], "error"),
    Case("exp-bad-name", ["exp", "record", "../x"], "error", code=2),
    Case("no-such-directory", ["-C", "/nonexistent/dir", "log"], "error"),
]


def _drop_object(root: Path, seq: int) -> None:
    from dslineage import dvcio

    with Repo(root) as repo:
        md5 = next(v["md5"] for v in repo.log("d") if v["seq"] == seq)
    dvcio.cache_path(root, md5).unlink()


@pytest.fixture(scope="module")
def template(module_env: Path) -> Path:
    """`d` committed as v1 and v2 (each case runs on a copy)."""
    return base_repo(module_env / "tpl", versions=2)


def _log(root: Path) -> Any:
    with Repo(root) as repo:
        return repo.log()


def _problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def test_corpus_is_big_enough():
    """At least 40 cases, with unique names, across the commands."""
    assert len(CASES) >= 40 and len({c.name for c in CASES}) == len(CASES)
    assert len({c.argv[0] for c in CASES}) >= 12


SLOW_CASES = {"ten-mb-field"}  # pytest -m "not slow" leaves these out


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.slow) if c.name in SLOW_CASES else c for c in CASES],
    ids=[c.name for c in CASES],
)
def test_corpus_case(case: Case, template: Path, tmp_path: Path):
    """Works correctly, or: one line, non-zero exit, no traceback, nothing changed."""
    root = copy_repo(template, tmp_path / "repo")
    if case.setup:
        case.setup(root)
    before, log_before = snapshot_state(root), _log(root)
    argv = case.argv if case.argv[0] == "-C" else ["-C", str(root), *case.argv]
    result = invoke(None, *argv)
    lines = _problem_lines(result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert not any(line.startswith("error: unexpected ") for line in lines), lines  # an unhandled bug
    failed = result.exit_code != 0
    if case.expect == "ok" or (case.expect == "either" and not failed):
        assert not failed, (result.exit_code, result.stderr)
        if case.check:
            case.check(root)
        return
    assert failed, f"{case.name} should have been refused: {result.stdout[-300:]}"
    if case.code is not None:
        assert result.exit_code == case.code, (result.exit_code, result.stderr)
    if result.exit_code != 2:  # usage errors come from the argument parser, in its format
        assert len(lines) == 1 and lines[0].startswith("error: "), lines
    if case.message:
        assert case.message in result.stderr, result.stderr
    assert snapshot_state(root) == before
    assert _log(root) == log_before
    assert not (root / "pwned").exists()
