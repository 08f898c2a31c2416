"""The server's messages in code (os1.server.events) say what docs/protocol.md says."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

from os1.server.events import ALL_EVENTS, ReplyDone, ReplyStart, Welcome

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def _documented() -> dict[str, str]:
    """Server-to-client message types and their fields column, from the doc's table."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### Server → client", 1)[1].split("\n### ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        found = re.fullmatch(r"`([a-z.]+)`", cells[0]) if len(cells) >= 3 else None
        if found:
            rows[found.group(1)] = cells[1]
    return rows


def test_every_message_in_the_doc_is_in_the_code_and_back() -> None:
    documented = _documented()
    assert set(documented) == {event.type for event in ALL_EVENTS}


def test_every_field_in_the_code_is_documented() -> None:
    documented = _documented()
    for event in ALL_EVENTS:
        if event is Welcome:
            continue  # its fields are shown as an example above the table
        column = documented[event.type]
        for spec in fields(event):
            assert f"`{spec.name}`" in column, (event.type, spec.name)


def test_the_welcome_example_has_the_welcome_fields() -> None:
    text = DOC.read_text(encoding="utf-8")
    example = text.split('{"type": "welcome"', 1)[1].split("```", 1)[0]
    for spec in fields(Welcome):
        assert f'"{spec.name}"' in example, spec.name


def test_optional_fields_are_left_out_when_empty() -> None:
    start = ReplyStart("t_1", reply_to=None)
    assert start.to_dict() == {"type": "reply.start", "turn": "t_1", "reply_to": None}
    done = ReplyDone("t_1", "failed", message=None, timings={}, error="The model failed.")
    frame = json.loads(done.encode())
    assert frame["error"] == "The model failed." and frame["message"] is None
    assert "reply_id" not in frame and "presence" not in frame
