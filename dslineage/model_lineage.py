"""The records of the lineage graph commands (`lineage`, `impact`): frozen dataclasses whose
field names, in order, are the keys of their `--json` contracts (see `dslineage.model`).

A sibling of `model.py` rather than part of it: the graph's records are read together and
change with `ops/lineage.py` and `ops/impact.py`, and `model.py` stays one sitting long.
Edges stay mappings (`{"from", "to", "kind"}`): `from` is a Python keyword.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from dslineage.model_base import OPTIONAL, JsonValue, Record, _jv, from_mapping

_NODE_KEYS = ("id", "kind", "label")


def _jdicts(value: object) -> list[dict[str, JsonValue]]:
    return (
        [{str(k): _jv(v) for k, v in x.items()} for x in value if isinstance(x, Mapping)]
        if isinstance(value, list)
        else []
    )


@dataclass(frozen=True, kw_only=True)
class LineageOptions:
    """The settings of `Repo.lineage` (see its docstring)."""

    direction: str = "both"
    depth: int | None = None
    openlineage: bool = False
    namespace: str | None = None
    expand: bool = False


@dataclass(frozen=True, eq=False)
class GraphNode(Record):
    """One node of the lineage graph: a dataset version, batch, transformation, experiment,
    artifact, ...; what its kind adds (dataset, seq, timestamp, author, ...) is in `more`."""

    id: str
    kind: str
    label: str
    more: dict[str, JsonValue] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> GraphNode:
        """A node from its plain form (`core.graph.node` plus its attributes)."""
        return from_mapping(cls, d, more={k: _jv(v) for k, v in d.items() if k not in _NODE_KEYS})


@dataclass(frozen=True, eq=False)
class Chain(Record):
    """A straight run of versions (and the batches between them) the text formats draw as one line."""

    id: str
    kind: str  # "chain"
    dataset: str | None
    base: str  # the version the chain starts after
    versions: list[str]
    batches: list[str]
    label: str


@dataclass(frozen=True, eq=False)
class Lineage(Record):
    """A `lineage --json` result: the subgraph around `root` (None: the whole graph), and
    with OpenLineage asked for, its RunEvents under `events`."""

    root: str | None
    direction: str  # "both", "upstream" or "downstream"
    depth: int | None
    nodes: list[GraphNode]
    edges: list[dict[str, JsonValue]]  # {"from", "to", "kind"}
    warnings: list[str]
    chains: list[Chain]
    events: list[dict[str, JsonValue]] | None = dataclasses.field(default=None, metadata=OPTIONAL)

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Lineage:
        """The typed result of the plain graph `ops.lineage` assembles."""
        chains = d.get("chains")
        return from_mapping(
            cls,
            d,
            nodes=_nodes(d.get("nodes")),
            edges=_jdicts(d.get("edges")),
            chains=[Chain.from_dict(c) for c in chains if isinstance(c, Mapping)] if isinstance(chains, list) else [],
            events=_jdicts(d["events"]) if "events" in d else None,
        )


def _nodes(value: object) -> list[GraphNode]:
    return [GraphNode.from_dict(n) for n in value if isinstance(n, Mapping)] if isinstance(value, list) else []


def _node(value: object) -> GraphNode:
    assert isinstance(value, Mapping)
    return GraphNode.from_dict(value)


@dataclass(frozen=True, eq=False)
class RunImpact(Record):
    """A transformation or experiment downstream of a node: whether it was run again since,
    and whether its latest run is still affected. `stage` and `consumed` (the nodes it read,
    with `rows` still carrying a batch's labels) for a transformation, `name` for an experiment."""

    id: str
    kind: str  # "transformation" or "experiment"
    label: str
    stage: str | None = dataclasses.field(default=None, metadata=OPTIONAL)
    name: str | None = dataclasses.field(default=None, metadata=OPTIONAL)
    timestamp: str | None = None
    consumed: list[GraphNode] | None = dataclasses.field(default=None, metadata=OPTIONAL)
    rerun_since: bool = False
    latest_run: str | None = None
    latest_run_affected: bool = False

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> RunImpact:
        """From its plain form (`ops.impact.graph_impact`)."""
        return from_mapping(cls, d, consumed=_nodes(d["consumed"]) if "consumed" in d else None)


@dataclass(frozen=True, eq=False)
class DerivedDataset(Record):
    """A dataset derived downstream of a node: its affected versions and its latest one."""

    dataset: str
    versions: list[GraphNode]
    latest: GraphNode
    latest_affected: bool


@dataclass(frozen=True, eq=False)
class Downstream(Record):
    """Everything downstream of a lineage node: an `impact NODE --json` result for any node
    that is not a batch (and the second half of a batch's)."""

    node: GraphNode
    downstream: list[GraphNode]
    transformations: list[RunImpact]
    datasets: list[DerivedDataset]
    experiments: list[RunImpact]
    warnings: list[str] | None = dataclasses.field(default=None, metadata=OPTIONAL)

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Downstream:
        """From its plain form (`ops.impact.graph_impact`; a batch's has no `warnings`)."""
        runs, ds, exps, warnings = d.get("transformations"), d.get("datasets"), d.get("experiments"), d.get("warnings")
        return cls(
            node=_node(d["node"]),
            downstream=_nodes(d.get("downstream")),
            transformations=[RunImpact.from_dict(x) for x in runs if isinstance(x, Mapping)]
            if isinstance(runs, list)
            else [],
            datasets=[
                from_mapping(DerivedDataset, x, versions=_nodes(x.get("versions")), latest=_node(x["latest"]))
                for x in ds
                if isinstance(x, Mapping)
            ]
            if isinstance(ds, list)
            else [],
            experiments=[RunImpact.from_dict(x) for x in exps if isinstance(x, Mapping)]
            if isinstance(exps, list)
            else [],
            warnings=[str(w) for w in warnings] if isinstance(warnings, list) else None,
        )


@dataclass(frozen=True, eq=False)
class CarriedVersion(Record):
    """A version from a batch's onward and how many of the batch's rows keep its label there."""

    dataset: str
    version: str
    seq: int
    rows: int
    timestamp: str
    message: str
    latest: bool


@dataclass(frozen=True, eq=False)
class BatchImpact(Record):
    """An `impact BATCH --json` result: the later versions that still carry the batch's
    labels, then what used them downstream."""

    batch: str
    dataset: str
    column: str | None
    rows: int | None
    state: str
    reverted: bool
    reverted_by: str | None
    version: str | None  # the version that carries it (None: not committed)
    seq: int | None
    versions: list[CarriedVersion]
    still_in_latest: int
    node: GraphNode
    downstream: list[GraphNode]
    transformations: list[RunImpact]
    datasets: list[DerivedDataset]
    experiments: list[RunImpact]

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> BatchImpact:
        """From its plain form (`ops.impact.impact`)."""
        graph = Downstream.from_dict(d)
        vs = d.get("versions")
        return from_mapping(
            cls,
            d,
            versions=[from_mapping(CarriedVersion, v) for v in vs if isinstance(v, Mapping)]
            if isinstance(vs, list)
            else [],
            still_in_latest=int(d.get("still_in_latest") or 0),  # type: ignore[call-overload]
            node=graph.node,
            downstream=graph.downstream,
            transformations=graph.transformations,
            datasets=graph.datasets,
            experiments=graph.experiments,
        )
