"""`Repo` is one class composed of area mixins (`dslineage/repo_*.py`): every public command of
theirs runs under the repository lock, exactly as when they were written in the class itself."""

from __future__ import annotations

import inspect
from typing import Any

from dslineage.repo import _UNLOCKED, Repo, _lock_commands, _locked
from dslineage.repo_edits import EditsMixin

_WRAPPER_CODE = _locked(lambda self: None).__code__


def _wrapped(value: Any) -> bool:
    return getattr(value, "__code__", None) is _WRAPPER_CODE


def _public_functions(cls: type) -> dict[str, Any]:
    """Public plain functions (not properties, classmethods, staticmethods) `cls` resolves, by name."""
    found = {}
    for name in dir(cls):
        value = inspect.getattr_static(cls, name)
        if not name.startswith("_") and inspect.isfunction(value):
            found[name] = value
    return found


def test_every_public_method_but_the_unlocked_ones_is_locked() -> None:
    """Each public method of Repo, mixins' included, is wrapped by `_locked` unless it is in `_UNLOCKED`."""
    methods = _public_functions(Repo)
    unlocked = sorted(name for name, fn in methods.items() if name not in _UNLOCKED and not _wrapped(fn))
    assert not unlocked, f"Repo methods that run without the lock: {unlocked}"
    wrongly = sorted(name for name, fn in methods.items() if name in _UNLOCKED and _wrapped(fn))
    assert not wrongly, f"methods in _UNLOCKED that take the lock: {wrongly}"
    mixin_commands = {name for base in Repo.__mro__[1:-1] for name in vars(base) if name in methods}
    assert {"relabel", "diff", "merge", "check", "lineage", "review", "push"} <= mixin_commands


def test_the_wrapper_runs_the_mixins_own_function() -> None:
    """`Repo.relabel` wraps `EditsMixin.relabel` (the mixin keeps its plain function) with its name and doc."""
    wrapper = inspect.getattr_static(Repo, "relabel")
    assert wrapper.__wrapped__ is vars(EditsMixin)["relabel"]
    assert not _wrapped(vars(EditsMixin)["relabel"])
    assert wrapper.__name__ == "relabel" and wrapper.__doc__ == EditsMixin.relabel.__doc__


def test_a_nearer_class_overrides_a_mixin_method() -> None:
    """A name the class itself defines (a property here) is not replaced by a mixin's function of that name."""

    class Mixin:
        def status(self) -> str:
            return "mixin"

        def tag(self) -> str:
            return "tag"

    class Facade(Mixin):
        @property
        def status(self) -> str:  # type: ignore[override]
            return "own"

    _lock_commands(Facade)
    assert isinstance(inspect.getattr_static(Facade, "status"), property)
    assert _wrapped(inspect.getattr_static(Facade, "tag"))
