from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from os1.memory.timeparse import TimeRange, find_time_range, strip_time_expression

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 15, 30, tzinfo=BERLIN)  # a Thursday


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def day(year: int, month: int, d: int) -> tuple[datetime, datetime]:
    """A whole local calendar day."""
    start = at(year, month, d)
    return start, start + timedelta(days=1)  # wall-clock arithmetic: next local midnight


RANGES: list[tuple[str, tuple[datetime, datetime], str]] = [
    # relative days and parts of days
    ("what did I do today?", day(2026, 11, 26), "today"),
    ("what are we doing tonight?", (at(2026, 11, 26, 18), at(2026, 11, 27, 6)), "tonight"),
    ("what did I say this morning", (at(2026, 11, 26, 5), at(2026, 11, 26, 12)), "this morning"),
    ("this afternoon", (at(2026, 11, 26, 12), at(2026, 11, 26, 18)), "this afternoon"),
    ("this evening", (at(2026, 11, 26, 18), at(2026, 11, 27)), "this evening"),
    ("earlier today", (at(2026, 11, 26), NOW), "earlier today"),
    ("What did we talk about yesterday?", day(2026, 11, 25), "yesterday"),
    ("yesterday morning", (at(2026, 11, 25, 5), at(2026, 11, 25, 12)), "yesterday morning"),
    ("Yesterday evening", (at(2026, 11, 25, 18), at(2026, 11, 26)), "Yesterday evening"),
    ("the day before yesterday", day(2026, 11, 24), "the day before yesterday"),
    ("how did I sleep last night", (at(2026, 11, 25, 18), at(2026, 11, 26, 6)), "last night"),
    # N units ago
    ("3 days ago", day(2026, 11, 23), "3 days ago"),
    ("what happened two days ago?", day(2026, 11, 24), "two days ago"),
    ("a few days ago", day(2026, 11, 23), "a few days ago"),
    ("two weeks ago", (at(2026, 11, 9), at(2026, 11, 16)), "two weeks ago"),
    ("a couple of weeks ago", (at(2026, 11, 9), at(2026, 11, 16)), "a couple of weeks ago"),
    ("a fortnight ago", (at(2026, 11, 9), at(2026, 11, 16)), "a fortnight ago"),
    ("three months ago", (at(2026, 8, 1), at(2026, 9, 1)), "three months ago"),
    ("twelve months ago", (at(2025, 11, 1), at(2025, 12, 1)), "twelve months ago"),
    ("a year ago", (at(2025, 1, 1), at(2026, 1, 1)), "a year ago"),
    ("an hour ago", (at(2026, 11, 26, 13, 30), NOW), "an hour ago"),
    # calendar weeks, weekends, months, years
    ("last week", (at(2026, 11, 16), at(2026, 11, 23)), "last week"),
    ("this week", (at(2026, 11, 23), at(2026, 11, 30)), "this week"),
    ("plans for next week", (at(2026, 11, 30), at(2026, 12, 7)), "for next week"),
    ("the week before last", (at(2026, 11, 9), at(2026, 11, 16)), "the week before last"),
    ("earlier this week", (at(2026, 11, 23), NOW), "earlier this week"),
    ("last weekend", (at(2026, 11, 21), at(2026, 11, 23)), "last weekend"),
    ("this weekend", (at(2026, 11, 28), at(2026, 11, 30)), "this weekend"),
    ("what did we do over the weekend", (at(2026, 11, 21), at(2026, 11, 23)), "over the weekend"),
    ("last month", (at(2026, 10, 1), at(2026, 11, 1)), "last month"),
    ("this month", (at(2026, 11, 1), at(2026, 12, 1)), "this month"),
    ("last year", (at(2025, 1, 1), at(2026, 1, 1)), "last year"),
    ("this year", (at(2026, 1, 1), at(2027, 1, 1)), "this year"),
    # weekdays (today, a Thursday, is excluded)
    ("what did I eat on Tuesday?", day(2026, 11, 24), "on Tuesday"),
    ("on Thursday", day(2026, 11, 19), "on Thursday"),
    ("Thursday, today", day(2026, 11, 26), "Thursday"),
    ("last Tuesday", day(2026, 11, 24), "last Tuesday"),
    ("last Thursday", day(2026, 11, 19), "last Thursday"),
    ("friday", day(2026, 11, 20), "friday"),
    ("this Monday", day(2026, 11, 23), "this Monday"),
    ("next Monday", day(2026, 11, 30), "next Monday"),
    ("Wednesday night", (at(2026, 11, 25, 18), at(2026, 11, 26, 6)), "Wednesday night"),
    ("since Monday", (at(2026, 11, 23), NOW), "since Monday"),
    ("I go to sunday school", day(2026, 11, 22), "sunday"),
    # months
    ("what did I do in May?", (at(2026, 5, 1), at(2026, 6, 1)), "in May"),
    ("in November", (at(2026, 11, 1), at(2026, 12, 1)), "in November"),
    ("in December", (at(2025, 12, 1), at(2026, 1, 1)), "in December"),
    ("last November", (at(2025, 11, 1), at(2025, 12, 1)), "last November"),
    ("in May 2024", (at(2024, 5, 1), at(2024, 6, 1)), "in May 2024"),
    ("We met in May, I may have said", (at(2026, 5, 1), at(2026, 6, 1)), "in May"),
    ("the trip was May", (at(2026, 5, 1), at(2026, 6, 1)), "May"),
    ("what did I do in june", (at(2026, 6, 1), at(2026, 7, 1)), "in june"),
    ("early May", (at(2026, 5, 1), at(2026, 5, 11)), "early May"),
    ("mid-May", (at(2026, 5, 11), at(2026, 5, 21)), "mid-May"),
    ("since May", (at(2026, 5, 1), NOW), "since May"),
    ("the last week of October", (at(2026, 10, 1), at(2026, 11, 1)), "of October"),
    # specific dates
    ("March 3", day(2026, 3, 3), "March 3"),
    ("on 3 March", day(2026, 3, 3), "on 3 March"),
    ("March 3rd, 2025", day(2025, 3, 3), "March 3rd, 2025"),
    ("the 3rd of March", day(2026, 3, 3), "the 3rd of March"),
    ("on March second", day(2026, 3, 2), "on March second"),
    ("Tuesday, March 3", day(2026, 3, 3), "Tuesday, March 3"),
    ("December 24", day(2025, 12, 24), "December 24"),  # not yet this year
    ("on 2025-03-03", day(2025, 3, 3), "on 2025-03-03"),
    ("what happened on 3/14?", day(2026, 3, 14), "on 3/14"),
    ("what happened 3/14?", day(2026, 3, 14), "3/14"),
    ("on 3/14/25", day(2025, 3, 14), "on 3/14/25"),
    ("on 14.03.2025", day(2025, 3, 14), "on 14.03.2025"),
    ("February 29", day(2024, 2, 29), "February 29"),
    ("on the 3rd", day(2026, 11, 3), "on the 3rd"),
    ("on the 28th?", day(2026, 10, 28), "on the 28th"),
    ("March 3 in the evening", (at(2026, 3, 3, 18), at(2026, 3, 4)), "March 3 in the evening"),
    # years, seasons, holidays, vague
    ("in 2024", (at(2024, 1, 1), at(2025, 1, 1)), "in 2024"),
    ("last summer", (at(2026, 6, 1), at(2026, 9, 1)), "last summer"),
    ("last winter", (at(2025, 12, 1), at(2026, 3, 1)), "last winter"),
    ("in the fall", (at(2026, 9, 1), at(2026, 12, 1)), "in the fall"),
    ("the summer of 2024", (at(2024, 6, 1), at(2024, 9, 1)), "the summer of 2024"),
    ("over Christmas", (at(2025, 12, 24), at(2025, 12, 27)), "over Christmas"),
    ("at Easter", (at(2026, 4, 3), at(2026, 4, 7)), "at Easter"),
    ("on New Year's Eve", day(2025, 12, 31), "on New Year's Eve"),
    ("recently", (at(2026, 11, 12), at(2026, 11, 27)), "recently"),
    ("what have I been up to lately", (at(2026, 11, 12), at(2026, 11, 27)), "lately"),
    ("in the past two weeks", (at(2026, 11, 12), at(2026, 11, 27)), "in the past two weeks"),
    ("the last few days", (at(2026, 11, 23), at(2026, 11, 27)), "the last few days"),
    ("the other day", (at(2026, 11, 19), at(2026, 11, 26)), "the other day"),
]


