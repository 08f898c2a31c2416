"""The database connection: WAL mode, foreign keys, migrations, explicit transactions."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from os1.errors import OS1Error
from os1.store.migrations import MIGRATIONS

DB_FILE = "os1.db"
# In the data directory, beside the database: what is kept only to start fast (the
# model's evaluated prompt, a copy of the vector index). It holds the user's words too.
CACHE_DIR = "cache"


def clear_cache(folder: Path) -> None:
    """Remove what the data directory ``folder`` keeps to start fast: after forgetting or
    a reset it would hold the old words for a while. It is rebuilt as OS1 is used."""
    if str(folder) != ":memory:":
        shutil.rmtree(folder / CACHE_DIR, ignore_errors=True)


class Database:
    """One SQLite database. Use ``transaction()`` for every write."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path) if str(path) != ":memory:" else Path(":memory:")
        self._lock = threading.RLock()
        try:
            self.conn = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=10.0
            )
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            # What the user deletes is overwritten on disk, not just unlinked.
            self.conn.execute("PRAGMA secure_delete=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise database_error(self.path, exc, opening=True) from exc

    @classmethod
    def in_home(cls, home: Path) -> Database:
        return cls(home / DB_FILE)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locking) transaction; rolled back on any exception."""
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise database_error(self.path, exc) from exc
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.DatabaseError):
                    raise database_error(self.path, exc) from exc
                raise

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self.conn.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise database_error(self.path, exc) from exc

    def applied_migrations(self) -> list[str]:
        rows = self.query("SELECT name FROM schema_migrations ORDER BY name")
        return [row["name"] for row in rows]

    def _migrate(self) -> None:
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        applied = set(self.applied_migrations())
        known = {name for name, _ in MIGRATIONS}
        unknown = applied - known
        if unknown:
            raise OS1Error(
                f"The database {self.path} was written by a newer OS1 "
                f"(migrations {', '.join(sorted(unknown))}).",
                "Upgrade OS1, or use another data directory with --home.",
            )
        for name, sql in MIGRATIONS:
            if name in applied:
                continue
            with self.transaction() as conn:
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                    (name, datetime.now(UTC).isoformat()),
                )

    def close(self) -> None:
        with self._lock:
            self.conn.close()


def database_error(path: Path, error: sqlite3.DatabaseError, opening: bool = False) -> OS1Error:
    """A user-facing error for a database failure, with advice that fits its cause."""
    text = str(error)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return OS1Error(
            f"The database {path} is busy: another OS1 is using it ({text}).",
            "Wait a moment and try again.",
        )
    if "not a database" in lowered or "malformed" in lowered:
        return OS1Error(
            f"The database {path} is damaged ({text}).",
            "Keep a copy of the file, then move it aside: OS1 starts a new one. "
            "`os1 doctor` checks it.",
        )
    if "readonly" in lowered or "unable to open" in lowered or "disk i/o" in lowered:
        return OS1Error(
            f"Cannot {'open' if opening else 'write to'} the database {path} ({text}).",
            "Check that the data directory is writable and the disk is not full.",
        )
    return OS1Error(f"Database error in {path}: {text}.")


def _statements(sql: str) -> Iterator[str]:
    """Split a migration into statements (complete_statement handles triggers and quotes)."""
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""
    if buffer.strip():
        yield buffer.strip()
