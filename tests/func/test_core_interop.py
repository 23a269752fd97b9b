"""Interop: after dslineage the repo is a plain git + DVC repo, and clones work from the journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dslineage import Repo, dvcio
from dslineage.errors import MissingDataError
from tests.support import cli_json, invoke, md5, new_repo, run, write_parquet

CLEAN = "Data and pipelines are up to date."


@pytest.fixture(scope="module")
def pushed(module_env: Path) -> dict[str, object]:
    """A repo with a local-directory DVC remote: `train` v1, v2 (relabel 5), v3 (add 20), all pushed."""
    root = new_repo(module_env / "origin")
    remote = module_env / "dvc-remote"
    run(root, "dvc", "remote", "add", "-d", "store", str(remote))
    run(root, "git", "commit", "-q", "-m", "DVC remote", ".dvc/config")
    path = root / "data" / "train.parquet"
    repo = Repo(root)
    ids = list(range(10))
    labels = ["cat" if i % 2 else "dog" for i in ids]
    md5s = []
    for seq in (1, 2, 3):
        if seq == 2:
            labels[5] = "bird"
        if seq == 3:
            ids, labels = ids + [20], labels + ["fish"]
        write_parquet(path, {"id": ids, "x": [float(i) for i in ids], "label": labels})
        if seq == 1:
            repo.track(str(path), ["id"], ["label"])
        repo.commit(["train"], f"version {seq}", None)
        md5s.append(md5(path))
    pushed = run(root, "dvc", "push", "--all-commits", "-q", check=False)
    assert pushed.returncode == 0, pushed.stderr
    return {"root": root, "remote": remote, "md5s": md5s}


@pytest.mark.slow
def test_dvc_status_clean_and_dvc_diff_sees_modified(pushed):
    """`dvc status` is clean after commits and `dvc diff HEAD~1` lists the dataset as modified."""
    root = pushed["root"]
    assert run(root, "dvc", "status").stdout.strip() == CLEAN
    out = json.loads(run(root, "dvc", "diff", "--json", "HEAD~1").stdout)
    assert [m["path"] for m in out["modified"]] == ["data/train.parquet"]
    assert not out.get("added") and not out.get("deleted")
    assert run(root, "git", "status", "--porcelain").stdout == ""


@pytest.mark.slow
def test_dvcfile_is_exactly_what_dvc_add_writes(pushed, tmp_path):
    """The `.dvc` file dslineage commits equals the one plain `dvc add` writes for the same bytes."""
    root = pushed["root"]
    other = tmp_path / "plain"
    other.mkdir()
    run(other, "git", "init", "-q")
    dvcio.init(other)  # DVC's own init, in process; the add below is the real CLI
    (other / "data").mkdir()
    (other / "data" / "train.parquet").write_bytes((root / "data" / "train.parquet").read_bytes())
    run(other, "dvc", "add", "-q", "data/train.parquet")
    assert (other / "data" / "train.parquet.dvc").read_text() == (root / "data" / "train.parquet.dvc").read_text()
    assert (other / "data" / ".gitignore").read_text() == (root / "data" / ".gitignore").read_text()


@pytest.mark.slow
def test_git_checkout_then_dvc_checkout_restores_old_bytes(pushed, tmp_path):
    """Plain `git checkout <rev> && dvc checkout` restores each version's bytes (md5 check)."""
    root = pushed["root"]
    work = tmp_path / "work"
    run(root, "git", "clone", "-q", str(root), str(work))
    (work / ".dvc" / "config.local").write_text(f"[cache]\n    dir = {root / '.dvc' / 'cache'}\n")
    versions = list(reversed(Repo(work).log("train")))
    for v, expected in zip(versions[::2], pushed["md5s"][::2]):  # v1, then back to v3
        run(work, "git", "checkout", "-q", v["git_commit"])
        run(work, "dvc", "checkout", "-q", "--force")
        assert md5(work / "data" / "train.parquet") == expected == v["md5"]
        assert [e["seq"] for e in Repo(work).log("train")] == list(range(v["seq"], 0, -1))
        assert Repo(work).status()[0]["dirty"] is False


def _fresh_clone(pushed: dict[str, object], dest: Path) -> Path:
    """`git clone` + `dvc pull` (of HEAD only: the latest data)."""
    run(pushed["root"], "git", "clone", "-q", str(pushed["root"]), str(dest))
    pulled = run(dest, "dvc", "pull", "-q", check=False)
    assert pulled.returncode == 0, pulled.stderr
    return dest


