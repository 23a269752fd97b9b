"""`demo` stage: the README walkthrough on the generated dataset instead of the sample.

init, track, commit v1, status, commit v2, diff (with sample rows), history of a relabeled
key, log, checkout v1 and back; each step printed as it happens. Writes a short summary.
"""

from __future__ import annotations

import json
from typing import Any

from benchmarks import repos
from benchmarks.params import Layout, Params


def _say(step: str, result: Any) -> None:
    from dslineage.model import json_default

    text = json.dumps(result, default=json_default)
    print(f"demo: dslineage {step}\n  {text[:400]}{' ...' if len(text) > 400 else ''}", flush=True)


def run(layout: Layout, p: Params) -> dict[str, Any]:
    """Walk through the core commands on the smallest generated size."""
    from dslineage.model import to_json
    from dslineage.repo import Repo

    rows = min(p.sizes)
    v1, v2 = layout.pair(rows)
    root = repos.fresh(layout.work / "demo")
    _say("init", Repo.init(root))
    repos.place(v1, root)
    repo = Repo(root)
    _say("track data/ds.parquet --key key --label label", repo.track(str(root / repos.FILE), ["key"], ["label"]))
    _say("commit -m 'v1'", repo.commit([repos.DATASET], "v1: generated", None))
    repos.place(v2, root)
    _say("status", repo.status())
    _say("commit -m 'v2'", repo.commit([repos.DATASET], "v2: relabel, add, remove", None))
    diff = repo.diff("ds@v1", "ds@v2", rows=5)
    _say("diff ds@v1 ds@v2 --rows 5", diff)
    sample: Any = diff.more["sample"]
    key = (
        next(s["key"] for s in sample if s["change"] == "relabeled")
        if any(s["change"] == "relabeled" for s in sample)
        else sample[0]["key"]
    )
    hist = repo.history(repos.DATASET, [key])
    _say(f"history ds {key}", hist)
    _say("log ds", repo.log(repos.DATASET))
    _say("checkout ds@v1", repo.checkout("ds@v1"))
    back = repo.checkout("ds@latest")
    _say("checkout ds@latest", back)
    repo.close()
    return {
        "rows": rows,
        "diff_rows": to_json(diff.rows),
        "history_events": len(hist.events),
        "checkout_md5": back["md5"],
    }
