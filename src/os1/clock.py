"""Time and identifiers. Code takes a ``Clock`` so tests can move time."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds: sorts correctly as text."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times must carry a time zone")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def from_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def new_id(prefix: str) -> str:
    """A time-ordered unique id such as ``m_0193a1b2c3d4e5f6a7b8``."""
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{secrets.token_hex(4)}"


def humanize_gap(gap: timedelta) -> str:
    """'just now', '5 minutes', '3 hours', 'yesterday'-free plain durations for prompts."""
    seconds = int(gap.total_seconds())
    if seconds < 90:
        return "a moment"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    if hours < 48:
        return "1 hour" if hours == 1 else f"{hours} hours"
    days = hours // 24
    if days < 14:
        return f"{days} days"
    weeks = days // 7
    if days < 60:
        return f"{weeks} weeks"
    months = days // 30
    if days < 730:
        return f"{months} months"
    return f"{days // 365} years"
