"""`dvcio.HashingFile` hashes what it writes exactly as `dvcio.file_md5` hashes the file after."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dslineage import dvcio


@pytest.mark.parametrize("sizes", [[], [0], [1, 2, 3], [1 << 20, 7, (1 << 20) + 1], [100_000] * 50])
def test_md5_while_writing_equals_md5_after(tmp_path: Path, sizes: list[int]) -> None:
    """Chunks of any size (none, empty, tiny, over the hashing queue's depth) give the file's md5."""
    path = tmp_path / "f.bin"
    with dvcio.HashingFile(path) as sink:
        for n in sizes:
            assert sink.write(memoryview(os.urandom(n))) == n
    assert sink.md5() == dvcio.file_md5(path)
    assert path.stat().st_size == sum(sizes)
