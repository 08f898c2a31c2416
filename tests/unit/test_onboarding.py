from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from os1.companion import names
from os1.companion.onboarding import (
    QUESTIONS,
    Onboarding,
    choose_name,
    parse_name_choice,
    parse_user_name,
    parse_voice,
    traits_for,
)
from os1.errors import InputError, LLMUnavailableError
from os1.llm.base import LLM
from os1.llm.fake import FakeLLM

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("Theodore", "Theodore"),
        ("my name is theodore twombly", "Theodore Twombly"),
        ("I'm Amy.", "Amy"),
        ("call me Sam", "Sam"),
        ("  hi, it's Zoë ", "Zoë"),
    ],
)
def test_user_names_are_understood(said: str, name: str) -> None:
    assert parse_user_name(said) == name


@pytest.mark.parametrize("said", ["", "   ", "123", "!!!"])
def test_no_name_is_asked_again(said: str) -> None:
    with pytest.raises(InputError):
        parse_user_name(said)


def test_voice_answers() -> None:
    assert parse_voice("Female, please") == "female"
    assert parse_voice("a man's voice") == "male"
    assert parse_voice("M") == "male"
    with pytest.raises(InputError):
        parse_voice("I don't mind")


def test_the_conversation_asks_everything_then_finishes() -> None:
    onboarding = Onboarding()
    asked = []
    answers = iter(
        [
            "I'm Theo",
            "I keep to myself mostly",
            "letters and keeping my days organised",
            "My mother and I are close but we argue",
            "a bit tired",
            "hmm",  # unclear voice: asked again
            "female",
        ]
    )
    while (question := onboarding.question()) is not None:
        asked.append(question.key)
        while True:
            try:
                onboarding.answer(next(answers))
                break
            except InputError:
                continue
    assert asked == [q.key for q in QUESTIONS]
    assert 3 <= len([k for k in asked if k not in ("user_name", "voice")]) <= 5
    llm = FakeLLM(["Clara, because I want to help you see things clearly."])
    persona = onboarding.finish(llm, NOW)
    assert persona.user_name == "Theo"
    assert persona.companion_name == "Clara"
    assert persona.name_reason == "I want to help you see things clearly"
    assert persona.voice == "female"
    assert "calm and unhurried" in persona.traits
    assert persona.answers["relationship"].startswith("My mother")
    # The model was asked, and told about the user's answers.
    assert "My mother and I are close" in llm.prompts[0].transcript


def test_answers_that_are_not_utf8_are_asked_again() -> None:
    onboarding = Onboarding()
    onboarding.answer("Theo")
    with pytest.raises(InputError, match="UTF-8"):
        onboarding.answer("caf\udce9")
    assert onboarding.question() is not None and onboarding.question().key == "social"  # type: ignore[union-attr]


def test_questions_address_the_user_by_name() -> None:
    onboarding = Onboarding()
    onboarding.answer("Theo")
    question = onboarding.question()
    assert question is not None and "Theo" in question.text


def test_the_model_may_propose_its_own_name() -> None:
    llm = FakeLLM([" Marlowe, because it sounds like an old friend you trust."])
    name, reason = choose_name(llm, "Theo", "male", {}, random.Random(1))
    assert name == "Marlowe"
    assert reason == "it sounds like an old friend you trust"


def test_a_name_of_its_own_without_a_reason_is_asked_why() -> None:
    llm = FakeLLM([" Marlowe.", "because it sounds like a detective who keeps secrets."])
    name, reason = choose_name(llm, "Theo", "male", {}, random.Random(1))
    assert (name, reason) == ("Marlowe", "it sounds like a detective who keeps secrets")


def test_a_shipped_name_with_a_muddled_reason_uses_what_the_name_means() -> None:
    llm = FakeLLM(["Iris.", "because my sister is called Iris."])
    name, reason = choose_name(llm, "Theo", "female", {}, random.Random(1))
    assert name == "Iris"
    assert reason == names.find("Iris").meaning  # type: ignore[union-attr]


def test_a_confused_reason_is_not_used() -> None:
    llm = FakeLLM([" Marlowe, because my sister loves it.", "because Theo is my brother."])
    name, reason = choose_name(llm, "Theo", "male", {}, random.Random(1))
    assert name == "Marlowe"
    assert "sister" not in reason and "Theo" not in reason


def test_nonsense_from_the_model_falls_back_to_shipped_names() -> None:
    for reply in ["", "the the the", "\n", "I've decided to call myself myself"]:
        llm = FakeLLM([reply] * 3)
        name, reason = choose_name(llm, "Theo", "male", {}, random.Random(3))
        shipped = names.find(name)
        assert shipped is not None and shipped.voice in ("male", "any")
        assert reason == shipped.meaning


def test_a_failing_model_still_gets_a_name() -> None:
    llm: LLM = FakeLLM([LLMUnavailableError("The model server at http://x cannot be reached.")])
    name, reason = choose_name(llm, "Ana", "female", {}, random.Random(5))
    assert names.find(name) is not None and reason


def test_name_of_the_other_voice_is_not_taken() -> None:
    llm = FakeLLM(["Theo, because it is friendly."] * 3)
    name, _ = choose_name(llm, "Ana", "female", {}, random.Random(2))
    assert name != "Theo"


def test_the_users_own_name_is_not_taken() -> None:
    assert parse_name_choice("Theo, because it is mine too", "Theo") == (None, None)


def test_traits_follow_the_answers() -> None:
    assert "lively and talkative" in traits_for({"social": "Very social, I love my friends"})
    assert "easygoing" in traits_for({"social": "depends"})
