"""`report` stage: merge the stages' parts into `bench/results.json` and draw the plot.

results.json holds the machine, the medians and ratios per size, and each target with
its figure and met / not met; the per-run details stay in `bench/parts/*.json`.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from benchmarks.params import Layout, Params
from benchmarks.render import DIFF_TOOLS, fill_readme, markdown
from benchmarks.scale import summary as scale_summary

__all__ = ["markdown", "run", "summarize"]
GiB = 2**30


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import duckdb

    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem / GiB, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _med(d: dict[str, Any] | None) -> float | None:
    return d.get("median_s") if isinstance(d, dict) and "median_s" in d else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _target(name: str, value: float | None, limit: float, unit: str, higher_is_better: bool = False) -> dict[str, Any]:
    if value is None:
        return {"target": name, "value": None, "limit": limit, "unit": unit, "met": None}
    met = value >= limit if higher_is_better else value <= limit
    return {"target": name, "value": round(value, 4), "limit": limit, "unit": unit, "met": met}


def summarize(parts: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(summary of medians and ratios, targets with met / not met) from the stages' parts."""
    summary: dict[str, Any] = {}
    targets: list[dict[str, Any]] = []
    diff = parts.get("diff") or {}
    _flat(diff.get("flat") or {}, "diff_flat", "1% of rows changed: changes grow with the dataset", summary, targets)
    fd = parts.get("flatdiff") or {}
    if fd:
        _flat(
            fd["sizes"],
            "diff_flat_fixed",
            f"the same {fd['changed_rows']:,} rows changed at every size",
            summary,
            targets,
        )
    for size, res in diff.items():
        if not size.isdigit() or "duckdb_lower_bound" not in res:
            continue  # flat, flat_ratio
        lb = _med(res.get("duckdb_lower_bound"))
        s = {f"{t}_s": _med(res.get(t)) for t in DIFF_TOOLS}
        for t in DIFF_TOOLS:
            s[f"{t}_ratio_to_lower_bound"] = (res.get(t) or {}).get("paired_ratio") or _ratio(_med(res.get(t)), lb)
            s[f"{t}_cpu_s"] = (res.get(t) or {}).get("median_cpu_s")
            s[f"{t}_cpu_ratio_to_lower_bound"] = (res.get(t) or {}).get("paired_cpu_ratio")
            rss = (res.get(t) or {}).get("rss_bytes")
            s[f"{t}_rss_gib"] = round(rss / GiB, 3) if rss else None
        lib = _med(res.get("dslineage_lib"))
        for peer in ("pandas", "datacompy_polars", "doltlite"):
            s[f"speedup_lib_vs_{peer}"] = _ratio(_med(res.get(peer)), lib)
        summary.setdefault("diff", {})[size] = s
        # the byte path (a diff against the working file): the committed-version diff is folded, no join
        targets.append(
            _target(
                f"diff library against the working file <= 1.3x DuckDB lower bound ({size} rows)",
                s["dslineage_lib_working_ratio_to_lower_bound"],
                1.3,
                "x",
            )
        )
        # a command against the same join as a whole process (interpreter start and imports on both sides)
        cli = res.get("dslineage_cli_working") or {}
        s["dslineage_cli_working_ratio_to_process"] = cli.get("paired_ratio_to_process")
        s["dslineage_cli_working_cpu_ratio_to_process"] = cli.get("paired_cpu_ratio_to_process")
        targets.append(
            _target(
                f"diff CLI against the working file <= 1.3x the DuckDB join as a whole process ({size} rows)",
                s["dslineage_cli_working_ratio_to_process"],
                1.3,
                "x",
            )
        )
        targets.append(
            _target(
                f"diff >= 3x faster than datacompy/Polars ({size} rows)",
                s["speedup_lib_vs_datacompy_polars"],
                3.0,
                "x",
                higher_is_better=True,
            )
        )
        if int(size) >= 5_000_000:
            rss = max((res.get(t) or {}).get("rss_bytes") or 0 for t in ("dslineage_lib_working", "dslineage_lib"))
            targets.append(
                _target(f"diff against the working file peak RSS <= 1.5 GB ({size} rows)", rss / 1e9 or None, 1.5, "GB")
            )
    for size, res in (parts.get("commit") or {}).items():
        base = _med(res.get("dvc_add_git_commit"))
        s = {f"{t}_s": _med(res.get(t)) for t in ("dvc_add_git_commit", "dslineage_cli", "dslineage_lib")}
        s["cli_ratio"] = (res.get("dslineage_cli") or {}).get("paired_ratio") or _ratio(s["dslineage_cli_s"], base)
        s["lib_ratio"] = (res.get("dslineage_lib") or {}).get("paired_ratio") or _ratio(s["dslineage_lib_s"], base)
        s["cli_cpu_ratio"] = (res.get("dslineage_cli") or {}).get("paired_cpu_ratio")
        s["lib_cpu_ratio"] = (res.get("dslineage_lib") or {}).get("paired_cpu_ratio")
        summary.setdefault("commit", {})[size] = s
        targets.append(_target(f"commit CLI <= 2x dvc add + git commit ({size} rows)", s["cli_ratio"], 2.0, "x"))
    hist = parts.get("history") or {}
    hist_lengths = [k for k, v in hist.items() if isinstance(v, dict) and "dslineage_lib" in v] or ["0"]
    hist_lengths = [str(n) for n in sorted(int(k) for k in hist_lengths)]
    for versions, res in hist.items():
        if not isinstance(res, dict) or "dslineage_lib" not in res:
            continue
        s = {
            "lib_ms": round((_med(res["dslineage_lib"]) or 0) * 1000, 2),
            "cli_s": _med(res["dslineage_cli"]),
            "lib_cpu_ms": round((res["dslineage_lib"].get("median_cpu_s") or 0) * 1000, 2),
            "doltlite_ms": round((_med(res.get("doltlite")) or 0) * 1000, 2) if _med(res.get("doltlite")) else None,
            "index_bytes": res["index_bytes"],
            "change_set_bytes": res["change_set_bytes"],
            "index_sync_s": res["index_sync_s"],
            "load": res.get("load"),
        }
        summary.setdefault("history", {"rows": hist.get("rows")})[versions] = s
        if versions == hist_lengths[-1]:
            targets.append(_target(f"history of one key <= 50 ms, library, {versions} versions", s["lib_ms"], 50, "ms"))
        if versions == "200":
            targets.append(_target("history of one key < 100 ms, library, 200 versions", s["lib_ms"], 100, "ms"))
    hr = parts.get("htmlreport") or {}
    if hr:
        page_s = _med(hr.get("dslineage_cli"))
        summary["htmlreport"] = {
            "rows": hr["rows"],
            "versions": hr["versions"],
            "cli_s": page_s,
            "cli_cpu_s": (hr.get("dslineage_cli") or {}).get("median_cpu_s"),
            "html_bytes": hr["html_bytes"],
        }
        what = f"{hr['rows']:,} rows, {hr['versions']} versions"
        targets.append(_target(f"dslineage report <= 10 s ({what}, whole process)", page_s, 10.0, "s"))
        targets.append(_target(f"report page <= 5 MB ({what})", round(hr["html_bytes"] / 1e6, 3), 5.0, "MB"))
    st = parts.get("startup") or {}
    if st:
        summary["startup"] = {k: _med(v) for k, v in st.items() if isinstance(v, dict)}
        targets.append(_target("dslineage --help <= 0.15 s", _med(st.get("dslineage_help")), 0.15, "s"))
        targets.append(_target("dslineage --version <= 0.15 s", _med(st.get("dslineage_version")), 0.15, "s"))
        for cmd in ("log", "history", "status"):
            if f"dslineage_{cmd}_small" in st:
                targets.append(
                    _target(
                        f"dslineage {cmd} on a small repository <= 0.3 s (whole process)",
                        _med(st.get(f"dslineage_{cmd}_small")),
                        0.3,
                        "s",
                    )
                )
        summary["startup_cpu"] = {k: v.get("median_cpu_s") for k, v in st.items() if isinstance(v, dict)}
        summary["startup_load_average"] = st.get("load_average")
    li = parts.get("lineage") or {}
    if "both_json_median_s" in li:
        summary["lineage"] = {k: v for k, v in li.items() if isinstance(v, (int, float))}
        n = f"{li['versions']:,} versions"
        targets.append(
            _target(f"dslineage lineage of one node <= 0.5 s ({n}, whole process)", li["both_json_median_s"], 0.5, "s")
        )
        targets.append(
            _target(
                f"dslineage impact of a node with ~half the graph downstream <= 0.5 s ({n}, CLI)",
                li["impact_json_median_s"],
                0.5,
                "s",
            )
        )
    ri = parts.get("reindex") or {}
    if "dslineage_cli" in ri:
        old = _med(ri.get("record_by_record_lib"))
        summary["reindex"] = {
            "records": ri["records"],
            "cli_s": _med(ri["dslineage_cli"]),
            "cli_cpu_s": ri["dslineage_cli"].get("median_cpu_s"),
            "lib_s": _med(ri.get("dslineage_lib")),
            "lib_cpu_s": (ri.get("dslineage_lib") or {}).get("median_cpu_s"),
            "load": [ri.get("load_before"), ri.get("load_after")],
            "record_by_record_lib_s": old,
            "speedup_vs_record_by_record": _ratio(old, _med(ri.get("dslineage_lib"))),
            "agree": ri.get("agree"),
        }
        targets.append(
            _target(
                f"cold reindex of {ri['records']:,} records <= 10 s (CLI, whole process)",
                _med(ri["dslineage_cli"]),
                10.0,
                "s",
            )
        )
    an = parts.get("annotation") or {}
    if "review" in an:
        summary["annotation"] = {
            "rows": an["rows"],
            "versions": an["versions"],
            "review_s": an["review"]["median_s"],
            "cleanlab_s": an["cleanlab_direct"]["median_s"],
            "review_ratio": an["review_ratio"],
            "eval_s": an["eval"]["median_s"],
        }
        targets.append(
            _target(f"review of {an['rows']:,} rows x 10 classes <= 2x cleanlab alone", an["review_ratio"], 2.0, "x")
        )
        targets.append(
            _target(
                f"eval over {an['versions']} versions of {an['rows']:,} rows <= 10 s", an["eval"]["median_s"], 10.0, "s"
            )
        )
    storage = parts.get("storage") or {}
    fixed = {}
    for size, res in storage.items():
        vs = res["versions"]
        summary.setdefault("storage", {})[size] = {
            f"v{v['version']}": {k: v[k] for k in ("changed_rows", "dvc_cache_bytes", "journal_bytes", "index_bytes")}
            for v in vs
        }
        fixed[int(size)] = vs[-1]["journal_bytes"]
    if len(fixed) >= 2:
        lo, hi = min(fixed), max(fixed)
        targets.append(
            _target(
                f"journal bytes for the same changed rows at {hi} vs {lo} rows (size-independent: <= 1.5x)",
                fixed[hi] / fixed[lo],
                1.5,
                "x",
            )
        )
    for size, res in (parts.get("ops") or {}).items():
        s = {f"{k}_s": _med(res.get(k)) for k in ("relabel", "revert", "blame", "doltlite_blame")}
        s["blame_speedup_vs_doltlite"] = _ratio(s["doltlite_blame_s"], s["blame_s"])
        summary.setdefault("ops", {})[size] = s
        if int(size) >= 5_000_000 and s["blame_s"] is not None:
            targets.append(_target(f"blame <= 3 s ({size} rows)", s["blame_s"], 3.0, "s"))
        if s["blame_speedup_vs_doltlite"] is not None:
            targets.append(
                _target(
                    f"blame >= 3x faster than doltlite ({size} rows)",
                    s["blame_speedup_vs_doltlite"],
                    3.0,
                    "x",
                    higher_is_better=True,
                )
            )
    for size, res in (parts.get("relabel") or {}).items():
        summary.setdefault("relabel", {})[size] = {
            "batch": res["batch"],
            "dslineage_s": _med(res["dslineage_lib"]),
            "baseline_s": _med(res["pyarrow_dvc_add_git_commit"]),
            "paired_ratio": res["paired_ratio"],
            "paired_cpu_ratio": res["paired_cpu_ratio"],
            "agrees": res["agrees"],
        }
        if int(size) >= 5_000_000:
            targets.append(
                _target(
                    f"relabel of {res['batch']:,} labels <= 1.5x pyarrow + dvc add + git commit ({size} rows, library)",
                    res["paired_ratio"],
                    1.5,
                    "x",
                )
            )
    for size, res in (parts.get("merge") or {}).items():
        s = {f"{k}_s": _med(res.get(k)) for k in ("commit", "merge", "merge_keyed", "conflicts")}
        s["merge_keyed_ratio_to_commit"] = (res.get("merge_keyed") or {}).get("ratio_to_commit")
        s["merge_ratio_to_commit"] = res["merge"].get("ratio_to_commit")
        s["merge_cpu_ratio_to_commit"] = res["merge"].get("cpu_ratio_to_commit")
        s["agrees"] = res.get("agrees")
        # the whole commands (CLI processes) against one `dslineage commit` CLI of the same run
        s.update({f"{k}_s": _med(res.get(k)) for k in ("cli_commit", "cli_merge", "cli_conflicts")})
        s["cli_merge_ratio_to_commit"] = (res.get("cli_merge") or {}).get("ratio_to_commit")
        s["cli_merge_paired_ratio"] = (res.get("cli_merge") or {}).get("paired_ratio")
        s["cli_agrees"] = res.get("cli_agrees")
        summary.setdefault("merge", {})[size] = s
        if int(size) >= 5_000_000:
            targets.append(
                _target(
                    f"merge engine of two 1% relabels <= 2x one commit ({size} rows)",
                    s["merge_ratio_to_commit"],
                    2.0,
                    "x",
                )
            )
            targets.append(_target(f"merge engine conflicts listing <= 3 s ({size} rows)", s["conflicts_s"], 3.0, "s"))
            if s["cli_merge_ratio_to_commit"] is not None:
                targets.append(
                    _target(
                        f"`dslineage merge` of two 1% relabels <= 2x `dslineage commit` ({size} rows)",
                        s["cli_merge_ratio_to_commit"],
                        2.0,
                        "x",
                    )
                )
            if s["cli_conflicts_s"] is not None:
                targets.append(
                    _target(
                        f"`dslineage merge --conflicts --json` <= 3 s ({size} rows)", s["cli_conflicts_s"], 3.0, "s"
                    )
                )
    ml = parts.get("memlimit") or {}
    if "dslineage_lib" in ml:
        summary["memlimit"] = {
            "rows": ml["rows"],
            "memory_limit": ml["memory_limit"],
            "lib_s": _med(ml["dslineage_lib"]),
            "rss_gib": ml["dslineage_lib"]["rss_bytes"] / GiB,
            "agrees": ml["agrees"],
            "lower_bound_unlimited_s": _med(ml.get("duckdb_lower_bound_unlimited")),
        }
        targets.append(
            _target(
                f"diff of {ml['rows']} rows (both versions' bytes) completes with memory_limit {ml['memory_limit']}",
                1.0 if ml["agrees"] else 0.0,
                1.0,
                "ok",
                higher_is_better=True,
            )
        )
    for size, res in (parts.get("consensus") or {}).items():
        if not isinstance(res, dict) or "votes" not in res:
            continue
        for method in (m for m in res if isinstance(res[m], dict) and "paired_ratio" in res[m]):
            m = res[method]
            summary.setdefault("consensus", {}).setdefault(size, {})[method] = {
                "crowdkit_s": _med(m["crowdkit"]),
                "dslineage_s": _med(m["dslineage"]),
                "paired_ratio": m["paired_ratio"],
                "agrees": m["agrees"],
            }
            targets.append(
                _target(
                    f"consensus of {int(size):,} votes ({method}) <= 2x crowd-kit alone", m["paired_ratio"], 2.0, "x"
                )
            )
    sc, sc_targets = scale_summary(parts.get("scale") or {})
    if sc:
        summary["scale"] = sc
    targets += [_target(*t) for t in sc_targets]
    return summary, targets


