"""Drive a Label Studio server through `label-studio-sdk`, run by .venv-ls's own interpreter.

Usage: python labelstudio_sdk_driver.py URL TOKEN COMMAND ARGS...; prints one JSON answer.
TOKEN is a personal access token (a JWT refresh token): the SDK refreshes it into access
tokens and sends them as `Bearer`. Commands:
  project TITLE CONFIG_FILE         create a project -> {"id"}
  import PROJECT TASKS_FILE         import a task-import JSON file -> {"task_ids": [...]}
  annotate PAIRS_FILE               post one annotation per [task_id, from_name, to_name, label]
                                    as this token's user -> {"annotations": [ids]}
  export PROJECT OUT_FILE           the project's JSON export, written to OUT_FILE -> {"tasks": n}
Kept out of the test extra: the SDK would downgrade numpy there (see tests/support/labelstudio.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    """Run one command and print its JSON answer."""
    from label_studio_sdk import LabelStudio

    url, token, command, *args = argv
    ls = LabelStudio(base_url=url, api_key=token)
    if command == "project":
        title, config = args
        project = ls.projects.create(title=title, label_config=Path(config).read_text())
        answer: object = {"id": project.id}
    elif command == "import":
        project_id, tasks_file = args
        tasks = json.loads(Path(tasks_file).read_text())
        out = ls.projects.import_tasks(id=int(project_id), request=tasks, return_task_ids=True)
        answer = {
            "task_ids": list(out.task_ids or []),
            "task_count": out.task_count,
            "prediction_count": out.prediction_count,
        }
    elif command == "annotate":
        (pairs_file,) = args
        ids = []
        for task_id, from_name, to_name, label in json.loads(Path(pairs_file).read_text()):
            result = [{"from_name": from_name, "to_name": to_name, "type": "choices", "value": {"choices": [label]}}]
            ids.append(ls.annotations.create(id=int(task_id), result=result, was_cancelled=False).id)
        answer = {"annotations": ids}
    elif command == "export":
        project_id, out_file = args
        chunks = ls.projects.exports.download_sync(id=int(project_id), export_type="JSON", download_all_tasks=True)
        Path(out_file).write_bytes(b"".join(chunks))
        answer = {"tasks": len(json.loads(Path(out_file).read_text()))}
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(answer))


if __name__ == "__main__":
    main(sys.argv[1:])
