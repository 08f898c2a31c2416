"""Importing conversation transcripts (JSON Lines) and exporting everything as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from os1.clock import to_iso
from os1.errors import InputError
from os1.memory.core import Memory
from os1.store.conversations import Message, Role

_COMPANION_SPEAKERS = {"assistant", "ai", "companion", "bot", "os1", "system"}
_FIELDS = ("id", "conversation", "time", "speaker", "text")
MAX_LINE = 1_000_000


@dataclass(frozen=True)
class ImportReport:
    read: int
    added: int
    already_known: int
    facts: int


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror}.") from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            where = f"{path}, line {number}"
            if len(raw) > MAX_LINE:
                raise InputError(f"{where} is longer than {MAX_LINE:,} bytes.")
            try:
                record = json.loads(raw.decode("utf-8-sig"))
            except UnicodeDecodeError as exc:
                raise InputError(f"{where} is not UTF-8 text.") from exc
            except json.JSONDecodeError as exc:
                raise InputError(f"{where} is not valid JSON: {exc.msg}.") from exc
            except RecursionError as exc:
                raise InputError(f"{where} is nested too deeply to be a message.") from exc
            if not isinstance(record, dict):
                raise InputError(f"{where} must be a JSON object.")
            missing = [f for f in _FIELDS if not isinstance(record.get(f), str)]
            if missing:
                raise InputError(
                    f"{where} lacks {', '.join(missing)} (each a string).",
                    'Each line: {"id", "conversation", "time", "speaker", "text"}.',
                )
            if not record["id"].strip() or record["id"] == "profile":
                raise InputError(f"{where}: id must be a non-empty string other than 'profile'.")
            if any(ord(ch) < 32 for ch in record["id"]):
                raise InputError(f"{where}: id contains control characters.")
            for key in _FIELDS:
                try:
                    record[key].encode("utf-8")
                except UnicodeEncodeError as exc:
                    raise InputError(f"{where}: {key} holds an unpaired surrogate.") from exc
            try:
                moment = datetime.fromisoformat(record["time"])
            except ValueError as exc:
                raise InputError(f"{where}: time is not ISO 8601: {record['time']!r}.") from exc
            # A time without a zone is the user's local time.
            moment = moment if moment.tzinfo else moment.astimezone()
            if not 1900 <= moment.year <= 2200:
                raise InputError(f"{where}: time {record['time']!r} is out of range.")
            record["time"] = moment
            yield number, record


def import_jsonl(
    memory: Memory,
    path: Path,
    *,
    companion_name: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import a transcript. All lines are checked before anything is written; ids already
    known are skipped, so importing the same file twice changes nothing."""
    records = [record for _, record in _records(path)]
    companions = _COMPANION_SPEAKERS | ({companion_name.lower()} if companion_name else set())
    db = memory.db
    taken = memory.fact_ids({r["id"] for r in records})
    if taken:
        raise InputError(
            f"{path}: ids already used by facts: {', '.join(sorted(taken)[:5])}.",
            "Give those messages other ids.",
        )
    added: list[Message] = []
    with db.transaction() as conn:
        for record in sorted(records, key=lambda r: r["time"]):
            given = record.get("role")
            role: Role = (
                given
                if given in ("user", "companion")
                else ("companion" if record["speaker"].lower() in companions else "user")
            )
            conn.execute(
                "INSERT OR IGNORE INTO conversations (id, started_at) VALUES (?, ?)",
                (record["conversation"], to_iso(record["time"])),
            )
            cursor = conn.execute(
                "INSERT OR IGNORE INTO messages"
                " (id, conversation_id, role, speaker, text, created_at, meta)"
                " VALUES (?, ?, ?, ?, ?, ?, '{\"imported\": true}')",
                (
                    record["id"],
                    record["conversation"],
                    role,
                    record["speaker"],
                    record["text"],
                    to_iso(record["time"]),
                ),
            )
            if cursor.rowcount:
                added.append(
                    Message(
                        record["id"],
                        record["conversation"],
                        role,
                        record["speaker"],
                        record["text"],
                        record["time"],
                        meta={"imported": True},
                    )
                )
    # Also what an interrupted import stored but did not get to learn from.
    unlearned = memory.unlearned({r["id"] for r in records} - {m.id for m in added})
    to_learn = sorted(added + unlearned, key=lambda m: m.created_at)
    facts = 0
    for start in range(0, len(to_learn), 64):
        facts += len(memory.learn(to_learn[start : start + 64]))
        if progress:
            progress(min(start + 64, len(to_learn)), len(to_learn))
    return ImportReport(len(records), len(added), len(records) - len(added), facts)


def export_all(memory: Memory, persona: dict[str, Any] | None) -> dict[str, Any]:
    """Everything the companion knows, as plain JSON-ready data."""
    db = memory.db
    conversations = []
    for conv in db.query("SELECT id, started_at FROM conversations ORDER BY started_at"):
        rows = db.query(
            "SELECT id, role, speaker, text, created_at, status FROM messages"
            " WHERE conversation_id = ? ORDER BY created_at, seq",
            (conv["id"],),
        )
        conversations.append(
            {
                "id": conv["id"],
                "started_at": conv["started_at"],
                "messages": [
                    {
                        "id": r["id"],
                        "time": r["created_at"],
                        "speaker": r["speaker"],
                        "role": r["role"],
                        "text": r["text"],
                        "status": r["status"],
                    }
                    for r in rows
                ],
            }
        )
    facts = [
        {
            "id": f.id,
            "text": f.text,
            "slot": f.slot,
            "importance": f.importance,
            "valid_from": to_iso(f.valid_from),
            "valid_to": to_iso(f.valid_to) if f.valid_to else None,
            "superseded_by": f.superseded_by,
            "sources": list(f.sources),
        }
        for f in memory.facts(include_superseded=True)
    ]
    return {
        "format": "os1-export-1",
        "exported_at": to_iso(memory.clock()),
        "companion": persona,
        "profile": memory.profile(),
        "facts": facts,
        "conversations": conversations,
    }


def write_jsonl(messages: list[dict[str, Any]], path: Path) -> None:
    """Write messages in the import format (used by benchmarks and tests)."""
    with path.open("w", encoding="utf-8") as out:
        for m in messages:
            time = m["time"]
            record = {**m, "time": time.isoformat() if isinstance(time, datetime) else time}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