def _flat(
    flat: dict[str, Any], key: str, what_changed: str, summary: dict[str, Any], targets: list[dict[str, Any]]
) -> None:
    """The committed-version diff at every size (sizes taking turns in each round) and its flatness targets."""
    if not flat:
        return
    small = min(flat, key=int)
    summary[key] = {"changed": what_changed}
    for size, f in sorted(flat.items(), key=lambda kv: int(kv[0])):
        cli, lib = f["dslineage_cli"], f["dslineage_lib"]
        summary[key][size] = {
            "cli_s": _med(cli),
            "cli_cpu_s": cli.get("median_cpu_s"),
            "cli_ratio": cli["paired_ratio_to_smallest"],
            "cli_cpu_ratio": cli["paired_cpu_ratio_to_smallest"],
            "lib_s": _med(lib),
            "lib_cpu_s": lib.get("median_cpu_s"),
            "lib_ratio": lib["paired_ratio_to_smallest"],
            "lib_cpu_ratio": lib["paired_cpu_ratio_to_smallest"],
            "exact_fold": bool(cli.get("exact_fold")),
            "agrees": bool(cli.get("agrees") and lib.get("agrees")),
        }
        if size != small:
            for tool, what in (("cli", "CLI, whole process"), ("lib", "library")):
                targets.append(
                    _target(
                        f"committed-version diff at {int(size):,} rows <= 1.3x its time at "
                        f"{int(small):,} ({what_changed}; {what})",
                        summary[key][size][f"{tool}_ratio"],
                        1.3,
                        "x",
                    )
                )


