"""`relabel --from export.json --format label-studio` on exports in Label Studio's documented shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support import cli_json, invoke, snapshot_state


def _ann(who: Any, label: str | list[str], created: str) -> dict[str, Any]:
    """One annotation as Label Studio's JSON export writes it."""
    choices = [label] if isinstance(label, str) else label
    return {
        "id": 1,
        "completed_by": who,
        "was_cancelled": False,
        "ground_truth": False,
        "created_at": created,
        "updated_at": created,
        "lead_time": 2.5,
        "task": 1,
        "project": 1,
        "result": [
            {
                "from_name": "label",
                "to_name": "item",
                "type": "choices",
                "origin": "manual",
                "value": {"choices": choices},
            }
        ],
    }


def _export(path: Path, tasks: list[tuple[Any, list[dict[str, Any]]]], field: str = "id") -> Path:
    """Write an export: one task per (key, annotations), with the key in `data[field]`."""
    out = [
        {
            "id": i + 1,
            "data": {field: key, "image": f"img/{key}.png"},
            "annotations": anns,
            "predictions": [],
            "created_at": "2024-05-01T00:00:00Z",
            "updated_at": "2024-05-01T00:00:00Z",
            "project": 1,
        }
        for i, (key, anns) in enumerate(tasks)
    ]
    path.write_text(json.dumps(out))
    return path


def test_relabel_label_studio_latest_annotation_wins(committed: Any, tmp_path: Path) -> None:
    """Each task's latest annotation is its row's new label, by completed_by (email or id)."""
    root = committed.root
    export = _export(
        tmp_path / "export.json",
        [
            (
                4,
                [
                    _ann(10, "bird", "2024-05-02T10:00:00Z"),
                    _ann({"id": 7, "email": "ann@example.com"}, "cat", "2024-05-03T09:00:00Z"),
                ],
            ),
            (5, [_ann(11, "dog", "2024-05-02T11:00:00.500000Z"), _ann(12, "cat", "2024-05-02T11:00:00Z")]),
            (7, [_ann(11, "dog", "2024-05-02T12:00:00Z")]),  # row 7 is a dog already: a no-op
        ],
    )
    out = cli_json(root, "relabel", "train", "--from", str(export), "--format", "label-studio", "--key-field", "id")
    assert (out["applied"], out["noop"], out["missing"], out["edits_read"]) == (2, 1, 0, 3)
    assert out["committed"] is True
    batch = committed.batch(out["batch"])
    assert batch["source"] == "export.json"
    assert batch["source_format"] == "label-studio"
    assert batch["annotations_superseded"] == 2  # by time, not by text: 11:00:00.5Z is after 11:00:00Z
    span = (batch["annotated_first"], batch["annotated_last"])
    assert span == ("2024-05-02T11:00:00.500000Z", "2024-05-03T09:00:00Z")
    edits = {e["key"]["id"]: (e["old"], e["new"], e["annotator"]) for e in batch["edits"]}
    assert edits == {4: ("dog", "cat", "ann@example.com"), 5: ("bird", "dog", "11")}


def test_relabel_label_studio_key_field_defaults_and_other_field(committed: Any, tmp_path: Path) -> None:
    """Without --key-field the dataset's key column names the task field; another field works too."""
    root = committed.root
    first = _export(tmp_path / "a.json", [(1, [_ann(3, "bird", "2024-05-02T10:00:00Z")])])
    assert cli_json(root, "relabel", "train", "--from", str(first), "--format", "label-studio")["applied"] == 1
    other = _export(tmp_path / "b.json", [(2, [_ann(3, "cat", "2024-05-02T10:00:00Z")])], field="row")
    out = cli_json(root, "relabel", "train", "--from", str(other), "--format", "label-studio", "--key-field", "row")
    assert out["applied"] == 1 and out["transitions"] == [{"from": "bird", "to": "cat", "count": 1}]


def test_relabel_label_studio_refusals_change_nothing(committed: Any, tmp_path: Path) -> None:
    """Bad exports and option mixes are one-line errors and leave the repository as it was."""
    root = committed.root
    before = snapshot_state(root)
    multi = _export(tmp_path / "multi.json", [(4, [_ann(1, ["cat", "dog"], "2024-05-02T10:00:00Z")])])
    empty = _export(tmp_path / "empty.json", [(4, [])])
    nokey = _export(tmp_path / "nokey.json", [(4, [_ann(1, "cat", "2024-05-02T10:00:00Z")])], field="name")
    unknown = _export(tmp_path / "unknown.json", [(999, [_ann(1, "cat", "2024-05-02T10:00:00Z")])])
    badtime = _export(tmp_path / "badtime.json", [(4, [_ann(1, "cat", "yesterday"), _ann(2, "dog", "2024-05-02")])])
    cases = [
        (["--from", str(multi), "--format", "label-studio"], "several choices"),
        (["--from", str(empty), "--format", "label-studio"], "no choices annotations"),
        (["--from", str(nokey), "--format", "label-studio"], "no data field 'id'"),
        (["--from", str(unknown), "--format", "label-studio"], "not in train"),
        (["--from", str(badtime), "--format", "label-studio"], "not an ISO 8601 time"),
        (["--from", str(multi), "--key-field", "id"], "add --format label-studio"),
        (["--from", str(multi), "--format", "yaml"], "unknown --format"),
        (["--set", "4=cat", "--format", "label-studio"], "--from EXPORT"),
    ]
    for args, message in cases:
        result = invoke(root, "relabel", "train", *args)
        assert result.exit_code != 0, args
        err = result.stderr.strip()
        assert message in err and "\n" not in err and "Traceback" not in err, (args, err)
    assert snapshot_state(root) == before
