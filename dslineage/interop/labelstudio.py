"""Label Studio's JSON formats: read an annotation export as votes, write a queue as import tasks.

Pure json + pyarrow (imported lazily). The shapes are Label Studio's documented ones
(labelstud.io/guide/task_format, /guide/predictions): an export is a list of tasks, each with
`data` and `annotations`; an annotation has `completed_by` (a user id, or an object with `email`),
`created_at` and a `result` list whose `choices` items carry `value.choices`. Import tasks are
`{"data": {...}, "predictions": [{"model_version", "score", "result": [...]}]}`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslineage import files
from dslineage.errors import FormatError, SchemaError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["LabelStudioExportError", "LabelStudioTasksError", "read_export", "write_tasks"]


class LabelStudioExportError(FormatError):
    """A file is not a Label Studio JSON export of choices annotations."""


class LabelStudioTasksError(SchemaError):
    """A table lacks the columns needed to write Label Studio tasks."""


def _fail(path: Path, problem: str) -> LabelStudioExportError:
    """A one-line error naming the file, the problem and the fix."""
    return LabelStudioExportError(
        f"{path}: {problem} (export the project from Label Studio as 'JSON', a list of tasks with data and annotations)"
    )


def _annotator(path: Path, where: str, who: Any) -> str:
    """`completed_by` as text: the email when the export has it, else the user id."""
    if isinstance(who, dict):
        email = who.get("email")
        if isinstance(email, str) and email:
            return email
        who = who.get("id")
    if isinstance(who, bool) or not isinstance(who, int | str) or who == "":
        raise _fail(path, f"{where} has no completed_by (a user id or an object with an email)")
    return str(who)


def _choices(path: Path, where: str, annotation: dict[str, Any], from_name: str | None) -> list[tuple[str, str]]:
    """(control name, choice) of each `choices` result of one annotation."""
    result = annotation.get("result", [])
    if not isinstance(result, list):
        raise _fail(path, f"{where} has a result that is not a list")
    out: list[tuple[str, str]] = []
    for item in result:
        if not isinstance(item, dict) or item.get("type") != "choices":
            continue
        name = str(item.get("from_name", ""))
        if from_name is not None and name != from_name:
            continue
        value = item.get("value")
        picked = value.get("choices") if isinstance(value, dict) else None
        if not isinstance(picked, list) or not all(isinstance(c, str) for c in picked):
            raise _fail(path, f"{where} has a choices result without a list of value.choices")
        out.extend((name, choice) for choice in picked)
    return out


def read_export(path: Path, *, key_field: str, from_name: str | None = None) -> pa.Table:
    """One row per (task, annotation, choice): key_field, annotator, label, time, confidence.

    Cancelled (skipped) annotations and non-choices results are left out; `from_name` picks one
    choices control when the labeling config has several (required then).
    """
    import pyarrow as pa

    try:
        tasks = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabelStudioExportError(f"{path}: no such file (give the path of a Label Studio JSON export)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(path, f"not readable as JSON ({exc})") from None
    if not isinstance(tasks, list):
        raise _fail(path, "the top level is not a list of tasks")
    keys: list[str] = []
    annotators: list[str] = []
    labels: list[str] = []
    times: list[str | None] = []
    controls: set[str] = set()
    for t, task in enumerate(tasks):
        where = f"task {t + 1}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise _fail(path, f"{where} has no data object")
        if key_field not in task["data"] or task["data"][key_field] is None:
            fields = ", ".join(sorted(task["data"])) or "none"
            raise LabelStudioExportError(
                f"{path}: {where} has no data field {key_field!r} (its fields: {fields}); "
                "pass the task field that holds the row key as --key-field"
            )
        key = task["data"][key_field]
        key_text = key if isinstance(key, str) else json.dumps(key)
        annotations = task.get("annotations", [])
        if not isinstance(annotations, list):
            raise _fail(path, f"{where} has annotations that are not a list")
        for a, annotation in enumerate(annotations):
            awhere = f"{where} annotation {a + 1}"
            if not isinstance(annotation, dict):
                raise _fail(path, f"{awhere} is not an object")
            if annotation.get("was_cancelled"):
                continue
            picked = _choices(path, awhere, annotation, from_name)
            if not picked:
                continue
            who = _annotator(path, awhere, annotation.get("completed_by"))
            created = annotation.get("created_at")
            if created is not None and not isinstance(created, str):
                raise _fail(path, f"{awhere} has a created_at that is not ISO 8601 text")
            for name, choice in picked:
                controls.add(name)
                keys.append(key_text)
                annotators.append(who)
                labels.append(choice)
                times.append(created)
    if from_name is None and len(controls) > 1:
        raise LabelStudioExportError(
            f"{path}: choices from several controls ({', '.join(sorted(controls))}); "
            "name the one that holds the label (from_name / --from-name)"
        )
    return pa.table(
        {
            key_field: pa.array(keys, pa.string()),
            "annotator": pa.array(annotators, pa.string()),
            "label": pa.array(labels, pa.string()),
            "time": pa.array(times, pa.string()),
            "confidence": pa.nulls(len(keys), pa.float64()),
        }
    )


def _plain(value: Any) -> Any:
    """A JSON-safe value: NaN becomes null, dates and decimals become text."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def write_tasks(
    path: Path,
    rows: pa.Table,
    *,
    key_columns: list[str],
    data_columns: list[str],
    from_name: str = "label",
    to_name: str = "item",
    model_version: str,
) -> int:
    """Write Label Studio's task-import JSON from a queue-shaped table; returns the task count.

    Each row becomes `{"data": {key and data columns}, "predictions": [...]}`; the prediction is
    a choices result of `suggested` with `score` (none when `suggested` is null). The file is
    written beside its target and renamed into place.
    """
    columns = list(dict.fromkeys([*key_columns, *data_columns]))
    missing = [c for c in [*columns, "suggested"] if c not in rows.column_names]
    if missing:
        raise LabelStudioTasksError(
            f"the queue has no column(s) {', '.join(missing)} (its columns: {', '.join(rows.column_names)}); "
            "name existing key and data columns"
        )
    has_score = "score" in rows.column_names
    picked = rows.select([*columns, "suggested", *(["score"] if has_score else [])]).to_pylist()
    tasks: list[dict[str, Any]] = []
    for row in picked:
        task: dict[str, Any] = {"data": {c: _plain(row[c]) for c in columns}, "predictions": []}
        suggested = row["suggested"]
        if suggested is not None:
            result = {
                "from_name": from_name,
                "to_name": to_name,
                "type": "choices",
                "value": {"choices": [str(suggested)]},
            }
            prediction: dict[str, Any] = {"model_version": model_version, "result": [result]}
            score = _plain(row["score"]) if has_score else None
            if score is not None:
                prediction["score"] = float(score)
            task["predictions"].append(prediction)
        tasks.append(task)
    path = Path(path)
    files.atomic_write_text(path, json.dumps(tasks, indent=1) + "\n")
    return len(tasks)
