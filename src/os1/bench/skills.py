"""``os1 bench skills``: the request parser and the skills against phrasing tables.

The tables (``data/*_phrasings*.json``) were written apart from the parsers, by someone
who did not read them; half of each is held out and never used to tune the parsers.
Every case runs end to end: the parser's call goes to the real skills (reminders, the
calendar) over a fresh in-memory database, and what was stored is compared with the
label. The reminder tables and the calendar table are reported apart.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from os1.skills.base import Registry, SkillResult
from os1.skills.calendar import CalendarStore, new_event
from os1.skills.calendar_skills import Remote, calendar_skills
from os1.skills.intent import Parsed
from os1.skills.reminders import ReminderStore, reminder_skills
from os1.skills.requests import RequestParser, carry_out
from os1.store.db import Database

INTENTS = [
    "reminder.add", "reminder.list", "reminder.cancel", "reminder.move", "calendar.add",
    "calendar.list", "calendar.cancel", "none",
]  # fmt: skip
SUITES = {
    "reminders": (
        "skills_phrasings.json",
        "skills_phrasings_dev2.json",
        "skills_phrasings_dev3.json",
        "skills_phrasings_dev4.json",
    ),
    "calendar": (
        "calendar_phrasings.json",
        "calendar_phrasings_dev2.json",
        "calendar_phrasings_dev3.json",
        "calendar_phrasings_dev4.json",
        "calendar_phrasings_dev5.json",
        "calendar_phrasings_dev6.json",
        "calendar_phrasings_dev7.json",
    ),
}
_PARSER = RequestParser()


def load_tables(names: tuple[str, ...]) -> list[dict[str, Any]]:
    """The phrasing tables: each a reference moment, a time zone and labelled cases."""
    folder = resources.files("os1.bench").joinpath("data")
    return [json.loads(folder.joinpath(name).read_text()) for name in names]


def _run_case(
    case: dict[str, Any], now: datetime, zone: ZoneInfo, *, calendar_talk: bool = False
) -> dict[str, Any]:
    """One case through parser and skills; what came out and whether it was right."""
    db = Database(":memory:")
    store = ReminderStore(db, clock=lambda: now.astimezone(UTC))
    events = CalendarStore(db, clock=store.clock)
    zoned = (zone.key, zone)
    registry = Registry(
        [*reminder_skills(store, lambda: zoned), *calendar_skills(events, lambda: zoned, Remote)]
    )
    if calendar_talk:  # the calendar's tables: every case, its mentions included
        return _run_calendar_case(case, now, zone, events, registry)
    targets = case.get("target") or []
    if case["intent"] in ("reminder.cancel", "reminder.move"):
        # Something to act on: a reminder for the target words, made last, and another.
        store.add("water the ferns", datetime(2026, 12, 9, 9, tzinfo=zone), zone.key)
        aimed = store.add(
            " ".join(targets) or "call the bank", datetime(2026, 12, 8, 12, tzinfo=zone), zone.key
        )
    before = {r.id: r for r in store.active()}
    # As right after talking about reminders: "move it to 7" then means one, and the
    # sentences that only mention a time face the more tempting parse.
    parsed = _PARSER.parse(case["text"], now, just_talked_about=True)
    parsed, outcome = _act(parsed, registry)
    right_intent = parsed.intent == case["intent"]
    timed = any(key in case for key in ("due", "every", "ask"))
    right_time: bool | None = None
    right_text: bool | None = None
    after = store.active()
    if right_intent and outcome is not None:
        if case["intent"] == "reminder.add" and not timed:
            pass  # a reminder in the calendar's table: only that it stayed a reminder
        elif case["intent"] == "reminder.add":
            added = [r for r in after if r.id not in before]
            if case.get("ask"):
                right_time = outcome.outcome == "question" and not added
            elif added:
                made = added[0]
                if "every" in case:
                    right_time = made.repeat is not None and made.repeat.label() == case["every"]
                else:
                    local = made.due_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
                    right_time = local == case["due"]
                text = made.text.lower()
                right_text = all(word in text for word in case.get("what", []))
            else:
                right_time = False
        elif case["intent"] == "reminder.move":
            moved = store.get(aimed.id)
            assert moved is not None
            if moved.repeat is not None:
                right_time = moved.repeat.label() == case.get("every")
            else:
                right_time = moved.due_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M") == case.get(
                    "due"
                )
        elif case["intent"] == "reminder.cancel":
            cancelled = store.get(aimed.id)
            right_text = cancelled is not None and cancelled.status == "cancelled"
    elif timed:
        right_time = False
    db.close()
    timed = timed and case["intent"] in ("reminder.add", "reminder.move")
    return _row(case, parsed, outcome, right_time, right_text, timed)


def _act(parsed: Parsed, registry: Registry) -> tuple[Parsed, SkillResult | None]:
    """What the skill did, as the router does it: a tentative call that finds nothing
    to act on was conversation, and is judged as "none"."""
    outcome = carry_out(parsed, registry)
    if outcome is None and parsed.call is not None:
        return Parsed("none", None), None
    return parsed, outcome


def _run_calendar_case(
    case: dict[str, Any], now: datetime, zone: ZoneInfo, events: CalendarStore, registry: Registry
) -> dict[str, Any]:
    intent = case["intent"]
    target = None
    if intent == "calendar.cancel":
        # Something to take out: an event named by the target words, and another one.
        for title, days in (("water the ferns", 5), (" ".join(case["target"]), 7)):
            start = (now + timedelta(days=days)).replace(hour=12, minute=0, second=0)
            seeded = new_event(title, start, start.replace(hour=13), now=now)
            target = events.put(seeded, zone, push=None)
    # Right after talking about the calendar, not about reminders.
    parsed = _PARSER.parse(case["text"], now)
    parsed, outcome = _act(parsed, registry)
    right_intent = parsed.intent == intent
    right_time: bool | None = None
    right_text: bool | None = None
    if intent == "calendar.add":
        stored = events.between(now, now + timedelta(days=730), zone)
        if case.get("ask"):
            right_time = right_intent and outcome is not None and outcome.outcome == "question"
            right_time = right_time and not stored
        elif stored and right_intent:
            [made] = stored
            right_time = made.start.strftime("%Y-%m-%dT%H:%M") == case["start"]
            if "minutes" in case:
                right_time = right_time and made.end - made.start == timedelta(
                    minutes=case["minutes"]
                )
            title = made.title.lower()
            right_text = all(word in title for word in case["title_words"])
            if "place" in case:
                right_text = right_text and case["place"] in made.location.lower()
            people = " ".join(made.people).lower()
            right_text = right_text and all(p in people for p in case.get("people", []))
        else:
            right_time = False
    elif intent == "calendar.list" and right_intent and outcome is not None:
        right_time = (outcome.data.get("from"), outcome.data.get("to")) == (
            case["from"],
            case["to"],
        )
    elif intent == "calendar.cancel" and right_intent:
        right_text = target is not None and events.get(target) is None
    timed = intent in ("calendar.add", "calendar.list")
    return _row(case, parsed, outcome, right_time, right_text, timed)


def _row(
    case: dict[str, Any],
    parsed: Parsed,
    outcome: SkillResult | None,
    right_time: bool | None,
    right_text: bool | None,
    timed: bool,
) -> dict[str, Any]:
    """One case's line in the report."""
    return {
        "text": case["text"],
        "intent": case["intent"],
        "predicted": parsed.intent,
        "right_intent": parsed.intent == case["intent"],
        "right_time": right_time,
        "right_text": right_text,
        "said": outcome.say if outcome else None,
        "acted": outcome is not None and outcome.outcome == "done",
        "timed": timed,
    }


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    per_intent: dict[str, dict[str, float | int]] = {}
    predicted = Counter(r["predicted"] for r in rows)
    for intent in INTENTS:
        gold = [r for r in rows if r["intent"] == intent]
        if not gold and not predicted[intent]:
            continue
        hits = sum(1 for r in gold if r["right_intent"])
        per_intent[intent] = {
            "cases": len(gold),
            "precision": round(hits / predicted[intent], 3) if predicted[intent] else 1.0,
            "recall": round(hits / len(gold), 3) if gold else 1.0,
        }
    timed = [r for r in rows if r["timed"]]
    texts = [r for r in rows if r["right_text"] is not None]
    none_rows = [r for r in rows if r["intent"] == "none"]
    return {
        "cases": len(rows),
        "intent_accuracy": round(sum(r["right_intent"] for r in rows) / len(rows), 3),
        "exact_time": round(sum(bool(r["right_time"]) for r in timed) / len(timed), 3)
        if timed
        else None,
        "timed_cases": len(timed),
        "right_text": round(sum(bool(r["right_text"]) for r in texts) / len(texts), 3)
        if texts
        else None,
        "actions_from_mentions": sum(1 for r in none_rows if r["predicted"] != "none"),
        "per_intent": per_intent,
        "misses": [
            {k: r[k] for k in ("text", "intent", "predicted", "right_time", "said")}
            for r in rows
            if not r["right_intent"] or r["right_time"] is False or r["right_text"] is False
        ],
    }


def run_skills_bench(show_misses: bool = False) -> dict[str, Any]:
    """Each suite in both halves: ``dev`` (tuned on) and ``heldout`` (never looked at
    while tuning)."""
    report: dict[str, Any] = {"bench": "skills"}
    total = 0
    by_intent: dict[str, int] = defaultdict(int)
    started = time.perf_counter()
    for suite, names in SUITES.items():
        rows: dict[str, list[dict[str, Any]]] = {"dev": [], "heldout": []}
        for table in load_tables(names):
            zone = ZoneInfo(table["timezone"])
            now = datetime.fromisoformat(table["now"]).replace(tzinfo=zone)
            for case in table["cases"]:
                calendar_talk = suite == "calendar"
                rows[case["split"]].append(_run_case(case, now, zone, calendar_talk=calendar_talk))
                by_intent[case["intent"]] += 1
                total += 1
        report[suite] = {}
        for split, split_rows in rows.items():
            summary = _summary(split_rows)
            if not show_misses:
                summary["misses"] = len(summary["misses"])
            report[suite][split] = summary
    elapsed = time.perf_counter() - started
    report["ms_per_case"] = round(1000 * elapsed / max(1, total), 2)
    report["table"] = dict(by_intent)
    return report
