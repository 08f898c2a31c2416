from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from os1.errors import OS1Error
from os1.store.conversations import Conversations
from os1.store.db import Database
from os1.store.migrations import MIGRATIONS
from os1.store.state import StateStore


def test_wal_mode_and_migrations_recorded(home: Path) -> None:
    db = Database.in_home(home)
    assert db.query("PRAGMA journal_mode")[0][0] == "wal"
    assert db.applied_migrations() == [name for name, _ in MIGRATIONS]
    db.close()
    again = Database.in_home(home)  # reopening applies nothing twice
    assert again.applied_migrations() == [name for name, _ in MIGRATIONS]


def test_messages_survive_reopen(home: Path) -> None:
    db = Database.in_home(home)
    conversations = Conversations(db)
    cid = conversations.start()
    first = conversations.add(cid, "user", "Theo", "hello")
    conversations.add(cid, "companion", "Iris", "hi", status="interrupted")
    db.close()
    reopened = Conversations(Database.in_home(home))
    messages = reopened.in_conversation(cid)
    assert [m.text for m in messages] == ["hello", "hi"]
    assert messages[0].id == first.id
    assert messages[1].status == "interrupted"


def test_failed_transaction_leaves_nothing(home: Path) -> None:
    db = Database.in_home(home)
    conversations = Conversations(db)
    cid = conversations.start()
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute(
            "INSERT INTO messages (id, conversation_id, role, speaker, text, created_at)"
            " VALUES ('m1', ?, 'user', 'Theo', 'half', '2026-01-01T00:00:00+00:00')",
            (cid,),
        )
        raise RuntimeError("killed mid-write")
    assert conversations.count() == 0


def test_database_from_newer_version_is_refused(home: Path) -> None:
    db = Database.in_home(home)
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO schema_migrations (name, applied_at) VALUES ('9999_future', 'now')"
        )
    db.close()
    with pytest.raises(OS1Error, match="newer OS1"):
        Database.in_home(home)


def test_not_a_database_is_a_clear_error(home: Path) -> None:
    (home / "os1.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(OS1Error, match="is damaged"):
        Database.in_home(home)


def test_a_locked_database_is_a_clear_error(home: Path) -> None:
    db = Database.in_home(home)
    db.conn.execute("PRAGMA busy_timeout = 50")
    other = sqlite3.connect(home / "os1.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(OS1Error, match="is busy"), db.transaction() as conn:
            conn.execute("DELETE FROM state")
    finally:
        other.execute("ROLLBACK")
    with db.transaction() as conn:  # and it works again once the other one is done
        conn.execute("DELETE FROM state")


def test_state_round_trip(home: Path) -> None:
    state = StateStore(Database.in_home(home))
    assert state.get("persona") is None
    state.put("persona", {"name": "Iris", "traits": ["warm"]})
    state.put("persona", {"name": "Iris", "traits": ["warm", "curious"]})
    assert state.get("persona") == {"name": "Iris", "traits": ["warm", "curious"]}
