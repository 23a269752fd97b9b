"""What the command modules share: option aliases, the repo, and output helpers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from dslineage.repo import Repo

JsonOpt = Annotated[bool, typer.Option("--json", help="Print plain JSON on stdout.")]
MessageOpt = Annotated[str, typer.Option("-m", "--message", help="What changed and why.")]
AuthorOpt = Annotated[
    "str | None", typer.Option("--author", help="Who made the change (default: git identity).")
]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


state: dict[str, Any] = {"wait_for_lock": None}


def repo() -> Repo:
    """The repository around the current directory (honours the global --wait-for-lock)."""
    from dslineage.repo import Repo

    return Repo(Path.cwd(), wait_for_lock=state["wait_for_lock"])


def abspath(path: str) -> str:
    """A user path made absolute against the current directory (the library is cwd-free)."""
    return os.path.abspath(path)


def emit_json(data: Any, *, compact: bool = False) -> None:
    """Plain JSON on stdout: never through Rich. `compact`: one line, for big outputs (json's
    C encoder; an indented dump runs in pure Python, about 10x slower)."""
    indent = None if compact else 2
    sys.stdout.write(json.dumps(data, indent=indent, default=str, ensure_ascii=False) + "\n")


def note(message: str) -> None:
    """A message for people, on stderr."""
    err.print(message, markup=False)


class _Table:
    """A Rich table whose cells and title are plain text (data never parsed as markup)."""

    def __init__(self, columns: tuple[str, ...], title: str | None) -> None:
        from rich.table import Table
        from rich.text import Text

        self._text = Text
        self.table = Table(
            title=Text(title) if title else None, box=None, header_style="bold", pad_edge=False
        )
        for col in columns:
            self.table.add_column(Text(col), overflow="fold")

    def add_row(self, *cells: Any) -> None:
        """Add a row; None shows as an empty cell."""
        self.table.add_row(*(self._text("" if c is None else str(c)) for c in cells))

    def __rich__(self) -> Any:
        return self.table


def table(*columns: str, title: str | None = None) -> Any:
    """A table in the house style, for `out.print`."""
    return _Table(columns, title)


def who(author: str | None) -> str:
    """An author without the e-mail part, for tables."""
    return (author or "").split(" <")[0]


def short(vid: str | None) -> str:
    """Short version id."""
    return vid[:10] if vid else "-"


def when(ts: str | None) -> str:
    """A journal timestamp for people: date and time to the minute, UTC."""
    return (ts or "")[:16].replace("T", " ")
