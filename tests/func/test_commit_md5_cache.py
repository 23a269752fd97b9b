"""After `dvc add` relinks the working file from the cache, a commit leaves its md5 cached under
the file's new stat: the next command does not hash the whole file again."""

from __future__ import annotations

from typing import Any

from dslineage.core import common


def test_committed_file_md5_is_cached_for_its_new_stat(committed: Any) -> None:
    """Right after a commit (and after a relabel's commit) the working file's md5 is known without
    hashing, and it is the md5 the version records."""
    ds = committed.dataset("train")
    assert common.known_md5(committed, ds) == common.current(committed, "train")["md5"]
    committed.relabel("train", {"3": "dog"}, by="t", reason="r")
    assert common.known_md5(committed, ds) == common.current(committed, "train")["md5"]
