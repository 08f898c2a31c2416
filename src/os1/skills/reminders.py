"""Reminders and timers: stored in the user's database, fired once by the scheduler."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any

from os1.clock import Clock, from_iso, new_id, system_clock, to_iso
from os1.skills.base import SkillCall, SkillResult, text_arguments
from os1.skills.when import Recurrence, describe_moment, find_when
from os1.store.db import Database

MAX_TEXT = 500
_STOP = {"the", "a", "an", "one", "reminder", "my", "to", "about", "for", "that", "it", "me"}


@dataclass(frozen=True)
class Reminder:
    id: str
    text: str
    due_at: datetime  # the next time it fires (UTC)
    repeat: Recurrence | None
    timezone: str
    status: str
    created_at: datetime
    fired_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "due_at": to_iso(self.due_at),
            "repeat": self.repeat.label() if self.repeat else None,
            "timezone": self.timezone,
            "status": self.status,
            "created_at": to_iso(self.created_at),
            "fired_at": to_iso(self.fired_at) if self.fired_at else None,
        }


def clean_text(text: str) -> str:
    """A reminder's words as plain text: no control characters, one line, bounded."""
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    return re.sub(r"\s+", " ", printable).strip()[:MAX_TEXT]


class ReminderStore:
    def __init__(self, db: Database, clock: Clock = system_clock) -> None:
        self.db = db
        self.clock = clock

    @staticmethod
    def _from_row(row: Any) -> Reminder:
        return Reminder(
            id=row["id"],
            text=row["text"],
            due_at=from_iso(row["due_at"]),
            repeat=Recurrence.parse(row["repeat"]) if row["repeat"] else None,
            timezone=row["timezone"],
            status=row["status"],
            created_at=from_iso(row["created_at"]),
            fired_at=from_iso(row["fired_at"]) if row["fired_at"] else None,
        )

    def add(
        self, text: str, due: datetime, timezone: str, repeat: Recurrence | None = None
    ) -> Reminder:
        now = to_iso(self.clock())
        reminder_id = new_id("r")
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO reminders (id, text, due_at, repeat, timezone, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    reminder_id,
                    clean_text(text),
                    to_iso(due),
                    repeat.label() if repeat else None,
                    timezone,
                    now,
                    now,
                ),
            )
        found = self.get(reminder_id)
        assert found is not None
        return found

    def get(self, reminder_id: str) -> Reminder | None:
        rows = self.db.query("SELECT * FROM reminders WHERE id = ?", (reminder_id,))
        return self._from_row(rows[0]) if rows else None

    def active(self, limit: int = 1000) -> list[Reminder]:
        rows = self.db.query(
            "SELECT * FROM reminders WHERE status = 'active' ORDER BY due_at LIMIT ?", (limit,)
        )
        return [self._from_row(row) for row in rows]

    def count_active(self) -> int:
        return int(self.db.query("SELECT count(*) FROM reminders WHERE status='active'")[0][0])

    def latest(self) -> Reminder | None:
        """The active reminder most recently made or changed ("move it", "cancel that")."""
        rows = self.db.query(
            "SELECT * FROM reminders WHERE status = 'active' ORDER BY updated_at DESC LIMIT 1"
        )
        return self._from_row(rows[0]) if rows else None

    def matching(self, which: str) -> list[Reminder]:
        """The active reminders that share the most content words with ``which``.

        A word counts for less the more reminders have it: in "water the plants", with
        "water the ferns" also set, "plants" is what tells them apart."""
        words = [w.rstrip("s") for w in re.findall(r"[\w']+", which.lower()) if w not in _STOP]
        if not words:
            latest = self.latest()
            return [latest] if latest else []
        hits: list[tuple[Reminder, set[str]]] = []
        for reminder in self.active(limit=100_000):
            mine = re.findall(r"[\w']+", reminder.text.lower())
            # A short word must be whole ("be" is not "bed"); a longer one may be a stem.
            shared = {
                w for w in words if any(m == w or (len(w) >= 3 and m.startswith(w)) for m in mine)
            }
            if shared:
                hits.append((reminder, shared))
        having = Counter(w for _, shared in hits for w in shared)
        # Ties go to the last word, most often the thing itself ("water the plants").
        scores = [
            sum(1 / having[w] for w in shared) + (0.01 if words[-1] in shared else 0.0)
            for _, shared in hits
        ]
        top = max(scores, default=0.0)
        return [r for (r, _), score in zip(hits, scores, strict=True) if score >= top - 1e-9]

    def set_status(self, reminder_id: str, status: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE reminders SET status = ?, updated_at = ? WHERE id = ?",
                (status, to_iso(self.clock()), reminder_id),
            )

    def move(self, reminder_id: str, due: datetime, repeat: Recurrence | None) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE reminders SET due_at = ?, repeat = ?, updated_at = ? WHERE id = ?",
                (
                    to_iso(due),
                    repeat.label() if repeat else None,
                    to_iso(self.clock()),
                    reminder_id,
                ),
            )


_BARE_CLOCK = re.compile(
    r"^(?:\d{1,2}(?::\d{2})?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
    r"(?:\s*[ap]\.?m\.?)?$"
)


_BARE_SPAN = re.compile(
    r"^(?:\d+|a|an|one|two|three|five|ten|fifteen|twenty|thirty)\s+(?:minutes?|mins?|hours?|hrs?|days?|weeks?)$"
)


def when_words(text: str) -> str:
    """The time words, lower case; a bare "7" (as in "move it to 7") read as a clock time,
    a bare "10 minutes" ("snooze it for 10 minutes") as "in 10 minutes"."""
    words = clean_text(text).lower()
    if _BARE_CLOCK.match(words):
        return f"at {words}"
    return f"in {words}" if _BARE_SPAN.match(words) else words


