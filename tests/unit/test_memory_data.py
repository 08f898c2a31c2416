from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import cache

import pytest

from os1.bench.memory_data import (
    KINDS,
    EvalMessage,
    EvalQuestion,
    EvalSet,
    build_eval_set,
    by_person,
    person_key,
    to_jsonl,
)

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@cache
def default_set() -> EvalSet:
    return build_eval_set()


def messages_by_id(eval_set: EvalSet) -> dict[str, EvalMessage]:
    return {message.id: message for message in eval_set.messages}


def sessions_of(messages: list[EvalMessage]) -> dict[str, list[EvalMessage]]:
    sessions: dict[str, list[EvalMessage]] = defaultdict(list)
    for message in messages:
        sessions[message.conversation].append(message)
    return sessions


def referred_day(question: EvalQuestion) -> date | tuple[int, int]:
    """The day (or year and month) a temporal question's phrase refers to."""
    asked = question.asked_at.date()
    text = question.question
    if text.endswith(" yesterday?"):
        return asked - timedelta(days=1)
    if text.endswith(" two weeks ago?"):
        return asked - timedelta(days=14)
    weekday = re.search(r" (?:last|on) (\w+)\?$", text)
    if weekday:
        target = WEEKDAYS.index(weekday.group(1))
        back = (asked.weekday() - target) % 7 or 7  # the most recent one before today
        return asked - timedelta(days=back)
    month = re.search(r" in (\w+)\?$", text)
    assert month, f"no time phrase in {text!r}"
    number = MONTHS.index(month.group(1)) + 1
    year = asked.year if number < asked.month else asked.year - 1
    return year, number


def on(moment: datetime, day: date | tuple[int, int]) -> bool:
    if isinstance(day, date):
        return moment.date() == day
    return (moment.year, moment.month) == day


def test_same_seed_gives_the_same_set() -> None:
    assert build_eval_set(seed=11) == build_eval_set(seed=11)
    assert build_eval_set(seed=11) != build_eval_set(seed=12)


def test_a_person_does_not_depend_on_how_many_people_there_are() -> None:
    small = by_person(build_eval_set(people=2))
    full = by_person(default_set())
    for name, (messages, questions) in small.items():
        assert full[name] == (messages, questions)


def test_default_size() -> None:
    eval_set = default_set()
    assert 1000 <= len(eval_set.messages) <= 1700
    assert len(eval_set.questions) == 75
    people = by_person(eval_set)
    assert len(people) == 5
    for name, (messages, questions) in people.items():
        assert len(sessions_of(messages)) == 24
        kinds = [q.kind for q in questions]
        assert {kind: kinds.count(kind) for kind in KINDS} == {
            "single": 6,
            "multi_hop": 3,
            "temporal": 3,
            "updated": 3,
        }
        assert all(q.person == name for q in questions)


def test_rejects_too_few_sessions_or_people() -> None:
    with pytest.raises(ValueError):
        build_eval_set(sessions=19)
    with pytest.raises(ValueError):
        build_eval_set(people=0)


def test_more_sessions_and_another_seed_still_work() -> None:
    eval_set = build_eval_set(people=3, sessions=30, seed=3)
    for messages, questions in by_person(eval_set).values():
        assert len(sessions_of(messages)) == 30
        assert {q.kind for q in questions} == set(KINDS)


def test_ids_are_unique_and_well_formed() -> None:
    eval_set = default_set()
    ids = [m.id for m in eval_set.messages]
    assert len(ids) == len(set(ids))
    question_ids = [q.id for q in eval_set.questions]
    assert len(question_ids) == len(set(question_ids))
    for message in eval_set.messages:
        assert re.fullmatch(r"p\d\d-s\d\d-m\d\d\d", message.id)
        assert message.id.startswith(message.conversation + "-")


def test_sessions_look_like_chats_over_half_a_year() -> None:
    for name, (messages, _) in by_person(default_set()).items():
        speakers = {m.speaker for m in messages}
        assert len(speakers) == 2 and name in speakers
        times = [m.time for m in messages]
        assert times == sorted(times), "chronological within a person"
        assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in times)
        starts = []
        for session in sessions_of(messages).values():
            assert 6 <= len(session) <= 16
            for position, message in enumerate(session):
                assert (message.speaker == name) == (position % 2 == 0), "user, companion, ..."
                assert message.text.strip()
            assert len({m.time.date() for m in session}) == 1
            starts.append(session[0].time)
        gaps = [(b.date() - a.date()).days for a, b in itertools.pairwise(starts)]
        assert all(1 <= gap <= 14 for gap in gaps)
        assert 120 <= (starts[-1] - starts[0]).days <= 250
        assert len({s.hour for s in starts}) >= 5, "varied hours"


