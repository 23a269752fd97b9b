"""Several label columns of one dataset (a class id and its name): one batch edits any set of
them, a declared pair stays one-to-one, and every count is a count of rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from dslineage import Repo
from dslineage.errors import DslineageError
from tests.support import cli_json, invoke, snapshot_state, write_parquet, write_text

NAMES = ["cat", "dog", "bird"]


@pytest.fixture
def pair_repo(tmp_repo: Path) -> Any:
    """`pets` (12 rows: id, x, label 0..2, label_name cat/dog/bird) tracked with both labels, v1 committed."""
    ids = list(range(12))
    write_parquet(
        tmp_repo / "data" / "pets.parquet",
        {
            "id": ids,
            "x": [float(i) for i in ids],
            "label": [i % 3 for i in ids],
            "label_name": [NAMES[i % 3] for i in ids],
        },
    )
    repo = Repo(tmp_repo)
    yield repo
    repo.close()


def _track(repo: Repo, pair: bool = True) -> None:
    repo.track(
        str(repo.root / "data" / "pets.parquet"),
        ["id"],
        ["label", "label_name"],
        **({"label_pairs": ["label=label_name"]} if pair else {}),
    )
    repo.commit(["pets"], "first", None)


def _rows(repo: Repo) -> dict[int, tuple[int, str]]:
    t = pq.read_table(repo.root / "data" / "pets.parquet").to_pylist()
    return {r["id"]: (r["label"], r["label_name"]) for r in t}


def _edits(tmp: Path, rows: list[tuple[int, int, str]], name: str = "edits.csv") -> Path:
    text = "id,label,label_name\n" + "".join(f"{i},{a},{b}\n" for i, a, b in rows)
    return write_text(tmp / name, text)


def test_track_keeps_both_label_columns_and_pair(pair_repo: Repo) -> None:
    """`track --label label --label label_name --label-pair label=label_name` keeps both and the pair."""
    _track(pair_repo)
    ds = pair_repo.dataset("pets")
    assert ds.labels == ["label", "label_name"] and ds.label_pairs == [["label", "label_name"]]


@pytest.mark.slow
def test_relabel_from_file_edits_every_label_column_as_one_batch(pair_repo: Repo, tmp_path: Path) -> None:
    """An edits file with both label columns is applied whole; counts are rows, not cells."""
    _track(pair_repo, pair=False)
    r = pair_repo.relabel(
        "pets", from_file=str(_edits(tmp_path, [(0, 1, "dog"), (1, 2, "bird"), (2, 0, "cat")])), reason="fix"
    )
    assert r["applied"] == 3 and r["columns"] == ["label", "label_name"]
    assert r["by_column"] == {"label": 3, "label_name": 3}
    rows = _rows(pair_repo)
    assert rows[0] == (1, "dog") and rows[1] == (2, "bird") and rows[2] == (0, "cat") and rows[3] == (0, "cat")
    assert pair_repo.log("pets")[0]["changes"]["relabeled"] == 3
    listed = [b for b in pair_repo.batches("pets") if b["id"] in r["batches"]]
    assert sorted(b["column"] for b in listed) == ["label", "label_name"]
    assert all(b["columns"] == ["label", "label_name"] for b in listed)


@pytest.mark.slow
def test_column_refuses_a_file_with_other_label_columns(pair_repo: Repo, tmp_path: Path) -> None:
    """`--column label` with `label_name` in the file is refused unless --ignore-columns."""
    _track(pair_repo, pair=False)
    f = _edits(tmp_path, [(0, 1, "dog")])
    before = snapshot_state(pair_repo.root)
    with pytest.raises(DslineageError, match="label_name.*--ignore-columns"):
        pair_repo.relabel("pets", from_file=str(f), column="label")
    assert snapshot_state(pair_repo.root) == before
    r = pair_repo.relabel("pets", from_file=str(f), column="label", ignore_columns=True)
    assert r["applied"] == 1 and _rows(pair_repo)[0] == (1, "cat")


def test_pair_fills_the_other_column(pair_repo: Repo) -> None:
    """`relabel --set 5=0` on `label` fills `label_name` from the mapping learnt from the data."""
    _track(pair_repo)
    r = pair_repo.relabel("pets", ["5=0"], column="label")
    assert _rows(pair_repo)[5] == (0, "cat")
    assert r["applied"] == 1 and r["by_column"] == {"label": 1, "label_name": 1}


def test_pair_refuses_a_disagreeing_edit(pair_repo: Repo, tmp_path: Path) -> None:
    """An edit giving `label` 1 and `label_name` bird is refused in one line, nothing changed."""
    _track(pair_repo)
    before = snapshot_state(pair_repo.root)
    with pytest.raises(DslineageError, match="label_name") as e:
        pair_repo.relabel("pets", from_file=str(_edits(tmp_path, [(0, 1, "bird")])))
    assert "\n" not in str(e.value)
    assert snapshot_state(pair_repo.root) == before
    with pytest.raises(DslineageError, match="label=label_name"):
        pair_repo.relabel("pets", ["0=horse"], column="label_name")


def test_commit_refuses_a_version_breaking_the_pair(pair_repo: Repo) -> None:
    """A hand-edited file where label and label_name disagree is refused at commit."""
    _track(pair_repo)
    t = pq.read_table(pair_repo.root / "data" / "pets.parquet").to_pydict()
    t["label"][4] = 2  # label_name stays dog
    write_parquet(pair_repo.root / "data" / "pets.parquet", t)
    with pytest.raises(DslineageError, match="label=label_name"):
        pair_repo.commit(["pets"], "bad", None)


def test_old_registration_without_pairs_loads(pair_repo: Repo) -> None:
    """A registration written before pairs existed loads with no pairs."""
    _track(pair_repo, pair=False)
    assert pair_repo.dataset("pets").label_pairs is None


@pytest.mark.slow
def test_revert_counts_rows_like_log(pair_repo: Repo, tmp_path: Path) -> None:
    """`revert NAME@v2` of a version whose rows changed in both columns restores N rows = log's count."""
    _track(pair_repo)
    pair_repo.relabel("pets", from_file=str(_edits(tmp_path, [(0, 1, "dog"), (1, 2, "bird")])))
    dry = pair_repo.revert("pets@v2", dry_run=True)
    assert dry["restored"] == 2 == pair_repo.log("pets")[0]["changes"]["relabeled"]
    assert dry["by_column"] == {"label": 2, "label_name": 2}
    r = pair_repo.revert("pets@v2")
    assert r["restored"] == 2 and _rows(pair_repo)[0] == (0, "cat")


