"""`fsck` checks of the data: `.dvc` files against versions, DVC cache objects present
(and, with `--deep`, readable and of the right md5), and with `--remote` what each DVC
remote holds."""

from __future__ import annotations

from typing import Any

from dslineage import config, dvcio
from dslineage.errors import DslineageError
from dslineage.ops import mergestate
from dslineage.ops.fsck_base import CheckerBase, _is_md5


class DataChecks(CheckerBase):
    """The data checks of the fsck checker."""

    def check_dvc(self) -> None:
        by_dataset: dict[str, list[dict[str, Any]]] = {}
        for rec in self.records.values():
            if rec.get("kind") == "version":
                by_dataset.setdefault(str(rec.get("dataset")), []).append(rec)
        objects = verified = 0
        try:  # outputs of DVC stages have their hash in dvc.lock instead of a .dvc file
            staged = {p: m for e in dvcio.read_lock(self.root).values() for p, m in e.outs}
        except Exception as exc:  # a damaged dvc.lock: any parser error
            self.add(
                "dvc",
                "error",
                f"dvc.lock is unreadable: {str(exc).splitlines()[0][:120]}",
                "restore it with `git checkout -- dvc.lock`",
                "dvc.lock",
            )
            staged = {}
        for name, ds in sorted(self.datasets.items()):
            versions = sorted(by_dataset.get(name, []), key=lambda r: r.get("seq") or 0)
            md5s = {r["md5"] for r in versions}
            dvcrel = dvcio.dvcfile_for(ds.path)
            current: str | None = None
            if ds.path in staged and not (self.root / dvcrel).exists():
                dvcrel, out = "dvc.lock", dvcio.DvcOut(md5=staged[ds.path], size=None, path=ds.path)
            else:
                out = None
            try:
                out = out or dvcio.read_dvcfile(self.root / dvcrel)
            except Exception as exc:  # a damaged YAML file: any parser error
                self.add(
                    "dvc",
                    "error",
                    f"{dvcrel} is unreadable: {str(exc).splitlines()[0][:120]}",
                    f"restore it with `git checkout -- {dvcrel}` or `dslineage checkout {name}@latest`",
                    dvcrel,
                )
                out = None
            else:
                if out is None and versions:
                    self.add(
                        "dvc",
                        "error",
                        f"{dvcrel} is missing or names no output",
                        f"restore it with `dslineage checkout {name}@latest --force`",
                        dvcrel,
                    )
            head = self._head_md5(ds)
            note = mergestate.read(self.root, name)
            if versions and head is not None and head not in md5s and note and note.get("merged_md5") == head:
                self.add(
                    "dvc",
                    "warning",
                    f"HEAD's {dvcrel} records the rows the git merge driver merged; the merge "
                    f"version of {name} is not recorded yet",
                    "run any dslineage command (e.g. `dslineage status`): it records it",
                    dvcrel,
                )
            elif versions and head is not None and head not in md5s:
                self.add(
                    "dvc",
                    "warning",
                    f"HEAD's {dvcrel} records md5 {head} for {ds.path} that no version of {name} "
                    "has (e.g. a git merge that nothing recorded yet)",
                    f"record it with `dslineage commit {name} -m MSG`, or finish the merge with "
                    "`dslineage merge BRANCH`",
                    dvcrel,
                )
            if out is not None:
                current = out.md5
                if versions and out.md5 not in md5s and out.md5 != head:
                    self.add(
                        "dvc",
                        "error",
                        f"{dvcrel} records md5 {out.md5} for {ds.path} that no version of {name} "
                        "has (a .dvc file without a journal entry)",
                        f"record it with `dslineage commit {name} -m MSG`, or return to a version "
                        f"with `dslineage checkout {name}@latest --force`",
                        dvcrel,
                    )
            working = self.root / ds.path
            for rec in versions:
                md5 = rec["md5"]
                obj = dvcio.cache_path(self.root, md5) if _is_md5(md5.removesuffix(".dir")) else None
                if obj is None:
                    continue
                objects += 1
                label = f"{name}@v{rec.get('seq')}"
                if not obj.is_file():
                    needed = md5 == current and not (working.is_file() and dvcio.file_md5(working) == md5)
                    self.add(
                        "cache",
                        "error" if needed else "warning",
                        f"DVC cache object {md5} of {label} is missing"
                        + (" and the working file does not hold it" if needed else ""),
                        "fetch it with `dvc pull` (or `dvc fetch`) from the DVC remote",
                        label,
                    )
                    continue
                if self.deep:
                    verified += 1
                    actual = dvcio.file_md5(obj)
                    if actual != md5.removesuffix(".dir"):  # (of a directory: its manifest's bytes)
                        rel = obj.relative_to(self.root).as_posix() if obj.is_relative_to(self.root) else str(obj)
                        self.add(
                            "cache",
                            "error",
                            f"DVC cache object {md5} of {label} is corrupt (its bytes hash to {actual})",
                            f"delete {rel} and `dvc pull` it, or re-add the original file",
                            rel,
                        )
            if self.deep and working.is_file():
                self._check_readable(ds)
        self.checked["cache_objects"] = objects
        if self.deep:
            self.checked["cache_objects_verified"] = verified

    def _head_md5(self, ds: config.Dataset) -> str | None:
        from dslineage.core import common

        return common.recorded_md5_at(self.repo, ds, "HEAD")  # no index: it may be the broken part

    def _check_readable(self, ds: config.Dataset) -> None:
        from dslineage.core import common
        from dslineage.store import rows

        con = common.row_connection(self.repo)
        try:
            rows.validate(con, common.working_source(self.repo, ds), ds)
        except DslineageError as exc:
            self.add(
                "dvc",
                "warning",
                f"the working file of {ds.name} is not a valid dataset: {str(exc)[:200]}",
                f"fix it, or restore it with `dslineage checkout {ds.name}@latest --force`",
                ds.path,
            )
        finally:
            con.close()

    # -- DVC remotes (`--remote`) ----------------------------------------------------------

    def check_remote(self) -> None:
        """List the versions whose object is on no configured DVC remote (asks each remote)."""
        versions = sorted(
            (
                r
                for r in self.records.values()
                if r.get("kind") == "version"
                and r.get("dataset") in self.datasets
                and _is_md5(str(r.get("md5", "")).removesuffix(".dir"))
            ),
            key=lambda r: (str(r["dataset"]), r.get("seq") or 0, r["id"]),
        )
        files = {r["md5"]: dvcio.dir_children(self.root, r["md5"]) for r in versions}  # a directory's files
        md5s = sorted({r["md5"] for r in versions} | {c for cs in files.values() for c in cs})
        try:
            names = dvcio.remote_names(self.root)
        except Exception as exc:  # a damaged .dvc/config: any DVC config error
            names = []
            self.add(
                "remote",
                "error",
                f"the DVC config is unreadable: {str(exc).splitlines()[0][:150]}",
                "fix .dvc/config (`dvc remote list` shows what DVC reads)",
                ".dvc/config",
            )
        on_remote: set[str] = set()
        unreachable: list[dict[str, str]] = []
        for name in names:
            try:
                on_remote |= dvcio.remote_status(self.root, md5s, remote=name).present
            except DslineageError as exc:
                unreachable.append({"remote": name, "error": str(exc)})
                self.add(
                    "remote",
                    "error",
                    f"DVC remote {name!r} cannot be checked: {exc}",
                    "set the remote's credentials in the environment, or fix its URL/endpoint",
                    ".dvc/config",
                )
        if not names:
            self.add(
                "remote",
                "warning",
                "no DVC remote is configured: every version lives only in local caches",
                "add one with `dvc remote add -d NAME URL`, then `dslineage push`",
                ".dvc/config",
            )
        nowhere: list[dict[str, Any]] = []
        if names and len(unreachable) == len(names):
            versions = []  # no remote answered: which versions are missing is unknown
        for rec in versions:
            if rec["md5"] in on_remote and on_remote.issuperset(files[rec["md5"]]):
                continue
            local = dvcio.cache_path(self.root, rec["md5"]).is_file()
            nowhere.append(
                {
                    "dataset": rec["dataset"],
                    "version": rec["id"],
                    "seq": rec.get("seq"),
                    "md5": rec["md5"],
                    "local": local,
                }
            )
            label = f"{rec['dataset']}@v{rec.get('seq')}"
            if names:
                self.add(
                    "remote",
                    "warning" if local else "error",
                    f"DVC cache object {rec['md5']} of {label} is on no DVC remote"
                    + ("" if local else " and not in the local cache: no clone can get it from here"),
                    f"run `dslineage push {rec['dataset']}`"
                    if local
                    else "run `dslineage push` on the machine that recorded it",
                    label,
                )
        self.checked["remote_objects"] = len(md5s)
        self.remote_report = {"remotes": names, "unreachable": unreachable, "versions": nowhere}
