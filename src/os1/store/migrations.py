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
    (
        "0002_memory",
        """
        CREATE VIRTUAL TABLE messages_fts USING fts5(
            text, content='messages', content_rowid='seq', tokenize='porter unicode61'
        );
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts (rowid, text) VALUES (new.seq, new.text);
        END;
        CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, text)
            VALUES ('delete', old.seq, old.text);
        END;
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, text)
            VALUES ('delete', old.seq, old.text);
            INSERT INTO messages_fts (rowid, text) VALUES (new.seq, new.text);
        END;
        INSERT INTO messages_fts (rowid, text) SELECT seq, text FROM messages;

        CREATE TABLE facts (
            seq           INTEGER PRIMARY KEY AUTOINCREMENT,
            id            TEXT NOT NULL UNIQUE,
            text          TEXT NOT NULL,
            slot          TEXT,
            importance    REAL NOT NULL DEFAULT 0.5,
            valid_from    TEXT NOT NULL,
            valid_to      TEXT,
            superseded_by TEXT,
            created_at    TEXT NOT NULL
        );
        CREATE INDEX facts_by_slot ON facts (slot, valid_to);
        CREATE TABLE fact_sources (
            fact_id     TEXT NOT NULL REFERENCES facts(id) ON DELETE CASCADE,
            message_id  TEXT NOT NULL,
            PRIMARY KEY (fact_id, message_id)
        );
        CREATE INDEX fact_sources_by_message ON fact_sources (message_id);
        CREATE VIRTUAL TABLE facts_fts USING fts5(
            text, content='facts', content_rowid='seq', tokenize='porter unicode61'
        );
        CREATE TRIGGER facts_fts_insert AFTER INSERT ON facts BEGIN
            INSERT INTO facts_fts (rowid, text) VALUES (new.seq, new.text);
        END;
        CREATE TRIGGER facts_fts_delete AFTER DELETE ON facts BEGIN
            INSERT INTO facts_fts (facts_fts, rowid, text) VALUES ('delete', old.seq, old.text);
        END;
        CREATE TRIGGER facts_fts_update AFTER UPDATE OF text ON facts BEGIN
            INSERT INTO facts_fts (facts_fts, rowid, text) VALUES ('delete', old.seq, old.text);
            INSERT INTO facts_fts (rowid, text) VALUES (new.seq, new.text);
        END;

        CREATE TABLE embeddings (
            item_id  TEXT PRIMARY KEY,
            kind     TEXT NOT NULL CHECK (kind IN ('episode', 'fact', 'profile')),
            model    TEXT NOT NULL,
            vector   BLOB NOT NULL
        );
        """,
    ),
    (
        "0003_devices",
        """
        CREATE TABLE devices (
            id            TEXT PRIMARY KEY,
            name          TEXT NOT NULL,
            token_hash    TEXT NOT NULL UNIQUE,
            created_at    TEXT NOT NULL,
            last_seen_at  TEXT,
            revoked_at    TEXT
        );
        CREATE TABLE pairing_codes (
            code_hash   TEXT PRIMARY KEY,
            created_at  TEXT NOT NULL,
            expires_at  TEXT NOT NULL,
            used_at     TEXT
        );
        """,
    ),
    (
        "0004_reminders_and_actions",
        """
        CREATE TABLE reminders (
            id          TEXT PRIMARY KEY,
            text        TEXT NOT NULL,
            due_at      TEXT NOT NULL,
            repeat      TEXT,
            timezone    TEXT NOT NULL,
            status      TEXT NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'done', 'cancelled')),
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL,
            fired_at    TEXT
        );
        CREATE INDEX reminders_due ON reminders (status, due_at);
        CREATE TABLE actions (
            seq         INTEGER PRIMARY KEY AUTOINCREMENT,
            at          TEXT NOT NULL,
            skill       TEXT NOT NULL,
            asked_by    TEXT NOT NULL,
            source_text TEXT NOT NULL,
            arguments   TEXT NOT NULL,
            outcome     TEXT NOT NULL,
            said        TEXT NOT NULL
        );
        """,
    ),
    (
        "0005_calendar",
        """
        CREATE TABLE events (
            uid         TEXT PRIMARY KEY,
            ical        TEXT NOT NULL,
            title       TEXT NOT NULL,
            starts_at   TEXT NOT NULL,
            last_end_at TEXT,
            status      TEXT NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'deleted')),
            href        TEXT,
            etag        TEXT,
            push        TEXT CHECK (push IN ('ask', 'send', 'local')),
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL
        );
        CREATE INDEX events_time ON events (status, starts_at);
        CREATE INDEX events_push ON events (push) WHERE push IS NOT NULL;
        CREATE UNIQUE INDEX events_href ON events (href) WHERE href IS NOT NULL;
        """,
    ),
    (
        "0006_followups",
        """
        CREATE TABLE followups (
            id          TEXT PRIMARY KEY,
            topic       TEXT NOT NULL,
            said        TEXT NOT NULL,
            ask_at      TEXT NOT NULL,
            status      TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'asked', 'dropped')),
            created_at  TEXT NOT NULL,
            asked_at    TEXT
        );
        CREATE INDEX followups_due ON followups (status, ask_at);
        """,
    ),
    (
        "0007_index_changes",
        """
        -- Counts the changes that a saved copy of the vector index cannot take in by
        -- reading only the rows added since: a vector changed or removed, a message or
        -- fact retimed or removed (see os1.memory.index_snapshot).
        CREATE TABLE index_changes (
            id          INTEGER PRIMARY KEY CHECK (id = 1),
            count       INTEGER NOT NULL,
            database_id TEXT NOT NULL  -- a saved copy belongs to this database only
        );
        INSERT INTO index_changes (id, count, database_id)
            VALUES (1, 0, lower(hex(randomblob(16))));
        CREATE TRIGGER embeddings_changed AFTER UPDATE ON embeddings BEGIN
            UPDATE index_changes SET count = count + 1;
        END;
        CREATE TRIGGER embeddings_removed AFTER DELETE ON embeddings BEGIN
            UPDATE index_changes SET count = count + 1;
        END;
        -- A REPLACE deletes the old row without firing delete triggers: that is read
        -- from the rows added since, unless the item moves to another model.
        CREATE TRIGGER embeddings_remodelled BEFORE INSERT ON embeddings
        WHEN EXISTS (SELECT 1 FROM embeddings WHERE item_id = NEW.item_id
                     AND model <> NEW.model) BEGIN
            UPDATE index_changes SET count = count + 1;
        END;
        CREATE TRIGGER messages_retimed AFTER UPDATE OF created_at ON messages
        WHEN EXISTS (SELECT 1 FROM embeddings WHERE item_id = OLD.id) BEGIN
            UPDATE index_changes SET count = count + 1;
        END;
        CREATE TRIGGER messages_removed AFTER DELETE ON messages
        WHEN EXISTS (SELECT 1 FROM embeddings WHERE item_id = OLD.id) BEGIN
            UPDATE index_changes SET count = count + 1;
        END;
        CREATE TRIGGER facts_retimed AFTER UPDATE OF valid_from ON facts
        WHEN EXISTS (SELECT 1 FROM embeddings WHERE item_id = OLD.id) BEGIN
            UPDATE index_changes SET count = count + 1;
        END;
        CREATE TRIGGER facts_removed AFTER DELETE ON facts
        WHEN EXISTS (SELECT 1 FROM embeddings WHERE item_id = OLD.id) BEGIN
            UPDATE index_changes SET count = count + 1;
        END;
        """,
    ),
]
