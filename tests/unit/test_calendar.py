"""The calendar: its store and recurrences, the skills by conversation, consent, and
sync against a fake CalDAV transport (the real server is in tests/integration)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from os1.skills.caldav import Account, CalDAVClient, CalDAVError
from os1.skills.calendar import (
    CalendarError,
    CalendarStore,
    day_bounds,
    new_event,
    parse_calendar,
    split_by_uid,
)
from os1.skills.calendar_intent import CalendarParser
from os1.skills.calendar_skills import Remote
from os1.skills.calendar_sync import CalendarSync
from os1.skills.router import SkillRouter
from os1.skills.when import find_days
from os1.store.db import Database
from tests.conftest import MovableClock

ZONE = ZoneInfo("Europe/Berlin")
WEDNESDAY_3PM = datetime(2026, 12, 9, 15, 0, tzinfo=ZONE)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(WEDNESDAY_3PM.astimezone(UTC))


def _router(db: Database, clock: MovableClock, remote: Remote | None = None) -> SkillRouter:
    return SkillRouter(db, lambda: ("Europe/Berlin", ZONE), clock, lambda: remote or Remote())


def _day(router: SkillRouter, day: date) -> list[str]:
    found = router.calendar.between(*day_bounds(day, day, ZONE), ZONE)
    return [f"{o.start:%H:%M} {o.title}" for o in found]


def test_put_list_and_cancel_by_conversation(clock: MovableClock) -> None:
    router = _router(Database(":memory:"), clock)
    added = router.handle("put dinner with Amy on Friday at 8")
    assert added is not None and added.outcome == "done"
    assert "Friday at 8 PM" in added.say
    assert _day(router, date(2026, 12, 11)) == ["20:00 dinner with Amy"]
    assert added.data["event"]["people"] == ["Amy"]

    clash = router.handle("schedule a call with Bob on Friday at 8:30pm")
    assert clash is not None and "overlaps with dinner with Amy" in clash.say

    listed = router.handle("what's on Friday?")
    assert listed is not None and listed.outcome == "done"
    assert listed.say.startswith("You have 2 things on Friday")
    assert (listed.data["from"], listed.data["to"]) == ("2026-12-11", "2026-12-11")

    gone = router.handle("take the dinner with Amy off my calendar")
    assert gone is not None and gone.outcome == "done"
    assert _day(router, date(2026, 12, 11)) == ["20:30 call with Bob"]
    assert [a.skill for a in router.log.recent(2)] == ["calendar.list", "calendar.cancel"]


def test_mentions_are_left_to_the_conversation(clock: MovableClock) -> None:
    router = _router(Database(":memory:"), clock)
    for said in (
        "I had dinner with Amy on Friday at 8",
        "what's on your mind?",
        "put the kettle on",
        "my calendar is so full this week",
        "cancel culture is weird",
    ):
        assert router.handle(said) is None, said
    assert router.calendar.count() == 0


def test_a_time_is_asked_for_then_the_answer_completes_it(clock: MovableClock) -> None:
    router = _router(Database(":memory:"), clock)
    asked = router.handle("put dinner with Amy in my calendar")
    assert asked is not None and asked.outcome == "question"
    assert router.calendar.count() == 0
    done = router.handle("Friday at 8")
    assert done is not None and done.outcome == "done"
    assert _day(router, date(2026, 12, 11)) == ["20:00 dinner with Amy"]


@pytest.mark.parametrize(
    "said",
    [
        "add a meeting on the 31st of February at 10",
        "put yoga on the 32nd at 6pm",
        "add tennis with Raj tomorrow at 7 or 8",
        "put dinner with Paul in for Thursday or Friday at 8",
        "add lunch with my sister next Wednesday at 1",
        "schedule a meeting with Tom at 7",
        "add a call with the bank on Monday the 15th at 3pm",
    ],
)
def test_impossible_or_ambiguous_times_get_a_question(clock: MovableClock, said: str) -> None:
    router = _router(Database(":memory:"), clock)
    result = router.handle(said)
    assert result is not None and result.outcome == "question", said
    assert result.say.endswith("?")
    assert router.calendar.count() == 0


def test_whole_day_events_and_day_ranges(clock: MovableClock) -> None:
    router = _router(Database(":memory:"), clock)
    result = router.handle("put Mom's birthday on the 20th in my calendar")
    assert result is not None and result.data["event"]["all_day"] is True
    assert "(all day)" in result.say
    assert find_days("what's on this weekend", WEDNESDAY_3PM).first == date(2026, 12, 12)
    week = router.handle("what's my schedule next week")
    assert week is not None and (week.data["from"], week.data["to"]) == (
        "2026-12-14",
        "2026-12-20",
    )
    assert [e["title"] for e in week.data["events"]] == ["Mom's birthday"]


def test_recurring_events_expand_in_their_zone(clock: MovableClock) -> None:
    store = CalendarStore(Database(":memory:"), clock)
    start = datetime(2026, 10, 5, 18, tzinfo=ZONE)  # a Monday in summer time
    weekly = new_event("yoga", start, start + timedelta(hours=1), rrule="FREQ=WEEKLY;BYDAY=MO",
                       now=WEDNESDAY_3PM)  # fmt: skip
    store.put(weekly, ZONE, push=None)
    found = store.between(*day_bounds(date(2026, 12, 7), date(2026, 12, 20), ZONE), ZONE)
    assert [(o.start.astimezone(ZONE).strftime("%m-%d %H:%M"), o.repeats) for o in found] == [
        ("12-07 18:00", True),
        ("12-14 18:00", True),
    ]  # 18:00 on the wall clock after the clocks went back


def test_ics_round_trip_and_bad_files(clock: MovableClock, tmp_path: Path) -> None:
    store = CalendarStore(Database(":memory:"), clock)
    at = datetime(2026, 12, 11, 20, tzinfo=ZONE)
    store.put(new_event("<b>dinner</b>\x07", at, at + timedelta(hours=2), now=at), ZONE, push=None)
    text = store.export().to_ical()
    again = split_by_uid(parse_calendar(text))
    assert len(again) == 1
    other = CalendarStore(Database(":memory:"), clock)
    for calendar in again.values():
        other.put(calendar, ZONE, push=None)
    [occurrence] = other.between(at - timedelta(hours=1), at + timedelta(hours=1), ZONE)
    assert occurrence.title == "<b>dinner</b>"  # shown as text; the control character gone
    assert occurrence.end - occurrence.start == timedelta(hours=2)
    for bad in (b"", b"hello", b"BEGIN:VCALENDAR\r\ngarbage\r\n"):
        with pytest.raises(CalendarError):
            parse_calendar(bad)


def test_ten_thousand_events(clock: MovableClock) -> None:
    db = Database(":memory:")
    store = CalendarStore(db, clock)
    first = datetime(2027, 1, 1, 9, tzinfo=ZONE)
    for n in range(10_000):
        at = first + timedelta(hours=n)
        store.put(new_event(f"event {n}", at, at + timedelta(minutes=30), now=first), ZONE,
                  push=None)  # fmt: skip
    day = store.between(*day_bounds(date(2027, 2, 1), date(2027, 2, 1), ZONE), ZONE)
    assert len(day) == 24 and store.count() == 10_000


def test_writes_to_the_server_wait_for_a_yes(clock: MovableClock) -> None:
    db = Database(":memory:")
    router = _router(db, clock, Remote("dav.example.org"))
    added = router.handle("put dinner with Amy on Friday at 8")
    assert added is not None and added.say.endswith(
        "Shall I add it to your calendar on dav.example.org too?"
    )
    uid = added.data["uid"]
    assert router.calendar.get(uid).push == "ask"  # type: ignore[union-attr]
    yes = router.handle("yes please")
    assert yes is not None and yes.outcome == "done"
    assert router.calendar.get(uid).push == "send"  # type: ignore[union-attr]
    assert router.log.recent(1)[0].skill == "consent.calendar.write"

    other = router.handle("add lunch with Sam tomorrow at noon")
    assert other is not None
    no = router.handle("no, keep it here")
    assert no is not None and "this computer only" in no.say
    assert router.calendar.get(other.data["uid"]).push == "local"  # type: ignore[union-attr]
    assert router.handle("yes") is None  # nothing is waiting for an answer any more


def test_allowed_writes_do_not_ask(clock: MovableClock) -> None:
    router = _router(Database(":memory:"), clock, Remote("dav.example.org", allow_writes=True))
    added = router.handle("put dinner with Amy on Friday at 8")
    assert added is not None and "Shall I" not in added.say
    assert router.calendar.get(added.data["uid"]).push == "send"  # type: ignore[union-attr]


def test_reminders_stay_reminders() -> None:
    from os1.skills.requests import RequestParser

    parser = RequestParser()
    parsed = parser.parse("remind me about dinner with Amy on Friday at 7", WEDNESDAY_3PM)
    assert parsed.intent == "reminder.add"
    assert CalendarParser().parse("what's on Netflix tonight", WEDNESDAY_3PM).call is None


# A fake CalDAV server: one calendar at /cal/, answering what the client asks.
_MULTISTATUS = """<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"
xmlns:c="urn:ietf:params:xml:ns:caldav">{}</d:multistatus>"""
_CALENDAR_PROPS = """<d:response><d:href>/cal/</d:href><d:propstat><d:prop><d:resourcetype>
<d:collection/><c:calendar/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status>
</d:propstat></d:response>"""


def _event_response(href: str, etag: str, data: str | None = None) -> str:
    body = f"<c:calendar-data>{data}</c:calendar-data>" if data is not None else ""
    return (
        f"<d:response><d:href>{href}</d:href><d:propstat><d:prop><d:getetag>{etag}</d:getetag>"
        f"{body}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
    )


def _fake_server(events: dict[str, tuple[str, str]]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "PROPFIND":
            return httpx.Response(207, text=_MULTISTATUS.format(_CALENDAR_PROPS))
        if request.method == "REPORT" and b"calendar-multiget" in request.content:
            found = "".join(_event_response(h, e, d) for h, (e, d) in events.items())
            return httpx.Response(207, text=_MULTISTATUS.format(found))
        if request.method == "REPORT":
            found = "".join(_event_response(h, e) for h, (e, _) in events.items())
            return httpx.Response(207, text=_MULTISTATUS.format(found))
        return httpx.Response(405)

    return httpx.MockTransport(handle)


def _sync(db: Database, clock: MovableClock, transport: httpx.BaseTransport) -> CalendarSync:
    client = CalDAVClient(Account("http://dav.test/cal/", "me", "pw"), transport=transport)
    return CalendarSync(
        CalendarStore(db, clock), client, lambda: ("Europe/Berlin", ZONE), allow_writes=False,
        clock=clock,
    )  # fmt: skip


def test_malformed_icalendar_from_the_server_is_skipped(clock: MovableClock) -> None:
    at = datetime(2026, 12, 11, 20, tzinfo=ZONE)
    good = new_event("dinner", at, at + timedelta(hours=1), now=at).to_ical().decode()
    events = {
        "/cal/good.ics": ('"1"', good.replace("&", "&amp;").replace("<", "&lt;")),
        "/cal/bad.ics": ('"2"', "BEGIN:VCALENDAR\nthis is not icalendar\n"),
    }
    db = Database(":memory:")
    report = _sync(db, clock, _fake_server(events)).run()
    assert report.pulled == 1 and report.skipped == ["http://dav.test/cal/bad.ics"]
    assert [e.title for e in CalendarStore(db, clock).all()] == ["dinner"]


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (httpx.ConnectError("refused"), "can't be reached"),
        (httpx.ReadTimeout("slow"), "did not answer in time"),
        (None, "refused the user name or password"),
    ],
)
def test_a_failing_server_loses_nothing_here(
    clock: MovableClock, failure: Exception | None, message: str
) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if failure is not None:
            raise failure
        return httpx.Response(401)

    db = Database(":memory:")
    router = _router(db, clock, Remote("dav.test", allow_writes=True))
    router.handle("put dinner with Amy on Friday at 8")
    with pytest.raises(CalDAVError, match=message):
        _sync(db, clock, httpx.MockTransport(handle)).run()
    [kept] = CalendarStore(db, clock).all()
    assert kept.title == "dinner with Amy" and kept.push == "send"  # still to be sent
    state = router.state.get("calendar.sync")
    assert state is not None and state["ok"] is False and message in state["error"]


def test_the_morning_briefing_is_said_once_a_day(clock: MovableClock) -> None:
    from datetime import time

    from os1.skills.briefing import Briefing
    from os1.skills.scheduler import Scheduler

    db = Database(":memory:")
    router = _router(db, clock)
    router.handle("put dinner with Amy tomorrow at 8")
    router.handle("remind me to call Annie tomorrow at 6pm")
    at: list[time | None] = [time(7, 30)]
    zone = lambda: ("Europe/Berlin", ZONE)  # noqa: E731
    briefing = Briefing(db, "Iris", zone, lambda: at[0], clock=clock)
    scheduler = Scheduler(db, "Iris", zone, clock=clock, briefing=briefing)
    assert [m.meta.get("kind") for m in scheduler.fire_due()] == ["briefing"]  # today, late
    assert scheduler.fire_due() == []  # once a day
    clock.advance(hours=16)  # Thursday 07:00: not yet
    assert scheduler.fire_due() == []
    clock.advance(minutes=31)
    [said] = scheduler.fire_due()
    assert said.text.startswith("Good morning. It's Thursday, December 10.")
    assert "dinner with Amy at 8 PM" in said.text and "call Annie (today at 6 PM)" in said.text
    # A second process on the same data directory does not say it again.
    again = Briefing(db, "Iris", zone, lambda: at[0], clock=clock)
    assert again.due() is None
    at[0] = None  # turned off
    clock.advance(days=1)
    assert [m.meta.get("kind") for m in scheduler.fire_due()] == ["reminder"]  # no briefing


def test_half_a_time_then_the_other_half(clock: MovableClock) -> None:
    router = _router(Database(":memory:"), clock)
    asked = router.handle("add a meeting with Tom at 7")
    assert asked is not None and asked.say == "Which day is meeting with Tom?"
    which = router.handle("tomorrow")
    assert which is not None and which.say == "Is that 7 in the morning or the evening?"
    done = router.handle("in the evening")
    assert done is not None
    assert done.outcome == "done", done.say
    assert _day(router, date(2026, 12, 10)) == ["19:00 meeting with Tom"]


def test_careful_questions_for_an_event(clock: MovableClock) -> None:
    """Where people mean either, a calendar asks; where one reading is sure, it does not.
    (The clock stands on Wednesday 9 December 2026, 3 pm, in Berlin.)"""
    router = _router(Database(":memory:"), clock)
    for said, asked in [
        ("put dinner with Amy on Wednesday at 8", "Today is Wednesday: do you mean today or"),
        ("add a haircut next Friday at 2pm", "This Friday, December 11, or the one after"),
        ("book the optician for 3/4 at 10am", "Is 3/4 April 3 or March 4?"),
        ("gym with Jo at 6 tomorrow", "Is that 6 in the morning or the evening?"),
    ]:
        result = router.handle(said)
        assert result is not None and result.outcome == "question", said
        assert result.say.startswith(asked), result.say
        router.state.delete("skills.pending")
    for said, day, expected in [
        ("book the MOT on 20/2 at 8:30am", date(2027, 2, 20), "08:30 MOT"),
        ("landlord inspection tomorrow 1430, please add it", date(2026, 12, 10), "14:30"),
        ("add my flight to Oslo on December 21st at 06:15", date(2026, 12, 21), "06:15 flight"),
        ("add gig at the o2 fri 18th 7.30pm", date(2026, 12, 18), "19:30 gig"),
        ("call with the bank 10 past 2 tomorrow afternoon, stick it in", date(2026, 12, 10),
         "14:10 call with the bank"),
        ("a week on Monday I've got the dentist at 9:15am, add that please", date(2026, 12, 21),
         "09:15 dentist"),
        ("squeeze in a quick call with Femi at 4:30pm", date(2026, 12, 9), "16:30 quick call"),
        ("add a call with Ingrid at 6pm tomorrow, no wait, make it 6:30", date(2026, 12, 10),
         "18:30 call with Ingrid"),
    ]:  # fmt: skip
        result = router.handle(said)
        assert result is not None and result.outcome == "done", (said, result and result.say)
        assert any(line.startswith(expected) for line in _day(router, day)), _day(router, day)


def test_cancel_words_inside_a_new_event_do_not_cancel(clock: MovableClock) -> None:
    router = _router(Database(":memory:"), clock)
    router.handle("put a call with Mum on Friday at 6pm")
    made = router.handle(
        "schedule a call with the landlord to remove the old boiler on Friday at 10"
    )
    assert made is not None
    assert made.data.get("event"), made.say
    assert len(_day(router, date(2026, 12, 11))) == 2


def test_a_yes_answers_only_the_question_just_asked(clock: MovableClock) -> None:
    router = _router(Database(":memory:"), clock, Remote("dav.example.org"))
    first = router.handle("put dinner with Amy on Friday at 8")
    assert first is not None
    assert router.handle("how are you?") is None
    assert router.handle("yes") is None  # not the next message: no longer an answer
    assert router.calendar.get(first.data["uid"]).push == "ask"  # type: ignore[union-attr]


def _ics(summary: str, uid: str, extra: str = "", start: str = "20261211T200000Z") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:{start}\r\n"
        f"DTEND:20261211T210000Z\r\nSUMMARY:{summary}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def test_bad_events_from_the_server_never_block_a_sync(clock: MovableClock) -> None:
    events = {
        "/cal/a.ics": ('"1"', _ics("dinner", "a@x")),
        "/cal/b.ics": ('"1"', _ics("broken", "b@x", start="garbage")),
        "/cal/c.ics": ('"1"', _ics("every second", "c@x", "RRULE:FREQ=SECONDLY\r\n")),
        "/cal/d.ics": ('"1"', _ics("bad rule", "d@x", "RRULE:FREQ=FOO\r\n")),
    }
    db = Database(":memory:")
    report = _sync(db, clock, _fake_server(events)).run()
    assert report.pulled == 1 and len(report.skipped) == 3
    # The server puts another event where "dinner" was: it replaces it here.
    events["/cal/a.ics"] = ('"2"', _ics("lunch", "e@x"))
    report = _sync(db, clock, _fake_server(events)).run()
    assert [e.title for e in CalendarStore(db, clock).all()] == ["lunch"]
    store = CalendarStore(db, clock)
    assert len(store.between(*day_bounds(date(2026, 12, 11), date(2026, 12, 11), ZONE), ZONE)) == 1


def test_an_import_is_all_or_nothing(clock: MovableClock) -> None:
    store = CalendarStore(Database(":memory:"), clock)
    good = parse_calendar(_ics("dinner", "a@x"))
    bad = parse_calendar(_ics("every second", "c@x", "RRULE:FREQ=SECONDLY\r\n"))
    with pytest.raises(CalendarError, match="more often than daily"):
        store.put_many([good, bad], ZONE, push=None)
    assert store.count() == 0


def test_cancelled_while_being_sent_is_taken_off_the_server(clock: MovableClock) -> None:
    db = Database(":memory:")
    router = _router(db, clock, Remote("dav.test", allow_writes=True))
    made = router.handle("put dinner with Amy on Friday at 8")
    assert made is not None
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if request.method == "PUT":
            router.handle("cancel dinner with Amy")  # the user, while the PUT is in flight
            return httpx.Response(201, headers={"ETag": '"1"'})
        if request.method == "DELETE":
            return httpx.Response(204)
        return _fake_server({}).handle_request(request)

    report = _sync(db, clock, httpx.MockTransport(handle)).run()
    assert (report.pushed, report.deleted) == (1, 1)
    assert seen[-2:] == ["PUT", "DELETE"]
    assert CalendarStore(db, clock).all(with_deleted=True) == []


def test_a_plan_mentioned_is_followed_up_once_afterwards(clock: MovableClock) -> None:
    from datetime import time

    from os1.skills.followups import FollowUps
    from os1.skills.scheduler import Scheduler

    db = Database(":memory:")
    zone = lambda: ("Europe/Berlin", ZONE)  # noqa: E731
    quiet = (time(22), time(8))
    follow = FollowUps(db, zone, lambda: quiet, clock)
    router = SkillRouter(db, zone, clock, Remote, follow)
    assert router.handle("I have an interview with the publisher on Friday, so nervous") is None
    assert router.handle("I had dinner with Amy yesterday") is None  # the past: no question
    assert router.handle("we're having dinner with Dana on Friday at 8") is None
    assert [f.topic for f in follow.pending()] == [
        "interview with the publisher",
        "dinner with Dana",
    ]
    scheduler = Scheduler(db, "Iris", zone, clock=clock, followups=follow)
    assert scheduler.fire_due() == []
    clock.advance(days=2, hours=4)  # Friday 19:00
    [asked] = scheduler.fire_due()
    assert asked.text == "How did the interview with the publisher go?"
    assert asked.meta["kind"] == "followup"
    assert scheduler.fire_due() == []  # once; dinner ends at 23:00, in quiet hours
    dropped = router.handle("please don't bring that up again")
    assert dropped is not None
    assert dropped.say == "Okay, I won't bring up the interview with the publisher again."
    assert router.handle("I have another interview on Monday") is None  # that subject: never
    clock.advance(hours=4)  # 23:00, quiet
    assert scheduler.fire_due() == []
    clock.advance(hours=11)  # Saturday 10:00, after quiet hours
    [later] = scheduler.fire_due()
    assert later.text == "How did the dinner with Dana go?"
    assert follow.pending() == []


def test_numbers_and_sentences_that_only_look_like_requests(clock: MovableClock) -> None:
    router = _router(Database(":memory:"), clock)
    for said in [
        "I need a call with my mum, I miss her",
        "is the pharmacy open tomorrow?",
        "wake me when it's over",
        "my friend said give me a shout if you need anything",
        "I made a sign, I'll stick it on the door tomorrow",
        "book club is on Thursday at 7",
        "add Annie to the guest list for Saturday",
        "make time for yourself this weekend",
        "the doctor wants to see me on Tuesday at 2",
        "if the train's late tomorrow I'll miss my 8:30 meeting",
        "haha my boss just yelled 'cancel the 3pm meeting' to the whole office",
        "I would book a massage at 3 tomorrow if I had the money",
        "Grandma's flight gets in at 5:30 on Saturday",
        "grand, see you at the match Sunday at 2 so",
        "don't cancel anything, I was just thinking out loud about the gym tomorrow",
    ]:
        assert router.handle(said) is None, said
    for said, expected in [
        ("book a table for 4 to 6 people on friday at 7pm", "19:00 table for 4 to 6 people"),
        ("Add 'book club' on Friday at 7pm", "19:00 'book club'"),
        ("if possible, add lunch with Sam on Friday at 1", "13:00 lunch with Sam"),
        ("put a meeting in room 1105 on friday at 3pm", "15:00 meeting"),
    ]:
        result = router.handle(said)
        assert result is not None and result.outcome == "done", (said, result and result.say)
        assert expected in _day(router, date(2026, 12, 11)), _day(router, date(2026, 12, 11))
    [meeting] = [
        o
        for o in router.calendar.between(
            *day_bounds(date(2026, 12, 11), date(2026, 12, 11), ZONE), ZONE
        )
        if o.title == "meeting"
    ]
    assert meeting.location == "room 1105"  # the room is where, and 1105 no time
    taken = router.handle("remind me to take 1/2 a pill at 9pm")
    assert taken is not None and taken.outcome == "done", taken and taken.say
