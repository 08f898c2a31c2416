"""The calendar skills: put an event in, say what is on, take one out.

A change made here is stored at once; when a CalDAV server is set up, sending it there is
an outside action, so it waits for the user's yes unless they allowed calendar writes
(``calendar.allow_writes``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from os1.skills.base import SkillCall, SkillResult, text_arguments
from os1.skills.calendar import CalendarStore, Occurrence, day_bounds, new_event
from os1.skills.reminders import clean_text, when_words
from os1.skills.when import describe_moment, find_days, find_when, says_clock

WRITE = "calendar.write"
_EVENING = re.compile(
    r"\b(?:dinner|supper|drinks?|party|concert|gig|show|movie|film|theat(?:er|re)|opera|"
    r"date\s+night|date|bar|pub|club|karaoke|game\s+night|poker)\b"
)
_MORNING = re.compile(r"\b(?:breakfast|brunch|coffee|standup|stand-up)\b")
_WHOLE_DAY = re.compile(
    r"\b(?:birthday|anniversary|holiday|vacation|trip|day\s+off|deadline|wedding|"
    r"conference|festival|bank\s+holiday|moving\s+day)\b"
)


_DELAY = re.compile(
    r"\bin\s+(?:\d+|an?|half|a\s+few|a\s+couple|one|two|three|four|five|six|ten|fifteen|"
    r"twenty|thirty|forty-five)\b|\bfrom\s+(?:now|today)\b"
)


@dataclass(frozen=True)
class Remote:
    """Where calendar changes go besides here: a CalDAV server, or none."""

    server: str = ""  # its host, as the user would recognise it; "" = no server
    allow_writes: bool = False

    def push(self) -> str | None:
        """The push state a change made here starts in."""
        if not self.server:
            return None
        return "send" if self.allow_writes else "ask"


def part_of_day(title: str) -> str | None:
    """The part of the day an event's words suggest ("dinner" → evening), if any."""
    if _EVENING.search(title):
        return "evening"
    return "morning" if _MORNING.search(title) else None


def describe_occurrence(occurrence: Occurrence, now: datetime) -> str:
    if occurrence.all_day:
        local = occurrence.start.astimezone(now.tzinfo)
        days = (local.date() - now.date()).days
        day = {0: "today", 1: "tomorrow"}.get(days) or (
            local.strftime("%A") if 1 < days < 7 else f"{local.strftime('%A, %B')} {local.day}"
        )
        said = f"{occurrence.title}, {day} (all day)"
    else:
        said = f"{occurrence.title}, {describe_moment(occurrence.start, now)}"
    if occurrence.location and occurrence.location.lower() not in occurrence.title.lower():
        said += f" at {occurrence.location}"
    return said


class _CalendarSkill:
    name = ""
    description = ""
    parameters: Mapping[str, Any] = text_arguments(())

    def __init__(
        self,
        store: CalendarStore,
        zone: Callable[[], tuple[str, tzinfo]],
        remote: Callable[[], Remote],
    ) -> None:
        self.store = store
        self.zone = zone
        self.remote = remote

    def now(self) -> datetime:
        return self.store.clock().astimezone(self.zone()[1])

    def act(self, call: SkillCall) -> SkillResult:
        raise NotImplementedError

    def _consent(self, said: str, uid: str, doing: str) -> SkillResult:
        remote = self.remote()
        if remote.push() == "ask":
            said += f" Shall I {doing} your calendar on {remote.server} too?"
            return SkillResult("done", said, {"uid": uid, "consent": WRITE})
        return SkillResult("done", said, {"uid": uid})


class AddEvent(_CalendarSkill):
    name = "calendar.add"
    description = "Put an event in the user's calendar."
    parameters = text_arguments(
        ("title", "when"),
        title="What it is, e.g. 'dinner with Amy'.",
        when="When, in the user's words: 'Friday at 8pm', 'tomorrow at 10', 'on the 20th'.",
        place="Where, if the user said.",
        people="Who with, comma-separated, if the user said.",
        minutes="How long in minutes, if the user said.",
    )

    def act(self, call: SkillCall) -> SkillResult:
        arguments = call.arguments
        title = clean_text(str(arguments.get("title", "")))
        if not title:
            return SkillResult("question", "What should I put in your calendar?")
        said_when = when_words(str(arguments.get("when") or ""))
        now = self.now()
        zone = self.zone()[1]
        lowered = title.lower()
        part = part_of_day(lowered)
        if said_when and not says_clock(said_when) and _WHOLE_DAY.search(lowered):
            days = find_days(said_when, now)
            if days.question:
                return SkillResult("question", days.question, {"title": title})
            if days.first is not None:
                return self._add(title, days.first, arguments, now, zone, days.last)
        when = find_when(said_when, now, part=part, ask=f"is {title}", careful=True)
        if said_when and not find_days(said_when, now).found and not _DELAY.search(said_when):
            # "a call with Tom at 4:30pm": no day said. Later today is what people mean;
            # when that time has passed, which day is a question (a reminder may take
            # tomorrow's: a calendar should not guess).
            today = when.due is not None and when.due.date() == now.date()
            if when.question or not today:
                return SkillResult("question", f"Which day is {title}?", {"title": title})
        if when.question:
            return SkillResult("question", when.question, {"title": title})
        if when.every is not None:
            return SkillResult(
                "question",
                f"Repeating events are not something I can put in yet. When is {title}"
                " the first time?",
                {"title": title},
            )
        if when.due is None or not says_clock(said_when):
            return SkillResult("question", f"What time is {title}?", {"title": title})
        return self._add(title, when.due, arguments, now, zone)

    def _add(
        self,
        title: str,
        at: date | datetime,
        arguments: Mapping[str, Any],
        now: datetime,
        zone: tzinfo,
        last: date | None = None,
    ) -> SkillResult:
        """Store the event at ``at`` (a date: all day, to ``last``) and report it with any
        clash."""
        finish: date | datetime
        if isinstance(at, datetime):
            # Its length in elapsed time, across a change of the clocks.
            length = timedelta(minutes=_minutes(arguments.get("minutes")))
            finish = (at.astimezone(UTC) + length).astimezone(zone)
            window = (at, finish)
        else:
            finish = (last or at) + timedelta(days=1)
            window = day_bounds(at, last or at, zone)
        calendar = new_event(
            title,
            at,
            finish,
            location=clean_text(str(arguments.get("place") or "")),
            people=_people_of(arguments.get("people")),
            now=now,
        )
        clashes = self.store.between(*window, zone)
        uid = self.store.put(calendar, zone, push=self.remote().push())
        made = self.store.first(uid, zone)
        if made is None:
            return SkillResult("nothing", "I couldn't store that event.")
        said = f"I've put it in your calendar: {describe_occurrence(made, now)}."
        if clashes:
            listed = "; ".join(describe_occurrence(o, now) for o in clashes[:3])
            said += f" It overlaps with {listed}."
        result = self._consent(said, uid, "add it to")
        return SkillResult(
            result.outcome,
            result.say,
            {**result.data, "event": made.to_dict(), "clashes": [o.to_dict() for o in clashes]},
        )