def test_gold_is_user_messages_of_the_same_person() -> None:
    eval_set = default_set()
    index = messages_by_id(eval_set)
    for question in eval_set.questions:
        assert question.gold
        assert len(set(question.gold)) == len(question.gold)
        assert not set(question.gold) & set(question.distractors)
        for message_id in question.gold + question.distractors:
            assert message_id in index
            assert person_key(message_id) == person_key(question.id)
            assert index[message_id].speaker == question.person
        assert all(index[g].time < question.asked_at for g in question.gold)


def test_questions_are_asked_after_all_sessions() -> None:
    for messages, questions in by_person(default_set()).values():
        assert all(q.asked_at > messages[-1].time for q in questions)
        assert all(q.asked_at.tzinfo is not None for q in questions)


def test_answers_are_stated_in_the_gold_message() -> None:
    eval_set = default_set()
    index = messages_by_id(eval_set)
    for question in eval_set.questions:
        last = index[question.gold[-1]].text
        if question.kind == "multi_hop":
            assert len(question.gold) == 2
            first, second = (index[g] for g in question.gold)
            assert first.time < second.time
            assert question.answer not in first.text
        else:
            assert len(question.gold) == 1
            assert question.answer in last, (question.question, last)


def test_single_questions_paraphrase_the_statement() -> None:
    eval_set = default_set()
    index = messages_by_id(eval_set)
    ignore = {"what", "what's", "which", "where", "when", "does", "have", "this", "these"}
    for question in eval_set.questions:
        if question.kind != "single":
            continue
        asked = set(re.findall(r"[a-z']{4,}", question.question.lower())) - ignore
        said = set(re.findall(r"[a-z']+", index[question.gold[0]].text.lower()))
        assert not asked & said, (question.question, index[question.gold[0]].text)


def test_temporal_gold_falls_on_the_day_the_question_names() -> None:
    eval_set = default_set()
    index = messages_by_id(eval_set)
    phrases = set()
    for question in eval_set.questions:
        if question.kind != "temporal":
            continue
        day = referred_day(question)
        phrase = re.search(
            r"(yesterday|two weeks ago|last \w+|on \w+|in \w+)\?$", question.question
        )
        assert phrase
        phrases.add(phrase.group(1).split(" ")[0])
        (gold,) = question.gold
        assert on(index[gold].time, day), (question.question, index[gold].time)
        assert question.answer in index[gold].text
        assert len(question.distractors) >= 2, "same topic on other dates"
        for distractor in question.distractors:
            assert not on(index[distractor].time, day)
            if isinstance(day, date):  # far enough that a loose reading can't reach it
                assert abs((index[distractor].time.date() - day).days) >= 7
        if isinstance(day, date):
            assert (question.asked_at.date() - day).days <= 14
    assert len(phrases) >= 4, "several kinds of time phrases"


def test_updated_gold_is_later_than_what_it_replaces() -> None:
    eval_set = default_set()
    index = messages_by_id(eval_set)
    for question in eval_set.questions:
        if question.kind != "updated":
            continue
        (gold,) = question.gold
        assert question.distractors, "an old value exists"
        gold_session = int(gold.split("-")[1][1:])
        for old in question.distractors:
            assert index[old].time < index[gold].time
            assert question.answer not in index[old].text
        first_session = int(question.distractors[0].split("-")[1][1:])
        assert gold_session - first_session >= 2


STOP_WORDS = {"what", "what's", "which", "where", "when", "does", "have", "this", "that", "with"}


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z']{3,}", text.lower()) if w not in STOP_WORDS}


def keyword_top(messages: list[EvalMessage], question: str, k: int) -> set[str]:
    """The k messages with the most idf-weighted words in common with the question."""
    docs = [(m.id, words(m.text)) for m in messages]
    df = Counter(w for _, doc in docs for w in doc)
    asked = words(question)
    scores = {doc_id: sum(math.log(len(docs) / df[w]) for w in asked & doc) for doc_id, doc in docs}
    return set(sorted(scores, key=lambda doc_id: -scores[doc_id])[:k])


def test_plain_keyword_search_is_not_enough() -> None:
    found = total = 0
    for messages, questions in by_person(default_set()).values():
        for question in questions:
            found += set(question.gold) <= keyword_top(messages, question.question, 5)
            total += 1
    assert found / total < 0.3


def test_to_jsonl_round_trips() -> None:
    eval_set = default_set()
    text = to_jsonl(eval_set.messages)
    lines = text.splitlines()
    assert len(lines) == len(eval_set.messages)
    assert text.endswith("\n")
    for line, message in zip(lines, eval_set.messages, strict=True):
        row = json.loads(line)
        assert set(row) == {"id", "conversation", "time", "speaker", "text"}
        moment = datetime.fromisoformat(row["time"])
        assert moment == message.time and moment.tzinfo is not None
        assert moment.astimezone(UTC) == message.time
        rebuilt = EvalMessage(
            id=row["id"],
            conversation=row["conversation"],
            time=moment,
            speaker=row["speaker"],
            text=row["text"],
        )
        assert rebuilt == message
    assert to_jsonl([]) == ""
