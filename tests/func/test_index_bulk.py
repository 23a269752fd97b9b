"""A bulk reindex (change sets read in parallel chunks, large ones streamed) builds exactly the
tables an index kept in step commit by commit holds, and answers the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dslineage import Repo
from dslineage.store import ingest, ingest_bulk
from tests.support import write_parquet

LABELS = ["cat", "dog", "bird"]


def _write(root: Path, name: str, version: int, key: str) -> Path:
    """Version `version` of dataset `name`: rows come and go, labels and a feature change."""
    ids = [i for i in range(40) if (i + version) % 9 != 0] + [100 + version]
    keys = [f"r{i:03d}" for i in ids] if key == "name" else ids
    return write_parquet(
        root / "data" / f"{name}.parquet",
        {
            key: keys,
            "x": [i / 2 + (version if i % 5 == 0 else 0) for i in ids],
            "label": [LABELS[(i * version + i // 7) % 3] for i in ids],
        },
    )


def _history(root: Path) -> Path:
    """Two datasets (integer and text keys), seven versions each, a tag and a relabel batch."""
    repo = Repo(root)
    for name, key in (("train", "id"), ("other", "name")):
        for version in range(1, 8):
            path = _write(root, name, version, key)
            if version == 1:
                repo.track(str(path), [key], ["label"])
            repo.commit([name], f"{name} v{version}", None)
    repo.tag("train@v3", "good")
    repo.relabel("train", {"4": "dog", "7": "bird"}, reason="fix", commit=True)
    repo.close()
    return root


def _answers(root: Path) -> dict[str, Any]:
    """log, history and diffs of both datasets through a fresh Repo."""
    repo = Repo(root)
    out = {
        "log": repo.log(),
        "history": [repo.history("train", [k]) for k in (0, 4, 5, 9, 105)]
        + [repo.history("other", ["r005"]), repo.history("other", ["r018"])],
        "diff": [repo.diff("train@v1", "train@latest", rows=50), repo.diff("other@v2", "other@v6", rows=50)],
    }
    repo.close()
    return out


@pytest.mark.slow
def test_bulk_reindex_equals_incremental_sync(tmp_repo, tmp_path, monkeypatch):
    """Reindexed in bulk — change sets in parallel chunks of two, the larger ones streamed one
    by one — the index has the same tables (same rows, columns in the same order) as the index
    each commit synced, answers the same, and leaves the connection's settings as it found them."""
    from dslineage.gitio import Git
    from dslineage.store.index import Index

    root = _history(tmp_repo)
    names = "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index"
    live = Repo(root)
    live.index.sync(force=True)
    incremental = live.index.fingerprint()
    columns = {d: live.index.con.execute(names, [f"changes/{d}"]).fetchall() for d in ("train", "other")}
    live.close()
    before = _answers(root)
    sizes = sorted(p.stat().st_size for p in (root / ".dslineage" / "journal").glob("*.changes.parquet"))
    assert len(sizes) >= 12 and sizes[0] < sizes[-1]
    monkeypatch.setattr(ingest, "BULK_MIN_FILES", 1)
    monkeypatch.setattr(ingest_bulk, "BULK_CHUNK_FILES", 2)
    monkeypatch.setattr(ingest_bulk, "BULK_WORKERS", 2)
    monkeypatch.setattr(ingest_bulk, "BULK_BIG_FILE", sizes[len(sizes) // 2])
    planned: list[Any] = []
    plan = ingest_bulk._chunks

    def chunks(files: Any) -> Any:
        planned.extend(plan(files))
        return plan(files)

    monkeypatch.setattr(ingest_bulk, "_chunks", chunks)

    def one_by_one(self: Any, name: str) -> None:
        raise AssertionError(f"{name} was indexed one by one: the bulk path fell back")

    monkeypatch.setattr(Index, "_ingest", one_by_one)
    git = Git(root)
    bulk = Index(root, lambda: git.commits_adding(".dslineage/journal"), path=tmp_path / "bulk.duckdb")
    defaults = bulk.con.execute(
        "SELECT current_setting('threads'), current_setting('arrow_lossless_conversion'), "
        "current_setting('enable_external_file_cache')"
    ).fetchone()
    bulk.sync()
    assert bulk.fingerprint() == incremental
    assert {d: bulk.con.execute(names, [f"changes/{d}"]).fetchall() for d in columns} == columns
    assert len(columns["train"]) > 4  # version, seq, change, k0, ...
    assert {big for _, _, big in planned} == {True, False} and any(len(p) == 2 for _, p, _ in planned)
    assert (
        bulk.con.execute(
            "SELECT current_setting('threads'), current_setting('arrow_lossless_conversion'), "
            "current_setting('enable_external_file_cache')"
        ).fetchone()
        == defaults
    )
    bulk.close()
    assert Repo(root).reindex() == {
        "records": len(list((root / ".dslineage" / "journal").glob("*.json"))),
        "versions": len(before["log"]),
    }
    with Repo(root) as repo:
        assert repo.index.fingerprint() == incremental
    assert _answers(root) == before
