"""Reading the MemoryBank corpus (dated user/companion dialogues) as importable messages.

``../shared/fixtures/memorybank/memory_bank_en.json`` holds, for each of 15 simulated
users, ten days of conversations with an AI companion. ``to_records`` turns one user's
history into the JSON Lines records ``os1 memory import`` reads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a MemoryBank file")
    return data


def to_records(user: dict[str, Any], companion: str = "AI") -> list[dict[str, str]]:
    """One record per message: the user's query, then the companion's response."""
    name = str(user["name"])
    records: list[dict[str, str]] = []
    for day, exchanges in sorted(user["history"].items()):
        start = datetime.fromisoformat(day).replace(hour=19, tzinfo=UTC)
        for n, exchange in enumerate(exchanges):
            moment = start + timedelta(minutes=4 * n)
            key = f"{name.lower()}-{day}-{n:03d}"
            for suffix, speaker, text, offset in (
                ("q", name, exchange.get("query", ""), 0),
                ("r", companion, exchange.get("response", ""), 1),
            ):
                if text:
                    records.append(
                        {
                            "id": f"mb-{key}{suffix}",
                            "conversation": f"mb-{name.lower()}-{day}",
                            "time": (moment + timedelta(minutes=offset)).isoformat(),
                            "speaker": speaker,
                            "text": str(text),
                        }
                    )
    return records
