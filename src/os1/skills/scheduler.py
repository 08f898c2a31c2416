"""Initiative: reminders fire on time, once, into the conversation every device sees.

Firing is one transaction: the companion's message is stored and the reminder marked
fired (or moved to its next time) together, so a process killed at any point delivers
each reminder exactly once, and two processes on one data directory (``os1 serve`` and
``os1 chat``) never both fire it. One that comes due while OS1 is off fires at the next
start, said as "While you were away…".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from os1.clock import Clock, new_id, system_clock, to_iso
from os1.skills.briefing import Briefing
from os1.skills.followups import FollowUps
from os1.skills.reminders import ReminderStore
from os1.skills.when import describe_moment
from os1.skills.zone import stored_zone
from os1.store.conversations import Conversations, Message
from os1.store.db import Database

_log = logging.getLogger(__name__)
if TYPE_CHECKING:
    from os1.app import App

LATE_AFTER = timedelta(minutes=2)  # fired later than this: "while you were away"


class Scheduler:
    def __init__(
        self,
        db: Database,
        speaker: str,
        zone: Callable[[], tuple[str, tzinfo]],
        *,
        clock: Clock = system_clock,
        new_conversation_after: timedelta = timedelta(hours=6),
        briefing: Briefing | None = None,
        followups: FollowUps | None = None,
    ) -> None:
        self.briefing = briefing
        self.followups = followups
        self.db = db
        self.speaker = speaker
        self.zone = zone
        self.clock = clock
        self.reminders = ReminderStore(db, clock)
        self.conversations = Conversations(db, clock)
        self.new_after = new_conversation_after

    def fire_due(self) -> list[Message]:
        """Deliver every reminder that is due, and the morning briefing when its time has
        come; returns the messages it stored."""
        said = [self.briefing.due() if self.briefing is not None else None]
        if self.followups is not None and self.followups.has_due():
            conversation_id = self.conversations.current(self.new_after)
            said.append(self.followups.due(self.speaker, conversation_id))
        return [m for m in said if m is not None] + self._fire_reminders()

    def _fire_reminders(self) -> list[Message]:
        now = self.clock()
        due_iso = to_iso(now)
        if not self.db.query(
            "SELECT 1 FROM reminders WHERE status = 'active' AND due_at <= ? LIMIT 1", (due_iso,)
        ):
            return []
        conversation_id = self.conversations.current(self.new_after)
        fired: list[Message] = []
        local_now = now.astimezone(self.zone()[1])
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT id FROM reminders WHERE status = 'active' AND due_at <= ?"
                " ORDER BY due_at LIMIT 500",
                (due_iso,),
            ).fetchall()
            for row in rows:
                reminder = self.reminders.get(row["id"])
                assert reminder is not None
                late = now - reminder.due_at > LATE_AFTER
                if late:
                    when = describe_moment(reminder.due_at, local_now)
                    text = f"While you were away ({when}): a reminder to {reminder.text}."
                else:
                    text = f"Reminder: {reminder.text}."
                message = Message(
                    id=new_id("m"),
                    conversation_id=conversation_id,
                    role="companion",
                    speaker=self.speaker,
                    text=text,
                    created_at=now,
                    meta={
                        "kind": "reminder",
                        "reminder_id": reminder.id,
                        "due_at": to_iso(reminder.due_at),
                        "late": late,
                    },
                )
                Conversations.insert(conn, message)
                if reminder.repeat is not None:
                    # In the zone it was set in: "every day at 8" stays 8 there.
                    zone = stored_zone(reminder.timezone) or self.zone()[1]
                    following = reminder.repeat.next_after(now, zone)
                    conn.execute(
                        "UPDATE reminders SET due_at = ?, fired_at = ? WHERE id = ?",
                        (to_iso(following), due_iso, reminder.id),
                    )
                else:
                    conn.execute(
                        "UPDATE reminders SET status = 'done', fired_at = ? WHERE id = ?",
                        (due_iso, reminder.id),
                    )
                fired.append(message)
        return fired

    def next_due(self) -> datetime | None:
        active = self.reminders.active(limit=1)
        return active[0].due_at if active else None


class Ticker:
    """Calls ``scheduler.fire_due`` about once a second in a thread, and hands what fired
    to ``deliver``. ``stop`` ends it."""

    def __init__(
        self,
        scheduler: Scheduler,
        deliver: Callable[[list[Message]], None],
        every: float = 1.0,
        enabled: Callable[[], bool] = lambda: True,
    ) -> None:
        self.scheduler = scheduler
        self.deliver = deliver
        self.every = every
        self.enabled = enabled  # read at each tick: turning reminders off stops them at once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="os1-reminders", daemon=True)

    def start(self) -> Ticker:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.enabled():
                self._stop.wait(self.every)
                continue
            try:
                fired = self.scheduler.fire_due()
            except Exception:  # a locked or busy database: try again next tick
                _log.warning("firing reminders failed; trying again", exc_info=True)
                fired = []
            if fired:
                self.deliver(fired)
            self._stop.wait(self.every)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


def reminder_ticker(
    app: App, show: Callable[[str], None], speak: Callable[[str], None] | None = None
) -> Ticker | None:
    """Start firing ``app``'s reminders (each shown with ``show``, and said with
    ``speak`` in a voice conversation); None when the user turned reminders off in
    conversation (``skills.reminders_in_chat``)."""

    def enabled() -> bool:
        return app.settings.skills.enabled and app.settings.skills.reminders_in_chat

    if not enabled():
        return None
    scheduler = app.scheduler()

    def deliver(messages: list[Message]) -> None:
        for message in messages:
            show(f"{message.speaker}: {message.text}")
            if speak is not None:
                speak(message.text)

    deliver(scheduler.fire_due())  # what came due while OS1 was off, before anything else
    return Ticker(scheduler, deliver, enabled=enabled).start()
