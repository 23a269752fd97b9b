"""Version references: NAME@vN, @latest[~N], id prefixes, git revs and tags; errors list candidates."""

from __future__ import annotations

from pathlib import Path

import pytest

from dslineage import Repo
from dslineage.errors import RefError
from tests.support import new_repo, run, write_parquet


@pytest.fixture(scope="module")
def three(module_env: Path) -> Path:
    """A shared repo: `train` v1, v2, v3 (one git commit each), v1 tagged `baseline`, git tag `gv2`."""
    root = new_repo(module_env / "refs")
    path = root / "data" / "train.parquet"
    repo = Repo(root)
    for seq in (1, 2, 3):
        write_parquet(path, {"id": [1, 2, 3], "label": ["a", "b", "c" * seq]})
        if seq == 1:
            repo.track(str(path), ["id"], ["label"])
        repo.commit(["train"], f"version {seq}", None)
        if seq == 2:
            run(root, "git", "tag", "gv2")
    repo.tag("train@v1", "baseline")
    return root


def _seq(root: Path, ref: str) -> int:
    return int(Repo(root).resolve(ref)["seq"])


@pytest.mark.parametrize(
    ("ref", "seq"),
    [
        ("train@v1", 1),
        ("train@v3", 3),
        ("train@latest", 3),
        ("train", 3),
        ("train@latest~1", 2),
        ("train@latest~2", 1),
        ("train@latest~", 2),
        ("train@v3~2", 1),
        ("train@baseline", 1),
        ("train@baseline~0", 1),
        ("train@gv2", 2),
        ("train@main", 3),
    ],
)
def test_named_refs(three, ref, seq):
    """Sequence numbers, latest with ~N, bare names, dslineage tags, git tags and branches resolve."""
    assert _seq(three, ref) == seq


def test_id_prefix_and_full_id(three):
    """A version resolves by its full id and by any unique prefix of 4 or more hex digits."""
    repo = Repo(three)
    for v in repo.log("train"):
        assert repo.resolve(f"train@{v['id']}")["seq"] == v["seq"]
        assert repo.resolve(f"train@{v['id'][:12]}")["seq"] == v["seq"]


def test_git_revs(three):
    """A git sha, short sha and HEAD-relative rev name the version current at that commit."""
    repo = Repo(three)
    for v in repo.log("train"):
        assert repo.resolve(f"train@{v['git_commit']}")["seq"] == v["seq"]
        assert repo.resolve(f"train@{v['git_commit'][:8]}")["seq"] == v["seq"]
    # HEAD is the tag commit: the dataset is at v3 there; HEAD~1 is v3's own commit
    assert repo.resolve("train@HEAD")["seq"] == 3
    assert repo.resolve("train@HEAD~1")["seq"] == 3
    assert repo.resolve("train@HEAD~2")["seq"] == 2


def test_unknown_ref_lists_candidates(three):
    """An unknown ref is a RefError naming the forms, recent versions and tags."""
    with pytest.raises(RefError) as err:
        Repo(three).resolve("train@v9")
    msg = str(err.value)
    assert "v3, v2, v1" in msg and "baseline" in msg and "\n" not in msg
    with pytest.raises(RefError, match="unknown version"):
        Repo(three).resolve("train@nosuchthing")
    with pytest.raises(RefError, match="past the first version"):
        Repo(three).resolve("train@latest~3")


def test_ref_before_first_version_is_an_error(tmp_repo, make_dataset):
    """A dataset with no versions yet says how to record one."""
    repo = Repo(tmp_repo)
    repo.track(str(make_dataset()), ["id"], ["label"])
    with pytest.raises(RefError, match="no versions yet"):
        repo.resolve("train@latest")


def test_ambiguous_id_prefix_lists_both(tmp_repo, make_dataset, monkeypatch):
    """Two versions whose ids share a prefix: the prefix is ambiguous and both are listed."""
    from dslineage import journal

    real = journal.make_id
    monkeypatch.setattr(journal, "make_id", lambda *parts: "abcd" + real(*parts)[4:])
    path = make_dataset()
    repo = Repo(tmp_repo)
    repo.track(str(path), ["id"], ["label"])
    repo.commit(["train"], "one", None)
    write_parquet(path, {"id": [1], "x": [1.0], "label": ["cat"]})
    repo.commit(["train"], "two", None)
    with pytest.raises(RefError) as err:
        repo.resolve("train@abcd")
    msg = str(err.value)
    assert "ambiguous" in msg and "train@v1" in msg and "train@v2" in msg and "'one'" in msg
    ids = [v["id"] for v in repo.log("train")]
    assert repo.resolve(f"train@{ids[0][:16]}")["seq"] == 2


def test_tag_shadowing_a_git_rev_is_ambiguous(three, tmp_path):
    """A dslineage tag named like a git branch that names another version is ambiguous."""
    clone = tmp_path / "clone"
    run(three, "git", "clone", "-q", str(three), str(clone))
    (clone / ".dvc" / "config.local").write_text(f"[cache]\n    dir = {three / '.dvc' / 'cache'}\n")
    repo = Repo(clone)
    repo.tag("train@v1", "release")
    run(clone, "git", "branch", "release", "HEAD~1")  # a git branch where train is at v3
    with pytest.raises(RefError, match="ambiguous.*train@v1.*train@v3"):
        repo.resolve("train@release")
