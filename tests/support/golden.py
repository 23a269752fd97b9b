"""Masking of volatile values in `--json` outputs, for the byte-level golden tests
(`tests/func/test_json_contracts*.py`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

_HEX = re.compile(r"(?<![0-9A-Za-z_])[0-9a-f]{7,64}(?![0-9A-Za-z_])")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?")
_DURATION = re.compile(r'("(?:seconds|elapsed|duration|duration_s|duration_ms|wall|cpu)": )[0-9.e-]+')


def mask(text: str, root: Path, ids: dict[str, str]) -> str:
    """`text` with volatile values replaced by stable placeholders: each distinct id / md5 / sha
    (and any prefix of one seen before) becomes `<hN>` numbered by first appearance in the
    scenario, timestamps `<time>`, durations `<dur>`, the repository path `<root>`."""
    text = text.replace(sys.executable, "<python>")
    text = text.replace(str(root.resolve()), "<root>").replace(str(root), "<root>")
    text = text.replace(str(root.parent), "<tmp>")
    text = _TIME.sub("<time>", text)
    text = _DURATION.sub(r"\1<dur>", text)

    def hexid(m: re.Match[str]) -> str:
        token = m.group(0)
        if token.isdigit():  # a number, unless it is a prefix of a known id
            full = next((k for k in ids if k.startswith(token)), None)
            return f"<{ids[full]}:{len(token)}>" if full and len(token) >= 8 else token
        if len(token) in (32, 40, 64):
            ids.setdefault(token, f"h{len(ids) + 1}")
            return f"<{ids[token]}>"
        full = next((k for k in ids if k.startswith(token)), None)
        if full is None:
            full = token
            ids.setdefault(token, f"h{len(ids) + 1}")
        return f"<{ids[full]}:{len(token)}>"

    return _HEX.sub(hexid, text)


def check_golden(path: Path, text: str) -> None:
    """`text` is byte for byte the golden file at `path`; with DSLINEAGE_REGEN_GOLDEN=1 it is
    written there first (after a deliberate contract change)."""
    import os

    if os.environ.get("DSLINEAGE_REGEN_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with DSLINEAGE_REGEN_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")
