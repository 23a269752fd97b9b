"""What the fsck checks share: a problem (`Problem`), the checker's state and `add`, and
small helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import config
from dslineage.model_ops import FsckProblem

if TYPE_CHECKING:
    from dslineage.repo import Repo

_HEX32 = set("0123456789abcdef")


@dataclass
class Problem:
    """One inconsistency: where, what, and how to fix it (`repair` does it, when it can)."""

    check: str
    severity: str  # "error" | "warning"
    message: str
    fix: str
    path: str | None = None
    repair: Callable[[], None] | None = field(default=None, repr=False)

    def record(self, action: str | None = None) -> FsckProblem:
        """The problem as reported (`action`: what a repair did)."""
        return FsckProblem(
            check=self.check,
            severity=self.severity,
            path=self.path,
            message=self.message,
            fix=self.fix,
            repairable=self.repair is not None,
            action=action,
        )


class CheckerBase:
    """The fsck checker's state and its one way to report a problem (`add`); the checks are
    mixins (`fsck_journal`, `fsck_data`) combined in `ops/fsck.py`."""

    def __init__(self, repo: Repo, deep: bool, remote: bool = False) -> None:
        self.repo = repo
        self.root = repo.root
        self.deep = deep
        self.remote = remote
        self.remote_report: dict[str, Any] | None = None  # what `--remote` found
        self.problems: list[Problem] = []
        self.checked: dict[str, int] = {}
        self.records: dict[str, dict[str, Any]] = {}  # journal file name -> record
        self.datasets: dict[str, config.Dataset] = {}

    def add(
        self,
        check: str,
        severity: str,
        message: str,
        fix: str,
        path: str | None = None,
        repair: Callable[[], None] | None = None,
    ) -> None:
        """Report a problem (with the function that repairs it, when there is one)."""
        self.problems.append(Problem(check, severity, message, fix, path, repair))


def _delete(path: Path) -> None:
    path.unlink(missing_ok=True)


def _prune(repo: Repo, rec: dict[str, Any]) -> None:
    from dslineage.ops.batch_prune import prune_one

    prune_one(repo, rec, by="fsck --repair")


def _is_md5(text: str) -> bool:
    return len(text) == 32 and set(text) <= _HEX32
