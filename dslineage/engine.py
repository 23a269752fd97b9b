"""Where per-partition tasks run: a process pool on this machine (the default), or an existing
Dask distributed cluster (`--scheduler tcp://HOST:8786`, or `engine:` in the settings).

A task is a plain module-level function and picklable arguments (file locations, a column
plan), so it runs unchanged in a pool process or on a Dask worker; `Engine.map` returns the
results in the order of the arguments. No scheduling of our own: the pool or Dask decides.
Dask (`distributed`) is imported only when a scheduler is named.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from dslineage.errors import DslineageError, UsageError

LOCAL = "local"
SCHEMES = ("tcp://", "tls://", "ws://", "wss://", "ucx://", "inproc://")
CONNECT_TIMEOUT = 10  # seconds to reach a scheduler before giving up


class EngineError(DslineageError):
    """The Dask scheduler cannot be reached, or the cluster failed a task."""


def check_spec(value: object, where: str = "--scheduler") -> str:
    """`value` as an engine spec (`local`, `local:N` or a scheduler address), else a usage error."""
    text = str(value).strip() if value is not None else ""
    if text == LOCAL:
        return text
    if text.startswith(LOCAL + ":") and text[len(LOCAL) + 1 :].isdigit() and int(text[len(LOCAL) + 1 :]) > 0:
        return text
    if text.startswith(SCHEMES) and len(text.split("://", 1)[1]) > 0 and " " not in text:
        return text
    raise UsageError(
        f"invalid engine {str(value)[:80]!r} ({where}): use `local`, `local:N` (N processes) or a Dask "
        "scheduler address such as tcp://HOST:8786"
    )


class Engine:
    """Runs one function over many argument tuples; a context manager that releases its workers."""

    address: str | None = None  # the scheduler, for a cluster engine
    task_threads: int | None = None  # DuckDB threads one task should use (None: DuckDB's default)

    def map(self, fn: Callable[..., Any], items: Sequence[tuple[Any, ...]]) -> list[Any]:
        """`[fn(*args) for args in items]`, run wherever this engine runs tasks."""
        raise NotImplementedError

    @property
    def slots(self) -> int:
        """How many tasks this engine runs at once (processes, or the cluster's worker threads)."""
        return 1

    def close(self) -> None:
        """Release the pool or the client connection (the cluster itself keeps running)."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalEngine(Engine):
    """A process pool on this machine (`concurrent.futures`); one task, or one worker, runs inline."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.task_threads = max(1, (os.cpu_count() or 1) // self.workers)
        self._pool: Any = None

    def map(self, fn: Callable[..., Any], items: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Inline for a single task or a single worker, else through the (reused) process pool."""
        if len(items) <= 1 or self.workers == 1:
            return [fn(*args) for args in items]
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn, never fork: DuckDB's and Arrow's threads make fork() unsafe in the parent
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        futures = [self._pool.submit(fn, *args) for args in items]
        return [f.result() for f in futures]

    @property
    def slots(self) -> int:
        """The pool's processes."""
        return self.workers

    def close(self) -> None:
        """Stop the pool's processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskEngine(Engine):
    """Tasks on an existing Dask distributed cluster, through `dask.distributed.Client(address)`."""

    def __init__(self, address: str, *, timeout: float = CONNECT_TIMEOUT) -> None:
        self.address = address
        try:
            from dask.distributed import Client
        except ImportError:
            raise EngineError(f"--scheduler {address} needs Dask: pip install 'dslineage[dask]'") from None
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            raise EngineError(
                f"cannot reach the Dask scheduler at {address} ({detail}): start one there "
                f"(`dask scheduler`, then `dask worker {address}` on each machine) or drop --scheduler / "
                "`engine:` to run on this machine"
            ) from None

    def map(self, fn: Callable[..., Any], items: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Submit every task (not cached by Dask: the files behind a location may change), gather in order."""
        futures = [self.client.submit(fn, *args, pure=False) for args in items]
        return list(self.client.gather(futures))

    @property
    def slots(self) -> int:
        """The worker threads of the cluster now (asked of the scheduler)."""
        return max(1, sum(self.client.nthreads().values()))

    def close(self) -> None:
        """Close the client connection (the scheduler and workers keep running)."""
        self.client.close()


def open_engine(spec: str | None) -> Engine:
    """The engine a spec names: None or `local` (a pool of one process per core), `local:N`, or
    a Dask scheduler address (connects now: an unreachable scheduler is an `EngineError`)."""
    text = check_spec(spec) if spec is not None else LOCAL
    if text == LOCAL:
        return LocalEngine()
    if text.startswith(LOCAL + ":"):
        return LocalEngine(int(text.split(":", 1)[1]))
    return DaskEngine(text)
