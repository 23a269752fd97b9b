"""What the command modules share: option aliases, the repo, and output helpers."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import typer

from dslineage.journal import short  # noqa: F401  (used by the command modules)

if TYPE_CHECKING:
    from dslineage.repo import Repo

JsonOpt = Annotated[bool, typer.Option("--json", help="Print plain JSON on stdout.")]
MessageOpt = Annotated[str, typer.Option("-m", "--message", help="What changed and why.")]
AuthorOpt = Annotated[Optional[str], typer.Option("--author", help="Who made the change (default: git identity).")]
ByOpt = Annotated[Optional[str], typer.Option("--by", help="Who made the edits (default: git identity).")]
ReasonOpt = Annotated[Optional[str], typer.Option("--reason", help="Why (recorded with the batch).")]
ColumnOpt = Annotated[
    Optional[str], typer.Option("--column", help="Edit only this label column (default: every label column in EDITS).")
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Edit even though the working file has uncommitted changes.")]
RemoteOpt = Annotated[
    Optional[str], typer.Option("-r", "--remote", help="DVC remote name (default: the default remote).")
]
AgainstOpt = Annotated[
    Optional[str],
    typer.Option(
        "--against",
        metavar="REF",
        help="Compare with this version instead (default: the rules' "
        "`baseline:`, else the last version that passed its checks).",
    ),
]
NoRecordOpt = Annotated[
    bool, typer.Option("--no-record", help="Do not store the results with the version (no git commit).")
]


class _LazyConsole:
    """A Rich console made on first use (`out.print(...)`, `err.print(...)`): a command that prints
    only JSON (`lineage --json`) never imports Rich (~0.035 s CPU). A width set before then
    (`fit_console`) is handed on when it is made."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Any = None
        self._pending_width: tuple[int | None] | None = None

    def _made(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
            if self._pending_width is not None:
                self._console.width = self._pending_width[0]
        return self._console

    @property
    def width(self) -> int:
        """The console's width (`rich.console.Console.width`)."""
        return int(self._made().width)

    @width.setter
    def width(self, value: int | None) -> None:
        if self._console is None:
            self._pending_width = (value,)
        else:
            self._console.width = value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._made(), name)


def _columns_at_start() -> int | None:
    """COLUMNS when the process started, as Rich's console reads it (else None: ask the terminal)."""
    columns = os.environ.get("COLUMNS")
    return int(columns) if columns is not None and columns.isdigit() else None


out: Any = _LazyConsole(highlight=False, soft_wrap=True)
err: Any = _LazyConsole(stderr=True, highlight=False)


state: dict[str, Any] = {"wait_for_lock": None, "scheduler": None}


def repo() -> Repo:
    """The repository around the current directory (honours the global --wait-for-lock and --scheduler)."""
    from dslineage.repo import Repo

    return Repo(Path.cwd(), wait_for_lock=state["wait_for_lock"], scheduler=state["scheduler"])


def abspath(path: str) -> str:
    """A user path made absolute against the current directory (the library is cwd-free)."""
    return os.path.abspath(path)


def emit_json(data: object, *, compact: bool = False) -> None:
    """Plain JSON on stdout: never through Rich; model records (`dslineage.model`) through
    `to_json`. `compact`: one line, for big outputs (json's C encoder; the indented dump of
    `cli._json` is about 2x slower)."""
    from dslineage.model import json_default

    if compact:
        sys.stdout.write(json.dumps(data, default=json_default, ensure_ascii=False) + "\n")
    else:
        from dslineage.cli import _json

        sys.stdout.write(_json.dumps(data, json_default) + "\n")


T = TypeVar("T")


def flag(name: str, help: str) -> Any:
    """A boolean switch, for a one-line parameter: `force: Annotated[bool, flag("--force", "...")] = False`."""
    return typer.Option(name, help=help)


def option(*names: str, help: str, **kwargs: Any) -> Any:
    """An option, for a one-line parameter: `into: Annotated[Optional[str], option("--into", help="...")] = None`."""
    return typer.Option(*names, help=help, **kwargs)