@pytest.mark.parametrize(("question", "expected", "expression"), RANGES)
def test_find_time_range(
    question: str, expected: tuple[datetime, datetime], expression: str
) -> None:
    found = find_time_range(question, NOW)
    assert found is not None
    assert (found.start, found.end) == expected
    assert found.expression == expression
    assert found.start.tzinfo is BERLIN and found.end.tzinfo is BERLIN


@pytest.mark.parametrize(
    "question",
    [
        "what's my favourite colour?",
        "",
        "I may go to the party",
        "May I ask you something?",
        "This may sound odd, but do you dream?",
        "On second thought, what do you think?",
        "I need a second",
        "I talked to June about it",
        "I had a bad fall",
        "the spring in my step",
        "I ate 1/2 of the cake",
        "I live on the second floor",
        "I counted 2024 sheep",
        "what did we do on the last day of the trip",
        "see you in 10 days",
        "what do you do in the morning",
        "the past is the past",
    ],
)
def test_no_time_expression(question: str) -> None:
    assert find_time_range(question, NOW) is None


@pytest.mark.parametrize(
    ("question", "stripped"),
    [
        ("what did I do last Tuesday?", "what did I do?"),
        ("Last Tuesday, what did I eat?", "what did I eat?"),
        ("what did I do, yesterday?", "what did I do?"),
        ("did I mention my sister in May 2024 at all", "did I mention my sister at all"),
        ("what was yesterday's plan", "what was plan"),
        ("which books did I read over Christmas?", "which books did I read?"),
    ],
)
def test_strip_time_expression(question: str, stripped: str) -> None:
    found = find_time_range(question, NOW)
    assert found is not None
    assert strip_time_expression(question, found) == stripped