@pytest.mark.slow
def test_revert_batch_reverts_all_its_columns(pair_repo: Repo, tmp_path: Path) -> None:
    """Reverting one batch id of a multi-column relabel undoes every column it edited (pair kept)."""
    _track(pair_repo)
    r = pair_repo.relabel("pets", from_file=str(_edits(tmp_path, [(0, 1, "dog")])))
    out = pair_repo.revert(r["batches"][1])
    assert out["restored"] == 1 and _rows(pair_repo)[0] == (0, "cat")


@pytest.mark.slow
def test_history_names_the_revert_batch_for_every_column(pair_repo: Repo, tmp_path: Path) -> None:
    """history of a row a revert changed names the revert's batch for both columns (not null)."""
    _track(pair_repo)
    r = pair_repo.relabel("pets", from_file=str(_edits(tmp_path, [(0, 1, "dog")])))
    rv = pair_repo.revert("pets@v2")
    ev = pair_repo.history("pets", "0")["events"]
    assert [e["change"] for e in ev] == ["added", "relabeled", "relabeled"]
    assert ev[1]["batch"] in r["batches"] and ev[2]["batch"] in rv["batches"]
    assert {x["column"]: x["batch"] for x in ev[2]["batches"]} == dict(zip(["label", "label_name"], rv["batches"]))


