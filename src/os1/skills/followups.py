"""Follow-ups: when the user mentions a plan ("I have an interview with the publisher on
Friday"), the companion asks how it went afterwards, once, at a sensible time.

A plan is noticed only in what the user says as news (a request goes to the skills), for
a day still to come. The question is asked that evening (a few hours after a timed plan),
never in quiet hours (``skills.quiet_hours``: then it waits for the morning), and is
stored with the conversation in one transaction with marking it asked, so it comes once.
"Don't bring that up again" drops it, and the same subject is not followed up again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from os1.clock import Clock, from_iso, new_id, system_clock, to_iso
from os1.skills.calendar_intent import EVENT_NOUN
from os1.skills.calendar_skills import part_of_day
from os1.skills.intent import normalize, recase
from os1.skills.when import find_days, find_when, says_clock
from os1.store.conversations import Conversations, Message
from os1.store.db import Database
from os1.store.state import StateStore

NEVER_KEY = "skills.followups.never"
_PLAN = re.compile(
    r"\b(?:i\s+have|i've\s+got|i\s+got|i'm\s+having|we're\s+having|we\s+have|i'm\s+going\s+to|"
    r"i'm\s+off\s+to|i'm\s+doing|there's|i\s+am\s+having|my)\b"
)
_PAST = re.compile(
    r"\b(?:had|went|was|were|did|yesterday|last\s+(?:night|week)|ago|cancelled|canceled)\b"
)
_QUESTION = re.compile(r"^(?:do|did|does|is|are|was|what|when|where|how|why|should|can|could)\b")
_TOPIC = re.compile(
    r"(?:(?:[\w'-]+)\s+)?" + EVENT_NOUN.pattern + r"(?:\s+" + EVENT_NOUN.pattern + r")?"
    r"(?:\s+with\s+(?:the\s+|my\s+)?[\w'-]+)?"
)
_DROP = re.compile(
    r"\b(?:don't|do\s+not|never|stop|please\s+don't)\s+(?:\w+\s+)?(?:bring(?:ing)?\s+(?:that|it|this)"
    r"\s+up|ask(?:ing)?\s+(?:me\s+)?(?:about\s+)?(?:that|it|this)|mention(?:ing)?\s+(?:that|it|this))"
)
_ARTICLES = re.compile(
    r"^(?:the|a|an|my|our|this|that|big|next|new|having|have|got|doing|do|had|is)\s+"
)


@dataclass(frozen=True)
class FollowUp:
    id: str
    topic: str
    ask_at: datetime
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "topic": self.topic,
            "ask_at": to_iso(self.ask_at),
            "status": self.status,
        }


def parse_quiet(said: str) -> tuple[time, time] | None:
    """'22:00-08:00' → (22:00, 08:00); '' → None (no quiet hours)."""
    if not said:
        return None
    start, _, end = said.partition("-")

    def clock(part: str) -> time:
        hour, _, minute = part.strip().partition(":")
        return time(int(hour), int(minute or 0))

    return clock(start), clock(end)


def _quiet(at: time, quiet: tuple[time, time] | None) -> bool:
    if quiet is None:
        return False
    start, end = quiet
    return start <= at < end if start < end else (at >= start or at < end)


class FollowUps:
    def __init__(
        self,
        db: Database,
        zone: Callable[[], tuple[str, tzinfo]],
        quiet: Callable[[], tuple[time, time] | None] = lambda: None,
        clock: Clock = system_clock,
    ) -> None:
        self.db = db
        self.zone = zone
        self.quiet = quiet
        self.clock = clock
        self.state = StateStore(db, clock)

    def notice(self, text: str) -> FollowUp | None:
        """Remember a plan the user told of, to ask about later; None if there is none."""
        words = normalize(text)
        if not _PLAN.search(words) or _PAST.search(words) or _QUESTION.match(words):
            return None
        found = _TOPIC.search(words)
        if found is None:
            return None
        topic = recase(_ARTICLES.sub("", found.group(0)).strip(), text)
        if any(never in topic.lower().split() for never in self._never()):
            return None
        zone = self.zone()[1]
        now = self.clock().astimezone(zone)
        ask_at = self._ask_at(words, now, zone)
        if ask_at is None:
            return None
        key = ask_at.astimezone(zone).date().isoformat()
        if self.db.query(
            "SELECT 1 FROM followups WHERE topic = ? AND substr(ask_at, 1, 10) = ?", (topic, key)
        ):
            return None  # told twice: asked once
        follow = FollowUp(new_id("f"), topic, ask_at.astimezone(UTC), "pending")
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO followups (id, topic, said, ask_at, status, created_at)"
                " VALUES (?, ?, ?, ?, 'pending', ?)",
                (follow.id, topic, text[:500], to_iso(follow.ask_at), to_iso(self.clock())),
            )
        return follow

    def _ask_at(self, words: str, now: datetime, zone: tzinfo) -> datetime | None:
        when = find_when(words, now, part=part_of_day(words))
        days = find_days(words, now)
        if when.due is not None and when.due > now and days.found and says_clock(words):
            ask = when.due + timedelta(hours=3)
        elif days.first is not None and days.first > now.date():
            ask = datetime.combine(days.last or days.first, time(19), tzinfo=zone)
        else:
            return None  # no day said, or today's plan with no time: nothing to time it by
        local = ask.astimezone(zone)
        if _quiet(local.time(), self.quiet()):
            quiet = self.quiet()
            assert quiet is not None
            morning = local.date() + timedelta(days=1 if local.time() >= quiet[1] else 0)
            local = datetime.combine(morning, quiet[1], tzinfo=zone) + timedelta(hours=2)
        return local

    def pending(self) -> list[FollowUp]:
        rows = self.db.query("SELECT * FROM followups WHERE status = 'pending' ORDER BY ask_at")
        return [FollowUp(r["id"], r["topic"], from_iso(r["ask_at"]), r["status"]) for r in rows]

    def has_due(self) -> bool:
        """Whether a follow-up's time has come (a cheap check, made every second)."""
        return bool(
            self.db.query(
                "SELECT 1 FROM followups WHERE status = 'pending' AND ask_at <= ? LIMIT 1",
                (to_iso(self.clock()),),
            )
        )

    def due(self, speaker: str, conversation_id: str) -> Message | None:
        """Ask the first follow-up whose time has come (not in quiet hours); once."""
        now = self.clock()
        if _quiet(now.astimezone(self.zone()[1]).time(), self.quiet()):
            return None
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT id, topic FROM followups WHERE status = 'pending' AND ask_at <= ?"
                " ORDER BY ask_at LIMIT 1",
                (to_iso(now),),
            ).fetchone()
            if row is None:
                return None
            message = Message(
                id=new_id("m"),
                conversation_id=conversation_id,
                role="companion",
                speaker=speaker,
                text=f"How did the {row['topic']} go?",
                created_at=now,
                meta={"kind": "followup", "followup_id": row["id"]},
            )
            Conversations.insert(conn, message)
            conn.execute(
                "UPDATE followups SET status = 'asked', asked_at = ? WHERE id = ?",
                (to_iso(now), row["id"]),
            )
        return message

    def drop(self, text: str) -> str | None:
        """For "don't bring that up again" after a follow-up was asked (within a day):
        drop it, never follow that subject up again, and say so; None otherwise (the
        words were about something else, for the conversation to answer)."""
        if not _DROP.search(normalize(text)):
            return None
        recent = to_iso(self.clock() - timedelta(days=1))
        rows = self.db.query(
            "SELECT id, topic FROM followups WHERE status = 'asked' AND asked_at >= ?"
            " ORDER BY asked_at DESC LIMIT 1",
            (recent,),
        )
        if not rows:
            return None
        topic = rows[0]["topic"]
        noun = EVENT_NOUN.search(topic.lower())
        never = self._never()
        if noun is not None and noun.group(0) not in never:
            self.state.put(NEVER_KEY, {"topics": [*never, noun.group(0)]})
        with self.db.transaction() as conn:
            conn.execute("UPDATE followups SET status = 'dropped' WHERE topic = ?", (topic,))
        return f"Okay, I won't bring up the {topic} again."

    def _never(self) -> list[str]:
        found = self.state.get(NEVER_KEY) or {}
        topics = found.get("topics") or []
        return [str(t) for t in topics] if isinstance(topics, list) else []