def _minutes(said: object) -> int:
    try:
        minutes = int(float(str(said))) if said not in (None, "") else 60
    except (ValueError, OverflowError):
        minutes = 60
    return min(max(minutes, 5), 24 * 60)


def _people_of(said: object) -> list[str]:
    if isinstance(said, list | tuple):
        return [clean_text(str(p)) for p in said if str(p).strip()]
    return [clean_text(p) for p in re.split(r",|\band\b", str(said or "")) if p.strip()]


class ListEvents(_CalendarSkill):
    name = "calendar.list"
    description = "Say what is in the user's calendar on a day or in a week."
    parameters = text_arguments(
        (), when="Which days, in the user's words: 'tomorrow', 'this week'."
    )

    def act(self, call: SkillCall) -> SkillResult:
        now = self.now()
        zone = self.zone()[1]
        said = str(call.arguments.get("when") or "").lower()
        days = find_days(said, now) if said else None
        if days is not None and days.question:
            return SkillResult("question", days.question)
        if days is None or days.first is None or days.last is None:
            first, last, label = now.date(), now.date() + timedelta(days=6), "in the next week"
        else:
            first, last = days.first, days.last
            label = _label(first, last, now.date())
        start, end = day_bounds(first, last, zone)
        if first == now.date():
            start = max(start, now - timedelta(hours=1))  # what is still to come today
        found = self.store.between(start, end, zone)
        data = {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "events": [o.to_dict() for o in found],
        }
        if not found:
            return SkillResult("nothing", f"Nothing is in your calendar {label}.", data)
        listed = "; ".join(describe_occurrence(o, now) for o in found[:12])
        more = f" (and {len(found) - 12} more)" if len(found) > 12 else ""
        noun = "thing" if len(found) == 1 else "things"
        return SkillResult("done", f"You have {len(found)} {noun} {label}: {listed}{more}.", data)


def _label(first: date, last: date, today: date) -> str:
    if first == last:
        days = (first - today).days
        if days == 0:
            return "today"
        if days == 1:
            return "tomorrow"
        return f"on {first.strftime('%A')}" if 1 < days < 7 else f"on {first:%B} {first.day}"
    return f"from {first.strftime('%A')} to {last.strftime('%A')}"


class CancelEvent(_CalendarSkill):
    name = "calendar.cancel"
    description = "Take an event out of the user's calendar."
    parameters = text_arguments(("which",), which="Words from the event: 'dinner with Amy'.")

    def act(self, call: SkillCall) -> SkillResult:
        which = str(call.arguments.get("which") or "")
        now = self.now()
        found = self.store.matching(which, now - timedelta(hours=1), self.zone()[1])
        if not found:
            return SkillResult("nothing", f"I couldn't find {which or 'that'} in your calendar.")
        if len(found) > 1:
            listed = "; ".join(describe_occurrence(o, now) for o in found[:5])
            return SkillResult("question", f"Which one do you mean: {listed}?")
        [picked] = found
        self.store.delete(picked.uid, push=self.remote().push())
        said = f"I've taken it out of your calendar: {describe_occurrence(picked, now)}."
        if picked.repeats:
            said = f"I've taken it out of your calendar, every time: {picked.title}."
        if self.store.get(picked.uid) is None:
            return SkillResult("done", said, {"uid": picked.uid})
        return self._consent(said, picked.uid, "take it off")


def calendar_skills(
    store: CalendarStore,
    zone: Callable[[], tuple[str, tzinfo]],
    remote: Callable[[], Remote],
) -> list[_CalendarSkill]:
    return [cls(store, zone, remote) for cls in (AddEvent, ListEvents, CancelEvent)]
