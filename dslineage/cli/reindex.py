"""`dslineage reindex`."""

from __future__ import annotations

from dslineage.cli._shared import JsonOpt, emit_json, note, repo
from dslineage.cli.app import app


@app.command()
def reindex(json_out: JsonOpt = False) -> None:
    """Rebuild the DuckDB index from the journal (it is only a cache).

    Example: dslineage reindex
    """
    r = repo().reindex()
    if json_out:
        emit_json(r)
        return
    note(f"index rebuilt: {r.records} journal records, {r.versions} versions")
