"""dslineage: row-level versions, diffs, history and lineage for datasets in git + DVC repos."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dslineage.errors import DslineageError

__version__ = "0.1.0"
__all__ = ["DslineageError", "Repo", "__version__"]

if TYPE_CHECKING:
    from dslineage.repo import Repo


def __getattr__(name: str) -> Any:
    """Import `Repo` lazily so `import dslineage` stays cheap for the CLI."""
    if name == "Repo":
        from dslineage.repo import Repo

        return Repo
    raise AttributeError(name)