def forward(params: Mapping[str, Any], names: str) -> dict[str, Any]:
    """The command's parameters `names` (space-separated), as keywords of the same names for its
    `Repo` method: `r.audit(ref, **forward(locals(), "against group fetch"), record=not no_record)`.
    A name the command lacks is a KeyError, one the method lacks a TypeError: neither passes unseen."""
    return {name: params[name] for name in names.split()}


def conflict_table(rows: list[dict[str, Any]], expected: tuple[str, str], title: str = "conflicts") -> Any:
    """The first 50 conflicting rows of a revert or cherry-pick: key, column, current label and the two
    labels named by `expected` (`(field, heading)` pairs: what the batch expected, what it would set)."""
    (a, a_head), (b, b_head) = expected[0].split("="), expected[1].split("=")
    t = table("key", "column", "current", a_head, b_head, title=title)
    for c in rows[:50]:
        t.add_row(",".join(str(v) for v in c["key"].values()), c["column"], c["current"], c[a], c[b])
    return t


def render(result: T, json_out: bool, show: Callable[[T], None]) -> None:
    """Print a command's result: plain JSON with `--json`, else through its renderer."""
    if json_out:
        emit_json(result)
    else:
        show(result)


def note(message: str) -> None:
    """A message for people, on stderr."""
    err.print(message, markup=False)


# Columns of free text that give up width first when a table is too wide for the terminal.
FLEX_COLUMNS = frozenset(
    {
        "message",
        "reason",
        "detail",
        "path",
        "outputs",
        "metrics",
        "datasets",
        "labels",
        "transformation",
        "note",
        "annotator",
        "author",
        "by",
    }
)
# Columns that give up width last: an id or a time cut short says nothing.
RIGID_COLUMNS = frozenset({"id", "time (UTC)", "batch", "version", "code"})


def fit_widths(
    natural: list[int], flex: list[bool], available: int, gap: int = 2, rigid: list[bool] | None = None
) -> list[int]:
    """Column widths that fit `available` cells: free-text (`flex`) columns are capped first (down
    to 10 cells), then the other non-`rigid` ones at one common cap, then every column (down to 3);
    cells left over go to the capped columns closest to whole (the later one on a tie); a column
    never grows past its content."""
    budget = available - gap * max(len(natural) - 1, 0)
    rigid = rigid or [False] * len(natural)
    widths = list(natural)
    tiers = ((flex, 10), ([not r for r in rigid], 3), ([True] * len(natural), 3))
    for pool, floor in tiers:
        if sum(widths) <= budget:
            break
        top = max((w for w, p in zip(widths, pool) if p), default=0)
        for cap in range(top, floor - 1, -1):
            trial = [min(w, cap) if p else w for w, p in zip(widths, pool)]
            if sum(trial) <= budget or cap == floor:
                trial = [max(t, min(w, floor)) for t, w in zip(trial, widths)]
                spare = budget - sum(trial)
                for i in sorted(range(len(trial)), key=lambda i: (widths[i] - trial[i], -i)):
                    if spare <= 0:
                        break
                    if widths[i] > trial[i]:
                        grow = min(spare, widths[i] - trial[i])
                        trial[i] += grow
                        spare -= grow
                widths = trial
                break
    return widths