def plot(layout: Layout, parts: dict[str, Any]) -> None:
    """Time against rows for each diff tool and for commit (log-log)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    diff = parts.get("diff") or {}
    sizes = sorted(int(s) for s in diff if s.isdigit())
    for tool in DIFF_TOOLS:
        pts = [(n, _med(diff[str(n)].get(tool))) for n in sizes]
        pts = [(n, t) for n, t in pts if t is not None]
        if pts:
            ax1.plot(*zip(*pts), marker="o", label=tool)
    flat = diff.get("flat") or {}
    if flat:  # the committed-version diff up to big_rows, sizes in turns
        pts = sorted((int(n), _med(f["dslineage_cli"])) for n, f in flat.items())
        ax1.plot(*zip(*pts), marker="s", linestyle="--", label="dslineage_cli committed (folded)")
    ax1.set(xscale="log", yscale="log", xlabel="rows", ylabel="median seconds", title="diff of two versions")
    ax1.legend(fontsize=8)
    com = parts.get("commit") or {}
    csizes = sorted(int(s) for s in com)
    for tool in ("dvc_add_git_commit", "dslineage_cli", "dslineage_lib"):
        pts = [(n, _med(com[str(n)].get(tool))) for n in csizes]
        pts = [(n, t) for n, t in pts if t is not None]
        if pts:
            ax2.plot(*zip(*pts), marker="o", label=tool)
    ax2.set(xscale="log", yscale="log", xlabel="rows", ylabel="median seconds", title="commit of version 2")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    tmp = layout.plot.with_name(f".{layout.plot.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, layout.plot)


def run(layout: Layout, p: Params, *, draw: bool = True) -> dict[str, Any]:
    """Write results.json (and scaling.png unless `draw` is False)."""
    from benchmarks import STAGES
    from dslineage.config import atomic_write_text

    parts = {s: (layout.read_part(s) or {}).get("results") for s in STAGES if s != "report"}
    summary, targets = summarize({k: v for k, v in parts.items() if v})
    stages = {
        s: {k: part.get(k) for k in ("seconds", "load_average")}
        for s in STAGES
        if s != "report" and (part := layout.read_part(s))
    }
    results = {
        "machine": machine(),
        "params": p.to_dict(),
        "summary": summary,
        "targets": targets,
        "stages": stages,
        "skipped": _skips(parts),
    }
    layout.base.mkdir(parents=True, exist_ok=True)
    atomic_write_text(layout.results, json.dumps(results, indent=1, sort_keys=True) + "\n")
    for t in targets:
        flag = {True: "MET", False: "NOT MET", None: "n/a"}[t["met"]]
        print(f"target {flag}: {t['target']}: {t['value']} (limit {t['limit']} {t['unit']})", flush=True)
    if draw:
        plot(layout, parts)
    root = Path(__file__).resolve().parents[1]
    readme = root / "README.md"
    if layout.base.resolve() == (root / "bench").resolve() and readme.exists():  # the run published in git
        atomic_write_text(readme, fill_readme(readme.read_text(encoding="utf-8"), results))
    print(markdown(results), flush=True)
    return results


def _skips(parts: dict[str, Any]) -> list[str]:
    found: list[str] = []

    def walk(obj: Any, path: str) -> None:
        if isinstance(obj, dict):
            if set(obj) == {"skipped"}:
                found.append(f"{path}: {obj['skipped']}")
                return
            for k, v in obj.items():
                walk(v, f"{path}.{k}" if path else k)

    walk(parts, "")
    return found
