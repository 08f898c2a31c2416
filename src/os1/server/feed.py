"""What changed in the conversation since we last looked, as protocol events.

The store is the one source of truth: a message typed on the phone, spoken to the laptop,
asked through the API or written by `os1 chat` in another process all land in the same
table. The server compares the recent messages with what it last announced and tells
every device what is new, what changed (a spoken reply cut short) and what went (a
reply nobody heard, a forgotten message).
"""

from __future__ import annotations

from typing import Any

from os1.server.protocol import message_dict
from os1.store.conversations import Message
from os1.store.db import Database

WINDOW = 100  # recent messages compared each time
_COLUMNS = "seq, id, conversation_id, role, speaker, text, created_at, status, meta"


class MessageFeed:
    def __init__(self, db: Database, window: int = WINDOW) -> None:
        self.db = db
        self.window = window
        self._known: dict[str, tuple[int, str, str]] = {}  # id -> (seq, text, status)
        self._started = False

    def recent(self, limit: int, before: str | None = None) -> list[Message]:
        """Messages in the order they were stored, oldest first."""
        if before is None:
            rows = self.db.query(
                f"SELECT {_COLUMNS} FROM messages ORDER BY seq DESC LIMIT ?", (limit,)
            )
        else:
            rows = self.db.query(
                f"SELECT {_COLUMNS} FROM messages WHERE seq < "
                "(SELECT seq FROM messages WHERE id = ?) ORDER BY seq DESC LIMIT ?",
                (before, limit),
            )
        return [Message.from_row(row) for row in reversed(rows)]

    def changes(self) -> list[dict[str, Any]]:
        """Events for everything that changed since the last call (none the first time:
        a device that connects gets the recent messages in its welcome)."""
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM messages ORDER BY seq DESC LIMIT ?", (self.window,)
        )
        rows.reverse()
        current = {row["id"]: (row["seq"], row["text"], row["status"]) for row in rows}
        if not self._started:
            self._known, self._started = current, True
            return []
        events: list[dict[str, Any]] = []
        missing = [message_id for message_id in self._known if message_id not in current]
        # Gone from the table, not merely out of the window. (Comparing sequence numbers
        # with the window's oldest cannot tell: deleting the oldest message moves it.)
        for message_id in self._deleted(missing):
            events.append({"type": "message.removed", "id": message_id})
        for row in rows:
            before = self._known.get(row["id"])
            now = current[row["id"]]
            if before is None:
                events.append({"type": "message", "message": message_dict(Message.from_row(row))})
            elif before != now:
                events.append(
                    {"type": "message.updated", "message": message_dict(Message.from_row(row))}
                )
        self._known = current
        return events

    def _deleted(self, message_ids: list[str]) -> list[str]:
        """Those of ``message_ids`` that are no longer stored, in the order given."""
        still: set[str] = set()
        for start in range(0, len(message_ids), 500):
            batch = message_ids[start : start + 500]
            marks = ", ".join("?" * len(batch))
            rows = self.db.query(f"SELECT id FROM messages WHERE id IN ({marks})", tuple(batch))
            still.update(row["id"] for row in rows)
        return [message_id for message_id in message_ids if message_id not in still]

    def announced(self, message: Message, seq_hint: int | None = None) -> None:
        """Note a message already sent to everyone another way (in ``reply.done``)."""
        seq = seq_hint if seq_hint is not None else self._seq_of(message.id)
        if seq is not None:
            self._known[message.id] = (seq, message.text, message.status)

    def _seq_of(self, message_id: str) -> int | None:
        rows = self.db.query("SELECT seq FROM messages WHERE id = ?", (message_id,))
        return int(rows[0]["seq"]) if rows else None
