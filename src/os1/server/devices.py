"""Paired devices and pairing codes, kept in the companion's own database.

Nothing secret is stored in the clear: tokens and pairing codes are kept as SHA-256
hashes, so a copy of the database does not let anyone in. A pairing code expires after
five minutes and works once. ``os1 pair`` in another process writes a code here and the
running server accepts it, because both read the same store.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from os1.clock import Clock, from_iso, new_id, system_clock, to_iso
from os1.store.db import Database

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U
CODE_LENGTH = 8  # 40 bits
CODE_LIFETIME = timedelta(minutes=5)
TOKEN_PREFIX = "os1_"
MAX_NAME_CHARS = 80
_SEEN_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


@dataclass(frozen=True)
class Device:
    id: str
    name: str
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "created_at": to_iso(self.created_at),
            "last_seen_at": to_iso(self.last_seen_at) if self.last_seen_at else None,
            "revoked_at": to_iso(self.revoked_at) if self.revoked_at else None,
        }


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalize_code(code: str) -> str | None:
    """The code as stored (upper case, no dashes or spaces), or None if it cannot be one."""
    cleaned = "".join(ch for ch in code.upper() if ch not in "- \t")
    # Crockford's reading rules: people type O for 0 and I or L for 1.
    cleaned = cleaned.replace("O", "0").replace("I", "1").replace("L", "1")
    if len(cleaned) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in cleaned):
        return None
    return cleaned


def show_code(code: str) -> str:
    """``K7QD2MXA`` as people read it: ``K7QD-2MXA``."""
    return f"{code[:4]}-{code[4:]}"


def clean_name(name: str) -> str:
    printable = "".join(ch for ch in name if ch.isprintable()).strip()
    return printable[:MAX_NAME_CHARS] or "A device"


class Devices:
    def __init__(self, db: Database, clock: Clock = system_clock) -> None:
        self.db = db
        self.clock = clock
        self._seen: dict[str, datetime] = {}

    # -- pairing codes -------------------------------------------------------------

    def new_code(self) -> str:
        """A fresh pairing code (shown once; only its hash is kept)."""
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        now = self.clock()
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM pairing_codes WHERE expires_at < ?", (to_iso(now),))
            conn.execute(
                "INSERT INTO pairing_codes (code_hash, created_at, expires_at) VALUES (?, ?, ?)",
                (_hash(code), to_iso(now), to_iso(now + CODE_LIFETIME)),
            )
        return code

    def pair(self, code: str, name: str) -> tuple[Device, str] | None:
        """Trade a valid code for a new device and its token; None if the code is wrong,
        used or expired. The code is spent in the same transaction, so it works once."""
        normal = normalize_code(code)
        if normal is None:
            return None
        now = self.clock()
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        device = Device(new_id("d"), clean_name(name), now, now, None)
        with self.db.transaction() as conn:
            spent = conn.execute(
                "UPDATE pairing_codes SET used_at = ?"
                " WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?",
                (to_iso(now), _hash(normal), to_iso(now)),
            ).rowcount
            if spent != 1:
                return None
            conn.execute(
                "INSERT INTO devices (id, name, token_hash, created_at, last_seen_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (device.id, device.name, _hash(token), to_iso(now), to_iso(now)),
            )
        return device, token

    def void_codes(self) -> int:
        """Spend every outstanding code (someone is guessing); returns how many."""
        with self.db.transaction() as conn:
            return conn.execute(
                "UPDATE pairing_codes SET used_at = ? WHERE used_at IS NULL",
                (to_iso(self.clock()),),
            ).rowcount

    # -- devices -------------------------------------------------------------------

    def authenticate(self, token: str | None) -> Device | None:
        """The active device holding ``token``, or None."""
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        rows = self.db.query(
            "SELECT * FROM devices WHERE token_hash = ? AND revoked_at IS NULL", (_hash(token),)
        )
        if not rows:
            return None
        device = _device(rows[0])
        self._mark_seen(device.id)
        return device

    def _mark_seen(self, device_id: str) -> None:
        now = self.clock()
        last = self._seen.get(device_id)
        if last is not None and now - last < _SEEN_EVERY:
            return
        self._seen[device_id] = now
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE devices SET last_seen_at = ? WHERE id = ?", (to_iso(now), device_id)
            )

    def get(self, device_id: str) -> Device | None:
        rows = self.db.query("SELECT * FROM devices WHERE id = ?", (device_id,))
        return _device(rows[0]) if rows else None

    def list(self, *, include_revoked: bool = False) -> list[Device]:
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        rows = self.db.query(f"SELECT * FROM devices{where} ORDER BY created_at")
        return [_device(row) for row in rows]

    def revoke(self, device_id: str) -> Device | None:
        """Revoke a device; its token stops working at once. None if there is no such
        active device."""
        with self.db.transaction() as conn:
            changed = conn.execute(
                "UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (to_iso(self.clock()), device_id),
            ).rowcount
        return self.get(device_id) if changed else None


def _device(row: sqlite3.Row) -> Device:
    return Device(
        id=row["id"],
        name=row["name"],
        created_at=from_iso(row["created_at"]),
        last_seen_at=from_iso(row["last_seen_at"]) if row["last_seen_at"] else None,
        revoked_at=from_iso(row["revoked_at"]) if row["revoked_at"] else None,
    )