def test_strip_leaves_text_when_expression_absent() -> None:
    found = TimeRange(NOW, NOW, "last week")
    assert strip_time_expression("hello there", found) == "hello there"


def utc_hours(found: TimeRange) -> float:
    return (found.end.astimezone(UTC) - found.start.astimezone(UTC)).total_seconds() / 3600


@pytest.mark.parametrize(
    ("now", "question", "start", "hours"),
    [
        # autumn: 25 October 2026 has 25 hours; October 31 days + 1 hour
        (NOW, "on October 25", at(2026, 10, 25), 25),
        (NOW, "a month ago", at(2026, 10, 1), 31 * 24 + 1),
        # spring: 29 March 2026 has 23 hours
        (datetime(2026, 3, 30, 12, tzinfo=BERLIN), "yesterday", at(2026, 3, 29), 23),
        (datetime(2026, 3, 29, 10, tzinfo=BERLIN), "last night", at(2026, 3, 28, 18), 11),
        (datetime(2026, 3, 30, 12, tzinfo=BERLIN), "last weekend", at(2026, 3, 28), 47),
    ],
)
def test_dst_boundaries(now: datetime, question: str, start: datetime, hours: float) -> None:
    found = find_time_range(question, now)
    assert found is not None
    assert found.start == start
    assert found.start.utcoffset() != found.end.utcoffset()
    assert utc_hours(found) == hours


def test_days_are_computed_in_nows_time_zone() -> None:
    instant = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    tokyo = ZoneInfo("Asia/Tokyo")
    in_utc = find_time_range("today", instant)
    in_tokyo = find_time_range("today", instant.astimezone(tokyo))
    assert in_utc is not None and in_tokyo is not None
    assert in_utc.start == datetime(2026, 11, 26, tzinfo=UTC)
    assert in_tokyo.start == datetime(2026, 11, 27, tzinfo=tokyo)
    assert in_tokyo.start.tzinfo is tokyo


def test_tonight_after_midnight_is_the_night_under_way() -> None:
    found = find_time_range("tonight", datetime(2026, 11, 27, 1, 0, tzinfo=BERLIN))
    assert found is not None
    assert (found.start, found.end) == (at(2026, 11, 26, 18), at(2026, 11, 27, 6))


def test_month_already_begun_this_year() -> None:
    found = find_time_range("in May", datetime(2026, 5, 3, tzinfo=BERLIN))
    assert found is not None
    assert found.start == at(2026, 5, 1)
    earlier = find_time_range("in May", datetime(2026, 4, 30, tzinfo=BERLIN))
    assert earlier is not None
    assert earlier.start == at(2025, 5, 1)


def test_leftmost_expression_wins() -> None:
    found = find_time_range("yesterday, or maybe last week?", NOW)
    assert found is not None
    assert found.expression == "yesterday"


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        find_time_range("today", datetime(2026, 11, 26, 15, 30))
