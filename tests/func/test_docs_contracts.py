"""The JSON contracts page (docs/json.md) lists keys the commands really emit: the core commands run on a real
git + DVC repository and each key the page guarantees for them must be in their `--json` output."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import dslineage.cli

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())  # any test tier
JSON_PAGE = (ROOT / "docs" / "json.md").read_text(encoding="utf-8")


def _contract(command: str) -> set[str]:
    """The keys docs/json.md lists for `command` (e.g. "diff --json"): quoted names in its first bullet's code
    spans, leaving out quoted values (`"change": "added"|"removed"`); upper case is a placeholder (`"old.COL"`)."""
    m = re.search(rf"^\* `{re.escape(command)}`(.*?)(?=^\* |^\*\*|^#|\Z)", JSON_PAGE, re.M | re.S)
    assert m, f"docs/json.md has no bullet for `{command}`"
    keys: set[str] = set()
    for span in re.findall(r"`([^`]+)`", m.group(1)):
        for k in re.finditer(r'(?<![:|] )(?<!\|)"([A-Za-z_][\w.]*)"(?!\s*\|)', span):
            keys.add(k.group(1))
    return keys


def _keys(obj: Any) -> set[str]:
    """Every dict key at any depth of a JSON value."""
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in _keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in _keys(v)}
    return set()


def _json(root: Path, *args: str) -> Any:
    """Run `dslineage -C root ARGS --json` in-process; check it succeeded; parse its stdout."""
    from typer.testing import CliRunner

    cwd = os.getcwd()
    try:
        result = CliRunner().invoke(dslineage.cli.app, ["-C", str(root), *args, "--json"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, (args, result.exit_code, result.stderr, result.exception)
    return json.loads(result.stdout)


def test_json_contracts_page_matches_what_commands_emit(tmp_repo: Path) -> None:
    """Each key docs/json.md lists for track, status, diff, commit, log, show, history, relabel, blame, tag,
    checkout and rollback appears in that command's real `--json` output (keys listed are guaranteed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def write(ids: list[int], xs: list[float], labels: list[str]) -> None:
        path = tmp_repo / "data" / "train.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        pq.write_table(pa.table({"id": ids, "x": xs, "label": labels}), tmp)
        tmp.replace(path)  # never in place: DVC may hard-link the old file into its cache

    write([1, 2, 3, 4], [1.0, 2.0, 3.0, 4.0], ["cat", "dog", "cat", "dog"])
    emitted: dict[str, set[str]] = {}

    def record(contract: str, *args: str) -> None:
        emitted.setdefault(contract, set()).update(_keys(_json(tmp_repo, *args)))

    record("track --json", "track", "data/train.parquet", "--key", "id", "--label", "label")
    record("commit --json", "commit", "-m", "first")
    write([1, 2, 3, 5], [1.0, 2.0, 9.0, 5.0], ["cat", "cat", "cat", "bird"])
    record("status --json", "status")
    record("diff --json", "diff", "train@v1", "--rows", "5", "--output", "changes.parquet")
    record("commit --json", "commit", "-m", "edit")
    record("diff --json", "diff", "train@v1", "train@v2")
    record("relabel --json", "relabel", "train", "--set", "1=dog", "--reason", "check")
    record("log --json", "log", "train")
    record("show NAME@REF --json", "show", "train@v2")
    record("history --json", "history", "train", "1")
    record("history --json", "history", "train", "2")
    record("blame --json", "blame", "train")
    record("tag --json", "tag", "train@v1", "first")
    record("checkout --json", "checkout", "train@v1")
    record("checkout --json", "checkout", "train@latest")
    record("rollback --json", "rollback", "train", "--to", "v1", "-m", "back")
    optional = {  # keys the page itself says appear only in cases this repository does not have
        "commit --json": {"checks", "no_verify"},  # datasets with rules in checks.yaml
        "relabel --json": {"transitions_by_column"},  # several label columns
        "rollback --json": {"note"},  # a rollback to identical content
    }
    for contract, keys in emitted.items():
        missing = {
            k
            for k in _contract(contract) - optional.get(contract, set())
            if not any(re.fullmatch(re.sub(r"[A-Z]+", "[^.]+", re.escape(k)), e) for e in keys)
        }
        assert not missing, f"docs/json.md lists keys for `{contract}` that it does not emit: {sorted(missing)}"
