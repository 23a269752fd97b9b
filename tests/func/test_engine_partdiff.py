"""Per-partition change detection on the local engine equals the one-query diff over the unions."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dslineage.engine import LocalEngine, check_spec, open_engine
from dslineage.errors import FormatError, UsageError
from dslineage.store import partdiff, rowdiff
from dslineage.store.rows import connect, schema
from tests.support.partitions import DS, both_ways, rows_of, union_source


@pytest.fixture(scope="module")
def pool() -> Iterator[LocalEngine]:
    """A two-process local pool, shared by the module's tests (spawned once)."""
    with LocalEngine(2) as engine:
        yield engine


def test_local_engine_runs_one_task_inline_and_many_in_the_pool(pool: LocalEngine) -> None:
    """One task runs in this process; several run in pool processes, results in argument order."""
    assert pool.map(os.getpid, [()]) == [os.getpid()]
    pids = pool.map(os.getpid, [()] * 4)
    assert os.getpid() not in pids
    assert pool.map(pow, [(2, 3), (3, 2), (5, 1)]) == [8, 9, 5]


@pytest.mark.parametrize("good", ["local", "local:3", "tcp://10.0.0.5:8786", "tls://sched.example:8786"])
def test_engine_spec_accepts_local_and_scheduler_addresses(good: str) -> None:
    """`local`, `local:N` and scheduler URLs are engine specs."""
    assert check_spec(good) == good


@pytest.mark.parametrize("bad", ["", "dask", "local:0", "local:x", "10.0.0.5:8786", "tcp://", "tcp://a b"])
def test_engine_spec_rejects_anything_else_naming_where_it_came_from(bad: str) -> None:
    """A bad spec is a usage error that names its origin and the accepted forms."""
    with pytest.raises(UsageError, match=r"invalid engine .* \(engine:\): .*tcp://HOST:8786"):
        check_spec(bad, "engine:")


def test_open_engine_local_sizes_the_pool() -> None:
    """`local:N` opens a pool of N processes; None and `local` default to one per core."""
    with open_engine("local:3") as e3, open_engine(None) as default:
        assert isinstance(e3, LocalEngine) and e3.workers == 3
        assert isinstance(default, LocalEngine) and default.workers == (os.cpu_count() or 1)


@pytest.mark.slow  # ~8 s: 25 random pairs of versions, each written and diffed twice
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rnd=st.randoms(use_true_random=False), hive=st.booleans(), digests=st.booleans())
def test_partitioned_diff_equals_diff_of_unions(
    tmp_path_factory: pytest.TempPathFactory, pool: LocalEngine, rnd: random.Random, hive: bool, digests: bool
) -> None:
    """Random parts and edits (moves, re-adds, new/deleted parts, schema changes): per-partition
    tasks on the process pool give exactly the `_chg` rows and column types of the union diff."""
    ref, got, _ = both_ways(tmp_path_factory.mktemp("pd"), rnd, pool, hive=hive, digests=digests)
    assert got == ref


def _write(path: Path, rows: list[tuple[int, str | None, float]]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table({"id": [r[0] for r in rows], "label": [r[1] for r in rows], "x": [r[2] for r in rows]}), path
    )
    return str(path)


def _diff(tmp: Path, old: dict[str, list], new: dict[str, list], hive: bool = False) -> tuple:
    con = connect({})
    fa = {rel: Path(_write(tmp / "a" / rel, rows)) for rel, rows in old.items()}
    fb = {rel: Path(_write(tmp / "b" / rel, rows)) for rel, rows in new.items()}
    sa, sb = schema(con, union_source(fa, hive)), schema(con, union_source(fb, hive))
    p = rowdiff.plan(sa, sb, DS)
    pairs = [
        (rel, str(fa[rel]) if rel in fa else None, str(fb[rel]) if rel in fb else None)
        for rel in sorted(fa.keys() | fb.keys())
    ]
    with LocalEngine(1) as engine:
        partdiff.build_changes_parts(
            con,
            pairs,
            p,
            {c["name"]: c["type"] for c in sa},
            {c["name"]: c["type"] for c in sb},
            engine=engine,
            digests=True,
        )
    return con, p