@pytest.mark.slow
def test_blame_credits_the_batch_whose_value_a_revert_restored(pair_repo: Repo, tmp_path: Path) -> None:
    """crowd fix, then a bad batch, then revert of the bad batch: blame credits the crowd batch."""
    _track(pair_repo)
    crowd = pair_repo.relabel(
        "pets", from_file=str(_edits(tmp_path, [(0, 1, "dog")], "crowd.csv")), by="crowd", reason="vote"
    )
    bad = pair_repo.relabel("pets", from_file=str(_edits(tmp_path, [(0, 2, "bird")], "bad.csv")), by="bot")
    pair_repo.revert(bad["batch"])
    for col, bid in zip(["label", "label_name"], crowd["batches"]):
        b = pair_repo.blame("pets", column=col)
        row = [r for r in b["table"].to_pylist() if r["id"] == 0][0]
        assert row["batch"] == bid and row["author"] == "crowd", row
        assert row["restored_by"] is not None
        assert b["by_batch"] == {bid: 1}
        shown = cli_json(pair_repo.root, "blame", "pets", "--column", col)
        assert [(r["batch"], r["restored_by"]) for r in shown["rows"] if r["key"]["id"] == 0] == [
            (bid, row["restored_by"])
        ]
        assert pair_repo.blame("pets", column=col, batch=bid[:10])["total"] == 1  # filters after the credit


@pytest.mark.slow
def test_batches_cli_shows_the_column(pair_repo: Repo, tmp_path: Path) -> None:
    """`batches` names the label column each batch edited; `show BATCH` gives the row count."""
    _track(pair_repo)
    r = pair_repo.relabel("pets", from_file=str(_edits(tmp_path, [(0, 1, "dog")])))
    out = invoke(pair_repo.root, "batches", "pets")
    assert out.exit_code == 0 and "column" in out.stdout  # (cell wrapping at 80 columns: branch ux)
    shown = cli_json(pair_repo.root, "batches", "pets")
    assert {b["column"] for b in shown} == {"label", "label_name"}
    assert all(b["group"] == r["batches"][0] for b in shown)


