"""A real Label Studio server for the interop tests.

`label-studio` (1.23) lives in a virtual environment of its own, `.venv-ls` at the project
root (`.ci/run` creates it; its dependencies — Django and friends — do not belong beside
dvc). The server runs `label-studio start --no-browser --internal-host 127.0.0.1 --port P
--username … --password …` with its data (SQLite database, uploads) in a temporary folder,
and is stopped by the fixture that started it, also when a test fails.

Authentication, the supported way since Label Studio 1.17 (legacy `Token` auth is off for new
organizations): log in with a browser-style session (`/user/login/`), then create a personal
access token with `POST /api/token/` — a JWT refresh token, which `label-studio-sdk` turns
into short-lived access tokens (`/api/token/refresh/`) and sends as `Bearer`. A second
annotator signs up through the organization's invite link (`GET /api/invite`) and gets a
token of its own the same way, so each annotation's `completed_by` is a real user.

The SDK runs in `.venv-ls`'s own interpreter (`tests/support/labelstudio_sdk_driver.py`), where
`label-studio` already installs the matching `label-studio-sdk` (2.1.2). Beside dvc it resolves,
but it would downgrade numpy 2.4 → 2.2 for the whole test environment (its
opencv-python-headless 4.12 pins numpy < 2.3) and add ~38 packages (opencv, pandas, nltk,
black, isort, Faker, datamodel-code-generator): not worth it for one test module.

Without `.venv-ls` the tests are skipped with the reason; with the environment variable CI (or
DSL_REQUIRE_LABEL_STUDIO, which `.ci/run` exports) set they fail instead, so a CI run cannot
pass without having talked to a real server.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.procs import stop_group

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-ls"
LS_BIN = VENV / "bin" / "label-studio"
LS_PYTHON = VENV / "bin" / "python"
DRIVER = Path(__file__).with_name("labelstudio_sdk_driver.py")
VERSION_PREFIX = "1.23."
START_TIMEOUT = float(os.environ.get("DSL_LABEL_STUDIO_TIMEOUT", "300"))  # ~30 s idle, more on a busy CI box


@dataclass(frozen=True)
class User:
    """A Label Studio user: its email, password, id and personal access token (JWT refresh)."""

    email: str
    password: str
    id: int
    token: str


@dataclass(frozen=True)
class Server:
    """A running Label Studio: its URL, the admin user, how long it took to start, its log."""

    url: str
    admin: User
    started_in: float
    log: Path

    def sdk(self, user: User, command: str, *args: str) -> Any:
        """Run one `labelstudio_sdk_driver.py` command as `user` in .venv-ls; its JSON answer."""
        proc = subprocess.run(
            [str(LS_PYTHON), str(DRIVER), self.url, user.token, command, *args],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"SDK driver {command} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout)

    def add_annotator(self, email: str, password: str) -> User:
        """Sign a new user up through the organization's invite link and give it a token."""
        invite = _api(self.url, self.admin.token, "GET", "/api/invite")["token"]
        session = _Session(self.url)
        session.form(f"/user/signup/?token={urllib.parse.quote(invite)}", {"email": email, "password": password})
        return session.user(email, password)


def require() -> None:
    """Skip (locally) or fail (when CI is set) unless .venv-ls holds Label Studio 1.23."""
    reason = unavailable()
    if reason is None:
        return
    if os.environ.get("CI") or os.environ.get("DSL_REQUIRE_LABEL_STUDIO"):
        pytest.fail(
            f"CI (or DSL_REQUIRE_LABEL_STUDIO) is set but {reason}: .ci/run creates it "
            "(python3 -m venv .venv-ls && .venv-ls/bin/pip install 'label-studio==1.23.*')"
        )
    pytest.skip(
        f"{reason}: create it with `python3 -m venv .venv-ls && .venv-ls/bin/pip install "
        "'label-studio==1.23.*'` (as .ci/run does)"
    )


