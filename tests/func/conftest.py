"""Fixtures of the functional tier (library and in-process CLI on real temporary repositories)."""

from tests.support.lineage import pipeline, pipeline_template  # noqa: F401  (fixtures)
