"""Adopting existing DVC history: `track` imports earlier `dvc add` + `git commit` versions."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from dslineage import Repo, dvcio
from tests.support import IDENTITY, cli_json, invoke, md5, run, write_parquet

AUTHORS = ["Ada <ada@example.com>", "Bo <bo@example.com>", "Cy <cy@example.com>"]
DATES = ["2021-01-01T10:00:00+00:00", "2021-02-01T10:00:00+00:00", "2021-03-01T10:00:00+00:00"]


def _version(seq: int) -> dict[str, list[Any]]:
    """v1: ids 0..5; v2 relabels 1 and removes 5; v3 relabels 1 again and adds 6."""
    labels = {0: "cat", 1: "dog", 2: "cat", 3: "dog", 4: "cat", 5: "dog"}
    if seq >= 2:
        labels[1] = "bird"
        del labels[5]
    if seq >= 3:
        labels[1] = "fish"
        labels[6] = "cat"
    ids = sorted(labels)
    return {"id": ids, "x": [float(i) for i in ids], "label": [labels[i] for i in ids]}


@pytest.fixture(scope="module")
def plain_dvc(module_env: Path) -> dict[str, Any]:
    """A git + DVC repo (no dslineage) where `dvc add` + `git commit` made three versions."""
    root = module_env / "plain"
    root.mkdir()
    run(root, "git", "init", "-q")
    run(root, "dvc", "init", "-q")
    run(root, "git", "commit", "-q", "-m", "dvc init")
    path = root / "data" / "train.parquet"
    md5s = []
    for seq in (1, 2, 3):
        write_parquet(path, _version(seq))
        dvcio.add(root, "data/train.parquet")  # DVC's own `dvc add`, in process (faster than the CLI)
        run(root, "git", "add", "data/train.parquet.dvc", "data/.gitignore")
        name, email = AUTHORS[seq - 1][:-1].split(" <")
        env_commit = ["-c", f"user.name={name}", "-c", f"user.email={email}"]
        run(
            root,
            "git",
            *env_commit,
            "commit",
            "-q",
            "-m",
            f"data v{seq}",
            f"--date={DATES[seq - 1]}",
            f"--author={AUTHORS[seq - 1]}",
        )
        md5s.append(md5(path))
    return {"root": root, "md5s": md5s}


def _copy(plain_dvc: dict[str, Any], dest: Path) -> Path:
    shutil.copytree(plain_dvc["root"], dest, symlinks=True)
    return dest


@pytest.mark.slow
def test_track_imports_earlier_versions(plain_dvc, tmp_path):
    """Three earlier versions are imported with git's author, message, time and commit."""
    root = _copy(plain_dvc, tmp_path / "repo")
    init = cli_json(None, "init", str(root))
    assert init["git_initialized"] is False and init["dvc_initialized"] is False and init["created"] is True
    r = cli_json(root, "track", "data/train.parquet", "--key", "id", "--label", "label")
    assert len(r["imported_versions"]) == 3 and r["missing_objects"] == []
    log = list(reversed(Repo(root).log("train")))
    commits = run(root, "git", "log", "--reverse", "--format=%H", "--", "data/train.parquet.dvc").stdout.split()
    assert [v["seq"] for v in log] == [1, 2, 3]
    assert [v["author"] for v in log] == AUTHORS
    assert [v["message"] for v in log] == ["data v1", "data v2", "data v3"]
    assert [v["timestamp"][:19] for v in log] == [d[:19] for d in DATES]
    assert [v["git_commit"] for v in log] == commits
    assert [v["md5"] for v in log] == plain_dvc["md5s"]
    assert [v["rows"] for v in log] == [6, 5, 6] and [v["label_changes"] for v in log] == [0, 1, 1]
    assert run(root, "git", "status", "--porcelain").stdout == ""
    # diff and history reach back before dslineage was installed
    d = Repo(root).diff("train@v1", "train@v3")
    assert d["label_transitions"] == [{"column": "label", "from": "dog", "to": "fish", "count": 1}]
    assert d["rows"] == {"added": 1, "removed": 1, "modified": 1, "relabeled": 1, "unchanged": 4}
    h = Repo(root).history("train", "1")
    assert [(e["seq"], e["change"], e["labels"]["label"], e["author"]) for e in h["events"]] == [
        (1, "added", "dog", AUTHORS[0]),
        (2, "relabeled", "bird", AUTHORS[1]),
        (3, "relabeled", "fish", AUTHORS[2]),
    ]
    assert [e["change"] for e in Repo(root).history("train", "5")["events"]] == ["added", "removed"]
    # refs by git rev work for imported versions, and new commits continue the chain
    assert Repo(root).resolve(f"train@{commits[1][:10]}")["seq"] == 2
    write_parquet(root / "data" / "train.parquet", {**_version(3), "label": ["dog"] * 6})
    [v4] = Repo(root).commit(["train"], "dslineage now", None)
    assert (v4["seq"], v4["parent"], v4["author"]) == (4, log[2]["id"], IDENTITY)


@pytest.mark.slow
def test_adopted_ids_are_stable_across_clones(plain_dvc, tmp_path):
    """Imported version ids are the same when another clone adopts the same history."""
    ids = []
    for name in ("a", "b"):
        root = _copy(plain_dvc, tmp_path / name)
        Repo.init(root)
        Repo(root).track(str(root / "data" / "train.parquet"), ["id"], ["label"])
        ids.append([v["id"] for v in Repo(root).log("train")])
    assert ids[0] == ids[1]


def test_missing_cache_object_is_reported(plain_dvc, tmp_path):
    """A version whose cache object was deleted is imported without rows and reported missing."""
    root = _copy(plain_dvc, tmp_path / "repo")
    dvcio.cache_path(root, plain_dvc["md5s"][1]).unlink()
    Repo.init(root)
    result = invoke(root, "track", "data/train.parquet", "--key", "id", "--label", "label")
    assert result.exit_code == 0, result.stderr
    assert "imported 3 earlier version(s)" in result.stderr
    assert f"1 earlier version(s) have no DVC cache object ({plain_dvc['md5s'][1][:10]})" in result.stderr
    log = {v["seq"]: v for v in Repo(root).log("train")}
    assert sorted(log) == [1, 2, 3]
    assert log[2]["rows"] is None and log[2]["changes"]["known"] is False and log[2]["label_changes"] is None
    assert log[1]["rows"] == 6 and log[3]["rows"] == 6
    # v1 → v3 can still be diffed directly; anything needing v2's bytes names the missing object
    assert Repo(root).diff("train@v1", "train@v3")["rows"]["relabeled"] == 1
    from dslineage.errors import MissingDataError

    with pytest.raises(MissingDataError, match=plain_dvc["md5s"][1]):
        Repo(root).diff("train@v2", "train@v3")
