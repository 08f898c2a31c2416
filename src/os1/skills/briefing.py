"""The morning briefing: at the time the user set (``skills.briefing_at``), once a day,
the companion says what today holds: the calendar's events and the day's reminders.

It is said into the conversation like a reminder, in one transaction with the note
that today's was said, so it comes once a day even with two OS1 programs running or one
killed mid-way. One missed while OS1was off is said at the next start the same day,
never the next morning.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta, tzinfo

from os1.clock import Clock, new_id, system_clock
from os1.skills.calendar import CalendarStore, day_bounds
from os1.skills.calendar_skills import describe_occurrence
from os1.skills.reminders import ReminderStore
from os1.skills.when import describe_moment
from os1.store.conversations import Conversations, Message
from os1.store.db import Database
from os1.store.state import StateStore

KEY = "skills.briefing"


def parse_clock(said: str) -> time | None:
    """'07:30' → 07:30; '' → None (no briefing). ``ValueError`` for anything else."""
    if not said:
        return None
    hour, _, minute = said.partition(":")
    return time(int(hour), int(minute or 0))


def compose(calendar: CalendarStore, reminders: ReminderStore, now: datetime, zone: tzinfo) -> str:
    """What today holds, said from ``now`` (aware, local)."""
    start, end = day_bounds(now.date(), now.date(), zone)
    events = calendar.between(start, end, zone)
    due = [r for r in reminders.active(limit=200) if start <= r.due_at.astimezone(zone) < end]
    parts = [f"Good morning. It's {now.strftime('%A, %B')} {now.day}."]
    if events:
        listed = "; ".join(describe_occurrence(o, now).replace(", today at", " at") for o in events)
        noun = "thing" if len(events) == 1 else "things"
        parts.append(f"You have {len(events)} {noun} in your calendar: {listed}.")
    else:
        parts.append("Your calendar is clear today.")
    if due:
        listed = "; ".join(f"{r.text} ({describe_moment(r.due_at, now)})" for r in due[:10])
        parts.append(f"Reminders today: {listed}.")
    return " ".join(parts)


class Briefing:
    def __init__(
        self,
        db: Database,
        speaker: str,
        zone: Callable[[], tuple[str, tzinfo]],
        at: Callable[[], time | None],
        *,
        clock: Clock = system_clock,
        new_conversation_after: timedelta = timedelta(hours=6),
    ) -> None:
        self.db = db
        self.speaker = speaker
        self.zone = zone
        self.at = at
        self.clock = clock
        self.calendar = CalendarStore(db, clock)
        self.reminders = ReminderStore(db, clock)
        self.conversations = Conversations(db, clock)
        self.new_after = new_conversation_after
        self.state = StateStore(db, clock)

    def due(self) -> Message | None:
        """Say today's briefing if its time has come and it was not said today."""
        at = self.at()
        if at is None:
            return None
        zone = self.zone()[1]
        now = self.clock().astimezone(zone)
        today = now.date().isoformat()
        if now.time() < at or (self.state.get(KEY) or {}).get("day") == today:
            return None
        text = compose(self.calendar, self.reminders, now, zone)
        conversation_id = self.conversations.current(self.new_after)
        with self.db.transaction() as conn:
            if (self.state.get(KEY) or {}).get("day") == today:
                return None  # another OS1 program said it a moment ago
            message = Message(
                id=new_id("m"),
                conversation_id=conversation_id,
                role="companion",
                speaker=self.speaker,
                text=text,
                created_at=self.clock(),
                meta={"kind": "briefing", "day": today},
            )
            Conversations.insert(conn, message)
            self.state.put_in(conn, KEY, {"day": today})
        return message
