"""Small named JSON documents: persona, affect, relationship, onboarding answers."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from os1.clock import Clock, system_clock, to_iso
from os1.store.db import Database


class StateStore:
    def __init__(self, db: Database, clock: Clock = system_clock) -> None:
        self.db = db
        self.clock = clock

    def get(self, key: str) -> dict[str, Any] | None:
        rows = self.db.query("SELECT value FROM state WHERE key = ?", (key,))
        if not rows:
            return None
        value = json.loads(rows[0]["value"])
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        with self.db.transaction() as conn:
            self.put_in(conn, key, value)

    def put_in(self, conn: sqlite3.Connection, key: str, value: dict[str, Any]) -> None:
        """``put`` inside a transaction the caller holds (written together with it)."""
        conn.execute(
            "INSERT INTO state (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (key, json.dumps(value, ensure_ascii=False), to_iso(self.clock())),
        )

    def delete(self, key: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM state WHERE key = ?", (key,))
