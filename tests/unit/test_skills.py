"""Skills: time words, the intent parser, reminders, the action log and the scheduler."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from os1.app import App
from os1.llm.fake import FakeLLM
from os1.llm.openai_compat import OpenAICompatibleLLM
from os1.skills.base import FakeSkill, Registry, SkillCall, SkillError, SkillResult
from os1.skills.intent import IntentParser
from os1.skills.reminders import ReminderStore, clean_text
from os1.skills.requests import RequestParser
from os1.skills.router import SkillRouter
from os1.skills.scheduler import Scheduler
from os1.skills.when import find_when
from os1.store.conversations import Conversations
from os1.store.db import Database
from tests.conftest import MovableClock

ZONE = ZoneInfo("America/New_York")
FRIDAY_10AM = datetime(2026, 12, 4, 10, 0, tzinfo=ZONE)


def local(when: datetime | None) -> str | None:
    return when.astimezone(ZONE).strftime("%Y-%m-%d %H:%M") if when else None


@pytest.mark.parametrize(
    ("words", "due"),
    [
        ("tomorrow at 6pm", "2026-12-05 18:00"),
        ("in 20 minutes", "2026-12-04 10:20"),
        ("at six", "2026-12-04 18:00"),
        ("at 9", "2026-12-04 21:00"),  # 9 am has passed: nine tonight
        ("tonight at 8", "2026-12-04 20:00"),
        ("half past five", "2026-12-04 17:30"),
        ("quarter to 7", "2026-12-04 18:45"),
        ("monday", "2026-12-07 09:00"),
        ("december 10th at 3pm", "2026-12-10 15:00"),
        ("the 12th at 9am", "2026-12-12 09:00"),
        ("in half an hour", "2026-12-04 10:30"),
        ("on the 3rd of january at noon", "2027-01-03 12:00"),
        ("this time tomorrow", "2026-12-05 10:00"),
        ("on 2027-05-20 at 15:30", "2027-05-20 15:30"),
        ("on thanksgiving at 2", "2027-11-25 14:00"),  # New York: the fourth Thursday
        ("easter monday", "2027-03-29 09:00"),
    ],
)
def test_time_words_resolve_in_the_users_zone(words: str, due: str) -> None:
    when = find_when(words, FRIDAY_10AM)
    assert when.question is None
    assert local(when.due) == due


@pytest.mark.parametrize(
    "words",
    ["on the 31st of february", "at 25:00", "next friday", "today at 8am", "at 6 or 7"],
)
def test_impossible_or_ambiguous_times_get_a_question(words: str) -> None:
    when = find_when(words, FRIDAY_10AM)
    assert when.due is None and when.every is None
    assert when.question and when.question.endswith("?")


def test_recurrences() -> None:
    monday = find_when("every monday at 9", FRIDAY_10AM).every
    assert monday is not None and monday.label() == "weekly MO 09:00"
    assert local(monday.next_after(FRIDAY_10AM, ZONE)) == "2026-12-07 09:00"
    daily = find_when("every day at 7am", FRIDAY_10AM).every
    assert daily is not None and local(daily.next_after(FRIDAY_10AM, ZONE)) == "2026-12-05 07:00"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Can you remind me to call Annie tomorrow at 6pm?", "reminder.add"),
        ("uh remind me tomorrow I need to call Annie at six", "reminder.add"),
        ("what are my reminders?", "reminder.list"),
        ("cancel the Annie reminder", "reminder.cancel"),
        ("move the dentist reminder to 7", "reminder.move"),
        ("I called Annie yesterday at 6", "none"),
        ("You remind me of my sister.", "none"),
        ("My interview with the publisher is on Friday at 10.", "none"),
        ("Hi. I had a long day writing letters at work.", "none"),
        # Said out of the blue, these are conversation, not changes to a reminder.
        ("I want to make it to the party at 8", "none"),
        ("I had to push it to Friday", "none"),
        ("never mind that", "none"),
        ("I can't stop thinking about it", "none"),
        ("Can you remind me what my sister's name is?", "none"),
        ("Don't let me forget how much I love you", "none"),
        ("set a timer for 10 minutes", "reminder.add"),
        ("I want a reminder at 5 to call mum", "reminder.add"),
        ("i need to be reminded at 6 to leave", "reminder.add"),
        # A request beside a sentence that only tells is still one.
        ("Move the dentist reminder to 5, I set it wrong", "reminder.move"),
        ("I can't make it at 6, can you move the dentist reminder to 7?", "reminder.move"),
        ("I forgot to set a reminder, remind me to call the bank at 10", "reminder.add"),
        ("don't remind me, just set an alarm for 6", "reminder.add"),
        ("would you mind reminding me where I parked this morning", "none"),
        ("would you mind reminding me on Thursday at 2 to send the invoice", "reminder.add"),
        ("did I set a reminder for the dentist?", "reminder.list"),
        ("forget about reminding me to call annie", "reminder.cancel"),
        ("the dentist reminder, can you make it 8am on tuesday instead", "reminder.move"),
        # Someone else's reminders and alarms, told about.
        ("I told Sam to remind me tomorrow at 10 and he forgot", "none"),
        ("my mum set a reminder on her phone for her pills at 8", "none"),
        ("the recipe says to set a timer for 40 minutes", "none"),
        ("my old phone used to remind me to drink water every hour", "none"),
    ],
)
def test_the_parser_acts_only_on_requests(text: str, intent: str) -> None:
    assert IntentParser().parse(text, FRIDAY_10AM).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [("move it to 7", "reminder.move"), ("cancel the Annie one", "reminder.cancel")],
)
def test_right_after_a_reminder_it_means_the_reminder(text: str, intent: str) -> None:
    assert IntentParser().parse(text, FRIDAY_10AM, just_talked_about=True).intent == intent


def test_a_timer_runs_from_now_and_an_alarm_needs_no_words() -> None:
    parser = IntentParser()
    timer = parser.parse("set a timer for 25 minutes", FRIDAY_10AM).call
    assert timer is not None and timer.arguments["text"] == "timer"
    assert local(find_when(timer.arguments["when"], FRIDAY_10AM).due) == "2026-12-04 10:25"
    alarm = parser.parse("set an alarm for 6:30am tomorrow", FRIDAY_10AM).call
    assert alarm is not None and alarm.arguments["text"] == "alarm"


def test_holidays_follow_the_users_country() -> None:
    from datetime import date

    from os1.skills.holidays import holiday_in

    assert holiday_in("thanksgiving", 2027, "America/Toronto") == date(2027, 10, 11)
    assert holiday_in("Thanksgiving", 2027, "America/Chicago") == date(2027, 11, 25)
    assert holiday_in("victoria day", 2027) == date(2027, 5, 24)
    assert holiday_in("mothers day", 2027, "Europe/London") == date(2027, 3, 7)
    assert holiday_in("mother's day", 2027, "America/New_York") == date(2027, 5, 9)
    assert holiday_in("memorial day", 2027) == date(2027, 5, 31)
    assert holiday_in("good friday", 2027) == date(2027, 3, 26)
    assert holiday_in("groundhog day", 2027) is None
    assert holiday_in("thanksgiving", 2027, "Canada/Eastern") == date(2027, 10, 11)  # old name
    assert holiday_in("labour day", 2027, "Australia/Melbourne") is None  # theirs differs: ask


def test_hours_past_midnight_and_the_night_the_clocks_go_back() -> None:
    assert local(find_when("at 0:30", FRIDAY_10AM).due) == "2026-12-05 00:30"
    early = datetime(2026, 12, 4, 0, 10, tzinfo=ZONE)
    assert local(find_when("at 2 at night", early).due) == "2026-12-04 02:00"
    # 1 November 2026, 01:30 the second time (EST): ten minutes later is still ahead.
    repeated = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=ZONE)
    later = find_when("in 10 minutes", repeated).due
    assert later is not None and later.timestamp() - repeated.timestamp() == 600


def test_the_task_keeps_the_users_words() -> None:
    parsed = IntentParser().parse("uh remind me tomorrow I need to call Annie at six", FRIDAY_10AM)
    assert parsed.call is not None
    assert parsed.call.arguments["text"] == "call Annie"


def _router(db: Database, clock: MovableClock) -> SkillRouter:
    return SkillRouter(db, lambda: ("America/New_York", ZONE), clock)


@pytest.fixture
def friday() -> MovableClock:
    return MovableClock(FRIDAY_10AM.astimezone(UTC))


def test_saying_a_reminder_is_not_needed_cancels_only_one_that_exists(
    friday: MovableClock,
) -> None:
    router = _router(Database(":memory:"), friday)
    said = "no need to remind me about the dentist, I've got it"
    assert router.handle(said) is None  # there is no such reminder: just talk
    assert router.log.recent() == []
    router.handle("remind me about the dentist on Monday at 9")
    router.handle("remind me to water the ferns on Sunday")
    friday.advance(minutes=10)
    cancelled = router.handle(said)
    assert cancelled is not None and cancelled.outcome == "done"
    assert [r.text for r in router.reminders.active()] == ["water the ferns"]


@pytest.mark.parametrize(
    "text",
    [
        "I need to call Annie tomorrow at 6",
        "remind me never to eat there again",
        "the alarm is set for 7",
        "make it snappy",
        "put it this way, I'm not going at 7",
        "idk if i can make it at 6 tbh",
        "I wish someone would remind me to drink water",
        "funny story, I once set my alarm for 6pm instead of 6am",
        "my mom texted to remind me about grandpa's birthday on sunday",
        "i set two alarms for tomorrow",
        "i'll set an alarm later",
        "can you stop reminding me of my ex",
        "ugh don't remind me",
        "I forgot to set a reminder for the dentist",
    ],
)
def test_words_that_sound_like_requests_but_tell(friday: MovableClock, text: str) -> None:
    router = _router(Database(":memory:"), friday)
    router.handle("remind me to call Annie at 5pm")  # just talked about one: the hard case
    assert router.handle(text) is None, text
    assert [r.text for r in router.reminders.active()] == ["call Annie"]


def test_a_reminder_not_needed_is_never_the_latest_one_by_default(friday: MovableClock) -> None:
    router = _router(Database(":memory:"), friday)
    router.handle("remind me to take my meds every day at 8")
    router.handle("remind me to go to bed at 11pm")
    friday.advance(minutes=30)
    for said in [
        "I'll grab milk on the way home. I don't need a reminder for that.",
        "no need to remind me about the game, I'll be there",
    ]:
        assert router.handle(said) is None, said
    assert len(router.reminders.active()) == 2


def test_a_huge_message_full_of_numbers_is_read_in_linear_time() -> None:
    """64 kB (the longest message accepted) of clock-like numbers: once this took minutes,
    as patterns rescanned the text before each number. The bound only catches that."""
    import time

    started = time.perf_counter()
    for text in ("12 " * 21_000, "at 5, " * 10_000, "set " * 16_000, "put lunch " * 6_000):
        IntentParser().parse(text, FRIDAY_10AM, just_talked_about=True)
        RequestParser().parse(text, FRIDAY_10AM)
    assert time.perf_counter() - started < 20


def test_the_request_after_a_story_takes_its_own_time(friday: MovableClock) -> None:
    router = _router(Database(":memory:"), friday)
    result = router.handle(
        "so today was a lot, work ran late and I still haven't touched my taxes. can you"
        " remind me to do taxes saturday at 2"
    )
    assert result is not None and result.outcome == "done", result
    [made] = router.reminders.active()
    assert made.text == "do taxes" and local(made.due_at) == "2026-12-05 14:00"


def test_a_reminder_lifecycle_by_conversation(friday: MovableClock) -> None:
    db = Database(":memory:")
    router = _router(db, friday)
    said = router.handle("remind me to call Annie tomorrow at 6pm")
    assert said is not None and said.outcome == "done"
    assert "call Annie" in said.say and "tomorrow at 6 PM" in said.say
    moved = router.handle("move it to 7")  # right after: "it" is that reminder
    assert moved is not None and moved.outcome == "done" and "7 PM" in moved.say
    listed = router.handle("what are my reminders?")
    assert listed is not None and "call Annie, today at 7 PM" in listed.say
    cancelled = router.handle("cancel the Annie one")
    assert cancelled is not None and cancelled.outcome == "done"
    assert router.reminders.active() == []
    nothing = router.handle("cancel the dentist reminder")
    assert nothing is not None and nothing.outcome == "nothing"
    log = router.log.recent()
    assert [a.skill for a in log] == [
        "reminder.add",
        "reminder.move",
        "reminder.list",
        "reminder.cancel",
        "reminder.cancel",
    ]
    assert log[0].source_text == "remind me to call Annie tomorrow at 6pm"
    assert log[-1].outcome == "nothing"


def test_a_question_is_asked_then_answered(friday: MovableClock) -> None:
    router = _router(Database(":memory:"), friday)
    asked = router.handle("remind me to call mom")
    assert asked is not None and asked.outcome == "question"
    assert router.reminders.active() == []
    answered = router.handle("at 6pm")
    assert answered is not None and answered.outcome == "done"
    assert [r.text for r in router.reminders.active()] == ["call mom"]
    # The question is settled: a later time alone is just talk.
    assert router.handle("at 7pm") is None


def test_an_old_question_is_not_answered_later(friday: MovableClock) -> None:
    router = _router(Database(":memory:"), friday)
    router.handle("remind me to call mom")
    friday.advance(hours=1)
    assert router.handle("at 6pm") is None


def test_markup_and_control_characters_stay_text() -> None:
    assert clean_text("<b>call</b>\x1b[31m Annie\x00\nnow") == "<b>call</b> [31m Annie now"


def test_the_companion_reports_only_what_was_done(onboarded: App, fake_llm: FakeLLM) -> None:
    companion = onboarded.companion()
    before = len(fake_llm.prompts)
    turn = companion.respond("Can you remind me to call Annie tomorrow at 6pm?")
    assert turn.reply.startswith("Okay, I'll remind you: call Annie, tomorrow at 6 PM")
    assert len(fake_llm.prompts) == before  # no model asked to imagine it
    assert [r.text for r in onboarded.skills().reminders.active()] == ["call Annie"]
    chat = companion.respond("I called Annie yesterday at 6.")
    assert chat.reply == "I'm here, and I'm listening. Tell me more."
    assert len(onboarded.skills().reminders.active()) == 1


def test_skills_can_be_turned_off(onboarded: App) -> None:
    onboarded.settings.skills.enabled = False
    turn = onboarded.companion().respond("remind me to call Annie at 6pm")
    assert "remind you" not in turn.reply
    assert onboarded.skills().reminders.active() == []


def test_due_reminders_fire_once_into_the_conversation(tmp_path: Path) -> None:
    clock = MovableClock(FRIDAY_10AM.astimezone(UTC))
    path = tmp_path / "os1.db"
    first, second = Database(path), Database(path)  # two processes on one data directory
    zone = lambda: ("America/New_York", ZONE)  # noqa: E731
    store = ReminderStore(first, clock)
    store.add("call Annie", FRIDAY_10AM + timedelta(minutes=5), "America/New_York")
    schedulers = [Scheduler(db, "Iris", zone, clock=clock) for db in (first, second)]
    assert schedulers[0].fire_due() == []
    clock.advance(minutes=5)
    fired = schedulers[1].fire_due() + schedulers[0].fire_due()
    assert [m.text for m in fired] == ["Reminder: call Annie."]
    assert fired[0].meta["kind"] == "reminder" and fired[0].meta["late"] is False
    assert schedulers[0].fire_due() == [] and schedulers[1].fire_due() == []
    stored = Conversations(first, clock).recent(5)
    assert [m.text for m in stored] == ["Reminder: call Annie."]


def test_a_reminder_missed_while_off_is_said_late(friday: MovableClock) -> None:
    db = Database(":memory:")
    zone = lambda: ("America/New_York", ZONE)  # noqa: E731
    ReminderStore(db, friday).add("take the pills", FRIDAY_10AM + timedelta(hours=1), "x")
    friday.advance(hours=5)
    fired = Scheduler(db, "Iris", zone, clock=friday).fire_due()
    assert fired[0].text == "While you were away (today at 11 AM): a reminder to take the pills."


def test_a_repeating_reminder_moves_to_its_next_time(friday: MovableClock) -> None:
    db = Database(":memory:")
    router = _router(db, friday)
    router.handle("remind me to water the plants every day at 8am")
    friday.advance(hours=22)  # Saturday 8:00
    fired = Scheduler(db, "Iris", router.zone, clock=friday).fire_due()
    assert len(fired) == 1
    (again,) = router.reminders.active()
    assert local(again.due_at) == "2026-12-06 08:00"


def test_ten_thousand_reminders(friday: MovableClock) -> None:
    db = Database(":memory:")
    store = ReminderStore(db, friday)
    for n in range(10_000):
        store.add(f"task {n}", FRIDAY_10AM + timedelta(minutes=n + 1), "x")
    assert store.count_active() == 10_000
    listed = _router(db, friday).handle("what are my reminders?")
    assert listed is not None and "You have 10000 reminders" in listed.say
    friday.advance(minutes=30)
    assert len(Scheduler(db, "Iris", lambda: ("x", ZONE), clock=friday).fire_due()) == 30


def test_registry_and_fake_skill() -> None:
    fake = FakeSkill(results=[SkillResult("done", "Did it.")])
    registry = Registry([fake])
    assert registry.act(SkillCall("fake.echo", {"x": 1})).say == "Did it."
    assert fake.calls[0].arguments == {"x": 1}
    assert registry.tools()[0]["function"]["name"] == "fake_echo"
    with pytest.raises(SkillError):
        registry.act(SkillCall("nope", {}))
    with pytest.raises(ValueError):
        registry.add(FakeSkill())


def test_the_benchmark_table_holds_up() -> None:
    from os1.bench.skills import run_skills_bench

    report = run_skills_bench()
    for suite in ("reminders", "calendar"):
        halves = report[suite]
        assert halves["dev"]["cases"] + halves["heldout"]["cases"] >= 150
        assert halves["dev"]["intent_accuracy"] >= 0.95
        assert halves["dev"]["actions_from_mentions"] == 0


def _tool_server(
    calls: list[dict[str, object]], seen: list[dict[str, object]]
) -> OpenAICompatibleLLM:
    """An OpenAI-compatible backend over a fake transport that answers with ``calls``."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        message = {"role": "assistant", "content": None, "tool_calls": calls}
        return httpx.Response(200, json={"choices": [{"message": message}]})

    return OpenAICompatibleLLM(
        "http://models.test/v1", "big", transport=httpx.MockTransport(handler)
    )


