"""The user's time zone: the one set in config, else this computer's."""

from __future__ import annotations

import os
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def user_zone(name: str = "") -> tuple[str, tzinfo]:
    """(a name to store, the zone). Falls back to the computer's offset when it has no
    zone name (then stored as "local")."""
    for candidate in (name, os.environ.get("TZ", "").lstrip(":"), _system_zone_name()):
        if candidate:
            try:
                return candidate, ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    local = datetime.now().astimezone().tzinfo
    assert local is not None
    return "local", local


def _system_zone_name() -> str:
    try:
        return Path("/etc/timezone").read_text().strip()
    except OSError:
        pass
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return ""
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else ""


def stored_zone(name: str) -> tzinfo | None:
    """The zone a reminder was set in, if it has a name this computer knows."""
    try:
        return ZoneInfo(name) if name and name != "local" else None
    except (ZoneInfoNotFoundError, ValueError):
        return None
