"""The Typer application, its global options and the one error boundary."""

from __future__ import annotations

import contextlib
import copy
import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperCommand

from dslineage import __version__, _commands
from dslineage.cli import _help
from dslineage.errors import DslineageError

# Command modules, each registering its verbs on `app`; imported when the app's commands are first read.
COMMAND_MODULES = [
    "init",
    "track",
    "commit",
    "log",
    "diff",
    "history",
    "checkout",
    "status",
    "tag",
    "reindex",
    "demo",
    "check",
    "drift",
    "audit",
    "fsck",
    "relabel",
    "batches",
    "blame",
    "revert",
    "cherry_pick",
    "rollback",
    "impact",
    "consensus",
    "annotators",
    "run",
    "sync",
    "exp",
    "reproduce",
    "lineage",
    "merge",
    "push",
    "pull",
    "report",
    "review",
    "eval",
]


class _Boundary(_help.Group):
    """Maps errors to one line on stderr and an exit code: 1 error, 2 usage, 3 a failed gate, 130 interrupted."""

    def make_context(self, info_name: Any, args: Any, parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except Exception as exc:  # the root's own options: `dslineage --wait-for-lock -1 log`
            line = _help.usage_line(exc)
            if line is None:
                raise
            _fail(line, 2)
            raise  # unreachable: _fail raises

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except DslineageError as exc:
            if _debug(ctx):
                raise
            _fail(f"error: {exc}", exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except (typer.Exit, typer.Abort, BrokenPipeError):
            raise  # click exits quietly when the reader of stdout went away (`... | head`)
        except Exception as exc:  # the last line of defence: no traceback unless --debug
            line = _help.usage_line(exc)  # a sub-command's arguments: one line, exit 2
            if line is not None:
                _fail(line, 2)
            if _debug(ctx) or type(exc).__module__.startswith(("typer", "click")):
                raise
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            _fail(f"error: unexpected {type(exc).__name__}: {first} (rerun with --debug)", 1)


def _debug(ctx: Any) -> bool:
    obj = ctx.find_root().obj
    return bool(obj and obj.get("debug")) or bool(os.environ.get("DSLINEAGE_DEBUG"))


def _fail(message: str, code: int) -> None:
    if message:
        sys.stderr.write(message.replace("\n", " ") + "\n")
    raise typer.Exit(code)


class _Filled:
    """An attribute of the app that reads as its list once every command module is imported
    (`_App._fill`); Typer's own `__init__` assigns it, into `slot`."""

    def __init__(self, slot: str) -> None:
        self.slot = slot

    def __get__(self, app: Any, owner: type | None = None) -> Any:
        if app is None:
            return self
        app._fill()
        return getattr(app, self.slot)

    def __set__(self, app: Any, value: list[Any]) -> None:
        setattr(app, self.slot, value)


class _App(typer.Typer):
    """The Typer app, whose command modules are imported on the first read of its commands.

    `import dslineage.cli` stays cheap; whatever asks the app for its commands (Typer building
    the click group, the docs, the tests) gets every one of `COMMAND_MODULES`, in that order.
    The console script instead imports the one module of the command it runs (`_lean`).
    """

    _complete = False  # every command module imported (or: this is a lean copy)
    _deferred = False  # importing one module for `_lean`: registering must not import the rest

    _commands: list[Any]
    _groups: list[Any]
    registered_commands: Any = _Filled("_commands")  # the registered commands
    registered_groups: Any = _Filled("_groups")  # the registered sub-command groups

    def _fill(self) -> None:
        if self._complete or self._deferred:
            return
        self._complete = True
        for name in COMMAND_MODULES:
            importlib.import_module(f"dslineage.cli.{name}")
        order = {f"dslineage.cli.{name}": i for i, name in enumerate(COMMAND_MODULES)}
        # a module `_lean` imported earlier in this process registered first: restore the canonical order
        self._commands.sort(key=lambda c: order.get(getattr(c.callback, "__module__", ""), len(order)))
        self._groups.sort(key=lambda g: order.get(_group_module(g), len(order)))
        _git_style_help(self)

    @contextlib.contextmanager
    def one_module(self) -> Iterator[None]:
        """Register commands without importing every other command module."""
        self._deferred = True
        try:
            yield
        finally:
            self._deferred = False


def _group_module(group: Any) -> str:
    sub = group.typer_instance
    first = sub.registered_callback or (sub.registered_commands or [None])[0] if sub is not None else None
    return str(getattr(getattr(first, "callback", None), "__module__", ""))


app = _App(
    cls=_Boundary,
    name="dslineage",
    help="Row-level versions, diffs, label history and lineage for datasets in git + DVC repos.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"dslineage {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    directory: Annotated[
        Optional[Path], typer.Option("-C", help="Run as if started in PATH (like git -C).", metavar="PATH")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    wait_for_lock: Annotated[
        Optional[float],
        typer.Option(
            "--wait-for-lock",
            min=0,
            metavar="SECONDS",
            help="How long to wait for another dslineage command on this repo (default 60).",
        ),
    ] = None,
    scheduler: Annotated[
        Optional[str],
        typer.Option(
            "--scheduler",
            metavar="ADDRESS",
            help="Run per-partition work (a directory dataset's commit, byte diff, audit) on this Dask scheduler "
            "(tcp://HOST:8786), or `local[:N]` for a process pool here (default: the `engine:` setting, else "
            "one query in this process).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Row-level versions, diffs, label history and lineage for datasets in git + DVC repos."""
    ctx.obj = {"debug": debug}
    from dslineage.cli import _shared

    _shared.state["wait_for_lock"] = wait_for_lock
    _shared.state["scheduler"] = None
    if scheduler is not None:
        from dslineage.engine import check_spec

        _shared.state["scheduler"] = check_spec(scheduler, "--scheduler")  # a bad form fails now, exit 2
    _shared.fit_console()
    if directory is not None:
        try:
            os.chdir(directory)
        except OSError as exc:
            _fail(f"error: cannot change to {directory}: {exc.strerror}", 1)


def _git_style_help(typer_app: typer.Typer) -> None:
    """Every command and sub-group (those added later too) gets the git-style help of `_help`."""
    for command in typer_app.registered_commands:
        if command.cls in (None, TyperCommand):
            command.cls = _help.Command
    for group in typer_app.registered_groups:
        sub = group.typer_instance
        if sub is not None:
            sub.info.cls = _help.Group
            _git_style_help(sub)


class _NoPandas:
    """A meta-path finder that makes `import pandas` raise ImportError, as if not installed.

    (A `None` entry in sys.modules does that for Python code, but pyarrow's compiled pandas
    probe then reads `None.__version__` and fails on the first pa.array()/pa.table().)
    Code that does need pandas (crowd-kit takes pandas frames) removes every finder with
    `blocks_pandas` first: see `dslineage.quality.crowd`.
    """

    blocks_pandas = True  # consensus (crowd-kit) and review (cleanlab) lift the block: both need pandas

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not loaded by the dslineage CLI")


def main() -> None:
    """Console-script entry point."""
    if "pandas" not in sys.modules:
        # DuckDB's client imports pandas (1-2 s) at the first bound parameter when pandas is
        # installed, only to check parameter types; dslineage never passes pandas objects.
        sys.meta_path.insert(0, _NoPandas())  # type: ignore[arg-type]
    _lean(sys.argv[1:])(prog_name="dslineage")


_GLOBAL_WITH_VALUE = ("-C", "--wait-for-lock", "--scheduler")


def _name_of(info: Any) -> str:
    return str(info.name or typer.main.get_command_name(getattr(info.callback, "__name__", "")))


def _lean(argv: list[str]) -> typer.Typer:
    """`app` with only the command `argv` names registered, after importing only its module
    (`dslineage._commands` says which): Typer builds every registered command's parameters
    before parsing (~40 ms for all of them), and importing every command module costs as much.
    The whole app when no command is named, a help or version option comes first, or the name
    is not a command."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        if argv[i] in ("-h", "--help"):
            return _listing()
        if argv[i] in ("--version", "--"):
            return app
        i += 2 if argv[i] in _GLOBAL_WITH_VALUE else 1
    if i >= len(argv):
        return _listing() if not argv else app
    name = argv[i]
    module = _commands.module_of(name)
    if module is None:
        return app
    with app.one_module():
        importlib.import_module(f"dslineage.cli.{module}")
        commands = [c for c in app.registered_commands if _name_of(c) == name]
        groups = [g for g in app.registered_groups if g.name == name]
    if len(commands) + len(groups) != 1:
        return app
    lean = copy.copy(app)
    lean._complete = True
    lean.registered_commands, lean.registered_groups = commands, groups
    _git_style_help(lean)
    return lean


def _listing() -> typer.Typer:
    """`app` for the top-level help, which lists commands but none of their parameters: each
    command of the table in `dslineage._commands` by its name and help paragraph, with a
    callback that has no parameters to build (no command module is imported)."""
    lean = copy.copy(app)
    lean._complete = True
    lean.registered_commands = [
        typer.models.CommandInfo(name=name, help=text, callback=_listed)
        for name, _, text in _commands.COMMANDS
        if text is not None
    ]
    lean.registered_groups = []
    return lean


def _listed() -> None:
    """Stands in for a command in the top-level help (never run: that help exits first)."""
