"""`dslineage demo`: a throwaway repository walked through commit, edit, diff, history, checkout.

The sample (`dslineage/data/pets.csv`, 240 rows) ships inside the package, so the demo
needs nothing but git. Each step is reported through `emit(title, result)` as it happens.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from dslineage.config import atomic_write_bytes

Emit = Callable[[str, Any], None]


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _rewrite(path: Path, sql: str, source: Path) -> None:
    """Write the query's result (over `src`, the table read from `source`) as a new parquet
    file, then rename it over `path` (DVC may have linked the old file to its cache)."""
    import duckdb

    tmp = path.with_name(f".{path.name}.new")
    con = duckdb.connect()
    reader = "read_csv" if source.suffix == ".csv" else "read_parquet"
    con.execute(f"CREATE TABLE src AS SELECT * FROM {reader}(?)", [str(source)])
    con.execute(f"COPY ({sql}) TO '{str(tmp).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
    con.close()
    os.replace(tmp, path)


def demo(directory: Path | None, emit: Emit) -> dict[str, Any]:
    """Run the walkthrough in `directory` (default: a new temporary folder)."""
    from dslineage.repo import Repo

    root = Path(directory or tempfile.mkdtemp(prefix="dslineage-demo-")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        from dslineage.errors import PathError

        raise PathError(f"{root} is not empty: pass an empty or new folder to --dir")
    _git(root, "init", "-q")
    _git(root, "config", "user.name", "Demo Annotator")
    _git(root, "config", "user.email", "demo@example.com")
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
    emit("track data/pets.parquet --key id --label label", repo.track(str(target), ["id"], ["label"]))
    v1 = repo.commit(["pets"], "import 240 labeled pets", None)
    emit("commit -m 'import 240 labeled pets'", v1)

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
    v2 = repo.commit(["pets"], "review pass: fix 5 labels, add 2 rows, drop a duplicate", None)
    emit("commit -m 'review pass ...'", v2)
    emit("diff pets@v1 pets@v2 --rows 5", repo.diff("pets@v1", "pets@v2", rows=5))
    emit("history pets 17", repo.history("pets", "17"))
    emit("log pets", repo.log("pets"))
    emit("checkout pets@v1", repo.checkout("pets@v1"))
    emit("checkout pets@latest", repo.checkout("pets@latest"))
    dvc_status = subprocess.run(
        [sys.executable, "-m", "dvc", "status"], cwd=root, capture_output=True, text=True, check=False
    )
    emit("dvc status (plain DVC still works)", dvc_status.stdout.strip() or dvc_status.stderr.strip())
    repo.close()
    return {"root": str(root)}
