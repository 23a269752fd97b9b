"""Issue 16 item 4: bad directory datasets are refused with one line naming the problem and
the fix, a non-zero exit, no traceback and nothing changed (real git, real DVC)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support import invoke, refused, write_parquet


def part(root: Path, rel: str, ids: list[int], **extra: list[object]) -> Path:
    """Write `data/ds/REL` with these ids, label 'cat' (and extra columns)."""
    return write_parquet(root / "data" / "ds" / rel, {"id": ids, "label": ["cat"] * len(ids), **extra})


def succeeds(root: Path, *args: str) -> None:
    """Run a CLI command that must succeed."""
    result = invoke(root, *args)
    assert result.exit_code == 0, (result.stderr, result.exception)


def test_mixed_schemas_name_the_first_differing_file(tmp_repo: Path) -> None:
    """A part with another column set is refused at track, naming that part and the first."""
    part(tmp_repo, "split=a/p.parquet", [1, 2])
    part(tmp_repo, "split=b/p.parquet", [3, 4], x=[1.0, 2.0])
    part(tmp_repo, "split=c/p.parquet", [5], x=[1.0])
    err = refused(tmp_repo, "track", "data/ds", "--key", "id", "--label", "label", match="another schema")
    assert "data/ds/split=b/p.parquet" in err and "data/ds/split=a/p.parquet" in err and "split=c" not in err


def test_mixed_schemas_are_refused_at_commit_too(tmp_repo: Path) -> None:
    """A part rewritten with another type after track stops the commit, nothing recorded."""
    part(tmp_repo, "split=a/p.parquet", [1, 2])
    part(tmp_repo, "split=b/p.parquet", [3, 4])
    succeeds(tmp_repo, "track", "data/ds", "--key", "id", "--label", "label")
    write_parquet(tmp_repo / "data" / "ds" / "split=b" / "p.parquet", {"id": ["3", "4"], "label": ["cat", "dog"]})
    err = refused(tmp_repo, "commit", "-m", "v1", match="another schema")
    assert "split=b/p.parquet" in err


def test_duplicate_keys_across_partitions_give_count_and_examples(tmp_repo: Path) -> None:
    """Keys unique within each part but repeated across parts: the count and a few examples."""
    part(tmp_repo, "split=a/p.parquet", [1, 2, 3, 4])
    part(tmp_repo, "split=b/p.parquet", [3, 4, 5])
    err = refused(tmp_repo, "track", "data/ds", "--key", "id", "--label", "label", match="duplicated")
    assert "2 key value(s)" in err and "3 ×2" in err and "4 ×2" in err


def test_a_file_that_is_not_parquet_is_named(tmp_repo: Path) -> None:
    """A stray file (here Spark's _SUCCESS marker) is refused with its path and the fix."""
    part(tmp_repo, "split=a/p.parquet", [1, 2])
    (tmp_repo / "data" / "ds" / "_SUCCESS").write_text("")
    err = refused(tmp_repo, "track", "data/ds", "--key", "id", "--label", "label", match="not a parquet file")
    assert "data/ds/_SUCCESS" in err and "move it out" in err


def test_a_parquet_named_file_that_is_not_parquet_is_refused(tmp_repo: Path) -> None:
    """A file named .parquet holding text cannot be read: one line naming it."""
    part(tmp_repo, "split=a/p.parquet", [1, 2])
    (tmp_repo / "data" / "ds" / "split=b").mkdir()
    (tmp_repo / "data" / "ds" / "split=b" / "q.parquet").write_text("id,label\n1,cat\n")
    err = refused(tmp_repo, "track", "data/ds", "--key", "id", "--label", "label", match="cannot read")
    assert "split=b/q.parquet" in err


def test_an_empty_directory_is_refused(tmp_repo: Path) -> None:
    """A directory without parquet files (only empty partition folders) is refused."""
    (tmp_repo / "data" / "ds" / "split=a").mkdir(parents=True)
    refused(tmp_repo, "track", "data/ds", "--key", "id", "--label", "label", match="holds no parquet files")


def test_a_symlink_leading_outside_the_repository_is_refused(tmp_repo: Path, tmp_path: Path) -> None:
    """A part that is a link to a file outside the repository is refused, naming it."""
    part(tmp_repo, "split=a/p.parquet", [1, 2])
    outside = write_parquet(tmp_path / "elsewhere.parquet", {"id": [3], "label": ["dog"]})
    (tmp_repo / "data" / "ds" / "split=b").mkdir()
    os.symlink(outside, tmp_repo / "data" / "ds" / "split=b" / "p.parquet")
    err = refused(tmp_repo, "track", "data/ds", "--key", "id", "--label", "label", match="links outside the repository")
    assert "split=b/p.parquet" in err


def test_a_partition_folder_cannot_be_a_label(tmp_repo: Path) -> None:
    """`--label split` where split is a partition folder is refused (relabel cannot move rows)."""
    part(tmp_repo, "split=a/p.parquet", [1, 2])
    refused(tmp_repo, "track", "data/ds", "--key", "id", "--label", "split", match="is a partition folder", code=2)
