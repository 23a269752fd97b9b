"""`python -m benchmarks STAGE`: run one stage of the benchmark pipeline."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

from benchmarks import STAGES
from benchmarks.params import Layout, Params


def main(argv: list[str] | None = None) -> int:
    """Parse the stage and options, run it, write its part (or the report)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("--params", default="params.yaml", help="YAML file with a `bench` section")
    parser.add_argument("--out", default=None, help="output folder (default: bench)")
    parser.add_argument("--sizes", default=None, help="comma-separated row counts, overriding params")
    parser.add_argument("--runs", type=int, default=None, help="runs per measurement, overriding params")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override any parameter, e.g. --set big_rows=20000000 (YAML value syntax)",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else None
    extra = {}
    for item in args.set:
        import yaml

        name, _, value = item.partition("=")
        extra[name.strip()] = yaml.safe_load(value)
    p = Params.load(Path(args.params), sizes=sizes, runs=args.runs, out=args.out, **extra)
    layout = Layout(Path(p.out).resolve())
    start, load = time.perf_counter(), os.getloadavg()[0]
    # every stage measures dslineage with its bytecode written, as an installed wheel has it
    # (a shell with PYTHONDONTWRITEBYTECODE would otherwise compile its modules in every timed process)
    from benchmarks.startup import compile_package

    compile_package()
    module = importlib.import_module(f"benchmarks.{args.stage}")
    if args.stage == "report":
        module.run(layout, p)
    else:
        data = module.run(layout, p)
        # how long the stage took and the machine's 1-minute load at its start and end (shared cores)
        layout.write_part(
            args.stage,
            {
                "stage": args.stage,
                "results": data,
                "seconds": round(time.perf_counter() - start, 1),
                "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
            },
        )
    print(f"{args.stage}: done in {time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
