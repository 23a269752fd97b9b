"""Run one command line and report its wall time, CPU time and own peak RSS as a JSON line.

Linux carries a process's RSS high-water mark into the children it starts (`ru_maxrss`
survives fork and exec), so a big benchmark driver would inflate every child's figure.
This small launcher sits in between: `python benchmarks/launch.py OUT ERR ARGV...`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main() -> None:
    """Start ARGV with stdout/stderr to the given files, wait, print the measurement."""
    out_path, err_path, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime  # all threads of the child (not its own children)
    sys.stdout.write(json.dumps({"seconds": seconds, "cpu": cpu, "rss": usage.ru_maxrss * 1024, "code": code}) + "\n")


if __name__ == "__main__":
    main()
