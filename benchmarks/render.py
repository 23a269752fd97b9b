"""The Performance tables of `bench/results.json` as Markdown: printed by the `report` stage and filled into
docs/performance.md when the site is built (docs/hooks.py, through `benchmarks.report.markdown`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

DIFF_TOOLS = (
    "duckdb_lower_bound",
    "duckdb_lower_bound_process",
    "dslineage_lib",
    "dslineage_cli",
    "dslineage_lib_bytes",
    "dslineage_lib_working",
    "dslineage_cli_working",
    "pandas",
    "datacompy_polars",
    "doltlite",
)
Fmt = Callable[[Any], str]


# the README's table: the figures of issue 15 (performance), by the start of their target text
README_TARGETS = (
    "committed-version diff",
    "diff library against the working file",
    "diff CLI against the working file",
    "diff against the working file peak RSS",
    "diff of 20000000 rows",
    "commit CLI",
    "relabel of 50,000 labels",
    "cold reindex",
    "dslineage --help",
    "dslineage --version",
    "dslineage log on",
    "dslineage history on",
    "dslineage status on",
    "dslineage lineage",
    "dslineage impact",
    "history of one key <= 50 ms",
    "blame >= 3x",
)
README_BEGIN = "<!-- bench-summary: written by `python -m benchmarks report` from bench/results.json -->"
README_END = "<!-- /bench-summary -->"


def readme_table(results: dict[str, Any]) -> str:
    """The README's Performance table: each of issue 15's targets with its figure and met / not met."""
    rows = ["| target | figure | met |", "|---|---|---|"]
    for t in results["targets"]:
        if t["target"].startswith(README_TARGETS):
            flag = {True: "met", False: "**not met**", None: "n/a"}[t["met"]]
            value = "–" if t["value"] is None else f"{t['value']:g}"
            rows.append(f"| {t['target']} | {value} {t['unit']} (limit {t['limit']:g}) | {flag} |")
    return "\n".join(rows)


def fill_readme(text: str, results: dict[str, Any]) -> str:
    """`text` (the README) with the block between its bench-summary markers replaced by `readme_table`."""
    head, sep, rest = text.partition(README_BEGIN)
    _, sep2, tail = rest.partition(README_END)
    if not sep or not sep2:
        return text
    return f"{head}{README_BEGIN}\n{readme_table(results)}\n{README_END}{tail}"


def markdown(results: dict[str, Any]) -> str:
    """The Performance tables from results.json (medians, ratios, targets): printed by `report`, and filled into
    docs/performance.md by the docs build (docs/hooks.py)."""
    m, s = results["machine"], results["summary"]
    out = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, "
        f"DuckDB {m['duckdb']} (load average at the end: {m['load_average']}).",
        "",
    ]
    out += [
        "Every target (each figure a median of >= 3 runs; ratios are medians of same-round pairs):",
        "",
        "| target | figure | met |",
        "|---|---|---|",
    ]
    for t in results["targets"]:
        flag = {True: "met", False: "**not met**", None: "n/a"}[t["met"]]
        out.append(f"| {t['target']} | {t['value']} {t['unit']} (limit {t['limit']}) | {flag} |")
    out.append("")

    def sec(x: Any) -> str:
        return "–" if x is None else (f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s")

    def times(x: Any) -> str:
        return "–" if x is None else f"{x:.2f}×"

    if "diff" in s:
        out += [
            "Diff of two versions (median wall seconds; ratio to the DuckDB lower bound, median of "
            "same-round pairs, in wall and in CPU seconds; peak RSS):",
            "",
            "| rows | tool | median | × lower bound | × lower bound (CPU) | peak RSS |",
            "|---|---|---|---|---|---|",
        ]
        for size, d in s["diff"].items():
            for t in DIFF_TOOLS:
                if d.get(f"{t}_s") is None:
                    continue
                rss = d.get(f"{t}_rss_gib")
                out.append(
                    f"| {int(size):,} | {t} | {sec(d[f'{t}_s'])} | {times(d[f'{t}_ratio_to_lower_bound'])} "
                    f"| {times(d.get(f'{t}_cpu_ratio_to_lower_bound'))} "
                    f"| {'–' if rss is None else f'{rss:.2f} GiB'} |"
                )
        out.append("")
    if "commit" in s:
        out += [
            "| rows | dvc add + git commit | dslineage commit (CLI) | × (CPU ×) | library | × (CPU ×) |",
            "|---|---|---|---|---|---|",
        ]
        for size, c in s["commit"].items():
            out.append(
                f"| {int(size):,} | {sec(c['dvc_add_git_commit_s'])} | {sec(c['dslineage_cli_s'])} | "
                f"{times(c['cli_ratio'])} ({times(c.get('cli_cpu_ratio'))}) | {sec(c['dslineage_lib_s'])} | "
                f"{times(c['lib_ratio'])} ({times(c.get('lib_cpu_ratio'))}) |"
            )
        out.append("")
    if "history" in s:
        h = s["history"]
        out += [
            f"History of one key ({h.get('rows'):,}-row dataset; median over keys):",
            "",
            "| versions | library (CPU) | CLI (whole process) | doltlite | index bytes | change-set bytes |",
            "|---|---|---|---|---|---|",
        ]
        for v, e in sorted(((k, x) for k, x in h.items() if isinstance(x, dict)), key=lambda kv: int(kv[0])):
            if isinstance(e, dict):
                dl = "–" if e["doltlite_ms"] is None else f"{e['doltlite_ms']:.2f} ms"
                lib = f"{e['lib_ms']:.1f} ms ({e.get('lib_cpu_ms', 0):.1f} ms)"
                out.append(
                    f"| {v} | {lib} | {sec(e['cli_s'])} | {dl} | {e['index_bytes']:,} | {e['change_set_bytes']:,} |"
                )
        out.append("")
    if "ops" in s:
        out += ["| rows | relabel 50k | revert 50k | blame | doltlite blame |", "|---|---|---|---|---|"]
        for size, o in s["ops"].items():
            out.append(
                f"| {int(size):,} | {sec(o['relabel_s'])} | {sec(o['revert_s'])} | {sec(o['blame_s'])} | "
                f"{sec(o['doltlite_blame_s'])} |"
            )
        out.append("")
    if "startup" in s:
        st = s["startup"]
        out += [
            f"Start-up: `dslineage --help` {sec(st.get('dslineage_help'))}, `--version` "
            f"{sec(st.get('dslineage_version'))}, `log` on a small repository "
            f"{sec(st.get('dslineage_log_small'))} (`history` {sec(st.get('dslineage_history_small'))}, "
            f"`status` {sec(st.get('dslineage_status_small'))}), `dvc --version` {sec(st.get('dvc_version'))}, "
            f"bare `python -c pass` {sec(st.get('python_bare'))}.",
            "",
        ]
    if "lineage" in s:
        li = s["lineage"]
        out += [
            f"Lineage ({li['versions']:,} versions, {li['transformations']:,} transformations; whole process, "
            f"wall / CPU): `lineage NODE --json` {sec(li['both_json_median_s'])} / "
            f"{sec(li['both_json_median_cpu_s'])}, `--downstream --format tree` "
            f"{sec(li['downstream_tree_median_s'])}, `--upstream --depth 3` "
            f"{sec(li['upstream_depth3_median_s'])}, `impact` "
            f"{sec(li['impact_json_median_s'])} / {sec(li['impact_json_median_cpu_s'])}; `log` in the same "
            f"repository {sec(li['log_d0_baseline_median_s'])}.",
            "",
        ]
    if "reindex" in s:
        r = s["reindex"]
        out += [
            f"Cold `reindex` of {r['records']:,} journal records: CLI {sec(r['cli_s'])} "
            f"({sec(r.get('cli_cpu_s'))} CPU), library {sec(r['lib_s'])} ({sec(r.get('lib_cpu_s'))} CPU); "
            f"record by record (the path before bulk sync) {sec(r['record_by_record_lib_s'])}.",
            "",
        ]
    if "scale" in s:
        c = s["scale"]
        out += [
            f"Scale ({c['rows']:,} rows in {c['parts']} partitions vs one file, {c['edited_rows']:,} rows "
            f"relabeled): relabel + commit {sec(c['relabel_commit_directory_s'])} vs "
            f"{sec(c['relabel_commit_one_file_s'])}, commit of the rewritten partitions "
            f"{sec(c['commit_directory_s'])} vs {sec(c['commit_one_file_s'])}, "
            f"diff {sec(c['diff_directory_s'])} vs {sec(c['diff_one_file_s'])}.",
            "",
        ]
    out += _relabel(s, sec, times) + _flat(s, sec, times) + _memlimit(s, sec) + _stages(results)
    return "\n".join(out) + "\n"


def _relabel(s: dict[str, Any], sec: Fmt, times: Fmt) -> list[str]:
    if "relabel" not in s:
        return []
    out = [
        "Relabel of a batch against the same edit made with pyarrow + `dvc add` + `git commit` (library; "
        "median of same-round ratios, wall and CPU):",
        "",
        "| rows | batch | dslineage relabel | baseline | × (CPU ×) |",
        "|---|---|---|---|---|",
    ]
    for size, r in s["relabel"].items():
        out.append(
            f"| {int(size):,} | {r['batch']:,} | {sec(r['dslineage_s'])} | {sec(r['baseline_s'])} | "
            f"{times(r['paired_ratio'])} ({times(r['paired_cpu_ratio'])}) |"
        )
    return [*out, ""]


def _flat(s: dict[str, Any], sec: Fmt, times: Fmt) -> list[str]:
    out: list[str] = []
    for key in ("diff_flat_fixed", "diff_flat"):
        if key in s:
            out += _flat_table(s[key], sec, times)
    return out


def _flat_table(flat: dict[str, Any], sec: Fmt, times: Fmt) -> list[str]:
    out = [
        f"Diff of two committed versions (folded from the change sets; {flat['changed']}), the sizes taking turns "
        "in each round; × the smallest size is the median of same-round ratios (wall; CPU in brackets):",
        "",
        "| rows | CLI (whole process) | × smallest (CPU ×) | library | × smallest (CPU ×) | exact fold |",
        "|---|---|---|---|---|---|",
    ]
    sizes = {k: v for k, v in flat.items() if k.isdigit()}
    for size, f in sorted(sizes.items(), key=lambda kv: int(kv[0])):
        out.append(
            f"| {int(size):,} | {sec(f['cli_s'])} | {times(f['cli_ratio'])} ({times(f['cli_cpu_ratio'])}) "
            f"| {sec(f['lib_s'])} | {times(f['lib_ratio'])} ({times(f['lib_cpu_ratio'])}) | {f['exact_fold']} |"
        )
    return [*out, ""]


def _memlimit(s: dict[str, Any], sec: Fmt) -> list[str]:
    if "memlimit" not in s:
        return []
    m = s["memlimit"]
    return [
        f"Memory limit: a diff of {m['rows']:,} rows reading both versions' bytes with DuckDB's memory_limit "
        f"{m['memory_limit']}: {sec(m['lib_s'])}, peak RSS {m['rss_gib']:.2f} GiB, counts right: {m['agrees']} "
        f"(the hand-written join without a limit: {sec(m.get('lower_bound_unlimited_s'))}).",
        "",
    ]


def _stages(results: dict[str, Any]) -> list[str]:
    stages = results.get("stages") or {}
    if not stages:
        return []
    out = [
        "Stage durations of this run (wall; the machine's 1-minute load average at the stage's start and end):",
        "",
        "| stage | duration | load average |",
        "|---|---|---|",
    ]
    for name, st in stages.items():
        secs, load = st.get("seconds"), st.get("load_average") or []
        dur = "–" if secs is None else f"{secs / 60:.1f} min" if secs >= 120 else f"{secs:.0f} s"
        out.append(f"| {name} | {dur} | {' → '.join(str(x) for x in load) or '–'} |")
    return [*out, ""]
