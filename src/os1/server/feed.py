"""What changed in the conversation since we last looked, as protocol events.

The store is the one source of truth: a message typed on the phone, spoken to the laptop,
asked through the API or written by `os1 chat` in another process all land in the same
table. The server compares the recent messages with what it last announced and tells
every device what is new, what changed (a spoken reply cut short) and what went (a
reply nobody heard, a forgotten message).
"""

from __future__ import annotations

import threading

from os1.server.events import MessageRemoved, MessageShown, MessageUpdated, ServerEvent
from os1.server.protocol import message_dict
from os1.store.conversations import MESSAGE_COLUMNS, Conversations, Message
from os1.store.db import Database

WINDOW = 100  # recent messages compared each time


class MessageFeed:
    def __init__(self, db: Database, window: int = WINDOW) -> None:
        self.db = db
        self.conversations = Conversations(db)
        self.window = window
        self._known: dict[str, tuple[str, str]] = {}  # id -> (text, status), as announced
        self._started = False
        self._lock = threading.Lock()  # ``announced`` may come from another thread
        self._announced_since: dict[str, tuple[str, str]] = {}  # during a ``changes``

    def recent(self, limit: int, before: str | None = None) -> list[Message]:
        """Messages in the order they were stored, oldest first."""
        return self.conversations.in_stored_order(limit, before)

    def changes(self, *, users_only: bool = False) -> list[ServerEvent]:
        """Events for everything that changed since the last call (none the first time:
        a device that connects gets the recent messages in its welcome).

        ``users_only`` announces new messages of the user's and holds back the
        companion's for a later call (a spoken reply is shown as it is heard)."""
        with self._lock:
            self._announced_since = {}
        rows = self.db.query(
            f"SELECT {MESSAGE_COLUMNS} FROM messages ORDER BY seq DESC LIMIT ?", (self.window,)
        )
        rows.reverse()
        if users_only:
            rows = [r for r in rows if r["role"] == "user" or r["id"] in self._known]
        current = {row["id"]: (row["text"], row["status"]) for row in rows}
        with self._lock:
            if not self._started:
                self._known, self._started = current, True
                return []
            known = dict(self._known)
        missing = [message_id for message_id in known if message_id not in current]
        # Gone from the table, not merely out of the window. (Comparing sequence numbers
        # with the window's oldest cannot tell: deleting the oldest message moves it.)
        events: list[ServerEvent] = [MessageRemoved(gone) for gone in self._deleted(missing)]
        with self._lock:
            for row in rows:
                before = self._known.get(row["id"])
                if before is None:
                    events.append(MessageShown(message_dict(Message.from_row(row))))
                elif before != current[row["id"]]:
                    events.append(MessageUpdated(message_dict(Message.from_row(row))))
            # Announced while we looked (stored after the query): still known.
            self._known = {**current, **self._announced_since}
        return events

    def _deleted(self, message_ids: list[str]) -> list[str]:
        """Those of ``message_ids`` that are no longer stored, in the order given."""
        still = self.conversations.existing(message_ids)
        return [message_id for message_id in message_ids if message_id not in still]

    def announced(self, message: Message) -> None:
        """Note a message already sent to everyone another way (in ``reply.start`` or
        ``reply.done``), so it is not announced again."""
        with self._lock:
            self._known[message.id] = (message.text, message.status)
            self._announced_since[message.id] = (message.text, message.status)