def _cache_objects(root: Path) -> set[str]:
    base = root / ".dvc" / "cache" / "files" / "md5"
    return {p.parent.name + p.name for p in base.glob("*/*")} if base.exists() else set()


@pytest.mark.slow
def test_fresh_clone_log_history_label_diff_and_checkout(pushed, tmp_path):
    """A clone that pulled only the latest data has log and history without fetching; checkout and
    diff of older versions fetch their bytes from the DVC remote only when rows are asked for."""
    clone = _fresh_clone(pushed, tmp_path / "clone")
    assert _cache_objects(clone) == {pushed["md5s"][2]}
    log = cli_json(clone, "log", "train")
    assert [(e["seq"], e["rows"], e["label_changes"]) for e in log] == [(3, 11, 0), (2, 10, 1), (1, 10, 0)]
    assert [e["id"] for e in log] == [e["id"] for e in Repo(pushed["root"]).log("train")]
    h = cli_json(clone, "history", "train", "5")
    assert [(e["seq"], e["change"], e["labels"]["label"]) for e in h["events"]] == [
        (1, "added", "cat"),
        (2, "relabeled", "bird"),
    ]
    assert [(e["seq"], e["change"]) for e in cli_json(clone, "history", "train", "20")["events"]] == [(3, "added")]
    assert cli_json(clone, "show", "train@v1")["class_distribution"] == {
        "label": [{"label": "cat", "count": 5}, {"label": "dog", "count": 5}]
    }
    assert _cache_objects(clone) == {pushed["md5s"][2]}  # nothing was fetched for that
    Repo(clone).checkout("train@v1")  # fetches v1
    assert md5(clone / "data" / "train.parquet") == pushed["md5s"][0]
    assert run(clone, "dvc", "status").stdout.strip() == CLEAN
    d = cli_json(clone, "diff", "train@v1", "train@v2")  # exact from the change sets: fetches nothing
    assert d["label_transitions"] == [{"column": "label", "from": "cat", "to": "bird", "count": 1}]
    assert d["rows"]["relabeled"] == 1 and d["rows"]["unchanged"] == 9 and d["exact"] is True
    assert _cache_objects(clone) == {pushed["md5s"][0], pushed["md5s"][2]}
    d = cli_json(clone, "diff", "train@v1", "train@v2", "--rows", "3")  # fetches v2 for the rows shown
    assert d["rows"]["relabeled"] == 1 and len(d["sample"]) == 1 and d["exact"] is True
    assert _cache_objects(clone) == set(pushed["md5s"])


@pytest.mark.slow
def test_fresh_clone_without_remote_label_diff_from_journal(pushed, tmp_path):
    """Without the remote: history and label diffs of old versions come from the journal; row dumps
    and checkout, which need the bytes, fail in one line naming the missing object."""
    clone = _fresh_clone(pushed, tmp_path / "clone")
    run(clone, "dvc", "remote", "remove", "store")
    assert [e["change"] for e in Repo(clone).history("train", "5")["events"]] == ["added", "relabeled"]
    d = cli_json(clone, "diff", "train@v1", "train@v2")
    assert d["source"] == "journal"
    assert d["label_transitions"] == [{"column": "label", "from": "cat", "to": "bird", "count": 1}]
    assert d["rows"] == {"added": 0, "removed": 0, "modified": 1, "relabeled": 1, "unchanged": 9}
    assert {(c["label"], c["a"], c["b"]) for c in d["class_distribution"]} == {
        ("cat", 5, 4),
        ("dog", 5, 5),
        ("bird", 0, 1),
    }
    back = cli_json(clone, "diff", "train@v3", "train@v1")
    assert back["rows"] == {"added": 0, "removed": 1, "modified": 1, "relabeled": 1, "unchanged": 9}
    assert back["label_transitions"] == [{"column": "label", "from": "bird", "to": "cat", "count": 1}]
    shown = invoke(clone, "diff", "train@v1", "train@v2")
    assert shown.exit_code == 0 and "cat" in shown.stdout
    assert "journal" not in shown.stderr  # exact from the change sets: nothing to warn about
    with pytest.raises(MissingDataError, match=pushed["md5s"][0]):
        Repo(clone).diff("train@v1", "train@v2", rows=5)
    with pytest.raises(MissingDataError, match="missing.*dvc") as err:
        Repo(clone).checkout("train@v1")
    assert "\n" not in str(err.value)
    assert md5(clone / "data" / "train.parquet") == pushed["md5s"][2]
