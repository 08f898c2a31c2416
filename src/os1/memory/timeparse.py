"""Find the period a question refers to ("last Tuesday", "in May", "two weeks ago").

Rule-based and deterministic; only the standard library. Every rule is a regular expression
plus a resolver that turns a match into a ``[start, end)`` span in the time zone of ``now``.
When several expressions occur, the leftmost wins (the longest, where they overlap).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

__all__ = ["TimeRange", "find_time_range", "strip_time_expression"]


@dataclass(frozen=True)
class TimeRange:
    """A period: ``start`` inclusive, ``end`` exclusive, both aware; and the words that named it."""

    start: datetime
    end: datetime
    expression: str


Span = tuple[datetime, datetime]
Days = tuple[date, date]


@dataclass(frozen=True)
class _Ctx:
    now: datetime
    tz: tzinfo
    today: date
    text: str

    def at(self, day: date, hour: int = 0) -> datetime:
        """Wall-clock ``hour`` (may exceed 23) of ``day`` in the local zone."""
        return datetime.combine(day + timedelta(days=hour // 24), time(hour % 24), tzinfo=self.tz)

    def days(self, span: Days) -> Span:
        return self.at(span[0]), self.at(span[1])

    def ago(self, delta: timedelta) -> datetime:
        """``now - delta`` in elapsed (not wall-clock) time."""
        return (self.now.astimezone(UTC) - delta).astimezone(self.tz)


Resolver = Callable[[re.Match[str], _Ctx], Span | None]

# --- vocabulary -------------------------------------------------------------------------------

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTH_NAMES = [
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]  # fmt: skip
_MONTHS = {name: i + 1 for i, name in enumerate(MONTH_NAMES)}
_MONTHS.update(
    {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8}
    | {"sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12}
)
_VERB_MONTHS = {"may", "march"}  # also common verbs
_NAME_MONTHS = {"april", "june", "august"}  # also common first names

_SMALL = ["one", "two", "three", "four", "five", "six"]
_SMALL += ["seven", "eight", "nine", "ten", "eleven", "twelve"]
_NUMBER_WORDS = {word: i + 1 for i, word in enumerate(_SMALL)}

_ORDINALS = [
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth", "twentieth",
]  # fmt: skip
_ORDINALS += [f"twenty-{word}" for word in _ORDINALS[:9]] + ["thirtieth", "thirty-first"]
_ORDINAL_DAYS = {word: i + 1 for i, word in enumerate(_ORDINALS)}

_PARTS = {"morning": (5, 12), "afternoon": (12, 18), "evening": (18, 24), "night": (18, 30)}


def _alternation(words: list[str]) -> str:
    ordered = sorted(words, key=len, reverse=True)
    return "|".join(word.replace("-", r"[\s-]") for word in ordered)


_WD = f"(?P<wd>{_alternation(WEEKDAYS)})"
_MONTH_ANY = rf"(?P<month>{_alternation(list(_MONTHS))})\.?"
_MONTH_FULL = f"(?P<month>{_alternation(MONTH_NAMES)})"
_DAY = rf"(?:(?P<day>\d{{1,2}})(?:st|nd|rd|th)?|(?P<dayw>{_alternation(_ORDINALS)}))(?!\d)"
_DAY_ORDINAL = rf"(?:(?P<day>\d{{1,2}})(?:st|nd|rd|th)|(?P<dayw>{_alternation(_ORDINALS)}))"
_YEAR = r"(?P<year>(?:19|20)\d\d)(?!\d)"
_NUM = (
    r"(?P<num>\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|(?:a\s+)?couple(?:\s+of)?|(?:a\s+)?few|several)"
)
_UNIT = r"(?P<unit>minute|min|hour|day|week|fortnight|month|year)s?"
_PREP = r"(?:(?P<prep>back\s+in|in|on|during|over|from|since|throughout|around|at|of|for)\s+)?"
_PART = r"(?:,?\s+(?:in\s+the\s+|at\s+)?(?P<part>morning|afternoon|evening|night))?"
_QUAL_WORDS = r"last|this\s+past|past|previous|this\s+coming|coming|this|next"
_QUAL = f"(?P<qual>{_QUAL_WORDS})"
_QUAL_OFFSET = {"last": -1, "past": -1, "previous": -1, "this": 0, "current": 0}
_QUAL_OFFSET |= {"next": 1, "coming": 1, "following": 1}


def _norm(words: str | None) -> str:
    return " ".join((words or "").lower().replace("’", "'").replace("-", " ").split())


def _direction(qual: str | None) -> str | None:
    """'last', 'this', 'next' or None (plain mention) for a qualifier such as 'this past'."""
    word = _norm(qual).split(" ")[-1] if qual else ""
    offset = _QUAL_OFFSET.get(word)
    return None if offset is None else ("last", "this", "next")[offset + 1]


def _count(words: str) -> int:
    word = _norm(words)
    if word.isdigit():
        return int(word)
    if word in ("a", "an"):
        return 1
    if "couple" in word:
        return 2
    if "few" in word or word == "several":
        return 3
    return _NUMBER_WORDS[word]


# --- calendar helpers -------------------------------------------------------------------------


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + delta
    return index // 12, index % 12 + 1


def _month(year: int, month: int) -> Days:
    next_year, next_month = _shift_month(year, month, 1)
    return date(year, month, 1), date(next_year, next_month, 1)


def _year(year: int) -> Days:
    return date(year, 1, 1), date(year + 1, 1, 1)


def _one_day(day: date) -> Days:
    return day, day + timedelta(days=1)


def _months_back(day: date, months: int) -> date:
    year, month = _shift_month(day.year, day.month, -months)
    last = (_month(year, month)[1] - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def _part_of(ctx: _Ctx, day: date, part: str | None) -> Span:
    low, high = _PARTS[part.lower()] if part else (0, 24)
    return ctx.at(day, low), ctx.at(day, high)


def _annual(
    today: date, make: Callable[[int], Days], direction: str | None, year: int | None
) -> Days:
    """One instance of a yearly period: the named year's, or the one ``direction`` points to.

    Plain mention: the latest that has started; 'last': the latest that has ended;
    'this': the one under way, else this calendar year's; 'next': the first not yet started.
    """
    if year is not None:
        return make(year)
    spans: list[Days] = []
    for candidate in range(today.year + 1, today.year - 9, -1):
        try:
            spans.append(make(candidate))
        except ValueError:  # e.g. 29 February in a common year
            continue
    if direction == "this":
        current = [s for s in spans if s[0] <= today < s[1]]
        return current[0] if current else make(today.year)
    if direction == "next":
        found = next((s for s in reversed(spans) if s[0] > today), None)
    elif direction == "last":
        found = next((s for s in spans if s[1] <= today), None)
    else:
        found = next((s for s in spans if s[0] <= today), None)
    if found is None:
        raise ValueError("no such period")
    return found


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    day = (h + l_ - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def _thanksgiving(year: int) -> date:
    first = date(year, 11, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 21)


def _fixed(month: int, day: int, length: int = 1) -> Callable[[int], Days]:
    return lambda year: (date(year, month, day), date(year, month, day) + timedelta(days=length))


_HOLIDAYS: dict[str, Callable[[int], Days]] = {
    "christmas eve": _fixed(12, 24),
    "christmas day": _fixed(12, 25),
    "christmas": _fixed(12, 24, 3),
    "xmas": _fixed(12, 24, 3),
    "boxing day": _fixed(12, 26),
    "new year's eve": _fixed(12, 31),
    "new year's day": _fixed(1, 1),
    "new year's": lambda year: (date(year - 1, 12, 31), date(year, 1, 2)),
    "new year": lambda year: (date(year - 1, 12, 31), date(year, 1, 2)),
    "halloween": _fixed(10, 31),
    "valentine's day": _fixed(2, 14),
    "valentine's": _fixed(2, 14),
    "good friday": lambda year: _one_day(_easter(year) - timedelta(days=2)),
    "easter sunday": lambda year: _one_day(_easter(year)),
    "easter monday": lambda year: _one_day(_easter(year) + timedelta(days=1)),
    "easter": lambda year: (_easter(year) - timedelta(days=2), _easter(year) + timedelta(days=2)),
    "thanksgiving": lambda year: _one_day(_thanksgiving(year)),
}
_HOLIDAY_PATTERN = "|".join(
    name.replace(" ", r"\s+").replace("'", "['’]?")
    for name in sorted(_HOLIDAYS, key=len, reverse=True)
)

_SEASONS: dict[str, Callable[[int], Days]] = {
    "spring": lambda year: (date(year, 3, 1), date(year, 6, 1)),
    "summer": lambda year: (date(year, 6, 1), date(year, 9, 1)),
    "autumn": lambda year: (date(year, 9, 1), date(year, 12, 1)),
    "fall": lambda year: (date(year, 9, 1), date(year, 12, 1)),
    "winter": lambda year: (date(year, 12, 1), date(year + 1, 3, 1)),
}


def _sentence_initial(text: str, index: int) -> bool:
    before = text[:index].rstrip()
    return not before or before[-1] in ".!?:;\"'“”‘’("


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)


# --- resolvers --------------------------------------------------------------------------------


def _relative_day(m: re.Match[str], ctx: _Ctx) -> Span:
    word = _norm(m["word"])
    if word.endswith("day before yesterday"):
        offset = -2
    elif word.endswith("day after tomorrow"):
        offset = 2
    else:
        offset = {"yesterday": -1, "today": 0, "tomorrow": 1}[word]
    return _part_of(ctx, ctx.today + timedelta(days=offset), m["part"])


def _named_part(m: re.Match[str], ctx: _Ctx) -> Span:
    word = _norm(m["word"])
    if word in ("tonight", "tonite"):
        day = ctx.today if ctx.now.hour >= 6 else ctx.today - timedelta(days=1)
        return _part_of(ctx, day, "night")
    if word == "last night":
        return _part_of(ctx, ctx.today - timedelta(days=1), "night")
    if word == "the night before last":
        return _part_of(ctx, ctx.today - timedelta(days=2), "night")
    return _part_of(ctx, ctx.today, word.split(" ")[-1])  # this morning / afternoon / evening


def _ago(m: re.Match[str], ctx: _Ctx) -> Span:
    n, unit = _count(m["num"]), m["unit"].lower()
    if unit in ("minute", "min", "hour"):
        step = timedelta(hours=1) if unit == "hour" else timedelta(minutes=1)
        return ctx.ago(2 * n * step), ctx.now  # generous: people guess such gaps loosely
    if unit == "day":
        return _part_of(ctx, ctx.today - timedelta(days=n), m["part"])
    if unit in ("week", "fortnight"):
        weeks = n * (2 if unit == "fortnight" else 1)
        monday = _monday(ctx.today - timedelta(weeks=weeks))
        return ctx.days((monday, monday + timedelta(days=7)))
    if unit == "month":
        return ctx.days(_month(*_shift_month(ctx.today.year, ctx.today.month, -n)))
    return ctx.days(_year(ctx.today.year - n))


def _followed_by_of(m: re.Match[str], ctx: _Ctx) -> bool:
    """ "the last week of October" names a part of something else."""
    return re.match(r"\s+of\b", ctx.text[m.end() :], re.IGNORECASE) is not None


def _rolling(m: re.Match[str], ctx: _Ctx) -> Span | None:
    lead, unit = _norm(m["lead"]), m["unit"].lower()
    if m["num"] is None and lead in ("last", "previous"):
        return None  # bare "last week" is the calendar week
    if _followed_by_of(m, ctx):
        return None
    n = 1 if m["num"] is None else _count(m["num"])
    if unit in ("minute", "min", "hour"):
        step = timedelta(hours=1) if unit == "hour" else timedelta(minutes=1)
        return ctx.ago(n * step), ctx.now
    tomorrow = ctx.today + timedelta(days=1)
    if unit in ("day", "week", "fortnight"):
        days = n * {"day": 1, "week": 7, "fortnight": 14}[unit]
        return ctx.days((ctx.today - timedelta(days=days), tomorrow))
    months = n * (12 if unit == "year" else 1)
    return ctx.days((_months_back(ctx.today, months), tomorrow))


def _recent(m: re.Match[str], ctx: _Ctx) -> Span:
    if _norm(m["word"]) == "the other day":
        return ctx.days((ctx.today - timedelta(days=7), ctx.today))
    return ctx.days((ctx.today - timedelta(days=14), ctx.today + timedelta(days=1)))


def _period(unit: str, offset: int, ctx: _Ctx) -> Days:
    today = ctx.today
    if unit == "week":
        monday = _monday(today) + timedelta(weeks=offset)
        return monday, monday + timedelta(days=7)
    if unit == "month":
        return _month(*_shift_month(today.year, today.month, offset))
    return _year(today.year + offset)


def _calendar(m: re.Match[str], ctx: _Ctx) -> Span | None:
    if _followed_by_of(m, ctx):
        return None
    qual = _norm(m["qual"])
    if qual in ("before last", "after next"):
        offset = -2 if qual == "before last" else 2
    else:
        offset = _QUAL_OFFSET[qual.split(" ")[-1]]
    return ctx.days(_period(m["unit"].lower(), offset, ctx))


def _earlier_later(m: re.Match[str], ctx: _Ctx) -> Span:
    unit = (m["unit"] or "day").lower()
    start, end = _one_day(ctx.today) if unit == "day" else _period(unit, 0, ctx)
    if _norm(m["el"]) == "earlier":
        return ctx.at(start), ctx.now
    return ctx.now, ctx.at(end)


def _weekend(m: re.Match[str], ctx: _Ctx) -> Span:
    saturday = _monday(ctx.today) + timedelta(days=5)
    direction = _direction(m["qual"])
    if direction == "last":
        saturday -= timedelta(days=7)
    elif direction == "next":
        saturday += timedelta(days=7)
    elif direction is None and ctx.today < saturday:  # "the weekend": the latest one begun
        saturday -= timedelta(days=7)
    return ctx.days((saturday, saturday + timedelta(days=2)))


def _weekday(m: re.Match[str], ctx: _Ctx) -> Span:
    target = WEEKDAYS.index(m["wd"].lower())
    direction, today = _direction(m["qual"]), ctx.today
    if direction == "this":
        day = _monday(today) + timedelta(days=target)
    elif direction == "next":
        day = today + timedelta(days=(target - today.weekday()) % 7 or 7)
    else:
        back = (today.weekday() - target) % 7 or 7
        if m["qual"] is None and back == 7 and re.search(r"\btoday\b", ctx.text, re.I):
            back = 0  # "on Thursday, today" when today is Thursday
        day = today - timedelta(days=back)
    return _part_of(ctx, day, m["part"])


def _on_date(ctx: _Ctx, year: int | None, month: int, day: int, part: str | None) -> Span:
    if year is not None:
        return _part_of(ctx, date(year, month, day), part)
    for candidate in range(ctx.today.year, ctx.today.year - 9, -1):
        try:
            found = date(candidate, month, day)
        except ValueError:
            continue
        if found <= ctx.today:
            return _part_of(ctx, found, part)
    raise ValueError("no such date")


def _day_number(m: re.Match[str]) -> int:
    return int(m["day"]) if m["day"] else _ORDINAL_DAYS[_norm(m["dayw"]).replace(" ", "-")]


def _named_date(m: re.Match[str], ctx: _Ctx) -> Span | None:
    word = m["month"]
    if word.lower() in _VERB_MONTHS and word.islower() and m["dayw"]:
        return None  # "I may first ..."
    month = _MONTHS[word.lower().rstrip(".")]
    return _on_date(ctx, _int(m["year"]), month, _day_number(m), m["part"])


def _numeric_date(m: re.Match[str], ctx: _Ctx) -> Span | None:
    year = _int(m["year"])
    if year is not None and year < 100:
        year += 2000
    if m.groupdict().get("slash") and year is None and not m["prep"] and not m["wd"]:
        rest = ctx.text[m.end() :]
        if not re.match(r"\s*(?:[?.!,;]|$)", rest):
            return None  # probably a fraction: "1/2 of the cake"
    return _on_date(ctx, year, int(m["mon"]), int(m["day"]), m["part"])


def _day_of_month(m: re.Match[str], ctx: _Ctx) -> Span | None:
    rest = ctx.text[m.end() :]
    follow = r"\s*(?:[?.!,;]|$)|\s+(?:and|or|at|in|when|before|after|i|we|you|did|was|were)\b"
    if not re.match(follow, rest, re.I):
        return None  # "on the second floor"
    number = _day_number(m)
    for back in range(12):
        year, month = _shift_month(ctx.today.year, ctx.today.month, -back)
        try:
            found = date(year, month, number)
        except ValueError:
            continue
        if found <= ctx.today:
            return _part_of(ctx, found, None)
    return None


def _named_month(m: re.Match[str], ctx: _Ctx) -> Span | None:
    word, qual = m["month"], _norm(m["qual"])
    year = _int(m["year"])
    context = bool(m["prep"] or year or (qual and not (qual == "this" and word.islower())))
    if word.lower() in _VERB_MONTHS:
        capital = word[0].isupper() and not _sentence_initial(ctx.text, m.start("month"))
        if not (context or capital):
            return None  # "I may go", "May I ask"
    elif word.lower() in _NAME_MONTHS and not context:
        return None  # "I talked to June"
    month = _MONTHS[word.lower()]
    start, end = _annual(ctx.today, lambda y: _month(y, month), _direction(qual), year)
    stage = qual.split(" ")[-2] if qual.endswith(" of") else qual
    if stage in ("early", "beginning", "start"):
        end = start + timedelta(days=10)
    elif stage in ("mid", "middle"):
        start, end = start + timedelta(days=10), start + timedelta(days=20)
    elif stage in ("late", "end"):
        start += timedelta(days=20)
    return ctx.days((start, end))


def _named_year(m: re.Match[str], ctx: _Ctx) -> Span | None:
    if not (m["prep"] or m["the_year"]):
        return None
    return ctx.days(_year(int(m["year"])))


def _season(m: re.Match[str], ctx: _Ctx) -> Span | None:
    season, qual, year = m["season"].lower(), _norm(m["qual"]), _int(m["year"])
    direction = _direction(qual)
    if season in ("spring", "fall"):  # also ordinary words: "a spring", "a fall"
        if not (m["prep"] or direction or year):
            return None
    elif not (m["prep"] or qual or year):
        return None
    return ctx.days(_annual(ctx.today, _SEASONS[season], direction, year))


def _holiday(m: re.Match[str], ctx: _Ctx) -> Span:
    name = _norm(m["holiday"])
    if name.startswith(("new years", "valentines")):
        name = name.replace("years", "year's").replace("valentines", "valentine's")
    make = _HOLIDAYS[name]
    return ctx.days(_annual(ctx.today, make, _direction(m["qual"]), _int(m["year"])))


# --- rules ------------------------------------------------------------------------------------


def _rule(body: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + body + r"(?:['’]s)?(?!\w)", re.IGNORECASE)


_WEEKDAY_PREFIX = rf"(?:(?P<wd>{_alternation(WEEKDAYS)}),?\s+)?"

_RULES: list[tuple[re.Pattern[str], Resolver]] = [
    (
        _rule(
            _PREP + r"(?P<word>(?:the\s+)?day\s+(?:before\s+yesterday|after\s+tomorrow)"
            r"|yesterday|today|tomorrow)" + _PART
        ),
        _relative_day,
    ),
    (
        _rule(
            _PREP + r"(?P<word>tonight|tonite|last\s+night|the\s+night\s+before\s+last"
            r"|this\s+(?:morning|afternoon|evening))"
        ),
        _named_part,
    ),
    (_rule(_PREP + _NUM + r"\s+" + _UNIT + r"\s+ago" + _PART), _ago),
    (
        _rule(
            _PREP + r"(?P<lead>(?:(?:the|this)\s+)?(?:past|last|previous))\s+"
            r"(?:" + _NUM + r"\s+)?" + _UNIT
        ),
        _rolling,
    ),
    (_rule(_PREP + r"(?P<word>recently|lately|of\s+late|the\s+other\s+day)"), _recent),
    (
        _rule(
            _PREP + r"(?P<qual>(?:the\s+)?(?:previous|current|coming|following)|last|this"
            r"|this\s+coming|next)\s+(?P<unit>week|month|year)"
        ),
        _calendar,
    ),
    (
        _rule(_PREP + r"the\s+(?P<unit>week|month|year)\s+(?P<qual>before\s+last|after\s+next)"),
        _calendar,
    ),
    (
        _rule(r"(?P<el>earlier|later)\s+(?:(?:this|in\s+the)\s+(?P<unit>week|month|year)|today)"),
        _earlier_later,
    ),
    (_rule(_PREP + r"(?:" + _QUAL + r"|the)\s+weekend"), _weekend),
    (_rule(_PREP + r"(?:" + _QUAL + r"\s+)?" + _WD + _PART), _weekday),
    # "March 3rd, 2025", "Tuesday, March 3"
    (
        _rule(
            f"{_PREP}{_WEEKDAY_PREFIX}{_MONTH_ANY}"
            rf"\s+(?:the\s+)?{_DAY}(?:,?\s+{_YEAR})?{_PART}"
        ),
        _named_date,
    ),
    # "3 March", "the 3rd of March 2025"
    (
        _rule(
            f"{_PREP}{_WEEKDAY_PREFIX}"
            rf"(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH_ANY}(?:,?\s+{_YEAR})?{_PART}"
        ),
        _named_date,
    ),
    # "2025-03-03"
    (
        _rule(f"{_PREP}{_WEEKDAY_PREFIX}" r"(?P<year>\d{4})-(?P<mon>\d\d?)-(?P<day>\d\d?)" + _PART),
        _numeric_date,
    ),
    # "3/14", "3/14/2025" (US order)
    (
        _rule(
            f"{_PREP}{_WEEKDAY_PREFIX}"
            r"(?<![/\d])(?P<slash>(?P<mon>\d\d?)/(?P<day>\d\d?)(?:/(?P<year>\d{4}|\d\d))?)"
            r"(?![/\d])" + _PART
        ),
        _numeric_date,
    ),
    # "14.03.2025" (European order, year required)
    (
        _rule(
            f"{_PREP}{_WEEKDAY_PREFIX}" r"(?P<day>\d\d?)\.(?P<mon>\d\d?)\.(?P<year>\d{4})" + _PART
        ),
        _numeric_date,
    ),
    (_rule(r"(?P<prep>on|since)\s+the\s+" + _DAY_ORDINAL), _day_of_month),
    (
        _rule(
            _PREP + r"(?:(?P<qual>" + _QUAL_WORDS + r"|early|mid|late"
            r"|(?:the\s+)?(?:beginning|start|middle|end)\s+of)[\s-]+)?"
            rf"{_MONTH_FULL}(?:,?\s+(?:of\s+)?{_YEAR})?"
        ),
        _named_month,
    ),
    (_rule(_PREP + r"(?P<the_year>the\s+year\s+)?" + _YEAR), _named_year),
    (
        _rule(
            _PREP + r"(?:(?P<qual>" + _QUAL_WORDS + r"|the)\s+)?"
            rf"(?P<season>spring|summer|autumn|fall|winter)(?:\s+(?:of\s+)?{_YEAR})?"
        ),
        _season,
    ),
    (
        _rule(
            _PREP + r"(?:" + _QUAL + r"\s+)?(?P<holiday>" + _HOLIDAY_PATTERN + r")"
            r"(?:\s+" + _YEAR + r")?"
        ),
        _holiday,
    ),
]


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    order: int
    span: Span
    since: bool


def _candidates(text: str, ctx: _Ctx) -> Iterator[_Candidate]:
    for order, (pattern, resolve) in enumerate(_RULES):
        for match in pattern.finditer(text):
            try:
                span = resolve(match, ctx)
            except (ValueError, OverflowError):
                span = None
            if span is not None:
                since = _norm(match.groupdict().get("prep")) == "since"
                yield _Candidate(match.start(), match.end(), order, span, since)


def find_time_range(text: str, now: datetime) -> TimeRange | None:
    """The period a question refers to, in now's time zone, or None if it names none."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("naive datetime: now must carry a time zone")
    ctx = _Ctx(now=now, tz=now.tzinfo, today=now.date(), text=text)
    ranked = sorted(_candidates(text, ctx), key=lambda c: (c.start, c.start - c.end, c.order))
    if not ranked:
        return None
    best = ranked[0]
    for other in ranked[1:]:  # among overlapping expressions the longest wins
        if other.start >= best.end:
            break
        if other.end - other.start > best.end - best.start:
            best = other
    start, end = best.span
    if best.since and start < now:
        end = now  # "since May": from then until now
    return TimeRange(start=start, end=end, expression=text[best.start : best.end])


def strip_time_expression(text: str, found: TimeRange) -> str:
    """The question without the time words (so keyword search is not distracted by them)."""
    match = re.search(re.escape(found.expression), text, re.IGNORECASE)
    if match is None or not found.expression:
        return text
    out = text[: match.start()] + " " + text[match.end() :]
    out = re.sub(r"\s+", " ", out)
    out = re.sub(r"\s+([?.!,;:])", r"\1", out)
    out = re.sub(r"[,;:]+([?.!])", r"\1", out)
    out = re.sub(r"^[\s,;:]+", "", out)
    return out.strip()
