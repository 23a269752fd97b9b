"""`dslineage demo`: a throwaway repository walked through the four jobs people come for.

1. commit a version; 2. diff labels between versions (with the transition table);
3. reproduce an experiment's exact data (a `run` stage and an experiment, a relabel, then
`reproduce` of the earlier experiment); 4. roll back a bad relabel batch with `revert` while a
later good batch stays. The sample (`dslineage/data/pets.csv`, 240 rows) ships inside the
package, so the demo needs nothing but git. Each step is reported as it happens through
`emit(command, result)` (the command line without the leading `dslineage`), each job through
`job(title)`.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from dslineage import files
from dslineage.files import atomic_write_bytes
from dslineage.store import rows

Emit = Callable[[str, Any], None]
Job = Callable[[str, str], None]

# the `run` stage's script: a derived feature table (DVC runs it; dslineage records the transformation)
FEATURES = """\
import pyarrow.compute as pc
import pyarrow.parquet as pq

pets = pq.read_table("data/pets.parquet")
ratio = pc.divide(pets["weight_kg"], pets["height_cm"])
pq.write_table(pets.append_column("weight_per_cm", ratio), "data/features.parquet")
"""
GOOD = ["3=bird", "42=fish", "8=cat"]  # alice undoes three mistakes of the review pass


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _rewrite(path: Path, sql: str, source: Path) -> None:
    """Write the query's result (over `src`, the table read from `source`) as a new parquet
    file, then rename it over `path` (DVC may have linked the old file to its cache)."""
    import duckdb

    con = duckdb.connect()
    reader = "read_csv" if source.suffix == ".csv" else "read_parquet"
    con.execute(f"CREATE TABLE src AS SELECT * FROM {reader}(?)", [str(source)])
    files.atomic_write(path, lambda tmp: con.execute(f"COPY ({sql}) TO {rows.literal(tmp)} (FORMAT parquet)"))
    con.close()


def _dogs(path: Path, n: int) -> list[int]:
    """The first `n` ids labeled dog (what the careless bulk edit turns into cats)."""
    import duckdb

    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT id FROM read_parquet(?) WHERE label = 'dog' ORDER BY id LIMIT ?", [str(path), n]
        ).fetchall()
    finally:
        con.close()
    return [int(r[0]) for r in rows]


def prepare(directory: Path | None) -> Path:
    """The empty folder the demo repository is created in (a new temporary one by default)."""
    root = Path(directory or tempfile.mkdtemp(prefix="dslineage-demo-")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        from dslineage.errors import PathError

        raise PathError(f"{root} is not empty: pass an empty or new folder to --keep")
    return root


def demo(directory: Path | None, emit: Emit, job: Job | None = None) -> dict[str, Any]:
    """Run the walkthrough in `directory` (default: a new temporary folder); returns its root."""
    from dslineage.repo import Repo

    section = job or (lambda title, what: None)
    root = prepare(directory)
    _git(root, "init", "-q")
    _git(root, "config", "user.name", "Demo Annotator")
    _git(root, "config", "user.email", "demo@example.com")

    section("1/4 Commit a version", "track a labeled dataset, record its first version")
    emit("init", Repo.init(root))
    data = root / "data"
    data.mkdir()
    sample = resources.files("dslineage") / "data" / "pets.csv"
    with resources.as_file(sample) as csv_path:
        atomic_write_bytes(data / ".pets.csv", Path(csv_path).read_bytes())
    target = data / "pets.parquet"
    _rewrite(target, "SELECT * FROM src ORDER BY id", data / ".pets.csv")
    (data / ".pets.csv").unlink()
    repo = Repo(root)
    try:
        emit("track data/pets.parquet --key id --label label", repo.track(str(target), ["id"], ["label"]))
        emit("commit pets -m 'import 240 labeled pets'", repo.commit(["pets"], "import 240 labeled pets", None))

        section("2/4 Diff labels between versions", "a review pass, committed; what changed and which labels moved")
        # An annotator fixes some labels, two rows arrive, one duplicate photo is dropped.
        _rewrite(
            target,
            """SELECT id, weight_kg, height_cm,
                      CASE WHEN id IN (3, 8, 17, 42, 99)
                           THEN (CASE WHEN label = 'dog' THEN 'cat' ELSE 'dog' END) ELSE label END AS label
               FROM src WHERE id <> 120
               UNION ALL SELECT 241, 3.9, 24.0, 'cat' UNION ALL SELECT 242, 31.5, 60.2, 'dog'
               ORDER BY id""",
            target,
        )
        emit("status", repo.status())
        msg = "review pass: fix 5 labels, add 2 rows, drop a duplicate"
        emit(f"commit pets -m '{msg}'", repo.commit(["pets"], msg, None))
        emit("diff pets@v1 pets@v2 --rows 5", repo.diff("pets@v1", "pets@v2", rows=5))
        emit("history pets 17", repo.history("pets", "17"))

        section(
            "3/4 Reproduce an experiment's exact data",
            "a pipeline stage and an experiment, two relabel batches, then the experiment's data back",
        )
        (root / "features.py").write_text(FEATURES, encoding="utf-8")
        _git(root, "add", "features.py")
        _git(root, "commit", "-q", "-m", "feature script")
        emit(
            "run -n features -d data/pets.parquet -d features.py -o data/features.parquet -- python features.py",
            repo.run(
                "features",
                [sys.executable, "features.py"],
                deps=["data/pets.parquet", "features.py"],
                outs=["data/features.parquet"],
            ),
        )
        emit(
            "exp record baseline -m 'model trained on pets@v2'",
            repo.exp_record("baseline", message="model trained on pets@v2"),
        )
        spare = {int(e.split("=")[0]) for e in GOOD}  # the bad batch and the good one touch other rows
        bad = [f"{k}=cat" for k in _dogs(target, 12 + len(spare)) if k not in spare][:12]
        reason = "bulk: small dogs are cats"
        bad_out = repo.relabel("pets", bad, by="intern", reason=reason)
        emit(f"relabel pets {' '.join('--set ' + e for e in bad)} --by intern --reason '{reason}'", bad_out)
        good_reason = "second review"
        good_cmd = f"relabel pets {' '.join('--set ' + e for e in GOOD)} --by alice --reason '{good_reason}'"
        emit(good_cmd, repo.relabel("pets", GOOD, by="alice", reason=good_reason))
        emit("reproduce baseline", repo.reproduce("baseline"))
        emit("checkout pets@latest", repo.checkout("pets@latest"))

        section("4/4 Roll back a bad relabel batch", "revert the intern's batch; alice's later batch stays")
        emit(
            f"revert {(bad_out.batch or '')[:12]} --reason 'wrong bulk edit'",
            repo.revert(bad_out.batch or "", reason="wrong bulk edit"),
        )
        emit("batches pets", repo.batches("pets"))
        emit("diff pets@v2 pets@latest", repo.diff("pets@v2", "pets@latest", rows=5))
    finally:
        repo.close()
    dvc_status = subprocess.run(
        [sys.executable, "-m", "dvc", "status"], cwd=root, capture_output=True, text=True, check=False
    )
    emit("dvc status   # plain DVC still works", dvc_status.stdout.strip() or dvc_status.stderr.strip())
    return {"root": str(root)}
