"""`startup` benchmark: `dslineage --help`, `--version`, and `log`, `history` and `status` on a
small repository against `dvc --version` and a bare interpreter (whole process: wall clock and
CPU seconds). `startup_compare` names another `dslineage` executable (e.g. an older install)
timed in the same rounds.

The package's bytecode is compiled first, as `pip install` does for a wheel: a process started
with PYTHONDONTWRITEBYTECODE set (as on some CI machines) would otherwise compile every module it
imports from source on each run (~0.05-0.1 s), which no installed copy pays."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks import measure, repos
from benchmarks.params import Layout, Params

HEAVY = ("dvc", "duckdb", "pyarrow", "networkx", "pandas", "git")


def heavy_imports() -> list[str]:
    """Heavy modules that `import dslineage.cli` loads (should be none)."""
    code = f"import sys, dslineage.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def small_repo(root: Path) -> Path:
    """A repository with one 20-row dataset tracked and committed (v1)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dslineage.repo import Repo

    repos.fresh(root)
    Repo.init(root)
    data = root / repos.FILE
    data.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"key": list(range(20)), "label": ["cat", "dog"] * 10}), data)
    with Repo(root) as repo:
        repo.track(str(data), ["key"], ["label"])
        repo.commit([repos.DATASET], "v1", None)
    return root


def compile_package() -> bool:
    """Write the `dslineage` package's bytecode (what an installed wheel has); True when it ran."""
    import dslineage

    package = Path(dslineage.__file__).resolve().parent
    proc = subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], capture_output=True, check=False)
    return proc.returncode == 0


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """Median wall and CPU time of each command over `p.startup_runs` interleaved runs."""
    compiled = compile_package()
    small = small_repo(layout.work / "startup-small")
    cmds = {}
    tools = {"dslineage": measure.bin_of("dslineage")}
    if p.startup_compare:
        tools["compare"] = [p.startup_compare]
    for tool, argv in tools.items():
        cmds[f"{tool}_help"] = [*argv, "--help"]
        cmds[f"{tool}_version"] = [*argv, "--version"]
        cmds[f"{tool}_log_small"] = [*argv, "-C", str(small), "log", repos.DATASET]
        cmds[f"{tool}_history_small"] = [*argv, "-C", str(small), "history", repos.DATASET, "3"]
        cmds[f"{tool}_status_small"] = [*argv, "-C", str(small), "status"]
    cmds["dvc_version"] = [*measure.bin_of("dvc"), "--version"]
    cmds["python_bare"] = [sys.executable, "-c", "pass"]
    for argv in cmds.values():
        measure.command(argv)  # warm the OS file cache once
    samples: dict[str, list[dict[str, Any]]] = {k: [] for k in cmds}
    for _ in range(max(p.startup_runs, 3)):
        for name, argv in cmds.items():
            samples[name].append(measure.command(argv))
    out: dict[str, Any] = {k: measure.summarize(v) for k, v in samples.items()}
    out["heavy_modules_loaded_by_cli_import"] = heavy_imports()
    out["bytecode_compiled"] = compiled
    out["load_average"] = round(os.getloadavg()[0], 1)
    if p.startup_compare:
        out["compare_executable"] = p.startup_compare
    print(
        "startup: "
        + ", ".join(
            f"{k} {v['median_s']:.3f} s ({v['median_cpu_s'] or 0:.3f} s CPU)"
            for k, v in out.items()
            if isinstance(v, dict)
        )
        + f"; load {out['load_average']}",
        flush=True,
    )
    return out
