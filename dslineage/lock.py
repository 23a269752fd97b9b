"""The repository lock: one dslineage process at a time touches the index, journal and git.

An exclusive `flock` on `.dslineage/lock`, waited for up to a timeout. The kernel drops
it when the process dies, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from dslineage.errors import LockError

DEFAULT_WAIT = 60.0


def default_wait() -> float:
    """Seconds to wait for the lock: DSLINEAGE_WAIT_FOR_LOCK, else 60."""
    value = os.environ.get("DSLINEAGE_WAIT_FOR_LOCK")
    try:
        return float(value) if value else DEFAULT_WAIT
    except ValueError:
        return DEFAULT_WAIT


class RepoLock:
    """An exclusive lock on one repository, held until `release()`."""

    def __init__(self, path: Path, wait: float | None = None) -> None:
        self.path = path
        self.wait = default_wait() if wait is None else wait
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, polling until `wait` seconds have passed."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        delay = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockError(
                        f"another dslineage command is using this repository (waited {self.wait:g} s): "
                        "retry when it finishes, or raise --wait-for-lock"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Let the lock go (closing the descriptor releases the flock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
