"""The `--fetch` option and the report of remote reads, shared by the commands that read
versions where they live (`diff`, `blame`, `history`, `audit`, `eval`; see docs/remote-reads.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from dslineage.cli._shared import emit_json, note

if TYPE_CHECKING:
    from dslineage.model import RemoteReads
    from dslineage.repo import Repo

FetchOpt = Annotated[
    bool,
    typer.Option(
        "--fetch",
        help="Download versions missing from the local cache into it first (default: read them "
        "straight from an S3 remote, only the columns and row groups needed).",
    ),
]


def size(n: int) -> str:
    """A byte count for people: 812 B, 22.0 KiB, 2.4 MiB, 1.1 GiB."""
    value, unit = float(n), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"


def emit(repo: Repo, data: Any, json_out: bool) -> RemoteReads | None:
    """After a command ran: with `--json`, print `data` with a `remote` key added when the command
    read from the remote (never otherwise: local outputs stay byte for byte as they were); without,
    note on stderr what was read. Returns the reads (None: nothing read remotely)."""
    from dslineage.model import to_json

    reads = repo.remote_reads()
    if json_out:
        emit_json(data if reads is None else {**to_json(data), "remote": to_json(reads)})  # type: ignore[dict-item]
    elif reads is not None:
        share = f" ({reads.bytes_read / reads.object_bytes:.1%})" if reads.object_bytes else ""
        note(
            f"read {size(reads.bytes_read)} of {size(reads.object_bytes)}{share} of {reads.objects} uncached "
            f"object(s) from the DVC remote {reads.name!r}"
        )
    return reads