def test_rows_moved_between_partitions_are_one_change_each(tmp_path: Path) -> None:
    """A key moved to another part and relabeled is one relabeled row; moved unchanged is no
    change; a removed part's other rows are removed, a new part's new rows added."""
    old = {"p0.parquet": [(1, "cat", 1.0), (2, "dog", 2.0)], "p1.parquet": [(5, "bird", 5.0), (6, "cat", 6.0)]}
    new = {"p0.parquet": [(2, "dog", 2.0), (7, "cow", 7.0)], "p2.parquet": [(1, "dog", 1.0), (5, "bird", 5.0)]}
    con, p = _diff(tmp_path, old, new)
    s = rowdiff.summarize_changes(con, p)
    assert (s["added"], s["removed"], s["relabeled"], s["modified"]) == (1, 1, 1, 0)
    assert s["label_transitions"] == [{"column": "label", "from": "cat", "to": "dog", "count": 1}]
    assert con.execute("SELECT change, k0 FROM _chg ORDER BY k0").fetchall() == [
        ("relabeled", 1),
        ("removed", 6),
        ("added", 7),
    ]


def test_hive_directory_label_moves_are_relabels(tmp_path: Path) -> None:
    """With the label as a hive directory (`label=cat/`), a row moved to `label=dog/` is relabeled,
    its other columns unchanged; the journal's change set writes as usual."""
    old = {"label=cat/p.parquet": [(1, 1.0), (2, 2.0)]}
    new = {"label=cat/p.parquet": [(2, 2.0)], "label=dog/p.parquet": [(1, 1.0)]}
    con = connect({})
    fa: dict[str, Path] = {}
    fb: dict[str, Path] = {}
    for side, parts, files in (("a", old, fa), ("b", new, fb)):
        for rel, rows in parts.items():
            path = tmp_path / side / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.table({"id": [r[0] for r in rows], "x": [r[1] for r in rows]}), path)
            files[rel] = path
    sa, sb = schema(con, union_source(fa, True)), schema(con, union_source(fb, True))
    p = rowdiff.plan(sa, sb, DS)
    pairs = [
        (rel, str(fa.get(rel)) if rel in fa else None, str(fb.get(rel)) if rel in fb else None)
        for rel in sorted(fa.keys() | fb.keys())
    ]
    with LocalEngine(1) as engine:
        partdiff.build_changes_parts(
            con,
            pairs,
            p,
            {c["name"]: c["type"] for c in sa},
            {c["name"]: c["type"] for c in sb},
            engine=engine,
            digests=True,
        )
    assert con.execute("SELECT change, k0, o0, n0, d FROM _chg").fetchall() == [("relabeled", 1, "cat", "dog", [])]
    rowdiff.write_changes(con, tmp_path / "chg.parquet", p, digests=True)
    assert pq.read_table(tmp_path / "chg.parquet").num_rows == 1


def test_empty_pairs_give_an_empty_change_table_of_the_right_columns(tmp_path: Path) -> None:
    """No pairs (nothing changed): an empty `_chg` with the columns the union diff would have."""
    con, p = _diff(tmp_path, {"p.parquet": [(1, "cat", 1.0)]}, {"p.parquet": [(1, "cat", 1.0)]})
    partdiff.build_changes_parts(
        con,
        [],
        p,
        {"id": "BIGINT", "label": "VARCHAR", "x": "DOUBLE"},
        {"id": "BIGINT", "label": "VARCHAR", "x": "DOUBLE"},
        engine=LocalEngine(1),
        table="_none",
        digests=True,
    )
    types, rows = rows_of(con, "_none")
    assert rows == [] and types == rows_of(con, "_chg")[0]


def test_a_part_that_is_not_parquet_is_a_format_error_naming_it(tmp_path: Path) -> None:
    """A broken part file fails the diff with one line naming the part."""
    good = _write(tmp_path / "ok.parquet", [(1, "cat", 1.0)])
    (tmp_path / "bad.parquet").write_text("not parquet", encoding="utf-8")
    con = connect({})
    sa = schema(con, union_source({"ok": Path(good)}, False))
    p = rowdiff.plan(sa, sa, DS)
    cols = {c["name"]: c["type"] for c in sa}
    with pytest.raises(FormatError, match=r"cannot diff part sub/bad\.parquet"):
        partdiff.build_changes_parts(
            con, [("sub/bad.parquet", good, str(tmp_path / "bad.parquet"))], p, cols, cols, engine=LocalEngine(1)
        )


