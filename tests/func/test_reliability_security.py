"""Security: hostile column names, keys and labels through every SQL path; every path
confined to the repository (also against a forged registration, journal record or `.dvc`
file in a cloned repo); no secret written to the journal, index or git; `run` passes its
arguments literally, never through a shell's interpretation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from dslineage import Repo, journal
from tests.support import invoke, new_repo, run, snapshot_state, write_parquet
from tests.support.reliability import base_repo

K = 'k"; DROP TABLE versions; --'
L = "l'); DROP TABLE records; --"
X = 'x" OR 1=1 --'
U = "naïve ünïcode 列"
KEYS = ["a'; DROP TABLE versions; --", 'b"); --', "c OR 1=1", "猫 🐈", "e$(touch pwned)", "f`touch pwned`"]
LABELS = ["cat", "dog'; DELETE FROM versions; --", '"; DROP TABLE tags; --', "鳥"]


def hostile(keys: list[str], labels: list[str], xs: list[float]) -> dict[str, list[Any]]:
    """A table whose every column name, key and label is an injection attempt."""
    return {K: keys, L: labels, X: xs, U: [f"{k}-u" for k in keys]}


def cli(root: Path, *args: str) -> Any:
    """Run a command through the CLI; it must succeed."""
    result = invoke(root, *args)
    assert result.exit_code == 0, (args, result.stderr, result.exception)
    return result


def cli_json(root: Path, *args: str) -> Any:
    """Run a `--json` command through the CLI; it must succeed."""
    return json.loads(cli(root, *args, "--json").stdout)


@pytest.mark.slow
def test_hostile_names_through_every_sql_path(tmp_path: Path):
    """Columns, keys and labels built to break quoting, in a repo whose own path has quotes:
    track, commit, diff (sample, output, JSON), history, status, show, log, relabel, blame,
    batches, revert, rollback, checkout, tag, check, audit, drift all answer correctly."""
    root = new_repo(tmp_path / 'it\'s "odd"; dir')
    path = root / "data" / "h.parquet"
    labels = [LABELS[i % 4] for i in range(len(KEYS))]
    write_parquet(path, hostile(KEYS, labels, [1.0] * len(KEYS)))
    cli(root, "track", "data/h.parquet", "-k", K, "-l", L)
    cli(root, "commit", "-m", "v1")
    v2 = hostile(KEYS[1:] + ["new'key"], [LABELS[2]] + labels[2:] + [LABELS[3]], [1.0, 5.0] + [1.0] * 4)
    write_parquet(path, v2)
    assert cli_json(root, "status")[0]["rows"] == {"added": 1, "removed": 1, "modified": 2}
    cli(root, "commit", "-m", "v2")
    d = cli_json(root, "diff", "h@v1", "h@v2", "--rows", "10")
    assert {k: d["rows"][k] for k in ("added", "removed", "modified", "unchanged")} == {
        "added": 1,
        "removed": 1,
        "modified": 2,
        "unchanged": 3,
    }
    assert d["columns"] == {L: 1, X: 1}
    assert d["label_transitions"] == [{"column": L, "from": LABELS[1], "to": LABELS[2], "count": 1}]
    out = root / "out'; DROP TABLE x; --.parquet"
    cli(root, "diff", "h@v1", "h@v2", "--output", str(out))
    assert sorted(pq.read_table(out).column(K).to_pylist()) == sorted([KEYS[0], KEYS[1], KEYS[2], "new'key"])
    events = cli_json(root, "history", "h", KEYS[1])["events"]
    assert [(e["change"], e["labels"][L]) for e in events] == [("added", LABELS[1]), ("relabeled", LABELS[2])]
    assert cli_json(root, "history", "h", "--key-value", f"{K}={KEYS[3]}")["events"][0]["change"] == "added"
    shown = cli_json(root, "show", "h@v2")
    assert {c["name"] for c in shown["schema"]} == {K, L, X, U}
    cli(root, "relabel", "h", "--set", f"{KEYS[3]}={LABELS[1]}", "--reason", "'); DROP TABLE x; --")
    assert dict(zip(*pq.read_table(path).select([K, L]).to_pydict().values()))[KEYS[3]] == LABELS[1]
    blame = cli_json(root, "blame", "h")
    assert {r["key"][K]: r["label"] for r in blame["rows"]}[KEYS[3]] == LABELS[1]
    batch = cli_json(root, "batches", "h")[0]["id"]
    cli(root, "revert", batch, "-m", "undo")
    cli(root, "rollback", "h", "--to", "v1", "-m", "back")
    cli(root, "checkout", "h@v2", "--force")
    cli(root, "tag", "h@v2", "t-1")
    rules = root / ".dslineage" / "checks.yaml"
    rules.write_text(
        json.dumps(
            {
                "h": {
                    "allowed_labels": LABELS,
                    "unique_key": True,
                    "ranges": {X: {"min": 0, "max": 10}},
                    "max_null_fraction": {U: 0},
                }
            }
        )
    )
    assert cli_json(root, "check", "h@v2")["passed"] is True
    cli(root, "audit", "h@v2")
    drift = invoke(root, "drift", "h@v1", "h@v2", "--json")  # exit 3 means "drift over a threshold"
    assert drift.exit_code in (0, 3) and "error" not in drift.stderr and json.loads(drift.stdout)
    with Repo(root) as repo:
        assert [v["seq"] for v in repo.log("h")] == [5, 4, 3, 2, 1]  # v1, v2, relabel, revert, rollback
        assert repo.fsck()["problems"] == []
    assert not list(root.rglob("pwned")) and not list(tmp_path.rglob("pwned"))


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A file outside the repository that must never be read."""
    p = tmp_path / "secret.csv"
    p.write_text("id,label\n1,TOP-SECRET-ROW\n")
    return p