def describe(reminder: Reminder, now: datetime) -> str:
    if reminder.repeat is not None:
        return f"{reminder.text}, {reminder.repeat.describe()}"
    return f"{reminder.text}, {describe_moment(reminder.due_at, now)}"


class _ReminderSkill:
    """What the four reminder skills share: the store, the clock and the time zone."""

    name = ""
    description = ""
    parameters: Mapping[str, Any] = text_arguments()

    def __init__(self, store: ReminderStore, zone: Callable[[], tuple[str, tzinfo]]) -> None:
        self.store = store
        self.zone = zone

    def now(self) -> datetime:
        return self.store.clock().astimezone(self.zone()[1])

    def act(self, call: SkillCall) -> SkillResult:
        raise NotImplementedError

    def _pick(self, which: str) -> Reminder | SkillResult:
        found = self.store.matching(which)
        if not found:
            if not self.store.count_active():
                return SkillResult("nothing", "You don't have any reminders.")
            return SkillResult("nothing", f"I couldn't find a reminder about {which}.")
        if len(found) > 1:
            listed = "; ".join(describe(r, self.now()) for r in found[:5])
            return SkillResult("question", f"Which one do you mean: {listed}?")
        return found[0]

    def _resolve(self, said: object) -> tuple[datetime, Recurrence | None] | str | None:
        """The next time and the repetition ``said`` names; a question; None if no time."""
        now = self.now()
        when = find_when(when_words(str(said or "")), now)
        if when.question:
            return when.question
        if when.every is not None:
            return when.every.next_after(now, now.tzinfo or self.zone()[1]), when.every
        return (when.due, None) if when.due is not None else None


class AddReminder(_ReminderSkill):
    name = "reminder.add"
    description = "Remind the user of something at a time, or repeatedly."
    parameters = text_arguments(
        text="What to remind the user of, e.g. 'call Annie'.",
        when="When, in the user's words: 'tomorrow at 6pm', 'in 20 minutes', 'every Monday at 9'.",
    )

    def act(self, call: SkillCall) -> SkillResult:
        text = clean_text(str(call.arguments.get("text", "")))
        if not text:
            return SkillResult("question", "What should I remind you about?")
        resolved = self._resolve(call.arguments.get("when"))
        if isinstance(resolved, str):
            return SkillResult("question", resolved, {"text": text})
        if resolved is None:
            about = "about" if re.match(r"(?i)(?:the|a|an|my|your|our|this|that)\b", text) else "to"
            question = f"When should I remind you {about} {text}?"  # "about the dentist thing"
            return SkillResult("question", question, {"text": text})
        reminder = self.store.add(text, resolved[0], self.zone()[0], resolved[1])
        return SkillResult(
            "done", f"Okay, I'll remind you: {describe(reminder, self.now())}.", reminder.to_dict()
        )


class ListReminders(_ReminderSkill):
    name = "reminder.list"
    description = "List the user's reminders."

    def act(self, call: SkillCall) -> SkillResult:
        active = self.store.active(limit=20)
        if not active:
            return SkillResult("nothing", "You don't have any reminders.")
        now = self.now()
        total = self.store.count_active()
        lines = "; ".join(describe(r, now) for r in active[:10])
        more = f" (and {total - 10} more)" if total > 10 else ""
        noun = "reminder" if total == 1 else "reminders"
        return SkillResult(
            "done",
            f"You have {total} {noun}: {lines}{more}.",
            {"reminders": [r.to_dict() for r in active]},
        )


class CancelReminder(_ReminderSkill):
    name = "reminder.cancel"
    description = "Cancel one of the user's reminders."
    parameters = text_arguments(
        which="Words from the reminder ('Annie'), or empty for the last one."
    )

    def act(self, call: SkillCall) -> SkillResult:
        picked = self._pick(str(call.arguments.get("which", "")))
        if isinstance(picked, SkillResult):
            return picked
        self.store.set_status(picked.id, "cancelled")
        return SkillResult("done", f"Cancelled: {describe(picked, self.now())}.", picked.to_dict())


class MoveReminder(_ReminderSkill):
    name = "reminder.move"
    description = "Change when one of the user's reminders fires."
    parameters = text_arguments(
        which="Words from the reminder ('dentist'), or empty for the last one.",
        when="The new time, in the user's words.",
    )

    def act(self, call: SkillCall) -> SkillResult:
        picked = self._pick(str(call.arguments.get("which", "")))
        if isinstance(picked, SkillResult):
            return picked
        resolved = self._resolve(call.arguments.get("when"))
        if isinstance(resolved, str):
            return SkillResult("question", resolved)
        if resolved is None:
            return SkillResult("question", f"When should I move {picked.text} to?")
        due, repeat = resolved
        if picked.repeat is not None and repeat is None:
            # "Move the pills one to 9": it keeps repeating, at the new time.
            zone = self.zone()[1]
            repeat = replace(picked.repeat, at=due.astimezone(zone).time().replace(second=0))
            due = repeat.next_after(self.now(), zone)
        self.store.move(picked.id, due, repeat)
        moved = self.store.get(picked.id)
        assert moved is not None
        return SkillResult("done", f"Moved: {describe(moved, self.now())}.", moved.to_dict())


def reminder_skills(
    store: ReminderStore, zone: Callable[[], tuple[str, tzinfo]]
) -> list[_ReminderSkill]:
    return [cls(store, zone) for cls in (AddReminder, ListReminders, CancelReminder, MoveReminder)]
