"""The command line: a thin Typer adapter over `dslineage.Repo` (heavy imports stay lazy)."""

from __future__ import annotations

from dslineage.cli.app import app, main

__all__ = ["app", "main"]
