"""Conversations and their messages, kept verbatim with time, speaker and a stable id."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from os1.clock import Clock, from_iso, new_id, system_clock, to_iso
from os1.store.db import Database

Role = Literal["user", "companion", "system"]
Status = Literal["complete", "interrupted", "error"]


@dataclass(frozen=True)
class Message:
    id: str
    conversation_id: str
    role: Role
    speaker: str
    text: str
    created_at: datetime
    status: Status = "complete"
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Message:
        return cls(
            id=row["id"],
            conversation_id=row["conversation_id"],
            role=row["role"],
            speaker=row["speaker"],
            text=row["text"],
            created_at=from_iso(row["created_at"]),
            status=row["status"],
            meta=json.loads(row["meta"]),
        )


MESSAGE_COLUMNS = "id, conversation_id, role, speaker, text, created_at, status, meta"
"""The columns ``Message.from_row`` reads."""


class Conversations:
    def __init__(self, db: Database, clock: Clock = system_clock) -> None:
        self.db = db
        self.clock = clock

    def start(self) -> str:
        conversation_id = new_id("c")
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO conversations (id, started_at) VALUES (?, ?)",
                (conversation_id, to_iso(self.clock())),
            )
        return conversation_id

    def exists(self, conversation_id: str) -> bool:
        return bool(self.db.query("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)))

    def current(self, new_after: timedelta) -> str:
        """The latest conversation if it was active within ``new_after``, else a new one."""
        rows = self.db.query(
            "SELECT conversation_id, created_at FROM messages"
            " ORDER BY created_at DESC, seq DESC LIMIT 1"
        )
        if rows and self.clock() - from_iso(rows[0]["created_at"]) < new_after:
            return str(rows[0]["conversation_id"])
        return self.start()

    def add(
        self,
        conversation_id: str,
        role: Role,
        speaker: str,
        text: str,
        *,
        status: Status = "complete",
        meta: dict[str, Any] | None = None,
        created_at: datetime | None = None,
    ) -> Message:
        message = Message(
            id=new_id("m"),
            conversation_id=conversation_id,
            role=role,
            speaker=speaker,
            text=text,
            created_at=created_at or self.clock(),
            status=status,
            meta=dict(meta or {}),
        )
        with self.db.transaction() as conn:
            self.insert(conn, message)
        return message

    @staticmethod
    def insert(conn: sqlite3.Connection, message: Message) -> None:
        """Store ``message`` inside a transaction the caller holds (with other writes
        that must happen with it or not at all: a reminder marked as fired)."""
        conn.execute(
            f"INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                message.id,
                message.conversation_id,
                message.role,
                message.speaker,
                message.text,
                to_iso(message.created_at),
                message.status,
                json.dumps(message.meta, ensure_ascii=False),
            ),
        )

    def revise(self, message_id: str, text: str, status: Status) -> None:
        """Change what a message says, before memory has learned from it (a spoken reply
        cut short: only the words the user heard stay)."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE messages SET text = ?, status = ? WHERE id = ?", (text, status, message_id)
            )

    def remove(self, message_id: str) -> None:
        """Delete a message memory has not learned from yet (a reply nobody heard)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))

    def recent(self, limit: int) -> list[Message]:
        """The last ``limit`` messages across conversations, oldest first (by when they
        were said: an imported old transcript does not become the recent past)."""
        rows = self.db.query(
            f"SELECT {MESSAGE_COLUMNS} FROM messages ORDER BY created_at DESC, seq DESC LIMIT ?",
            (limit,),
        )
        return [Message.from_row(row) for row in reversed(rows)]

    def in_stored_order(self, limit: int, before: str | None = None) -> list[Message]:
        """The last ``limit`` messages stored (before message ``before``), oldest first:
        the order devices saw them arrive, whatever times they carry."""
        if before is None:
            rows = self.db.query(
                f"SELECT {MESSAGE_COLUMNS} FROM messages ORDER BY seq DESC LIMIT ?", (limit,)
            )
        else:
            rows = self.db.query(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE seq < "
                "(SELECT seq FROM messages WHERE id = ?) ORDER BY seq DESC LIMIT ?",
                (before, limit),
            )
        return [Message.from_row(row) for row in reversed(rows)]

    def existing(self, message_ids: list[str]) -> set[str]:
        """Those of ``message_ids`` that are stored."""
        found: set[str] = set()
        for start in range(0, len(message_ids), 500):  # SQLite's limit on parameters
            batch = message_ids[start : start + 500]
            marks = ", ".join("?" * len(batch))
            rows = self.db.query(f"SELECT id FROM messages WHERE id IN ({marks})", tuple(batch))
            found.update(row["id"] for row in rows)
        return found

    def in_conversation(self, conversation_id: str) -> list[Message]:
        rows = self.db.query(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?"
            " ORDER BY created_at, seq",
            (conversation_id,),
        )
        return [Message.from_row(row) for row in rows]

    def count_in(self, conversation_id: str, at_most: int) -> int:
        """How many messages a conversation holds, counting no further than ``at_most``."""
        rows = self.db.query(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM messages WHERE conversation_id = ? LIMIT ?)",
            (conversation_id, at_most),
        )
        return int(rows[0]["n"])

    def count(self, role: Role | None = None) -> int:
        if role is None:
            rows = self.db.query("SELECT COUNT(*) AS n FROM messages")
        else:
            rows = self.db.query("SELECT COUNT(*) AS n FROM messages WHERE role = ?", (role,))
        return int(rows[0]["n"])

    def conversation_count(self) -> int:
        return int(self.db.query("SELECT COUNT(*) AS n FROM conversations")[0]["n"])

    def last_message(self, role: Role | None = None, *, said_only: bool = False) -> Message | None:
        """The latest message (of ``role``); with ``said_only``, not counting requests to
        forget (so "forget that" twice reaches further back)."""
        if said_only:
            rows = self.db.query(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE role = ?"
                " AND json_extract(meta, '$.forget') IS NULL"
                " ORDER BY created_at DESC, seq DESC LIMIT 1",
                (role or "user",),
            )
            return Message.from_row(rows[0]) if rows else None
        if role is None:
            rows = self.db.query(
                f"SELECT {MESSAGE_COLUMNS} FROM messages ORDER BY created_at DESC, seq DESC LIMIT 1"
            )
        else:
            rows = self.db.query(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE role = ?"
                " ORDER BY created_at DESC, seq DESC LIMIT 1",
                (role,),
            )
        return Message.from_row(rows[0]) if rows else None

    def reply_to(self, message: Message) -> Message | None:
        """The companion's message that answered ``message``, if any."""
        rows = self.db.query(
            f"SELECT {MESSAGE_COLUMNS} FROM messages"
            " WHERE conversation_id = ? AND role = 'companion'"
            " AND (created_at > ? OR (created_at = ? AND seq > (SELECT seq FROM messages"
            " WHERE id = ?))) ORDER BY created_at, seq LIMIT 1",
            (
                message.conversation_id,
                to_iso(message.created_at),
                to_iso(message.created_at),
                message.id,
            ),
        )
        return Message.from_row(rows[0]) if rows else None

    def first_message_time(self) -> datetime | None:
        rows = self.db.query("SELECT created_at FROM messages ORDER BY created_at, seq LIMIT 1")
        return from_iso(rows[0]["created_at"]) if rows else None
