"""Help and usage errors that read like git's and DVC's, for every command in one place.

Help: `Usage: dslineage diff [OPTIONS] NAME@A [NAME@B]`, arguments and options by the
metavar that says what to type (`--rows N`), flags with nothing after them, no type names
(`<str>`, `<int range>`, TEXT, INTEGER) and examples kept as whole lines.

Usage errors: one line, `error: --rows must be ≥ 0`, exit 2 (never a boxed panel).

Only attributes click has had for years are read (`opts`, `metavar`, `is_flag`, `help`,
`required`, `nargs`, `name`, `min`/`max` on the parameter or its type), so any Typer in the
supported range renders the same.
"""

from __future__ import annotations

import inspect
import re
import sys
from typing import Any

from typer.core import TyperCommand, TyperGroup

from dslineage._commands import summary


def _is_argument(param: Any) -> bool:
    return getattr(param, "param_type_name", "") == "argument"


def _arg_metavar(param: Any) -> str:
    """What to type for an argument: its metavar, else its name in upper case (one of `names...`: NAME)."""
    if param.metavar:
        return str(param.metavar)
    name = str(param.name or "arg")
    return (name[:-1] if param.nargs != 1 and name.endswith("s") else name).upper()


def _numeric(param: Any) -> str | None:
    """ "N" for a whole-number option, "NUMBER" for a float one, else None (Typer or click types)."""
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    name = str(getattr(getattr(param, "type", None), "name", "") or "")
    if annotation is int or name.startswith("integer"):
        return "N"
    if annotation is float or name.startswith("float"):
        return "NUMBER"
    return None


_WORD = re.compile(r"(?<![\w.:/\[-])([A-Z][A-Z0-9_]*(?:[@=][A-Z][A-Z0-9_]*)?)(?![\w/])")
_NOT_PLACEHOLDERS = {
    "CI",
    "CSV",
    "DVC",
    "HEAD",
    "ID",
    "JSON",
    "KS",
    "MD5",
    "NDJSON",
    "OK",
    "PSI",
    "S3",
    "TSV",
    "URL",
    "UTC",
    "YAML",
    "A",
    "B",
    "I",
}


def _opt_metavar(param: Any) -> str:
    """What to type after an option: its metavar, else the placeholder its help names (`Print N
    rows` → N, `to FILE.parquet` → FILE, `COL=VALUE`), else its name in upper case (like argparse)."""
    if param.metavar:
        return str(param.metavar)
    for word in _WORD.findall(param.help or ""):
        if word not in _NOT_PLACEHOLDERS and (len(word) > 1 or word == "N"):
            return str(word)
    if (param.help or "").startswith("Who "):
        return "WHO"
    return _numeric(param) or str(param.name or "VALUE").upper()


def usage_pieces(cmd: Any, ctx: Any) -> list[str]:
    """`[OPTIONS] NAME@A [NAME@B]` (and `COMMAND [ARGS]...` for a group), as a list of words."""
    pieces = ["[OPTIONS]"]
    for param in cmd.get_params(ctx):
        if not _is_argument(param):
            continue
        word = _arg_metavar(param)
        if param.nargs != 1:
            word += "..."
        pieces.append(word if param.required else f"[{word}]")
    if getattr(cmd, "commands", None) is not None:
        pieces.append("COMMAND [ARGS]...")
    return pieces


def usage(cmd: Any, ctx: Any) -> str:
    """The usage line without the `Usage:` prefix: `dslineage diff [OPTIONS] NAME@A [NAME@B]`."""
    return " ".join([ctx.command_path, *usage_pieces(cmd, ctx)])


def _bounds(param: Any) -> tuple[Any, Any]:
    """(min, max) of a numeric option (Typer keeps them on the parameter, click on its type)."""
    for holder in (param, getattr(param, "type", None)):
        lo, hi = getattr(holder, "min", None), getattr(holder, "max", None)
        if lo is not None or hi is not None:
            return lo, hi
    return None, None


