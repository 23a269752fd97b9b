"""The exception hierarchy: one base, small subclasses, each message says what to do next."""

from __future__ import annotations

# Exit codes: 0 ok, 1 error, 2 usage, 3 a data-quality gate or threshold failed, 130 interrupted.
EXIT_GATE = 3


class DslineageError(Exception):
    """Base of every error dslineage raises on purpose; the CLI prints it as one line."""

    exit_code = 1


class UsageError(DslineageError):
    """The command line itself is wrong (exit code 2)."""

    exit_code = 2


class NotARepoError(DslineageError):
    """The directory is not inside a git repository or not initialized for dslineage."""


class PathError(DslineageError):
    """A path is missing, outside the repository, or of an unsupported kind."""


class FormatError(DslineageError):
    """A dataset file cannot be read in its declared format."""


class SchemaError(DslineageError):
    """Key or label columns are missing, or keys are null or duplicated."""


class UnknownDatasetError(DslineageError):
    """No dataset of that name is tracked."""


class RefError(DslineageError):
    """A version reference is unknown or ambiguous."""


class UnknownKeyError(DslineageError):
    """No version of a dataset has a row with the given key."""


class DirtyError(DslineageError):
    """The working file has uncommitted changes that an operation would overwrite."""


class MissingDataError(DslineageError):
    """A DVC cache object needed for an operation is not available."""


class ExternalError(DslineageError):
    """git or DVC failed; the message carries what they said."""


class RemoteError(ExternalError):
    """The DVC remote is not configured, cannot be reached, or refused a transfer."""


class LockError(DslineageError):
    """Another dslineage process holds the repository lock for too long."""


class RulesError(DslineageError):
    """The rules file `.dslineage/checks.yaml` is malformed, or names an unknown rule or column."""


class ChecksFailedError(DslineageError):
    """A version (or a label batch) fails its data-quality checks, so it was refused (exit code 3)."""

    exit_code = EXIT_GATE


class StageFailedError(DslineageError):
    """A pipeline stage's command failed; the CLI exits with the command's own status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
        self.exit_code = status if 0 < status < 256 else 1


class UnknownNodeError(RefError):
    """No lineage node (version, batch, transformation, stage or experiment) matches."""


class CycleError(DslineageError):
    """Recording this would make the lineage graph cyclic."""


class EditError(DslineageError):
    """An edit batch is invalid (unknown keys, conflicting edits, labels not allowed) or cannot be reverted."""


class MergingError(DslineageError):
    """A dataset is in the middle of a merge (or no merge is in progress) for this operation."""


class SchemaConflictError(DslineageError):
    """A merge's two sides changed the schema incompatibly (a column retyped differently, or
    dropped on one side and edited on the other)."""


class ResolutionError(DslineageError):
    """Merge conflict resolutions are malformed (missing columns, or a value of the wrong type)."""


class PredictionsError(DslineageError):
    """A model's predictions file is empty, names unknown keys or classes, or its probabilities
    do not sum to 1 (issue 13: `review`, `eval`)."""


class UnknownQueueError(RefError):
    """No review queue matches a given id prefix, or several do."""
