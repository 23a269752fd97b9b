"""Version references: `NAME@v3`, `NAME@latest~1`, `NAME@<id prefix>`, `NAME@<git rev>`, tags.

Every interpretation of the text is tried; if they name different versions the reference
is ambiguous and the error lists the candidates. `latest` is the current version (the one
HEAD's `.dvc` file records, `common.current`); `vN` prefers the vN reachable from it along
parents (two branches each recording a v2), and `~N` walks first parents, like git.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dslineage import dvcio, journal
from dslineage.config import Dataset
from dslineage.core import common
from dslineage.errors import RefError

if TYPE_CHECKING:
    from dslineage.repo import Repo

_SEQ = re.compile(r"^v(\d+)$")
_HEX = re.compile(r"^[0-9a-f]{4,40}$")
_TILDE = re.compile(r"^(.*?)~(\d*)$")


GRAMMAR = "NAME@vN, NAME@latest[~N], NAME@TAG, NAME@<id prefix> or NAME@<git rev>[~N]"
_BAD_TILDE = re.compile(r"~(?!\d*(?:[~^]|$))")


def _malformed(name: str, sep: str, rest: str) -> str | None:
    """What is wrong with the text of a reference, or None when it follows the grammar."""
    if not name:
        return "no dataset name before the @" if sep else "no dataset name"
    if any(c.isspace() for c in name + rest):
        return "it contains a space"
    if not sep:
        return None
    if not rest:
        return "nothing after the @"
    if re.search(r"@(?!\{)", rest):  # git's `@{1}` reflog form is the only @ allowed after the first
        return "a second @"
    if rest == "v":
        return "v takes a number: vN"
    if _BAD_TILDE.search(rest):
        return "~ takes a number: ~N"
    if rest.startswith("latest") and rest[6:7] in ("^", ":"):
        return "latest takes ~N"
    return None


def split(ref: str) -> tuple[str, str]:
    """`NAME@REF` → (NAME, REF); a bare NAME means its current version (`latest`).

    A reference outside the grammar (`ds@@`, `ds@`, `@v1`, `ds@v`, `ds@latest~x`) is a RefError
    that states the grammar, never a guess (git reads a lone `@` as HEAD)."""
    name, sep, rest = ref.partition("@")
    problem = _malformed(name, sep, rest)
    if problem:
        raise RefError(f"malformed reference {ref!r} ({problem}): use {GRAMMAR}")
    return name, (rest if sep else "latest")


def _describe(v: dict[str, Any]) -> str:
    return f"{v['dataset']}@v{v['seq']} ({journal.short(v['id'])}, {v['timestamp'][:19]}, {v['message'][:40]!r})"


def _candidates(
    repo: Repo, ds: Dataset, text: str, versions: list[dict[str, Any]], *, git: bool = True
) -> dict[str, dict[str, Any]]:
    by_id = {v["id"]: v for v in versions}
    found: dict[str, dict[str, Any]] = {}
    if text == "latest":
        head = common.current(repo, ds.name)
        if head:
            found[head["id"]] = head
        return found
    m = _SEQ.match(text)
    if m:
        return _by_seq(repo, ds, int(m.group(1)), versions)
    tags = repo.index.tags(ds.name)
    if text in tags and tags[text] in by_id:
        found[tags[text]] = by_id[tags[text]]
    if _HEX.match(text.lower()):
        for v in versions:
            if v["id"].startswith(text.lower()):
                found[v["id"]] = v
    if git:  # a tag or id prefix that git reads as another commit is ambiguous
        found.update(_by_git_rev(repo, ds, text, versions))
    return found


def _by_seq(repo: Repo, ds: Dataset, seq: int, versions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`vN` as git would read it: the vN on the current version's first-parent line, else
    the one reachable along any parents, else any vN (several unreachable: ambiguous)."""
    same = {v["id"]: v for v in versions if v["seq"] == seq}
    if len(same) <= 1:
        return same
    head = common.current(repo, ds)
    by_id = {v["id"]: v for v in versions}
    start = head["id"] if head else None
    for first in (True, False):
        near = [vid for vid in common.ancestors(by_id, start, first=first) if vid in same]
        if len(near) == 1 or (near and first):
            return {near[0]: same[near[0]]}
        if near:
            return {vid: same[vid] for vid in near}
    return same


def _by_git_rev(repo: Repo, ds: Dataset, text: str, versions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    sha = repo.git.rev_parse(text)
    if sha is None:
        return {}
    blob = repo.git.show(sha, dvcio.dvcfile_for(ds.path))
    out = dvcio.parse_dvcfile(blob) if blob else None
    if out is None:
        return {}
    same = [v for v in versions if v["md5"] == out.md5]
    reachable = [v for v in same if v.get("git_commit") and repo.git.is_ancestor(v["git_commit"], sha)]
    pool = reachable or same
    if not pool:
        return {}
    best = max(pool, key=lambda v: (v["seq"], v["timestamp"]))
    return {best["id"]: best}


def resolve(repo: Repo, ref: str) -> tuple[Dataset, dict[str, Any]]:
    """The dataset and version a reference names, or RefError listing the candidates."""
    name, text = split(ref)
    ds = repo.dataset(name)
    steps = 0
    m = _TILDE.match(text)
    if m and m.group(1):
        text, steps = m.group(1), int(m.group(2) or 1)
    versions = repo.index.versions(ds.name)
    if not versions:
        raise RefError(f"{ds.name} has no versions yet: record one with `dslineage commit -m MSG`")
    found = _candidates(repo, ds, text, versions, git=not steps)
    if steps and not found:
        # `NAME@<git rev>~N` (e.g. HEAD~1) means git's ancestry, as in `dvc diff HEAD~1`
        found, steps = _by_git_rev(repo, ds, f"{text}~{steps}", versions), 0
    if not found:
        recent = ", ".join(f"v{v['seq']}" for v in versions[:5])
        tags = ", ".join(sorted(repo.index.tags(ds.name))) or "none"
        raise RefError(
            f"unknown version {ref!r}: use NAME@vN, NAME@latest[~N], an id prefix, a git rev "
            f"or a tag (recent: {recent}; tags: {tags}); see `dslineage log {ds.name}`"
        )
    if len(found) > 1:
        listed = "; ".join(_describe(v) for v in sorted(found.values(), key=lambda v: v["seq"]))
        raise RefError(f"ambiguous version {ref!r} could be: {listed}; use NAME@vN or a longer id prefix")
    version = next(iter(found.values()))
    by_id = {v["id"]: v for v in versions}
    for _ in range(steps):
        parent = version.get("parent")
        if not parent or parent not in by_id:
            raise RefError(f"{ref!r} goes back past the first version of {ds.name}")
        version = by_id[parent]
    return ds, version