def _default(param: Any) -> Any:
    default = getattr(param, "default", None)
    if callable(default) or default in (None, False, "", (), []) or param.is_flag:
        return None
    return default


def _option_row(param: Any) -> tuple[str, str]:
    """(`-n, --rows N`, help text with range and default) for one option."""
    names = sorted(param.opts, key=lambda o: (o.startswith("--"), o))
    left = ", ".join(names)
    secondary = list(getattr(param, "secondary_opts", []) or [])
    if secondary:
        left += " / " + ", ".join(secondary)
    if not param.is_flag:
        left += f" {_opt_metavar(param)}"
        if getattr(param, "multiple", False):
            left += "..."
    text = " ".join((param.help or "").split())
    extras = []
    lo, hi = _bounds(param)
    word = _opt_metavar(param) if not param.is_flag else "N"
    if lo is not None and hi is not None:
        extras.append(f"{lo} ≤ {word} ≤ {hi}")
    elif lo is not None:
        extras.append(f"{word} ≥ {lo}")
    elif hi is not None:
        extras.append(f"{word} ≤ {hi}")
    default = _default(param)
    if default is not None and "default" not in text.lower():
        shown = ", ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        extras.append(f"default: {shown}")
    if param.required:
        extras.append("required")
    if extras:
        text += f"  [{'; '.join(extras)}]"
    return left, text


def _write_help_text(text: str, formatter: Any) -> None:
    """The docstring: prose paragraphs re-wrapped, `Example:` paragraphs kept line by line."""
    for para in inspect.cleandoc(text).split("\n\n"):
        lines = [ln.rstrip() for ln in para.replace("\b\n", "").splitlines() if ln.strip()]
        if not lines:
            continue
        formatter.write_paragraph()
        if para.startswith("\b") or any(ln.lstrip().startswith(("Example:", "$ ")) for ln in lines):
            for ln in lines:
                formatter.write(" " * (formatter.current_indent + 2) + ln + "\n")
        else:
            with formatter.indentation():
                formatter.write_text(" ".join(lines))


def _short_help(cmd: Any, limit: int) -> str:
    """The first sentence of a command's help (an "e.g." does not end it), cut at `limit`."""
    return summary(inspect.cleandoc(cmd.short_help or cmd.help or "").split("\n\n")[0], limit)


