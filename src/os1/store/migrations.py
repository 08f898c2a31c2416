"""Named, append-only schema migrations. Never edit one that has shipped: add a new one."""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_conversations",
        """
        CREATE TABLE conversations (
            id          TEXT PRIMARY KEY,
            started_at  TEXT NOT NULL
        );
        CREATE TABLE messages (
            seq             INTEGER PRIMARY KEY AUTOINCREMENT,
            id              TEXT NOT NULL UNIQUE,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role            TEXT NOT NULL CHECK (role IN ('user', 'companion', 'system')),
            speaker         TEXT NOT NULL,
            text            TEXT NOT NULL,
            created_at      TEXT NOT NULL,
            status          TEXT NOT NULL DEFAULT 'complete'
                            CHECK (status IN ('complete', 'interrupted', 'error')),
            meta            TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX messages_by_conversation ON messages (conversation_id, seq);
        CREATE INDEX messages_by_time ON messages (created_at);
        CREATE TABLE state (
            key         TEXT PRIMARY KEY,
            value       TEXT NOT NULL,
            updated_at  TEXT NOT NULL
        );
        """,
    ),
]
