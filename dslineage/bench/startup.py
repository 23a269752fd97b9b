"""`startup` benchmark: `dslineage --help` against `dvc --version` (whole process, wall clock)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from dslineage.bench import measure
from dslineage.bench.params import Layout, Params

HEAVY = ("dvc", "duckdb", "pyarrow", "networkx", "pandas", "git")


def heavy_imports() -> list[str]:
    """Heavy modules that `import dslineage.cli` loads (should be none)."""
    code = (
        "import sys, dslineage.cli; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """Median wall time of each command over `p.startup_runs` interleaved runs."""
    cmds = {
        "dslineage_help": [*measure.bin_of("dslineage"), "--help"],
        "dslineage_version": [*measure.bin_of("dslineage"), "--version"],
        "dvc_version": [*measure.bin_of("dvc"), "--version"],
        "python_bare": [sys.executable, "-c", "pass"],
    }
    for argv in cmds.values():
        measure.command(argv)  # warm the OS file cache once
    samples: dict[str, list[dict[str, Any]]] = {k: [] for k in cmds}
    for _ in range(max(p.startup_runs, 3)):
        for name, argv in cmds.items():
            samples[name].append(measure.command(argv))
    out: dict[str, Any] = {k: measure.summarize(v) for k, v in samples.items()}
    out["heavy_modules_loaded_by_cli_import"] = heavy_imports()
    print(
        "startup: " + ", ".join(f"{k} {v['median_s']:.3f} s" for k, v in out.items() if isinstance(v, dict)),
        flush=True,
    )
    return out
