"""`dslineage lineage --format openlineage`: a lineage subgraph as OpenLineage RunEvents, one
START and one COMPLETE per transformation and relabel batch, with dataset versions in the
`version` facet and the schema of output versions in the `schema` facet; printed as NDJSON.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from dslineage import __version__
from dslineage.store import graph as graph_sql

if TYPE_CHECKING:
    from dslineage.repo import Repo

PRODUCER = f"https://pypi.org/project/dslineage/{__version__}/"
SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
VERSION_FACET = (
    "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"
)
SCHEMA_FACET = "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
JOBTYPE_FACET = "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"


def run_id(record_id: str) -> str:
    """A stable UUID for the run of a transformation or batch."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"dslineage:{record_id}"))


def _dataset(namespace: str, path: str, version: str, schema: list[dict[str, Any]] | None) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "version": {"_producer": PRODUCER, "_schemaURL": VERSION_FACET, "datasetVersion": version}
    }
    if schema:
        facets["schema"] = {
            "_producer": PRODUCER,
            "_schemaURL": SCHEMA_FACET,
            "fields": [{"name": c["name"], "type": c["type"], "fields": []} for c in schema],
        }
    return {"namespace": namespace, "name": path, "facets": facets}


def openlineage_events(repo: Repo, result: dict[str, Any], namespace: str | None = None) -> list[dict[str, Any]]:
    """OpenLineage RunEvents (START, COMPLETE) for each transformation and batch in `result`."""
    ns = namespace or repo.settings.get("openlineage_namespace") or f"dslineage://{repo.root.name}"
    wanted = {n["id"] for n in result["nodes"] if n["kind"] in ("transformation", "batch")}
    if not wanted:
        return []
    con = repo.index.con
    records = {r["id"]: r for r in graph_sql.records(con, sorted(wanted))}
    carriers = graph_sql.carriers(con, sorted(wanted))
    versions: dict[str, dict[str, Any]] = {}

    def version(vid: str | None) -> dict[str, Any] | None:
        if vid and vid not in versions:
            versions[vid] = repo.index.version(vid) or {}
        return versions.get(vid) if vid else None

    events = []
    for n in result["nodes"]:
        rec = records.get(n["id"])
        if rec is None:
            continue
        if n["kind"] == "transformation":
            job, job_type = rec.get("stage") or "stage", "STAGE"
            ins = [(i["path"], i.get("version"), i["md5"]) for i in rec.get("inputs") or []]
            outs = [(o["path"], o.get("version"), o["md5"]) for o in rec.get("outputs") or []]
            start, end = rec.get("started") or rec["timestamp"], rec.get("ended") or rec["timestamp"]
        else:
            base = version(rec.get("base_version") or rec.get("parent"))
            carried = version(carriers.get(rec["id"]))
            path = (base or carried or {}).get("path") or rec.get("dataset") or "dataset"
            job, job_type = f"relabel {rec.get('dataset')}", "RELABEL"
            ins = [(path, base["id"], base["md5"])] if base else []
            outs = [(path, carried["id"], carried["md5"])] if carried else []
            start = end = rec["timestamp"]
        inputs = [{**_dataset(ns, p, v or f"md5:{m}", None), "inputFacets": {}} for p, v, m in ins]
        outputs = [{**_dataset(ns, p, v or f"md5:{m}", _schema(version(v))), "outputFacets": {}} for p, v, m in outs]
        for state, when in (("START", start), ("COMPLETE", end)):
            events.append(
                {
                    "eventType": state,
                    "eventTime": when,
                    "run": {"runId": run_id(rec["id"]), "facets": {}},
                    "job": {
                        "namespace": ns,
                        "name": job,
                        "facets": {
                            "jobType": {
                                "_producer": PRODUCER,
                                "_schemaURL": JOBTYPE_FACET,
                                "processingType": "BATCH",
                                "integration": "DSLINEAGE",
                                "jobType": job_type,
                            }
                        },
                    },
                    "inputs": inputs,
                    "outputs": outputs,
                    "producer": PRODUCER,
                    "schemaURL": SPEC,
                }
            )
    return events


def _schema(v: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    if not v or not v.get("schema"):
        return None
    schema = v["schema"]
    return json.loads(schema) if isinstance(schema, str) else schema


def ndjson(events: list[dict[str, Any]]) -> str:
    """Events as newline-delimited JSON."""
    return "".join(json.dumps(e, sort_keys=True, ensure_ascii=False) + "\n" for e in events)
