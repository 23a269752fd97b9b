"""A `Repo` method that hands its arguments to its op as an options record
(`options(XOptions, locals())`, `dslineage.model_base.options`) names only keywords that are
fields of that record, with the same defaults: the method's signature is the public list of the
command's keywords, the record what the op reads, and the two cannot drift apart."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re

import pytest

from dslineage.repo import Repo

_CALL = re.compile(r"options\((\w+), locals\(\)\)")


def _delegating() -> list[tuple[str, object, type]]:
    """(name, method, options class) for every Repo method whose body builds an options record."""
    found = []
    for name in dir(Repo):
        fn = inspect.getattr_static(Repo, name)
        fn = getattr(fn, "__wrapped__", fn)
        if name.startswith("_") or not inspect.isfunction(fn):
            continue
        match = _CALL.search(inspect.getsource(fn))
        if match:
            cls = _options_class(match.group(1))
            found.append((name, fn, cls))
    return found


def _options_class(name: str) -> type:
    for module in (
        "dslineage.model",
        "dslineage.model_edits",
        "dslineage.model_exp",
        "dslineage.model_ops",
        "dslineage.model_quality",
        "dslineage.model_lineage",
        "dslineage.model_merge",
    ):
        cls = getattr(importlib.import_module(module), name, None)
        if cls is not None:
            return cls
    raise AssertionError(f"options class {name} is in no dslineage.model* module")


def _default(field: dataclasses.Field[object]) -> object:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return inspect.Parameter.empty


@pytest.mark.parametrize("name, fn, cls", _delegating(), ids=lambda v: v if isinstance(v, str) else "")
def test_method_keywords_are_the_records_fields_with_the_same_defaults(name: str, fn: object, cls: type) -> None:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for param in inspect.signature(fn).parameters.values():  # type: ignore[arg-type]
        if param.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        assert param.name in fields, f"Repo.{name}(..., {param.name}=) is not a field of {cls.__name__}"
        assert _default(fields[param.name]) == param.default, (
            f"Repo.{name}: default of {param.name} differs from {cls.__name__}'s"
        )


def test_options_keeps_defaults_for_fields_the_caller_does_not_name() -> None:
    from dslineage.model_base import options

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Opts:
        a: int = 1
        b: str = "x"

    got = options(Opts, {"self": object(), "a": 5, "unrelated": 3})
    assert got == Opts(a=5, b="x")