class _Table:
    """A table in the house style: plain-text cells (never parsed as markup), one line per row,
    no word ever split: cells too long for the terminal end in "…" (full values are in --json)."""

    def __init__(
        self,
        columns: tuple[str, ...],
        title: str | None,
        flex: tuple[str, ...] | None,
        optional: tuple[str, ...] = (),
        drop: tuple[str, ...] = (),
        rigid: tuple[str, ...] = (),
    ) -> None:
        self.columns = columns
        self.title = title
        self.optional = set(optional)
        self.drop = drop
        self.rigid = RIGID_COLUMNS | set(rigid)
        self.flex = set(flex) if flex is not None else {c for c in columns if c in FLEX_COLUMNS}
        self.rows: list[list[str]] = []

    def add_row(self, *cells: Any) -> None:
        """Add a row; None shows as an empty cell, line breaks as spaces."""
        self.rows.append([" ".join(("" if c is None else str(c)).split("\n")) for c in cells])

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.cells import cell_len
        from rich.table import Table
        from rich.text import Text

        keep = [
            i
            for i, col in enumerate(self.columns)
            if col not in self.optional or any(i < len(r) and r[i] for r in self.rows)
        ]
        columns = [self.columns[i] for i in keep]
        rows = [[r[i] if i < len(r) else "" for i in keep] for r in self.rows]
        natural = [max([cell_len(col), *(cell_len(r[i]) for r in rows)]) for i, col in enumerate(columns)]
        for name in self.drop:  # too narrow even with free text cut to 10 cells: leave the column out
            gaps = 2 * (len(columns) - 1)
            if (
                name not in columns
                or sum(min(w, 10) if c in self.flex else w for w, c in zip(natural, columns)) + gaps
                <= options.max_width
            ):
                continue
            i = columns.index(name)
            del columns[i], natural[i]
            rows = [r[:i] + r[i + 1 :] for r in rows]
        widths = fit_widths(
            natural, [c in self.flex for c in columns], options.max_width, rigid=[c in self.rigid for c in columns]
        )
        if self.title:  # a heading line of its own: never cut to the width of a narrow table
            yield Text(self.title, style="bold")
        table = Table(box=None, header_style="bold", pad_edge=False)
        for col, width in zip(columns, widths):
            table.add_column(Text(col), width=width, no_wrap=True, overflow="ellipsis")
        for row in rows:
            table.add_row(*(Text(c) for c in row))
        yield table


def table(
    *columns: str,
    title: str | None = None,
    flex: tuple[str, ...] | None = None,
    optional: tuple[str, ...] = (),
    drop: tuple[str, ...] = (),
    rigid: tuple[str, ...] = (),
) -> Any:
    """A table in the house style, for `out.print`. `flex`: the columns that shrink first (default:
    the free-text ones in FLEX_COLUMNS); `rigid`: more columns that shrink last (beside ids, times);
    `optional`: left out when empty in every row; `drop`: left out, in order, while the table does
    not fit even with its free text cut to 10 cells."""
    return _Table(columns, title, flex, optional, drop, rigid)


class _Record:
    """One record as a row under its column names (params, metrics: like `dvc exp show`),
    split into as many tables as the terminal's width needs, so no name or value is cut."""

    def __init__(self, values: dict[str, str], title: str | None) -> None:
        self.values = values
        self.title = title

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.cells import cell_len

        chunks: list[list[str]] = [[]]
        used = 0
        for name, value in self.values.items():
            width = max(cell_len(name), cell_len(value))
            if chunks[-1] and used + 2 + width > options.max_width:
                chunks.append([])
                used = 0
            used += width + (2 if chunks[-1] else 0)
            chunks[-1].append(name)
        for i, names in enumerate(chunks):
            if names:
                t = _Table(tuple(names), self.title if i == 0 else None, ())
                t.add_row(*(self.values[n] for n in names))
                yield t


def as_columns(values: dict[str, Any], title: str | None = None) -> Any:
    """A record (name → value) as columns with one row, wrapped into several tables when wide."""
    return _Record({str(k): "" if v is None else str(v) for k, v in values.items()}, title)


def fields(pairs: list[tuple[str, Any]], label_width: int = 10, indent: int = 2) -> Any:
    """`label  value` lines (a record's fields; values start after `label_width` + 1 cells): values
    wrap at spaces under themselves, so a long reason or message reads whole at any width."""
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, min_width=label_width)
    grid.add_column(overflow="fold")
    for label, value in pairs:
        grid.add_row(Text(label), Text("" if value is None else str(value)))
    return Padding(grid, (0, 0, 0, indent), expand=False)


_START_WIDTH = _columns_at_start()


def fit_console() -> None:
    """Honour COLUMNS for each command run (the in-process test runner changes it between runs)."""
    columns = os.environ.get("COLUMNS", "")
    out.width = int(columns) if columns.isdigit() and int(columns) > 0 else _START_WIDTH


def who(author: str | None) -> str:
    """An author without the e-mail part, for tables."""
    return (author or "").split(" <")[0]


def when(ts: str | None) -> str:
    """A journal timestamp for people: date and time to the minute, UTC."""
    return (ts or "")[:16].replace("T", " ")
