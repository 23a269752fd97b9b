"""The one environment every test runs git and DVC in: a private HOME with a known git
identity, no system or user config, no DVC analytics (written once, used by the autouse
fixture, the module- and session-wide fixtures and the benchmark smoke run)."""

from __future__ import annotations

from pathlib import Path

import pytest

NAME = "Test Author"
EMAIL = "author@example.com"
IDENTITY = f"{NAME} <{EMAIL}>"
GITCONFIG = f"[user]\n\tname = {NAME}\n\temail = {EMAIL}\n[init]\n\tdefaultBranch = main\n"


def variables(home: Path) -> dict[str, str]:
    """The environment variables of a test whose private home folder is `home`."""
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": NAME,
        "GIT_AUTHOR_EMAIL": EMAIL,
        "GIT_COMMITTER_NAME": NAME,
        "GIT_COMMITTER_EMAIL": EMAIL,
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(home / "dvc-site"),
    }


def isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    """Make `home` (created if needed, with its `.gitconfig`) the environment of what runs under `mp`."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(GITCONFIG)
    for name, value in variables(home).items():
        mp.setenv(name, value)