@pytest.mark.slow
@pytest.mark.parametrize("path", ["../secret.csv", "/etc/passwd", "data/../../secret.csv", "link/secret.csv"])
def test_forged_registration_cannot_point_outside(tmp_path: Path, secret_file: Path, path: str):
    """A registration (from a cloned repo) pointing outside — by ../, absolutely, or through a
    symlinked folder — is refused by every command with one line, and fsck names it."""
    root = base_repo(tmp_path / "repo")
    (root / "link").symlink_to(tmp_path, target_is_directory=True)
    reg = root / ".dslineage" / "datasets" / "evil.yaml"
    reg.write_text(f"name: evil\npath: '{path}'\nformat: csv\nkey: [id]\nlabels: [label]\n")
    before = snapshot_state(root)
    for args in (["status"], ["commit", "evil", "-m", "x"], ["diff", "evil@v1"], ["history", "evil", "1"]):
        result = invoke(root, *args)
        assert result.exit_code == 1, (args, result.stdout)
        assert result.stderr.count("\n") == 1 and "evil.yaml points outside the work tree" in result.stderr
        assert "TOP-SECRET" not in result.stdout + result.stderr
    fsck = invoke(root, "fsck", "--json")
    assert fsck.exit_code == 1 and "registration" in {p["check"] for p in json.loads(fsck.stdout)["problems"]}
    assert snapshot_state(root) == before


@pytest.mark.slow
def test_forged_journal_and_dvc_file_cannot_read_outside(tmp_path: Path):
    """A journal record naming a change set `../../x.parquet`, or an md5 that is a path: the
    index never reads outside the journal folder; commands refuse with one line."""
    root = base_repo(tmp_path / "repo", versions=2)
    outside = tmp_path / "outside.parquet"
    write_parquet(outside, {"change": ["added"], "k0": [424242], "o0": [None], "n0": ["STOLEN"]})
    folder = journal.folder(root)
    name = next(n for n in journal.list_files(root) if json.loads((folder / n).read_text()).get("seq") == 2)
    rec = json.loads((folder / name).read_text())
    rec["changes"]["file"] = "../../../outside.parquet"
    (folder / name).write_text(json.dumps(rec))
    with Repo(root) as repo:
        repo.reindex()
        assert "STOLEN" not in json.dumps(repo.index.records("version"))
        problems = repo.fsck()["problems"]
    result = invoke(root, "history", "d", "424242")
    assert result.exit_code != 0 and "STOLEN" not in result.stdout
    assert any("unsafe change set" in p["message"] for p in problems)
    v1 = next(n for n in journal.list_files(root) if json.loads((folder / n).read_text()).get("seq") == 1)
    rec1 = json.loads((folder / v1).read_text())
    rec1["md5"] = "../../../../../../../../../../etc/passwd"
    (folder / v1).write_text(json.dumps(rec1))
    Repo(root).reindex()
    before = snapshot_state(root)
    for args in (["checkout", "d@v1", "--force"], ["diff", "d@v1"], ["show", "d@v1"]):
        result = invoke(root, *args)
        assert "root:" not in result.stdout and "Traceback" not in result.stderr
        if result.exit_code:
            assert result.stderr.count("\n") == 1 and "is not an md5" in result.stderr, result.stderr
    assert invoke(root, "checkout", "d@v1", "--force").exit_code == 1
    assert snapshot_state(root) == before


SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "SECRET-ENV-6f1c2",
    "GITHUB_TOKEN": "ghp_SECRETTOKEN9d8e",
    "DSLINEAGE_SECRET_TEST": "SECRET-DSL-77ab",
}
REMOTE_SECRET = "SECRET-REMOTE-3c4d"


@pytest.mark.slow
def test_no_secret_reaches_journal_index_or_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Secret environment variables and DVC remote credentials (config.local) appear nowhere
    in the journal, the index or git after commit, relabel, run, exp record, check and tag."""
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    root = base_repo(tmp_path / "repo")
    run(root, "dvc", "remote", "add", "-d", "store", "https://example.invalid/dvc-store")
    run(root, "dvc", "remote", "modify", "--local", "store", "password", REMOTE_SECRET)
    run(root, "git", "add", ".dvc/config")
    run(root, "git", "commit", "-q", "-m", "remote")
    write_parquet(root / "data" / "d.parquet", {"id": [0, 1], "x": [0.0, 1.0], "label": ["a", "b"]})
    cli(root, "commit", "-m", "v2")
    cli(root, "relabel", "d", "--set", "1=c")
    script = "import os, shutil; shutil.copyfile('data/d.parquet', 'data/out.parquet')"
    cli(root, "run", "-n", "copy", "-d", "data/d.parquet", "-o", "data/out.parquet", "--", sys.executable, "-c", script)
    (root / "params.yaml").write_text("lr: 0.1\n")
    cli(root, "exp", "record", "e1")
    cli(root, "tag", "d@v2", "good")
    cli(root, "audit", "d@v2")
    texts = [p.read_bytes().decode("utf-8", "replace") for p in journal.folder(root).iterdir() if p.is_file()]
    con = duckdb.connect(str(root / ".dslineage" / "index.duckdb"), read_only=True)
    for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
        texts.append(json.dumps(con.execute(f'SELECT * FROM "{table}"').fetchall(), default=str))
    con.close()
    texts.append(run(root, "git", "log", "-p", "--all").stdout)
    texts += [(root / f).read_text() for f in ("dvc.yaml", "dvc.lock")]
    blob = "\n".join(texts)
    for secret in [*SECRETS.values(), REMOTE_SECRET]:
        assert secret not in blob
    assert SECRETS["AWS_SECRET_ACCESS_KEY"] not in json.dumps(cli_json(root, "log"))


@pytest.mark.slow
def test_run_passes_arguments_literally(tmp_path: Path):
    """`run -- ARGS...` with shell metacharacters: the command gets them verbatim (DVC runs
    the stage through a shell, so dslineage quotes each word); nothing is executed."""
    root = base_repo(tmp_path / "repo")
    words = ["$(touch pwned1)", "`touch pwned2`", "; touch pwned3", "a && touch pwned4", "|", "'\"", "*"]
    script = "import json, sys; open('data/args.json', 'w').write(json.dumps(sys.argv[1:]))"
    cli(root, "run", "-n", "echo", "-o", "data/args.json", "--", sys.executable, "-c", script, *words)
    assert json.loads((root / "data" / "args.json").read_text()) == words
    assert not list(root.glob("pwned*"))
    repro = subprocess.run([sys.executable, "-m", "dvc", "repro", "-f", "-q"], cwd=root, capture_output=True)
    assert repro.returncode == 0 and not list(root.glob("pwned*"))
