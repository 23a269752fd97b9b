"""Label Studio formats on files written in exactly Label Studio's documented shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dslineage.errors import DslineageError
from dslineage.interop.labelstudio import LabelStudioExportError, LabelStudioTasksError, read_export, write_tasks


def _annotation(
    who: Any, choices: list[str], created: str, *, from_name: str = "label", **extra: Any
) -> dict[str, Any]:
    """One annotation as Label Studio's JSON export writes it (guide/task_format)."""
    return {
        "id": 1001,
        "result": [
            {
                "from_name": from_name,
                "id": "Dx_aB91ISN",
                "to_name": "item",
                "type": "choices",
                "origin": "manual",
                "value": {"choices": choices},
            }
        ],
        "was_cancelled": False,
        "ground_truth": False,
        "created_at": created,
        "updated_at": created,
        "lead_time": 4.288,
        "result_count": 0,
        "task": 1,
        "completed_by": who,
        **extra,
    }


def _task(task_id: int, data: dict[str, Any], annotations: list[dict[str, Any]]) -> dict[str, Any]:
    """One exported task with its data, annotations and a pre-annotation prediction."""
    return {
        "id": task_id,
        "created_at": "2021-03-09T21:52:49.513742Z",
        "updated_at": "2021-03-09T22:16:08.746926Z",
        "project": 83,
        "data": data,
        "annotations": annotations,
        "predictions": [
            {
                "model_version": "model 1",
                "score": 0.5,
                "result": [{"from_name": "label", "to_name": "item", "type": "choices", "value": {"choices": ["cat"]}}],
            }
        ],
    }


def _write(tmp_path: Path, tasks: Any) -> Path:
    """Write an export file and return its path."""
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    return path


def test_read_export_one_row_per_annotation_and_choice(tmp_path: Path) -> None:
    """Each (task, annotation, choice) becomes a row; an email wins over the id; ids become text."""
    user = {"id": 7, "first_name": "", "last_name": "", "email": "ann@example.com"}
    path = _write(
        tmp_path,
        [
            _task(
                1,
                {"id": 3, "image": "img/3.png"},
                [
                    _annotation(10, ["dog"], "2021-03-09T22:16:08.728353Z"),
                    _annotation(user, ["cat"], "2021-03-10T08:00:00.000000Z"),
                ],
            ),
            _task(2, {"id": 5, "image": "img/5.png"}, [_annotation(10, ["bird", "frog"], "2021-03-11T09:00:00Z")]),
        ],
    )
    table = read_export(path, key_field="id")
    assert table.column_names == ["id", "annotator", "label", "time", "confidence"]
    assert table.schema.field("id").type == pa.string()
    assert table.schema.field("confidence").type == pa.float64()
    assert table.column("confidence").null_count == 4
    assert table.drop_columns(["confidence"]).to_pylist() == [
        {"id": "3", "annotator": "10", "label": "dog", "time": "2021-03-09T22:16:08.728353Z"},
        {"id": "3", "annotator": "ann@example.com", "label": "cat", "time": "2021-03-10T08:00:00.000000Z"},
        {"id": "5", "annotator": "10", "label": "bird", "time": "2021-03-11T09:00:00Z"},
        {"id": "5", "annotator": "10", "label": "frog", "time": "2021-03-11T09:00:00Z"},
    ]


def test_read_export_text_keys_and_object_without_email(tmp_path: Path) -> None:
    """A text key stays as it is; a completed_by object without an email gives its id."""
    path = _write(tmp_path, [_task(1, {"name": "a-1"}, [_annotation({"id": 4}, ["cat"], "2024-01-01T00:00:00Z")])])
    assert read_export(path, key_field="name").to_pylist() == [
        {"name": "a-1", "annotator": "4", "label": "cat", "time": "2024-01-01T00:00:00Z", "confidence": None}
    ]


def test_read_export_skips_cancelled_unannotated_and_other_result_types(tmp_path: Path) -> None:
    """Skipped annotations, tasks without annotations and non-choices results give no rows."""
    cancelled = _annotation(3, [], "2024-01-01T00:00:00Z", was_cancelled=True)
    cancelled["result"] = []
    boxes = _annotation(4, ["x"], "2024-01-01T00:00:00Z")
    boxes["result"][0]["type"] = "rectanglelabels"
    boxes["result"][0]["value"] = {"x": 1, "y": 2, "width": 3, "height": 4, "rectanglelabels": ["x"]}
    path = _write(
        tmp_path,
        [
            _task(1, {"id": 1}, [cancelled, boxes, _annotation(5, ["cat"], "2024-01-02T00:00:00Z")]),
            _task(2, {"id": 2}, []),
        ],
    )
    assert read_export(path, key_field="id").column("annotator").to_pylist() == ["5"]


