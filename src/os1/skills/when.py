"""When a request should happen: "tomorrow at 6pm", "in 20 minutes", "every Monday at 9".

``memory/timeparse.py`` finds the *period a question looks back on* ("last week"); this
module finds the *moment a request points forward to*, and says when it cannot: an
impossible date ("the 31st of February"), an hour that does not exist ("25:00"), a time
that has passed, or "next Friday" said on a Friday all come back as a question, never a
guess. Calendar arithmetic (months, leap years, recurrences) is left to ``dateutil``;
what is ours is the spoken grammar around it ("half past five", "six in the evening").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import DAILY, WEEKLY, rrule, weekday
from dateutil.rrule import weekdays as _RRULE_DAYS

from os1.memory.timeparse import MONTH_NAMES, WEEKDAYS
from os1.skills.holidays import HOLIDAY, next_holiday

__all__ = ["Days", "Recurrence", "When", "find_days", "find_when", "says_clock"]

_DAY_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
_MONTHS = MONTH_NAMES
_MONTH_NUMBER = {name: i + 1 for i, name in enumerate(_MONTHS)}
_MONTH_NUMBER.update({name[:3]: i + 1 for i, name in enumerate(_MONTHS)})
_MONTH_NUMBER["sept"] = 9
_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "forty-five": 45, "forty five": 45, "fifty": 50,
    "twenty-five": 25, "twenty five": 25, "ninety": 90, "a": 1, "an": 1,
}  # fmt: skip
_PART_HOURS = {"morning": 9, "afternoon": 15, "evening": 18, "night": 20, "tonight": 20}

_NUM = r"(?:\d{1,3}|" + "|".join(sorted(map(re.escape, _NUMBERS), key=len, reverse=True)) + ")"
_WEEKDAY = (
    r"(?P<wd>" + "|".join(d + r"s?" for d in WEEKDAYS) + r"|mon|tues?|wed|thurs?|fri|sat|sun)"
)
_MONTH = r"(?:" + "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True)) + r")\.?"
_ORD = r"(?:st|nd|rd|th)?"

# A clock time. The groups say which shape matched.
_CLOCK = (
    r"(?:(?:at|by|around|for)\s+)?(?:"
    r"(?P<noon>noon|midday|midnight)"
    r"|(?P<half>half)\s+(?:past\s+)?(?P<hh>" + _NUM + r")"
    r"|(?P<quarter>(?:a\s+)?quarter)\s+(?P<qdir>past|to|after|til)\s+(?P<qh>" + _NUM + r")"
    r"|(?P<mins>\d{1,2}|five|ten|twenty|twenty[- ]five)\s+(?:minutes\s+)?(?P<pdir>past|to|after)"
    r"\s+(?P<ph>" + _NUM + r")"
    r"|(?P<h4>[01]\d|2[0-3])(?P<m4>[0-5]\d)(?:\s*(?:hrs|hours|h))?(?=\s|$)"
    r"|(?P<h>\d{1,2})(?::(?P<m>\d{2}))\s*(?P<ap>a\.?m\.?|p\.?m\.?)?"
    r"|(?P<h2>\d{1,2}|"
    + "|".join(k for k, v in _NUMBERS.items() if 1 <= v <= 12 and len(k) > 2)
    + r")"
    r"(?:\s+(?P<m2>thirty|fifteen|forty[- ]five|o'?clock|\d{2}))?\s*(?P<ap2>a\.?m\.?|p\.?m\.?)?"
    r")(?:\s+(?:in\s+the\s+|at\s+)(?P<cpart>morning|afternoon|evening|night))?"
    r"(?:\s+(?P<tonight>tonight))?"
)
# Not inside a date: "20/2", "2027-05-20".
_CLOCK_RE = re.compile(r"(?<!/)(?<!\d{4}-)(?<!\d{4}-\d\d-)\b" + _CLOCK + r"(?![\w:/]|-\d\d-)")

_RELATIVE_RE = re.compile(
    r"\bin\s+(?:(?P<half>half\s+an?\s+hour)|(?:(?P<n>" + _NUM + r"|a\s+couple\s+of|a\s+few)\s+"
    r"(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?|seconds?|secs?))"
    r"(?:\s+and\s+a\s+half)?)\b"
    r"|\b(?P<n2>" + _NUM + r")\s+(?P<unit2>minutes?|mins?|hours?|hrs?|days?|weeks?)\s+"
    r"from\s+(?:now|today)\b"
)
_SAME_TIME_RE = re.compile(
    r"\b(?:at\s+)?(?:this|the\s+same|same)\s+time\s+(?P<day>tomorrow|next\s+week)\b"
)
_MONTH_BEFORE = re.compile(r"\b" + _MONTH + r"\s+(?:the\s+)?$")
_DATE_AFTER = re.compile(r"(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH)
_VAGUE_RE = re.compile(
    r"\b(?:sometime|some\s+time|later|soon|in\s+a\s+bit|in\s+a\s+while|at\s+some\s+point|"
    r"whenever|one\s+of\s+these\s+days)\b"
)
_DAY_RE = re.compile(
    r"\b(?:"
    r"(?P<today>today|tonight|this\s+(?P<tpart>morning|afternoon|evening))"
    r"|(?P<tomorrow>tomorrow|tmrw|tomorow)(?:\s+(?P<mpart>morning|afternoon|evening|night))?"
    r"|(?P<dayafter>the\s+day\s+after\s+tomorrow)"
    r"|(?:on\s+)?(?P<hol>" + HOLIDAY.replace(r"\ ", r"\s+") + r")"
    r"|(?:on\s+)?" + _WEEKDAY.replace("wd", "wdn") + r"\s+(?:of\s+)?(?P<wdnext>next\s+week)"
    r"|(?P<nextweek>next\s+week)(?:\s+on)?(?:\s+" + _WEEKDAY.replace("wd", "nwd") + r")?"
    r"|(?:(?P<qual>next|this|on|coming|this\s+coming)\s+)?"
    + _WEEKDAY
    + r"(?:\s+(?P<wpart>morning|afternoon|evening|night))?"
    r"|(?:on\s+)?(?P<iso>\d{4}-\d{2}-\d{2})"
    r"|(?:on\s+)?(?P<n1>\d{1,2})/(?P<n2>\d{1,2})(?:/(?:\d{4}|\d{2}))?"
    r"|(?:on\s+)?(?:the\s+)?(?P<dom>\d{1,2})" + _ORD + r"(?:\s+(?:of\s+)?(?P<mon>" + _MONTH + r"))?"
    r"|(?:on\s+)?(?P<mon2>" + _MONTH + r")\s+(?:the\s+)?(?P<dom2>\d{1,2})" + _ORD + r")(?![\w:/])"
)
# "a week today", "a fortnight on Monday", "a week tomorrow": British days a week or two on.
_WEEK_ON_RE = re.compile(
    r"\b(?<!next\s)(?<!this\s)(?<!the\s)(?:a\s+)?(?P<unit>week|fortnight)\s+(?:(?P<today>today)|(?P<tomorrow>tomorrow)|"
    r"(?:on|from|this)\s+" + _WEEKDAY.replace("wd", "owd") + r")(?![\w])"
)
_EVERY_RE = re.compile(
    r"\b(?:(?P<daily>every\s+day|each\s+day|daily|every\s+(?P<epart>morning|evening|night))"
    r"|(?:every|each)\s+(?:week\s+on\s+)?"
    + _WEEKDAY
    + r"|(?P<weekdays>every\s+weekday|(?:on\s+|for\s+)?weekdays)"
    r"|(?:on\s+)?(?P<pwd>" + "|".join(d + "s" for d in WEEKDAYS) + r"))\b"  # "on Sundays"
)

_EITHER_DAY_RE = re.compile(
    r"\b(?:today|tomorrow|tonight|" + "|".join(WEEKDAYS) + r")\s+or\s+(?:on\s+)?"
    r"(?:today|tomorrow|tonight|" + "|".join(WEEKDAYS) + r")\b"
)
_EITHER_RE = re.compile(
    r"\b(?:at\s+)?\d{1,2}(?::\d{2})?\s*(?:[ap]m)?\s+or\s+(?:at\s+)?\d{1,2}(?::\d{2})?\s*(?:[ap]m)?"
)


@dataclass(frozen=True)
class Recurrence:
    """A repeating time: ``daily 07:00`` or ``weekly MO 09:00`` (local wall clock)."""

    freq: str  # "daily" | "weekly" | "weekdays"
    at: time
    day: int | None = None  # 0 = Monday, for weekly

    def label(self) -> str:
        clock = self.at.strftime("%H:%M")
        if self.freq == "weekly" and self.day is not None:
            return f"weekly {_DAY_CODES[self.day]} {clock}"
        return f"{self.freq} {clock}"

    @classmethod
    def parse(cls, label: str) -> Recurrence:
        parts = label.split()
        hour, minute = (int(x) for x in parts[-1].split(":"))
        day = _DAY_CODES.index(parts[1]) if parts[0] == "weekly" else None
        return cls(parts[0], time(hour, minute), day)

    def describe(self) -> str:
        clock = _say_clock(self.at)
        if self.freq == "weekly" and self.day is not None:
            return f"every {WEEKDAYS[self.day].title()} at {clock}"
        if self.freq == "weekdays":
            return f"every weekday at {clock}"
        return f"every day at {clock}"

    def next_after(self, moment: datetime, tz: tzinfo) -> datetime:
        """The first occurrence strictly after ``moment``, in ``tz``."""
        local = moment.astimezone(tz).replace(tzinfo=None)
        start = datetime.combine(local.date(), self.at)
        if self.freq == "weekly":
            days: tuple[weekday, ...] = (_RRULE_DAYS[self.day or 0],)
            rule = rrule(WEEKLY, byweekday=days, dtstart=start)
        elif self.freq == "weekdays":
            rule = rrule(DAILY, byweekday=_RRULE_DAYS[:5], dtstart=start)
        else:
            rule = rrule(DAILY, dtstart=start)
        found = rule.after(local, inc=False)
        assert found is not None  # an endless rule always has a next one
        return found.replace(tzinfo=tz)


@dataclass(frozen=True)
class When:
    """What a request's time words mean: a moment, a recurrence, or a question to ask.

    ``spans`` are the ``[start, end)`` character ranges of the words that said it (in the
    text that was searched), so the caller can cut them out of the task.
    """

    due: datetime | None = None
    every: Recurrence | None = None
    question: str | None = None
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def found(self) -> bool:
        return bool(self.spans)


def _number(word: str | None) -> int | None:
    if word is None:
        return None
    word = word.strip().replace("-", " ")
    if word.isdigit():
        return int(word)
    if word in ("a couple of",):
        return 2
    if word in ("a few",):
        return 3
    return _NUMBERS.get(word, _NUMBERS.get(word.replace(" ", "-")))


def _say_clock(at: time) -> str:
    if at == time(12, 0):
        return "noon"
    if at == time(0, 0):
        return "midnight"
    hour = at.hour % 12 or 12
    suffix = "AM" if at.hour < 12 else "PM"
    return f"{hour}:{at.minute:02d} {suffix}" if at.minute else f"{hour} {suffix}"


def describe_moment(moment: datetime, now: datetime) -> str:
    """'today at 6 PM', 'tomorrow at 9 AM', 'Monday at 9 AM', 'December 10 at 3 PM'."""
    local = moment.astimezone(now.tzinfo)
    days = (local.date() - now.date()).days
    clock = _say_clock(local.time().replace(second=0, microsecond=0))
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    if 1 < days < 7:
        return f"{local.strftime('%A')} at {clock}"
    return f"{local.strftime('%A, %B')} {local.day} at {clock}"


@dataclass
class _Clock:
    hour: int
    minute: int
    meridiem: str | None  # "am" | "pm" | "24h" (said as a 24-hour time) | None
    part: str | None
    span: tuple[int, int]
    explicit: bool  # said with "at", a colon or am/pm: certainly a clock time


def _clock_of(m: re.Match[str]) -> _Clock | str | None:
    """The clock time a match names; a question for one that cannot exist; None if the
    match was not a time at all (a bare number)."""
    part = m.group("cpart") or ("tonight" if m.group("tonight") else None)
    span = (m.start(), m.end())
    said = m.group(0)
    explicit = said.startswith(("at ", "by ", "around ", "for ")) or ":" in said
    hour: int | None
    if m.group("noon"):
        midnight = m.group("noon") == "midnight"
        return _Clock(0 if midnight else 12, 0, "am" if midnight else "pm", None, span, True)
    if m.group("half"):
        hour = _number(m.group("hh"))
        return None if hour is None else _Clock(hour, 30, None, part, span, True)
    if m.group("mins"):
        hour, minutes = _number(m.group("ph")), _number(m.group("mins"))
        if hour is None or minutes is None or not 0 < minutes < 60 or hour > 12:
            return None
        ranged = m.group("mins").isdigit() and m.group("pdir") == "to"
        if ranged and not said.startswith(("at ", "by ", "around ")):
            return None  # "in 2 to 3 days", "for 4 to 6 people": a range
        if m.group("pdir") == "to":
            return _Clock((hour - 1) % 12 or 12, 60 - minutes, None, part, span, True)
        return _Clock(hour, minutes, None, part, span, True)
    if m.group("h4"):
        # "1430": 24-hour time, said without "at" only when it cannot be a year.
        sure = said.startswith(("at ", "by "))
        if not sure and int(m.group("h4")) >= 19:
            return None  # "for 2026": a year
        return _Clock(int(m.group("h4")), int(m.group("m4")), "24h", part, span, sure)
    if m.group("quarter"):
        hour = _number(m.group("qh"))
        if hour is None:
            return None
        if m.group("qdir") in ("to", "til"):
            return _Clock((hour - 1) % 12 or 12, 45, None, part, span, True)
        return _Clock(hour, 15, None, part, span, True)
    hour_text = m.group("h") or m.group("h2")
    minute_text = m.group("m") or m.group("m2")
    meridiem = m.group("ap") or m.group("ap2")
    hour = _number(hour_text)
    if hour is None:
        return None
    minute = 0
    if minute_text and not minute_text.startswith("o"):
        minute = _number(minute_text) or 0
    ap = meridiem.replace(".", "")[:2] if meridiem else None
    if ap is None and m.group("m") and hour_text.startswith("0"):
        ap = "24h"  # "06:15" is a 24-hour time: the morning
    explicit = explicit or ap is not None or part is not None
    impossible = (
        hour > 24 or minute > 59 or (ap in ("am", "pm") and hour > 12) or (hour == 24 and minute)
    )
    if impossible and not explicit:
        return None  # "45" alone is a number, not a time
    if impossible:
        return (
            f"There's no {said.removeprefix('at ').strip()} on the clock. What time did you mean?"
        )
    return _Clock(hour, minute, ap, part, span, explicit)


def _resolve_hour(clock: _Clock, part: str | None) -> int:
    hour = clock.hour
    if clock.meridiem == "24h":
        return hour % 24
    if clock.meridiem == "pm" and hour < 12:
        return hour + 12
    if clock.meridiem == "am":
        return 0 if hour == 12 else hour
    if hour > 12 or hour == 0:
        return hour % 24  # 24-hour time: "18:00", "0:30", "24:00"
    part = clock.part or part
    if part in ("afternoon", "evening", "night", "tonight"):
        return hour + 12 if hour < 12 and not (part == "night" and hour < 4) else hour
    if part == "morning":
        return hour % 12
    if hour == 12:
        return 12
    return hour + 12 if hour < 8 else hour  # "at 6" is six in the evening; "at 9" the morning


def find_when(
    text: str,
    now: datetime,
    *,
    part: str | None = None,
    ask: str = "should I remind you",
    careful: bool = False,
) -> When:
    """Read the time words of ``text`` (lower case) relative to ``now`` (aware, local).

    ``part`` is the part of the day the request suggests when the words do not say it
    ("dinner at 8" is in the evening); ``ask`` ends the questions it asks back ("What
    time should I remind you?"). ``careful`` (an event for a calendar) asks rather than
    takes the likelier reading where people do mean either: "Wednesday" said on a
    Wednesday, "next Friday" said early in the week, "at 7" with nothing to say which 7."""
    hinted = part
    tz = now.tzinfo
    assert tz is not None, "now must carry the user's time zone"
    spans: list[tuple[int, int]] = []

    either = _EITHER_RE.search(text) or _EITHER_DAY_RE.search(text)
    if either is not None:
        return When(
            question=f"{either.group(0).strip().capitalize()}? Which should I use?",
            spans=((either.start(), either.end()),),
        )
    same = _SAME_TIME_RE.search(text)
    if same is not None and _first_clock(text) is None:
        # "this time tomorrow": the same time on the clock, a day or a week on.
        days = 1 if same.group("day") == "tomorrow" else 7
        on = (now.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=now.tzinfo)
        return When(due=on, spans=((same.start(), same.end()),))
    every_m = _EVERY_RE.search(text)
    rel = _RELATIVE_RE.search(text)
    relative_day: date | None = None
    if rel is not None and every_m is None:
        delta = _relative(rel)
        if delta is not None and delta < timedelta(days=1):
            return When(due=_later(now, delta), spans=((rel.start(), rel.end()),))
        if delta is not None:
            relative_day = _later(now, delta).date()  # "in 3 days", "a week from today": which day
            spans.append((rel.start(), rel.end()))
    week_on = _WEEK_ON_RE.search(text)
    if week_on is not None and relative_day is None:
        relative_day = _week_on(week_on, now.date())
        spans.append((week_on.start(), week_on.end()))
    clock = _first_clock(text)
    if isinstance(clock, When):
        return clock

    if every_m is not None:
        spans.append((every_m.start(), every_m.end()))
        part = every_m.group("epart")
        at = time(_resolve_hour(clock, part or hinted), clock.minute) if clock else None
        if clock:
            spans.append(clock.span)
        if at is None:
            at = time(_PART_HOURS.get(part or "", 9), 0)
        if every_m.group("wd") or every_m.group("pwd"):
            weekday = _weekday_index(every_m.group("wd") or every_m.group("pwd"))
            return When(every=Recurrence("weekly", at, weekday),
                        spans=tuple(spans))  # fmt: skip
        if every_m.group("weekdays"):
            return When(every=Recurrence("weekdays", at), spans=tuple(spans))
        return When(every=Recurrence("daily", at), spans=tuple(spans))

    day_m = None
    for candidate in _DAY_RE.finditer(text):
        if candidate.group("dom") and not (candidate.group("mon") or _ordinal(candidate)):
            continue  # a bare number ("6") is a clock time, not a day of the month
        if candidate.group("n1") and not _said_as_date(text, candidate):
            continue  # "1/2 a pill", "24/7"
        if clock is not None and _overlaps((candidate.start(), candidate.end()), clock.span):
            continue
        if any(_overlaps((candidate.start(), candidate.end()), span) for span in spans):
            continue  # part of "a week on Monday", already read
        day_m = candidate
        break
    paired = _paired_date(text, day_m, now) if day_m is not None else None
    if isinstance(paired, str):
        return When(question=paired, spans=((day_m.start(), day_m.end()),))  # type: ignore[union-attr]
    if paired is not None:
        spans.append((day_m.start(), day_m.end()))  # type: ignore[union-attr]
        day_m = paired  # the date says which one
    if relative_day is not None:
        if clock is not None:
            spans.append(clock.span)
            at = time(_resolve_hour(clock, hinted), clock.minute)
        else:
            at = time(9)
        return _future(datetime.combine(relative_day, at, tzinfo=tz), now, tuple(spans), ask)
    vague = _VAGUE_RE.search(text)
    if clock is None and vague is not None:
        return When(
            question=f"When exactly {ask}?",
            spans=(*spans, (vague.start(), vague.end())),
        )
    if clock is None and day_m is None:
        return When()
    if clock is not None:
        spans.append(clock.span)
    if day_m is not None:
        spans.append((day_m.start(), day_m.end()))

    day, part, question = (
        _day_of(day_m, now, careful=careful) if day_m is not None else (None, None, None)
    )
    if question:
        return When(question=question, spans=tuple(spans))
    if clock is None:
        if day is None or (day == now.date() and part is None):
            return When(question=f"What time {ask}?", spans=tuple(spans))
        hour = _PART_HOURS.get(part or "", 9)
        due = datetime.combine(day, time(hour), tzinfo=tz)
        return _future(due, now, tuple(spans), ask)
    if part is None and hinted == "morning" and clock.hour < 5:
        hinted = None  # "coffee at 3" is the afternoon, whatever the word suggests
    if careful and 6 <= clock.hour <= 8 and not (clock.meridiem or clock.part or part or hinted):
        said = f"{clock.hour}:{clock.minute:02d}" if clock.minute else str(clock.hour)
        return When(question=f"Is that {said} in the morning or the evening?", spans=tuple(spans))
    hour = _resolve_hour(clock, part or hinted)
    at = time(hour, clock.minute)
    if day is None:
        due = datetime.combine(now.date(), at, tzinfo=tz)
        if _passed(due, now):
            plain = clock.meridiem is None and clock.part is None and not (part or hinted)
            evening = due + timedelta(hours=12)
            if plain and 1 <= hour < 12 and not _passed(evening, now):
                due = evening  # "at 9" said at 10 am: nine tonight
            else:
                due = datetime.combine(now.date() + timedelta(days=1), at, tzinfo=tz)
        return When(due=due, spans=tuple(spans))
    return _future(datetime.combine(day, at, tzinfo=tz), now, tuple(spans), ask)


_SPAN_RE = re.compile(
    r"\b(?:(?P<thisweek>(?:this|the\s+rest\s+of\s+the|this\s+coming)\s+week)"
    r"|(?P<nextweek>next\s+week)(?!\s+on\b|\s+" + _WEEKDAY.replace("wd", "swd") + r")"
    r"|(?P<nextweekend>next\s+weekend|the\s+weekend\s+after\s+this(?:\s+one)?)|(?P<weekend>(?:this|the|on\s+the|over\s+the)\s+weekend)"
    r"|(?P<afternext>the\s+week\s+after\s+next)|(?P<month>(?:this|the\s+rest\s+of\s+the)\s+month)|(?P<few>(?:the\s+)?(?:next|coming)\s+(?:few|couple\s+of)\s+days))\b"
)


_MONTH_SPAN = re.compile(
    r"\b(?:in|for|during|of|through|this)\s+(?:the\s+rest\s+of\s+)?(?P<m>" + _MONTH + r")(?!\s*\d)"
)
_RANGE_JOIN = re.compile(r"\s*(?:to|until|till|through|thru|and|-|or)\s+(?:the\s+|on\s+)?")


@dataclass(frozen=True)
class Days:
    """The days a question covers ("what's on this week?"), first and last included."""

    first: date | None = None
    last: date | None = None
    question: str | None = None

    @property
    def found(self) -> bool:
        return self.first is not None or self.question is not None


def find_days(text: str, now: datetime) -> Days:
    """Which days ``text`` (lower case) asks about, relative to ``now`` (aware, local)."""
    today = now.date()
    week_on = _WEEK_ON_RE.search(text)
    if week_on is not None:
        on = _week_on(week_on, today)
        return Days(on, on)
    for candidate in _DAY_RE.finditer(text):
        if candidate.group("wdnext"):  # "Monday next week": one day, not the week
            day, _part, _question = _day_of(candidate, now)
            return Days(day, day)
    month = _MONTH_SPAN.search(text)
    if month is not None and not _DAY_RE.search(text):
        number = _MONTH_NUMBER[month.group("m").rstrip(".")]
        year = today.year + (1 if number < today.month else 0)
        first = max(today, date(year, number, 1))
        return Days(first, date(year, number, 1) + relativedelta(months=1, days=-1))
    span = _SPAN_RE.search(text)
    if span is not None:
        sunday = today + timedelta(days=6 - today.weekday())
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        if span.group("afternext"):
            return Days(sunday + timedelta(days=8), sunday + timedelta(days=14))
        if span.group("thisweek"):
            return Days(today, sunday)
        if span.group("nextweek"):
            return Days(sunday + timedelta(days=1), sunday + timedelta(days=7))
        if span.group("weekend"):
            start = today if today.weekday() == 6 else saturday
            return Days(start, start + timedelta(days=1 if start.weekday() == 5 else 0))
        if span.group("nextweekend"):
            start = saturday + timedelta(days=7 if today.weekday() < 5 else 0)
            if today.weekday() == 6:
                start = today + timedelta(days=6)
            return Days(start, start + timedelta(days=1))
        if span.group("month"):
            return Days(today, today.replace(day=1) + relativedelta(months=1, days=-1))
        return Days(today, today + timedelta(days=3))
    found: list[tuple[re.Match[str], date]] = []
    for candidate in _DAY_RE.finditer(text):
        if candidate.group("dom") and not (candidate.group("mon") or _ordinal(candidate)):
            continue
        if candidate.group("n1") and not _said_as_date(text, candidate):
            continue
        day, _part, question = _day_of(candidate, now)
        if question:
            return Days(question=question)
        assert day is not None
        found.append((candidate, day))
    if not found:
        return Days()
    (first_m, first), *rest = found
    if rest and first_m.group("wd") and isinstance(_paired_date(text, first_m, now), re.Match):
        (first_m, first), *rest = rest  # "Thursday the 17th": the date says which Thursday
    if rest and _RANGE_JOIN.fullmatch(text[first_m.end() : rest[0][0].start()]):
        return Days(first, max(first, rest[0][1]))  # "from the 21st to the 23rd"
    return Days(first, first)


def _paired_date(text: str, day_m: re.Match[str], now: datetime) -> re.Match[str] | str | None:
    """'Monday the 14th': the date after a weekday, said again. Its match when it is that
    weekday (the date says which Monday); a question when it is not ('Monday the 15th'
    when the 15th is a Tuesday)."""
    if not day_m.group("wd"):
        return None
    following = _DAY_RE.match(text, day_m.end() + 1) if day_m.end() < len(text) else None
    if following is None or not (following.group("dom") or following.group("mon2")):
        return None
    if following.group("dom") and not (following.group("mon") or _ordinal(following)):
        return None
    dated, _, question = _day_of(following, now)
    if question or dated is None:
        return question
    if dated.weekday() != _weekday_index(day_m.group("wd")):
        weekday = WEEKDAYS[dated.weekday()].title()
        return f"The {_nth(dated.day)} is a {weekday}. Which day did you mean?"
    return following


def _first_clock(text: str) -> _Clock | When | None:
    """The first clock time in ``text`` (one said as a time, "at 3", before a number that
    may be one, "room 1105 tomorrow"); a question for one that cannot exist."""
    maybe: _Clock | None = None
    for m in _CLOCK_RE.finditer(text):
        found = _clock_of(m)
        if isinstance(found, str):
            return When(question=found, spans=((m.start(), m.end()),))
        if found is None or (not found.explicit and not _near_time_words(text, m)):
            continue
        if not found.explicit and _DATE_AFTER.match(text, m.end()):
            continue  # "23 December": a day of the month
        if not found.explicit and _MONTH_BEFORE.search(text, max(0, m.start() - 16), m.start()):
            continue  # "March 24": a day of the month
        if found.explicit:
            return found
        maybe = maybe or found
    return maybe


_PART_ANSWER = re.compile(
    r"^(?:in\s+)?(?:the\s+)?(?P<part>morning|afternoon|evening|night|am|pm|a\.m\.|p\.m\.)$"
)


def with_part(said: str, answer: str) -> str | None:
    """The time words ``said`` with the part of the day ``answer`` gives ("evening", "pm")
    put on their clock time; None when ``answer`` is not a part of the day or ``said``
    names no clock time."""
    m = _PART_ANSWER.match(answer.strip())
    clock = _first_clock(said)
    if m is None or not isinstance(clock, _Clock) or clock.meridiem or clock.part:
        return None
    part = m.group("part").replace(".", "")
    end = clock.span[1]
    tail = f"{part}" if part in ("am", "pm") else f" in the {part}"
    return f"{said[:end]}{tail}{said[end:]}"


def says_clock(text: str) -> bool:
    """Whether ``text`` names a time of day or a delay ("at 6", "in 20 minutes"), not
    only a day: a calendar makes a day-only event last the whole day."""
    return _RELATIVE_RE.search(text) is not None or _first_clock(text) is not None


def _passed(due: datetime, now: datetime) -> bool:
    """Compared as instants: two times in one zone would otherwise compare as wall clocks,
    which is wrong in the hour that repeats when the clocks go back."""
    return due.timestamp() <= now.timestamp()


def _later(now: datetime, delta: timedelta) -> datetime:
    """``now + delta`` in elapsed time (across a change of the clocks), in ``now``'s zone."""
    return (now.astimezone(UTC) + delta).astimezone(now.tzinfo)


def _future(due: datetime, now: datetime, spans: tuple[tuple[int, int], ...], ask: str) -> When:
    if _passed(due, now):
        return When(
            question=f"{describe_moment(due, now).capitalize()} has already passed. When {ask}?",
            spans=spans,
        )
    return When(due=due, spans=spans)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _ordinal(m: re.Match[str]) -> bool:
    said = m.group(0)
    return bool(re.search(r"\d(st|nd|rd|th)\b", said)) or "the " in said


def _near_time_words(text: str, m: re.Match[str]) -> bool:
    """A bare number ("call her 6") is a time only beside day words or am/pm."""
    around = text[max(0, m.start() - 24) : m.end() + 24]
    return bool(_DAY_RE.search(around)) and not re.search(r"\d+\s*(people|times|things)", around)


def _weekday_index(word: str) -> int:
    word = word.rstrip("s") if len(word) > 4 else word
    for index, name in enumerate(WEEKDAYS):
        if name.startswith(word[:3]):
            return index
    raise ValueError(word)


def _relative(m: re.Match[str]) -> timedelta | None:
    if m.group("half"):
        return timedelta(minutes=30)
    count = _number(m.group("n") or m.group("n2"))
    if count is None:
        return None
    unit = m.group("unit") or m.group("unit2")
    extra = 0.5 if m.group(0).endswith("and a half") else 0.0
    amount = count + extra
    if unit.startswith(("min",)):
        return timedelta(minutes=amount)
    if unit.startswith(("h",)):
        return timedelta(hours=amount)
    if unit.startswith("d"):
        return timedelta(days=amount)
    if unit.startswith("w"):
        return timedelta(weeks=amount)
    return timedelta(seconds=amount)


def _day_of(
    m: re.Match[str], now: datetime, *, careful: bool = False
) -> tuple[date | None, str | None, str | None]:
    """(the day, the part of day, or a question) for a day expression (``careful``: see
    ``find_when``)."""
    today = now.date()
    if m.group("today"):
        part = m.group("tpart") or ("tonight" if m.group("today") == "tonight" else None)
        return today, part, None
    if m.group("tomorrow"):
        return today + timedelta(days=1), m.group("mpart"), None
    if m.group("dayafter"):
        return today + timedelta(days=2), None, None
    if m.group("hol"):
        found = next_holiday(m.group("hol"), today, getattr(now.tzinfo, "key", None))
        if found is None:  # not kept where the user is: which day is theirs to say
            return None, None, f"Which day is {m.group('hol').strip().title()} for you?"
        return found, None, None
    if m.group("wdnext"):
        monday = today + timedelta(days=7 - today.weekday())
        return monday + timedelta(days=_weekday_index(m.group("wdn"))), None, None
    if m.group("nextweek"):
        monday = today + timedelta(days=7 - today.weekday())
        named = m.group("nwd")
        return monday + timedelta(days=_weekday_index(named) if named else 0), None, None
    if m.group("wd"):
        target = _weekday_index(m.group("wd"))
        ahead = (target - today.weekday()) % 7
        qual = (m.group("qual") or "").strip()
        if ahead == 0:
            if qual == "next":
                name = WEEKDAYS[target].title()
                soon = (today + timedelta(days=7)).strftime("%B %-d")
                later = (today + timedelta(days=14)).strftime("%B %-d")
                return None, None, f"Today is {name}: do you mean {soon} or {later}?"
            if careful and qual in ("", "on"):
                name = WEEKDAYS[target].title()
                soon = (today + timedelta(days=7)).strftime("%B %-d")
                return None, None, f"Today is {name}: do you mean today or {soon}?"
            ahead = 0 if qual in ("this", "", "on") else 7
        elif careful and qual == "next" and today.weekday() + ahead <= 6:
            # Said early in the week, "next Friday" is this week's to some, next week's to others.
            this_one = today + timedelta(days=ahead)
            after = this_one + timedelta(days=7)
            return None, None, (
                f"This {WEEKDAYS[target].title()}, {this_one.strftime('%B %-d')}, or the one"
                f" after, {after.strftime('%B %-d')}?"
            )  # fmt: skip
        return today + timedelta(days=ahead), m.group("wpart"), None
    if m.group("iso"):
        try:
            return date.fromisoformat(m.group("iso")), None, None
        except ValueError:
            return None, None, f"There is no {m.group('iso')}. Which day did you mean?"
    if m.group("n1"):
        return _numeric_date(int(m.group("n1")), int(m.group("n2")), today)
    day_text = m.group("dom") or m.group("dom2")
    month_text = m.group("mon") or m.group("mon2")
    day_number = int(day_text)
    if month_text:
        month = _MONTH_NUMBER[month_text.rstrip(".")]
        year = today.year
        name = _MONTHS[month - 1].title()
        try:
            found = date(year, month, day_number)
            if found < today:
                found = date(year + 1, month, day_number)
        except ValueError:
            return None, None, f"{name} has no {_nth(day_number)}. Which day did you mean?"
        return found, None, None
    # "the 12th": this month, or the next month that has that day.
    for months_ahead in range(0, 13):
        first = today.replace(day=1) + relativedelta(months=months_ahead)
        try:
            found = first.replace(day=day_number)
        except ValueError:
            continue
        if found >= today:
            return found, None, None
    return None, None, f"No month has a {_nth(day_number)}. Which day did you mean?"


def _said_as_date(text: str, m: re.Match[str]) -> bool:
    """'on 20/2', 'for 3/4', '20/2 at 8', 'calendar 3/25': a date, not a fraction."""
    before = text[: m.start()].split()[-1:] or [""]
    return (
        m.group(0).startswith("on ")
        or before[0] in ("for", "by", "until", "till", "from", "calendar", "diary", "to")
        or re.match(r"\s+(?:at|@)\s", text[m.end() :]) is not None
    )


def _numeric_date(a: int, b: int, today: date) -> tuple[date | None, str | None, str | None]:
    """'20/2' or '2/20': whichever way round makes a date; a question when both do
    ('3/4': the 3rd of April, or March 4?)."""
    readings = []
    for day_number, month in ((a, b), (b, a)):
        try:
            found = date(today.year, month, day_number)
        except ValueError:
            continue
        readings.append(found if found >= today else found.replace(year=today.year + 1))
    if not readings:
        return None, None, f"There's no {a}/{b} in the calendar. Which day did you mean?"
    if len(readings) == 2 and readings[0] != readings[1]:
        first, second = (f"{d.strftime('%B')} {d.day}" for d in readings)
        return None, None, f"Is {a}/{b} {first} or {second}?"
    return readings[0], None, None


def _week_on(m: re.Match[str], today: date) -> date:
    """The day a "week today" / "fortnight on Monday" names."""
    if m.group("today"):
        base = today
    elif m.group("tomorrow"):
        base = today + timedelta(days=1)
    else:
        base = today + timedelta(days=(_weekday_index(m.group("owd")) - today.weekday()) % 7)
    return base + timedelta(days=14 if m.group("unit") == "fortnight" else 7)


def _nth(number: int) -> str:
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"
