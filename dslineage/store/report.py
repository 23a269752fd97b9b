"""SQL of `dslineage report`: per-annotator counts and the first edits of batches' edits files."""

from __future__ import annotations

from typing import Any


def annotator_counts(con: Any, path: str) -> dict[str, int]:
    """Edited rows per annotator in one batch's edits file (annotator "" where none is named)."""
    names = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()]
    if "annotator" not in names:
        (n,) = con.execute("SELECT count(*) FROM read_parquet(?)", [path]).fetchone()
        return {"": int(n)} if n else {}
    rows = con.execute(
        "SELECT coalesce(CAST(annotator AS VARCHAR), ''), count(*) FROM read_parquet(?) GROUP BY 1 ORDER BY 2 DESC",
        [path],
    ).fetchall()
    return {str(a): int(n) for a, n in rows}
