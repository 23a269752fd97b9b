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


class _GitFailed(Exception):
    """A git process exited non-zero (stdout and stderr kept for the message)."""

    def __init__(self, stdout: str, stderr: str) -> None:
        super().__init__(stderr or stdout)
        self.stdout, self.stderr = stdout, stderr


def _execute(root: Path, args: list[str], *, binary: bool = False) -> Any:
    """Run `git ARGS` in `root` (argument list, no shell, C locale); stdout as text or bytes.

    A plain subprocess, not GitPython: read commands then never import GitPython (~0.1 s).
    """
    import subprocess

    env = {**os.environ, "LC_ALL": "C", "LANGUAGE": "C", "GIT_TERMINAL_PROMPT": "0"}
    proc = subprocess.run(
        ["git", *args[1:]] if args[:1] == ["git"] else ["git", *args],
        cwd=root,
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise _GitFailed(proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))
    return proc.stdout if binary else proc.stdout.decode("utf-8", "replace")


def merge_file(ours: Path, base: Path, theirs: Path) -> int:
    """`git merge-file OURS BASE THEIRS`: git's text merge into OURS; 0 when clean, else the
    number of conflicts (OURS then holds conflict markers), as git's default driver does."""
    import subprocess

    proc = subprocess.run(
        ["git", "merge-file", "-L", "ours", "-L", "base", "-L", "theirs", str(ours), str(base), str(theirs)],
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return min(proc.returncode, 127) if proc.returncode >= 0 else 1


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
        self.root = root

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
            raise NotARepoError(f"{start} is not inside a git repository: run `dslineage init` first") from None
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
        try:
            return str(_execute(self.root, ["git", *args]))
        except _GitFailed as exc:
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
        try:
            _execute(self.root, ["git", "merge-base", "--is-ancestor", ancestor, descendant])
            return True
        except _GitFailed:
            return False

    def show(self, rev: str, path: str) -> bytes | None:
        """The bytes of `path` at commit `rev`, or None if it is absent there."""
        try:
            out = _execute(self.root, ["git", "show", f"{rev}:{path}"], binary=True)
        except _GitFailed:
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

    def commit_paths(self, paths: list[str], message: str, on_staged: Callable[[], None] | None = None) -> str:
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
        out = self.run("log", "--reverse", "--format=%H%x1f%an <%ae>%x1f%at%x1f%s%x1e", "--", path)
        result = []
        for record in out.split("\x1e"):
            record = record.strip()
            if not record:
                continue
            sha, author, ts, subject = record.split("\x1f", 3)
            result.append(CommitInfo(sha, author, float(ts), subject))
        return result

    def commits_adding(self, folder: str, *, all_refs: bool = False) -> dict[str, str]:
        """For each file ever added under `folder` on this branch (with `all_refs`: on any
        branch, tag or remote-tracking ref): the commit that added it."""
        if self.head() is None:
            return {}
        refs = ["--all"] if all_refs else []
        out = self.run("log", *refs, "--diff-filter=A", "--format=%x1e%H", "--name-only", "--no-renames", "--", folder)
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

    # -- merges (`dslineage merge` and the merge driver) ---------------------------------------

    def git_dir(self) -> Path:
        """The repository's git directory (`.git`, or a worktree's own folder)."""
        out = self.run("rev-parse", "--git-dir").strip()
        path = Path(out)
        return path if path.is_absolute() else (self.root / path).resolve()

    def merging(self) -> bool:
        """Whether a git merge is in progress (MERGE_HEAD exists)."""
        return (self.git_dir() / "MERGE_HEAD").exists()

    def rebasing(self) -> bool:
        """Whether a git rebase (or `git am`) is in progress."""
        gd = self.git_dir()
        return (gd / "rebase-merge").exists() or (gd / "rebase-apply").exists()

    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor of two commits, or None when they share no history."""
        try:
            return self.run("merge-base", a, b).strip() or None
        except ExternalError:
            return None

    def merge_no_commit(self, rev: str, *, config: dict[str, str] | None = None) -> bool:
        """`git merge --no-ff --no-commit REV`: True when git merged every file, False when
        it left conflicts (the merge is then in progress); other failures raise."""
        opts = [a for k, v in (config or {}).items() for a in ("-c", f"{k}={v}")]
        try:
            _execute(self.root, ["git", *opts, "merge", "--no-ff", "--no-commit", "--no-edit", rev])
            return True
        except _GitFailed as exc:
            if self.merging():
                return False
            detail = (exc.stderr or exc.stdout or "").strip().splitlines()
            reason = detail[-1] if detail else str(exc)
            raise ExternalError(f"git merge failed: {reason.strip()}") from None

    def unmerged(self) -> list[str]:
        """Paths git left unmerged (conflicts)."""
        out = self.run("diff", "--name-only", "-z", "--diff-filter=U")
        return sorted({p for p in out.split("\0") if p})

    def staged_changes(self, since: str) -> list[str]:
        """Paths whose index entry differs from commit `since` (including unmerged ones)."""
        out = self.run("diff", "--cached", "--name-only", "-z", since)
        return sorted({p for p in out.split("\0") if p})

    def add(self, paths: list[str]) -> None:
        """`git add` exactly `paths` (marks conflicts resolved)."""
        if paths:
            self.run("add", "--", *paths)

    def commit_all_staged(self, message: str) -> str:
        """Commit the index as it is (a merge commit while a merge is in progress)."""
        self.run("commit", "-q", "--no-verify", "-m", message)
        sha = self.head()
        assert sha is not None
        return sha

    def undo_merge(self, head: str | None) -> None:
        """Undo a merge in progress started at `head`: index and the files git changed back to
        `head` (files it added are deleted), MERGE_HEAD removed; other work is left alone."""
        if head is None or self.head() != head or not self.merging():
            return
        changed = self.staged_changes(head)
        listed = self.run("ls-tree", "-r", "-z", "--name-only", head, "--", *changed) if changed else ""
        in_head = set(listed.split("\0"))
        self.run("reset", "-q")  # index back to HEAD; also forgets MERGE_HEAD
        keep = [p for p in changed if p in in_head]
        if keep:
            self.run("checkout", "-q", head, "--", *keep)
        for p in changed:
            if p not in in_head:
                (self.root / p).unlink(missing_ok=True)

    def local_config_text(self) -> str | None:
        """The text of this clone's `.git/config` read directly (no git process), or None when
        its location is not the plain one (a linked worktree: ask git instead)."""
        path = self.root / ".git" / "config"
        try:
            return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
        except OSError:
            return None

    def config_get(self, key: str) -> str | None:
        """A value from this clone's git config, or None."""
        try:
            out = _execute(self.root, ["git", "config", "--local", "--get", key])
        except _GitFailed:
            return None
        return str(out).strip() or None

    def config_set(self, key: str, value: str) -> None:
        """Set a value in this clone's `.git/config`."""
        self.run("config", "--local", key, value)

    def config_remove_section(self, section: str) -> None:
        """Remove a section of `.git/config` (nothing if absent)."""
        try:
            _execute(self.root, ["git", "config", "--local", "--remove-section", section])
        except _GitFailed:
            pass

    def unmerged_entries(self, paths: list[str]) -> str:
        """The conflict stages git holds for `paths` (`git ls-files -u` lines), to put back."""
        return self.run("ls-files", "-u", "--", *paths) if paths else ""

    def restore_unmerged(self, entries: str) -> None:
        """Put conflict stages saved by `unmerged_entries` back into the index."""
        lines = [ln for ln in entries.splitlines() if ln.strip()]
        paths = sorted({ln.split("\t", 1)[1] for ln in lines})
        if not paths:
            return
        zero = "0" * 40
        info = "".join(f"0 {zero}\t{p}\n" for p in paths) + "".join(f"{ln}\n" for ln in lines)
        import subprocess

        done = subprocess.run(
            ["git", "update-index", "--index-info"],
            cwd=self.root,
            input=info,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise ExternalError(f"git update-index failed: {done.stderr.strip()}")
