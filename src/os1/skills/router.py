"""From a user's message to an action: parse, act, log, and remember an open question.

When a request needs an answer first ("remind me to call Mom" — when?), the question is
kept for a few minutes, and a reply that names a time ("at 6") completes the request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo

from os1.clock import Clock, from_iso, system_clock, to_iso
from os1.skills.actions import ActionLog
from os1.skills.base import Registry, SkillCall, SkillResult
from os1.skills.intent import IntentParser, normalize
from os1.skills.reminders import ReminderStore, reminder_skills, when_words
from os1.skills.when import find_when
from os1.store.db import Database
from os1.store.state import StateStore

PENDING_KEY = "skills.pending"
PENDING_FOR = timedelta(minutes=10)


class SkillRouter:
    """The skills of one companion, reached from conversation."""

    def __init__(
        self,
        db: Database,
        zone: Callable[[], tuple[str, tzinfo]],
        clock: Clock = system_clock,
    ) -> None:
        self.clock = clock
        self.zone = zone
        self.reminders = ReminderStore(db, clock)
        self.registry = Registry(list(reminder_skills(self.reminders, zone)))
        self.parser = IntentParser()
        self.log = ActionLog(db, clock)
        self.state = StateStore(db, clock)

    def now(self) -> datetime:
        return self.clock().astimezone(self.zone()[1])

    def handle(self, text: str) -> SkillResult | None:
        """Act on ``text`` if it asks for something a skill does; None to just talk."""
        now = self.now()
        parsed = self.parser.parse(text, now)
        call = parsed.call
        if call is None:
            call = self._answer_to_pending(text, now)
        if call is None:
            return None
        return self.run(call)

    def run(self, call: SkillCall) -> SkillResult:
        result = self.registry.act(call)
        self.log.record(call, result)
        pending_text = result.data.get("text") if result.outcome == "question" else None
        if call.skill == "reminder.add" and isinstance(pending_text, str) and pending_text:
            self.state.put(PENDING_KEY, {"text": pending_text, "at": to_iso(self.clock())})
        else:
            self.state.delete(PENDING_KEY)
        return result

    def _answer_to_pending(self, text: str, now: datetime) -> SkillCall | None:
        pending = self.state.get(PENDING_KEY) or {}
        if not pending.get("text") or not pending.get("at"):
            return None
        if self.clock() - from_iso(pending["at"]) > PENDING_FOR:
            return None
        words = when_words(normalize(text))
        when = find_when(words, now)
        leftover = len(words.split()) - sum(len(words[a:b].split()) for a, b in when.spans)
        if not when.found or leftover > 3:
            return None  # not an answer to "when?": a sentence of its own
        return SkillCall(
            "reminder.add",
            {"text": pending["text"], "when": " ".join(words[a:b] for a, b in when.spans)},
            asked_by="user",
            source_text=text,
        )