def _function(name: str, arguments: str) -> dict[str, object]:
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


def test_a_model_with_tools_reads_what_the_parser_cannot(friday: MovableClock) -> None:
    from os1.llm.base import ToolCallingLLM

    seen: list[dict[str, object]] = []
    model = _tool_server(
        [_function("reminder_add", '{"text": "water the ferns", "when": "today at 5pm"}')], seen
    )
    assert isinstance(model, ToolCallingLLM)
    router = _router(Database(":memory:"), friday)
    text = "I keep forgetting the ferns, a reminder at 5 this afternoon would be great"
    assert router.handle(text) is None  # the parser alone leaves it to the conversation
    done = router.handle(text, model)
    assert done is not None and done.outcome == "done"
    assert [r.text for r in router.reminders.active()] == ["water the ferns"]
    tools = seen[0]["tools"]
    assert isinstance(tools, list) and {t["function"]["name"] for t in tools} >= {"reminder_add"}
    (action,) = [a for a in router.log.recent() if a.asked_by == "model"]
    assert action.source_text == text


def test_a_model_cannot_act_on_words_that_ask_for_nothing(friday: MovableClock) -> None:
    seen: list[dict[str, object]] = []
    model = _tool_server([_function("reminder_cancel", '{"which": ""}')], seen)
    router = _router(Database(":memory:"), friday)
    router.handle("remind me to call Annie at 6pm")
    assert router.handle("Annie says hi and the weather is lovely", model) is None
    assert seen == []  # not even asked
    assert len(router.reminders.active()) == 1


def test_malformed_tool_calls_are_dropped(friday: MovableClock) -> None:
    seen: list[dict[str, object]] = []
    model = _tool_server(
        [_function("reminder_add", "{not json"), _function("os.delete_everything", "{}")], seen
    )
    router = _router(Database(":memory:"), friday)
    assert router.handle("alert me about the ferns sometime", model) is None
    assert router.reminders.active() == []
