"""Consent: a change outside OS1 (a write to the user's CalDAV server, later mail) is
shown and asked about first, unless the user allowed that kind of action.

The question is about one change, and only the next message can answer it, with a plain
"yes" or "no", within a few minutes. Anything else leaves it unanswered and forgotten;
the change stays waiting (listed by ``os1 calendar sync``), so nothing is sent without a
yes given right after the user saw what would be sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from os1.clock import Clock, from_iso, system_clock, to_iso
from os1.store.db import Database
from os1.store.state import StateStore

KEY = "skills.consent"
ASK_FOR = timedelta(minutes=10)
_YES = re.compile(
    r"^(?:yes|yeah|yep|yup|sure|ok|okay|please\s+do|go\s+ahead|do\s+it|send\s+it|"
    r"yes\s+please|sure\s+thing|of\s+course|please|absolutely|definitely)\b[\s.!]*"
    r"(?:please|thanks|thank\s+you|do\s+it|go\s+ahead)?[\s.!]*$"
)
_NO = re.compile(
    r"^(?:no|nope|nah|don't|do\s+not|not\s+now|leave\s+it|keep\s+it\s+here|no\s+thanks|"
    r"no\s+thank\s+you|better\s+not|just\s+here|only\s+here)\b[\s.!,]*(?:\w+[\s.!]*){0,4}$"
)


@dataclass(frozen=True)
class Pending:
    kind: str  # "calendar.write"
    ids: tuple[str, ...]  # what waits for the answer (event UIDs)


def answer_of(text: str) -> bool | None:
    """True for a plain yes, False for a plain no, None for anything else."""
    words = " ".join(text.lower().replace("’", "'").split()).strip(" ,")
    if _YES.match(words):
        return True
    if _NO.match(words):
        return False
    return None


class Consents:
    def __init__(self, db: Database, clock: Clock = system_clock) -> None:
        self.state = StateStore(db, clock)
        self.clock = clock

    def ask(self, kind: str, ids: Sequence[str]) -> None:
        self.state.put(KEY, {"kind": kind, "ids": list(ids), "at": to_iso(self.clock())})

    def pending(self) -> Pending | None:
        found = self.state.get(KEY) or {}
        if not found.get("at") or self.clock() - from_iso(found["at"]) > ASK_FOR:
            return None
        return Pending(found["kind"], tuple(found.get("ids") or ()))

    def clear(self) -> None:
        self.state.delete(KEY)
