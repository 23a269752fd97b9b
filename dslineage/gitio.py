"""The git adapter: every git call dslineage makes goes through this module (GitPython)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dslineage.errors import ExternalError, NotARepoError


def _git_module() -> Any:
    import git

    return git


@dataclass(frozen=True)
class CommitInfo:
    """One git commit as dslineage needs it."""

    sha: str
    author: str
    timestamp: float
    message: str


class Git:
    """A thin wrapper over one git work tree; commands run as argument lists, never a shell."""

    def __init__(self, root: Path) -> None:
        git = _git_module()
        self.root = root
        self._repo = git.Repo(root)
        self._git = self._repo.git

    @staticmethod
    def find_root(start: Path) -> Path:
        """The top of the git work tree containing `start`."""
        here = start.resolve()
        if here.is_dir() and "GIT_DIR" not in os.environ and "GIT_WORK_TREE" not in os.environ:
            # the nearest folder with a `.git` entry (a folder, or a file in a linked work tree
            # or submodule): no GitPython import (~0.1 s) for read commands that need no more
            for folder in (here, *here.parents):
                if (folder / ".git").exists():
                    return folder
        git = _git_module()  # no `.git` above: GitPython tells a bare repository from none
        try:
            repo = git.Repo(start, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise NotARepoError(
                f"{start} is not inside a git repository: run `dslineage init` first"
            ) from None
        if repo.working_tree_dir is None:
            raise NotARepoError(f"{start} is a bare git repository: use a work tree")
        return Path(repo.working_tree_dir).resolve()

    @staticmethod
    def init(path: Path) -> bool:
        """`git init` at `path` unless it already is a repository; True when it created one."""
        git = _git_module()
        try:
            git.Repo(path)
            return False
        except git.InvalidGitRepositoryError:
            git.Repo.init(path)
            return True

    def run(self, *args: str) -> str:
        """Run `git ARGS...` and return its stdout; failures become ExternalError."""
        git = _git_module()
        try:
            return str(self._git.execute(["git", *args], strip_newline_in_stdout=False))
        except git.GitCommandError as exc:
            detail = (exc.stderr or "").strip().splitlines()
            reason = detail[-1] if detail else str(exc)
            raise ExternalError(f"git {args[0]} failed: {reason.strip()}") from None

    def head(self) -> str | None:
        """The sha of HEAD, or None in a repository with no commits."""
        try:
            return self.run("rev-parse", "--verify", "-q", "HEAD").strip() or None
        except ExternalError:
            return None

    def rev_parse(self, rev: str) -> str | None:
        """The commit sha `rev` names, or None if it names no commit."""
        if rev.startswith("-"):
            return None
        try:
            out = self.run("rev-parse", "--verify", "-q", "--end-of-options", f"{rev}^{{commit}}")
        except ExternalError:
            return None
        return out.strip() or None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether commit `ancestor` is reachable from `descendant` (or equal to it)."""
        git = _git_module()
        try:
            self._git.execute(["git", "merge-base", "--is-ancestor", ancestor, descendant])
            return True
        except git.GitCommandError:
            return False

    def show(self, rev: str, path: str) -> bytes | None:
        """The bytes of `path` at commit `rev`, or None if it is absent there."""
        git = _git_module()
        try:
            out = self._git.execute(
                ["git", "show", f"{rev}:{path}"], stdout_as_string=False, strip_newline_in_stdout=False
            )
        except git.GitCommandError:
            return None
        return bytes(out)

    def identity(self) -> str:
        """`Name <email>` from git config, or an error saying how to set it."""
        try:
            name = self.run("config", "user.name").strip()
            email = self.run("config", "user.email").strip()
        except ExternalError:
            raise ExternalError(
                "git has no identity: run `git config user.name NAME` and "
                "`git config user.email EMAIL` (or pass --author)"
            ) from None
        return f"{name} <{email}>"

    def user_name(self) -> str:
        """The configured git user name, or 'unknown'."""
        try:
            return self.run("config", "user.name").strip() or "unknown"
        except ExternalError:
            return "unknown"

    def commit_paths(
        self, paths: list[str], message: str, on_staged: Callable[[], None] | None = None
    ) -> str:
        """Stage exactly `paths` and commit only them (other staged work is left alone).

        `on_staged` runs between staging and committing (a fault-injection point)."""
        self.run("add", "--", *paths)
        if on_staged is not None:
            on_staged()
        self.run("commit", "-q", "--no-verify", "-m", message, "--only", "--", *paths)
        sha = self.head()
        assert sha is not None
        return sha

    def unstage(self, paths: list[str]) -> None:
        """Reset the git index entries of `paths` to HEAD (or drop them when there is no HEAD);
        nothing to do (and no index write, which a stale index.lock would refuse) when none
        of them is staged."""
        if not self.run("diff", "--cached", "--name-only", "--", *paths).strip():
            return
        if self.head() is None:
            self.run("rm", "-q", "--cached", "--ignore-unmatch", "--", *paths)
        else:
            self.run("reset", "-q", "--", *paths)

    def has_commit_marked(self, marker: str, since: str | None) -> bool:
        """Whether a commit after `since` (None: any) on HEAD's history has `marker` in its message."""
        if self.head() is None:
            return False
        if since is not None and self.rev_parse(since) is None:
            since = None
        span = f"{since}..HEAD" if since else "HEAD"
        out = self.run("log", "-n", "1", "--format=%H", "--fixed-strings", f"--grep={marker}", span)
        return bool(out.strip())

    def file_log(self, path: str) -> list[CommitInfo]:
        """Commits that changed `path`, oldest first (following the current branch)."""
        out = self.run(
            "log", "--reverse", "--format=%H%x1f%an <%ae>%x1f%at%x1f%s%x1e", "--", path
        )
        result = []
        for record in out.split("\x1e"):
            record = record.strip()
            if not record:
                continue
            sha, author, ts, subject = record.split("\x1f", 3)
            result.append(CommitInfo(sha, author, float(ts), subject))
        return result

    def commits_adding(self, folder: str) -> dict[str, str]:
        """For each file ever added under `folder` on this branch: the commit that added it."""
        if self.head() is None:
            return {}
        out = self.run(
            "log", "--diff-filter=A", "--format=%x1e%H", "--name-only", "--no-renames", "--", folder
        )
        result: dict[str, str] = {}
        for block in out.split("\x1e"):
            lines = [line for line in block.splitlines() if line.strip()]
            if not lines:
                continue
            sha, files = lines[0].strip(), lines[1:]
            for name in files:
                # git log is newest first; keep the oldest commit that added a path
                result[name.strip()] = sha
        return result

    def status(self, *paths: str) -> list[tuple[str, str]]:
        """`git status` of `paths` as (two-letter code, path) pairs; untracked files listed one by one."""
        out = self.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *paths)
        entries = out.split("\0")
        result = []
        i = 0
        while i < len(entries):
            entry = entries[i]
            i += 1
            if len(entry) < 4:
                continue
            code, path = entry[:2], entry[3:]
            if code[0] in "RC":
                i += 1  # the rename's source path follows
            result.append((code, path))
        return result

    def is_dirty_path(self, path: str) -> bool:
        """Whether `path` differs from HEAD in the index or work tree (or is untracked)."""
        return bool(self.run("status", "--porcelain", "--", path).strip())