def test_read_export_from_name_picks_one_control(tmp_path: Path) -> None:
    """With two choices controls, from_name picks one; without it the export is refused."""
    ann = _annotation(1, ["cat"], "2024-01-01T00:00:00Z")
    other = {"from_name": "quality", "to_name": "item", "type": "choices", "value": {"choices": ["blurry"]}}
    ann["result"].append(other)
    path = _write(tmp_path, [_task(1, {"id": 1}, [ann])])
    assert read_export(path, key_field="id", from_name="quality").column("label").to_pylist() == ["blurry"]
    assert read_export(path, key_field="id", from_name="label").column("label").to_pylist() == ["cat"]
    with pytest.raises(LabelStudioExportError, match="several controls"):
        read_export(path, key_field="id")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not readable as JSON"),
        (json.dumps({"data": {"id": 1}}), "not a list of tasks"),
        (json.dumps([{"id": 1, "image": "x", "label": "cat"}]), "no data object"),
        (json.dumps([{"data": {"img": "x"}, "annotations": []}]), "no data field 'id'"),
        (json.dumps([{"data": {"id": 1}, "annotations": {}}]), "annotations that are not a list"),
        (
            json.dumps(
                [
                    {
                        "data": {"id": 1},
                        "annotations": [
                            {"result": [{"type": "choices", "from_name": "label", "value": {"choices": ["cat"]}}]}
                        ],
                    }
                ]
            ),
            "no completed_by",
        ),
        (
            json.dumps(
                [
                    {
                        "data": {"id": 1},
                        "annotations": [
                            {"completed_by": 1, "result": [{"type": "choices", "from_name": "label", "value": {}}]}
                        ],
                    }
                ]
            ),
            "value.choices",
        ),
    ],
)
def test_read_export_malformed_is_one_line_error(tmp_path: Path, content: str, message: str) -> None:
    """A malformed export raises a DslineageError whose one line names the problem and the fix."""
    path = tmp_path / "export.json"
    path.write_text(content)
    with pytest.raises(DslineageError, match=message) as info:
        read_export(path, key_field="id")
    assert "\n" not in str(info.value)
    assert isinstance(info.value, LabelStudioExportError)


def test_read_export_missing_file(tmp_path: Path) -> None:
    """A missing export file is a one-line error, not a traceback."""
    with pytest.raises(LabelStudioExportError, match="no such file"):
        read_export(tmp_path / "nope.json", key_field="id")


def _queue() -> pa.Table:
    """A queue-shaped table: key, label, suggested, score, rank, plus a data column."""
    return pa.table(
        {
            "id": [4, 9, 2],
            "image": ["img/4.png", "img/9.png", "img/2.png"],
            "label": ["cat", "dog", "ship"],
            "suggested": ["dog", None, "truck"],
            "score": [0.1, 0.2, float("nan")],
            "rank": [1, 2, 3],
        }
    )


def test_write_tasks_writes_label_studio_import_json(tmp_path: Path) -> None:
    """Each queued row becomes a task with its data and a choices prediction of `suggested`."""
    path = tmp_path / "tasks.json"
    n = write_tasks(path, _queue(), key_columns=["id"], data_columns=["image", "label"], model_version="cl-1")
    assert n == 3
    tasks = json.loads(path.read_text())
    assert tasks[0] == {
        "data": {"id": 4, "image": "img/4.png", "label": "cat"},
        "predictions": [
            {
                "model_version": "cl-1",
                "score": 0.1,
                "result": [{"from_name": "label", "to_name": "item", "type": "choices", "value": {"choices": ["dog"]}}],
            }
        ],
    }
    assert tasks[1]["predictions"] == []
    assert "score" not in tasks[2]["predictions"][0]
    assert tasks[2]["predictions"][0]["result"][0]["value"] == {"choices": ["truck"]}
    assert not list(tmp_path.glob(".*.tmp"))


def test_write_tasks_names_and_round_trip(tmp_path: Path) -> None:
    """Custom control names are written; an export of the same tasks reads back by key."""
    path = tmp_path / "tasks.json"
    write_tasks(path, _queue(), key_columns=["id"], data_columns=[], from_name="cls", to_name="img", model_version="m")
    tasks = json.loads(path.read_text())
    assert tasks[0]["predictions"][0]["result"][0]["from_name"] == "cls"
    assert tasks[0]["predictions"][0]["result"][0]["to_name"] == "img"
    exported = [
        _task(
            i + 1,
            t["data"],
            [
                _annotation(
                    2, t["predictions"][0]["result"][0]["value"]["choices"], "2024-05-01T00:00Z", from_name="cls"
                )
            ],
        )
        for i, t in enumerate(tasks)
        if t["predictions"]
    ]
    back = read_export(_write(tmp_path, exported), key_field="id", from_name="cls")
    assert back.select(["id", "label"]).to_pylist() == [{"id": "4", "label": "dog"}, {"id": "2", "label": "truck"}]


def test_write_tasks_missing_columns(tmp_path: Path) -> None:
    """A table without the named columns is refused before anything is written."""
    path = tmp_path / "tasks.json"
    with pytest.raises(LabelStudioTasksError, match="no column"):
        write_tasks(path, _queue().drop_columns(["suggested"]), key_columns=["id"], data_columns=[], model_version="m")
    with pytest.raises(LabelStudioTasksError, match="nope"):
        write_tasks(path, _queue(), key_columns=["nope"], data_columns=[], model_version="m")
    assert not path.exists()