def unavailable() -> str | None:
    """Why the Label Studio environment cannot be used, or None."""
    if not LS_BIN.is_file() or not LS_PYTHON.is_file():
        return f"no Label Studio environment at {VENV}"
    version = installed_version()
    if version is None or not version.startswith(VERSION_PREFIX):
        return f"{VENV} holds label-studio {version}, not {VERSION_PREFIX}x"
    return None


def installed_version() -> str | None:
    """The label-studio version installed in .venv-ls (from its metadata, without importing it)."""
    for meta in (VENV / "lib").glob("python3*/site-packages/label_studio-*.dist-info/METADATA"):
        for line in meta.read_text(errors="replace").splitlines():
            if line.startswith("Version: "):
                return line.split(": ", 1)[1].strip()
    return None


def _free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Session:
    """A browser-like session (cookies + Django's CSRF token) against the server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _csrf(self) -> str:
        return next((c.value for c in self.jar if c.name == "csrftoken"), "")

    def form(self, path: str, fields: dict[str, str]) -> None:
        """GET the page (for the CSRF cookie), then POST the form as a browser does."""
        self.opener.open(self.url + path, timeout=60).read()
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": self._csrf()}).encode()
        req = urllib.request.Request(self.url + path, data=data, headers={"Referer": self.url + path})
        self.opener.open(req, timeout=60).read()
        if not any(c.name == "sessionid" for c in self.jar):
            raise RuntimeError(f"{path}: no session after posting the form (wrong credentials?)")

    def call(self, method: str, path: str) -> Any:
        """An API call with the session cookie and the CSRF header."""
        req = urllib.request.Request(
            self.url + path,
            method=method,
            data=b"{}" if method == "POST" else None,
            headers={"X-CSRFToken": self._csrf(), "Referer": self.url + "/", "Content-Type": "application/json"},
        )
        with self.opener.open(req, timeout=60) as resp:
            return json.loads(resp.read() or b"null")

    def user(self, email: str, password: str) -> User:
        """This session's user, with a new personal access token (`POST /api/token/`)."""
        token = self.call("POST", "/api/token/")["token"]
        who = self.call("GET", "/api/current-user/whoami")
        return User(email=email, password=password, id=int(who["id"]), token=token)


def _access(url: str, token: str) -> str:
    """A short-lived access token from a personal access token (JWT refresh)."""
    req = urllib.request.Request(
        url + "/api/token/refresh/",
        data=json.dumps({"refresh": token}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return str(json.loads(resp.read())["access"])


def _api(url: str, token: str, method: str, path: str) -> Any:
    """One plain HTTP API call with `Authorization: Bearer <access token>`."""
    req = urllib.request.Request(url + path, method=method, headers={"Authorization": f"Bearer {_access(url, token)}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def _healthy(url: str) -> bool:
    """Whether the server answers its health check yet."""
    try:
        with urllib.request.urlopen(url + "/health/", timeout=5) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def label_studio(base: Path) -> Iterator[Server]:
    """Run Label Studio with its data under `base` until the block ends (then stop it)."""
    require()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    email, password = "admin@example.com", "dslineage-admin-pw"
    data, log = base / "data", base / "label-studio.log"
    data.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(base),
        "LABEL_STUDIO_BASE_DATA_DIR": str(data),
        "COLLECT_ANALYTICS": "false",
        "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "LATEST_VERSION_CHECK": "false",
    }
    env.pop("VIRTUAL_ENV", None)
    cmd = [
        str(LS_BIN),
        "start",
        "--no-browser",
        "--internal-host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data),
        "--username",
        email,
        "--password",
        password,
    ]
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=base, env=env, start_new_session=True)
    try:
        while not _healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"label-studio exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}"
                )
            if time.monotonic() - started > START_TIMEOUT:
                raise RuntimeError(
                    f"label-studio did not answer on {url} within {START_TIMEOUT:.0f} s:\n"
                    f"{log.read_text(errors='replace')[-3000:]}"
                )
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        session = _Session(url)
        session.form("/user/login/", {"email": email, "password": password})
        yield Server(url=url, admin=session.user(email, password), started_in=elapsed, log=log)
    finally:
        stop_group(proc, 15)  # SIGTERM, then SIGKILL (its data is in a temporary folder)
