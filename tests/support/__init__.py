"""Helpers shared by the test tiers (tests/unit, tests/func, tests/e2e). Test modules import
helpers from here, fixtures come from the conftest.py files; no test module imports another.

The common helpers are importable from the package itself: `from tests.support import run, invoke`.
"""

from tests.support.env import IDENTITY
from tests.support.repos import (
    CIFAR,
    PROJECT,
    cli_json,
    head,
    invoke,
    md5,
    new_repo,
    refused,
    run,
    snapshot_state,
    write_parquet,
    write_text,
)

__all__ = [
    "CIFAR",
    "IDENTITY",
    "PROJECT",
    "cli_json",
    "head",
    "invoke",
    "md5",
    "new_repo",
    "refused",
    "run",
    "snapshot_state",
    "write_parquet",
    "write_text",
]