def test_audit_renders_multi_label_examples(pair_repo: Repo, tmp_path: Path) -> None:
    """audit with two label columns: examples are lists of {label, count}, no raw map text."""
    ids = list(range(6))
    write_parquet(
        pair_repo.root / "data" / "pets.parquet",
        {"id": ids, "x": [1.0] * 6, "label": [0, 0, 1, 0, 0, 1], "label_name": ["cat", "cat", "dog"] * 2},
    )
    _track(pair_repo)
    out = cli_json(pair_repo.root, "audit", "pets", "--on", "x")
    ex = out["conflicting_duplicates"]["examples"][0]
    assert ex["labels"] == [
        {"label": {"label": 0, "label_name": "cat"}, "count": 4},
        {"label": {"label": 1, "label_name": "dog"}, "count": 2},
    ]
    text = invoke(pair_repo.root, "audit", "pets", "--on", "x")
    assert text.exit_code == 0 and "key ×" not in text.stdout and "value ×" not in text.stdout
    assert "label=0/label_name=cat ×4" in text.stdout
    assert json.dumps(out)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_fast_commit_of_several_label_columns_matches_a_full_diff(
    tmp_repo: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relabel of two label columns commits its known change set; it equals what a plain
    `commit` of the same bytes (a full diff) records: counts, columns, distributions, change set."""
    from dslineage.core import common

    n = 60
    cols = {
        "id": list(range(n)),
        "x": [i * 0.5 for i in range(n)],
        "label": [i % 3 for i in range(n)],
        "label_name": [NAMES[i % 3] for i in range(n)],
    }
    paths = {}
    for name in ("fast", "slow"):
        if fmt == "parquet":
            paths[name] = write_parquet(tmp_repo / "data" / f"{name}.parquet", cols)
        else:
            text = "id,x,label,label_name\n" + "".join(
                f"{i},{cols['x'][i]},{cols['label'][i]},{cols['label_name'][i]}\n" for i in range(n)
            )
            paths[name] = write_text(tmp_repo / "data" / f"{name}.csv", text)
    edits = _edits(tmp_repo, [(0, 1, "dog"), (1, 1, "dog"), (5, 0, "cat"), (7, 2, "bird")])
    with Repo(tmp_repo) as repo:
        for name in paths:
            repo.track(str(paths[name]), ["id"], ["label", "label_name"], label_pairs=["label=label_name"])
        repo.commit(None, "v1", None)
        from dslineage.store import rowdiff

        with monkeypatch.context() as m:  # the relabel's commit must not diff the file
            m.setattr(rowdiff, "compare", lambda *a, **k: pytest.fail("relabel re-diffed the file"))
            r = repo.relabel("fast", from_file=str(edits))
        assert r["applied"] == 3  # row 1 already is 1/dog
        paths["slow"].with_name("tmp").write_bytes(paths["fast"].read_bytes())
        paths["slow"].with_name("tmp").replace(paths["slow"])
        repo.commit(["slow"], "same bytes, full diff", None)
        recs = {name: common.current(repo, name) for name in paths}
        shown = {name: repo.show(f"{name}@latest") for name in paths}
        tables = {
            name: pq.read_table(repo.root / ".dslineage" / "journal" / recs[name]["changes_file"]) for name in paths
        }
    keys = ("relabeled", "added", "removed", "modified")
    assert {k: shown["fast"]["changes"][k] for k in keys} == {k: shown["slow"]["changes"][k] for k in keys}
    assert shown["fast"]["changes"].get("columns") == shown["slow"]["changes"].get("columns")
    assert shown["fast"]["class_distribution"] == shown["slow"]["class_distribution"]

    def content(t: Any) -> list[Any]:
        c = ["change", "k0", "o0", "o1", "n0", "n1"]
        return sorted(tuple(r[k] for k in c) for r in t.select(c).to_pylist())

    assert content(tables["fast"]) == content(tables["slow"])
    assert recs["fast"]["md5"] == recs["slow"]["md5"]


@pytest.mark.slow
def test_cli_label_pair_column_refusal_and_row_counts(pair_repo: Repo, tmp_path: Path) -> None:
    """CLI: `track --label-pair`, `relabel --column` refused in one line (exit 2), then
    `--ignore-columns` (the pair fills the other column); `revert --dry-run` counts rows like `log`."""
    root = pair_repo.root
    res = invoke(
        root,
        "track",
        "data/pets.parquet",
        "--key",
        "id",
        "--label",
        "label",
        "--label",
        "label_name",
        "--label-pair",
        "label=label_name",
    )
    assert res.exit_code == 0 and "label=label_name" in res.stdout + res.stderr
    assert invoke(root, "commit", "pets", "-m", "v1").exit_code == 0
    f = _edits(tmp_path, [(0, 1, "dog"), (3, 2, "bird")])
    res = invoke(root, "relabel", "pets", "--from", str(f), "--column", "label")
    assert res.exit_code == 2 and "--ignore-columns" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    # --ignore-columns: only `label` is read from the file; the pair fills `label_name`
    out = cli_json(root, "relabel", "pets", "--from", str(f), "--column", "label", "--ignore-columns")
    assert out["applied"] == 2 and out["by_column"] == {"label": 2, "label_name": 2}
    assert _rows(pair_repo)[3] == (2, "bird")
    log = cli_json(root, "log", "pets")
    res = invoke(root, "revert", "pets@v2", "--dry-run")
    assert res.exit_code == 0 and f"would restore {log[0]['changes']['relabeled']} row(s)" in res.stdout
    assert "would restore 2 row(s)" in res.stdout


@pytest.mark.slow
def test_no_commit_batch_of_several_columns_travels_with_the_next_commit(pair_repo: Repo, tmp_path: Path) -> None:
    """`relabel --no-commit` of both label columns: both records pending, then one commit carries
    them; `show BATCH` of either names the columns edited together."""
    _track(pair_repo)
    r = pair_repo.relabel("pets", from_file=str(_edits(tmp_path, [(0, 1, "dog"), (4, 0, "cat")])), commit=False)
    assert r["version"] is None and r["applied"] == 2
    assert {b["state"] for b in pair_repo.batches("pets")} == {"pending"}
    v = pair_repo.commit(["pets"], "crowd fixes", None)[0]
    assert {(b["state"], b["version"]) for b in pair_repo.batches("pets")} == {("committed", v["id"])}
    shown = pair_repo.batch(r["batches"][1][:10])
    assert shown["columns"] == ["label", "label_name"] and shown["group"] == r["batches"][0]
    assert shown["rows"] == 2 and [e["new"] for e in shown["edits"]] == ["dog", "cat"]
