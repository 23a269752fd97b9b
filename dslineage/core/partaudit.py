"""An audit's per-part statistics on the engine (`--scheduler` / `engine:`): label counts, the
subgroup crosstab and conflicting duplicates of a directory dataset computed by engine tasks over batches of parts
(`store.partstats`), reduced here to what `store.profile` returns for the whole relation, so
`quality.audit` uses either without knowing which ran. Leakage (`--against`) and agreement
stay where they were (the other dataset, and the journal)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dslineage.config import DIR_FORMAT
from dslineage.core import partwork, remote
from dslineage.store import partstats
from dslineage.store.parttask import TaskReads

if TYPE_CHECKING:
    from dslineage.repo import Repo


@dataclass
class EngineProfile:
    """`store.profile`'s `value_counts`, `crosstab` and `conflicting_duplicates` for one audit
    target, from the first round of part tasks (run by `on_engine`); the relation argument of
    each is ignored (the parts are the relation)."""

    repo: Repo
    reads: Any
    names: list[str]
    types: dict[str, str]
    labels: list[str]
    dup_cols: list[str]
    counts: dict[str, list[Any]]
    cross: list[Any]
    hashes: dict[tuple[tuple[str, str], ...], Any]  # a batch of (relpath, location) -> its sorted hashes
    locations: dict[str, str]  # relpath -> where tasks read it

    def value_counts(self, con: Any, rel: str, col: str) -> list[tuple[Any, int]]:
        """(value, rows) per distinct value of a label column, most frequent first."""
        return partstats.value_counts(con, self.counts[col])

    def crosstab(self, con: Any, rel: str, group: str, label: str) -> list[tuple[Any, Any, int]]:
        """(group value, label, rows) for every combination present."""
        return partstats.crosstab(con, self.cross)

    def conflicting_duplicates(
        self, con: Any, rel: str, on: list[str], labels: list[str], keys: list[str], limit: int = 10
    ) -> dict[str, Any]:
        """Groups of rows identical on `on` with more than one label: the second round of tasks
        reads only the batches of parts holding a hash seen twice or more (across all parts)."""
        assert on == self.dup_cols and labels == self.labels
        wanted = partstats.repeated_hashes(list(self.hashes.values()))
        batches = [b for b, h in self.hashes.items() if partstats.holding(h, wanted)]
        threads = self.repo.engine.task_threads
        items = [(list(b), self.names, self.types, on, wanted, threads, self.reads) for b in batches]
        results = self.repo.engine.map(partstats.part_rows, items)
        remote.note_task_reads(self.repo, sum((r[1] for r in results), TaskReads()))
        return partstats.conflicting_duplicates(con, [r[0] for r in results], on, labels, keys, limit)


def on_engine(
    repo: Repo, target: Any, types: dict[str, str], feats: list[str], group: str | None
) -> EngineProfile | None:
    """The audit statistics of a directory target computed part by part on the engine (first
    round run now), or None when no engine was chosen or the target is not a directory."""
    ds = target.ds
    if repo.engine_spec is None or ds.format != DIR_FORMAT:
        return None
    desc = {"workdir": target.version is None, "md5": target.md5}
    side = partwork.side_of(repo, ds, desc, target.label)
    if side is None:
        return None
    dup_cols = feats if feats and ds.labels else []
    names = [c for c in dict.fromkeys([*dup_cols, *ds.labels, *ds.key, *([group] if group else [])]) if c in types]
    (locations,), reads = partwork.placed(repo, [side])
    engine = repo.engine
    batches = _batches(sorted(locations.items()), engine.slots)
    items = [(list(b), names, types, ds.labels, group, dup_cols, engine.task_threads, reads) for b in batches]
    results = engine.map(partstats.part_stats, items)
    remote.note_task_reads(repo, sum((r[3] for r in results), TaskReads()))
    counts = {c: [r[0][i] for r in results] for i, c in enumerate(ds.labels)}
    cross = [r[1] for r in results if r[1] is not None]
    hashes = {b: r[2] for b, r in zip(batches, results) if r[2] is not None}
    return EngineProfile(repo, reads, names, types, list(ds.labels), dup_cols, counts, cross, hashes, locations)


def _batches(parts: list[tuple[str, str]], slots: int) -> list[tuple[tuple[str, str], ...]]:
    """The parts in consecutive batches, about four per slot of the engine (a task's fixed cost,
    tens of ms, would otherwise dominate many small parts; several batches per slot even out)."""
    n = max(1, min(len(parts), 4 * slots))
    size = -(-len(parts) // n) if parts else 1
    return [tuple(parts[i : i + size]) for i in range(0, len(parts), size)]
