"""Fixtures of the end-to-end tier (CLI processes, fault injection, CIFAR-10, S3)."""

from tests.support.s3 import s3_remote, s3_server  # noqa: F401  (fixtures)