def test_repo_engine_comes_from_scheduler_then_setting_then_local(
    tmp_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`scheduler=` wins over `engine:` in the settings (or DSLINEAGE_ENGINE), which wins over the default pool."""
    from dslineage import Repo

    with Repo(tmp_repo) as repo:
        assert repo.engine_spec is None
        assert isinstance(repo.engine, LocalEngine) and repo.engine.workers == (os.cpu_count() or 1)
    (tmp_repo / ".dslineage" / "config.yaml").write_text("engine: local:3\n", encoding="utf-8")
    with Repo(tmp_repo) as repo:
        assert isinstance(repo.engine, LocalEngine) and repo.engine.workers == 3
    with Repo(tmp_repo, scheduler="local:2") as repo:
        assert repo.engine_spec == "local:2"
        assert isinstance(repo.engine, LocalEngine) and repo.engine.workers == 2
    monkeypatch.setenv("DSLINEAGE_ENGINE", "local:4")
    with Repo(tmp_repo) as repo:
        assert isinstance(repo.engine, LocalEngine) and repo.engine.workers == 4


def test_bad_engine_setting_is_one_error_naming_the_file(tmp_repo: Path) -> None:
    """A bad `engine:` fails only when the engine is needed, naming the settings file."""
    from dslineage import Repo

    (tmp_repo / ".dslineage" / "config.yaml").write_text("engine: dask\n", encoding="utf-8")
    with Repo(tmp_repo) as repo:
        assert repo.datasets() == {}  # other work is unaffected
        with pytest.raises(UsageError, match=r"invalid engine 'dask' \(\.dslineage/config\.yaml engine:\)"):
            _ = repo.engine


def test_cli_scheduler_option_checks_its_form(tmp_repo: Path) -> None:
    """`--scheduler` is a global option: a bad form is one usage line (exit 2); a well-formed address is
    accepted by a command that has no per-partition work (nothing connects until work needs it)."""
    from tests.support.repos import invoke

    bad = invoke(tmp_repo, "--scheduler", "10.0.0.5:8786", "log")
    assert bad.exit_code == 2
    assert bad.output.strip().splitlines() == [
        "error: invalid engine '10.0.0.5:8786' (--scheduler): use `local`, `local:N` (N processes) or a Dask "
        "scheduler address such as tcp://HOST:8786"
    ]
    ok = invoke(tmp_repo, "--scheduler", "tcp://127.0.0.1:9", "log")
    assert ok.exit_code == 0, ok.output
    assert "--scheduler" in invoke(None, "--help").output


def test_locations_are_read_through_the_given_filesystem(tmp_path: Path) -> None:
    """Parts behind an fsspec filesystem (here in memory, as s3fs serves s3:// URLs) are read by
    the tasks through it, with the same result as local files."""
    import fsspec

    fs = fsspec.filesystem("memory")
    old = {"p0.parquet": [(1, "cat", 1.0), (2, "dog", 2.0)], "p1.parquet": [(3, "cat", 3.0)]}
    new = {"p0.parquet": [(2, "dog", 2.5)], "p1.parquet": [(3, "cat", 3.0), (1, "bird", 1.0)]}
    con, p = _diff(tmp_path, old, new)
    pairs = []
    for rel in old:
        for side in ("a", "b"):
            fs.pipe(f"/fdask-{tmp_path.name}/{side}/{rel}", (tmp_path / side / rel).read_bytes())
        pairs.append((rel, f"memory:///fdask-{tmp_path.name}/a/{rel}", f"memory:///fdask-{tmp_path.name}/b/{rel}"))
    cols = {"id": "BIGINT", "label": "VARCHAR", "x": "DOUBLE"}
    partdiff.build_changes_parts(
        con, pairs, p, cols, cols, engine=LocalEngine(1), table="_mem", digests=True, filesystem=fs
    )
    assert rows_of(con, "_mem") == rows_of(con, "_chg")
    assert con.execute("SELECT change, k0 FROM _mem ORDER BY k0").fetchall() == [("relabeled", 1), ("modified", 2)]


def test_a_part_outside_a_hive_folder_reads_the_folder_column_as_null(tmp_path: Path) -> None:
    """A row moved from `grp=g1/` to a part with no `grp=` folder loses its `grp` (NULL): modified."""
    files = {}
    for side, rel, rows in (
        ("a", "grp=g1/p.parquet", [(1, "cat", 1.0)]),
        ("a", "p0.parquet", [(2, "dog", 2.0)]),
        ("b", "p0.parquet", [(1, "cat", 1.0), (2, "dog", 2.0)]),
    ):
        files[side, rel] = _write(tmp_path / side / rel, rows)
    p = rowdiff.DiffPlan(
        keys=["id"], labels=["label"], compared=["label", "x", "grp"], retyped=[], added_cols=[], removed_cols=[]
    )
    cols = {"id": "BIGINT", "label": "VARCHAR", "x": "DOUBLE", "grp": "VARCHAR"}
    pairs = [
        ("grp=g1/p.parquet", files["a", "grp=g1/p.parquet"], None),
        ("p0.parquet", files["a", "p0.parquet"], files["b", "p0.parquet"]),
    ]
    con = connect({})
    partdiff.build_changes_parts(con, pairs, p, cols, cols, engine=LocalEngine(1), digests=True)
    assert con.execute("SELECT change, k0, m0, m1, m2 FROM _chg").fetchall() == [("modified", 1, False, False, True)]