class _GitStyle:
    """Help formatting shared by commands and groups (mixed into Typer's classes)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return usage_pieces(self, ctx)

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        formatter.write_usage(ctx.command_path, " ".join(usage_pieces(self, ctx)))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.format_usage(ctx, formatter)
        if getattr(self, "help", None):
            _write_help_text(str(getattr(self, "help", "")), formatter)
        params = [p for p in self.get_params(ctx) if not getattr(p, "hidden", False)]  # type: ignore[attr-defined]
        args = [(_arg_metavar(p), " ".join((p.help or "").split())) for p in params if _is_argument(p)]
        opts = [_option_row(p) for p in params if not _is_argument(p)]
        for title, rows in (("Arguments", args), ("Options", opts)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
        commands = getattr(self, "commands", None)
        if commands is not None:
            subs = [(n, commands.get(n)) for n in self.list_commands(ctx)]  # type: ignore[attr-defined]
            subs = [(n, c) for n, c in subs if c is not None and not getattr(c, "hidden", False)]
            limit = max(30, formatter.width - 6 - max((len(n) for n, _ in subs), default=0))
            rows = [(n, _short_help(c, limit)) for n, c in subs]
            if rows:
                with formatter.section("Commands"):
                    formatter.write_dl(rows)


class Command(_GitStyle, TyperCommand):
    """A Typer command with git-style help."""


class Group(_GitStyle, TyperGroup):
    """A Typer group with git-style help."""


# -- usage errors in one line ------------------------------------------------------------------

_PYDANTIC = [  # Typer >= 0.26 validates with pydantic; click words it differently
    (re.compile(r"greater than or equal to (\S+)"), "must be ≥ {}"),
    (re.compile(r"greater than (\S+)"), "must be > {}"),
    (re.compile(r"less than or equal to (\S+)"), "must be ≤ {}"),
    (re.compile(r"less than (\S+)"), "must be < {}"),
    (re.compile(r"valid integer|is not a valid int"), "must be a whole number"),
    (re.compile(r"valid number|is not a valid float"), "must be a number"),
    (re.compile(r"valid boolean|is not a valid bool"), "must be true or false"),
]


def _hint(exc: Any) -> str:
    """How the user spelled the parameter: `--rows` or `NAME@A`."""
    param = getattr(exc, "param", None)
    if param is None:
        hint = getattr(exc, "param_hint", None)
        return str(hint if isinstance(hint, str) else " / ".join(hint or []))
    if _is_argument(param):
        return _arg_metavar(param)
    return max(param.opts, key=len)


def _bad_value(exc: Any) -> str:
    message = str(getattr(exc, "message", "") or exc).strip().rstrip(".")
    param = getattr(exc, "param", None)
    for pattern, template in _PYDANTIC:
        m = pattern.search(message)
        if m:
            return f"{_hint(exc)} {template.format(*m.groups())}".rstrip()
    if param is not None and "range" in message:  # click: "-5 is not in the range 0<=x<=100000"
        lo, hi = _bounds(param)
        try:  # the side of the range the value missed, as the pydantic wording says it
            value = float(message.split()[0])
        except (ValueError, IndexError):
            value = None
        if value is not None and lo is not None and value < float(lo):
            span = f"≥ {lo}"
        elif value is not None and hi is not None and value > float(hi):
            span = f"≤ {hi}"
        else:
            span = (
                f"between {lo} and {hi}"
                if lo is not None and hi is not None
                else (f"≥ {lo}" if lo is not None else f"≤ {hi}")
            )
        return f"{_hint(exc)} must be {span}"
    first = message.splitlines()[0] if message else "invalid value"
    return f"{_hint(exc)}: {first[0].lower() + first[1:] if first else first}"


def usage_line(exc: Any) -> str | None:
    """One line for a click/Typer usage error, None when `exc` is not one, "" when the help was
    printed instead (a group or the program run with no arguments)."""
    kind = {c.__name__ for c in type(exc).__mro__}
    if "UsageError" not in kind:
        return None
    if "NoArgsIsHelpError" in kind:  # `dslineage` or `dslineage exp` alone: the help, then exit 2
        sys.stdout.write(str(exc.format_message()).rstrip("\n") + "\n")
        return ""
    ctx = getattr(exc, "ctx", None)
    cmd = getattr(ctx, "command", None)
    where = f"; usage: {usage(cmd, ctx)}" if cmd is not None else ""
    helps = f" (see `{ctx.command_path} -h`)" if ctx is not None else ""
    if "MissingParameter" in kind:
        return f"error: missing {_hint(exc)}{where}"
    if "BadParameter" in kind:
        return f"error: {_bad_value(exc)}"
    message = " ".join(str(exc.format_message()).split())
    m = re.match(r"No such command '(.*)'", message)
    if m:
        return f"error: no such command {m.group(1)!r}{helps}"
    m = re.match(r"No such option:? (\S+?)\.?(?: \(Possible options: (.*)\))?$", message)
    if m:
        maybe = f"; did you mean {m.group(2).replace(', ', ' or ')}?" if m.group(2) else ""
        return f"error: no such option {m.group(1)}{maybe}{helps}"
    m = re.match(r"Got unexpected extra arguments?(?:\(s\))? \((.*)\)", message)
    if m:
        return f"error: unexpected argument {m.group(1)}{where}"
    m = re.match(r"Option '(.*)' requires an argument", message) or re.match(
        r"(\S+) option requires an argument", message
    )
    if m:
        param = next((p for p in getattr(cmd, "params", []) if m.group(1) in getattr(p, "opts", [])), None)
        what = _opt_metavar(param) if param is not None else "a value"
        return f"error: {m.group(1)} needs {what}{helps}"
    return f"error: {message[0].lower() + message[1:] if message else 'bad usage'}{helps}"
