from __future__ import annotations

from datetime import UTC, datetime, timedelta

from os1.companion.persona import Persona
from os1.companion.prompt import PromptBuilder
from os1.companion.relationship import STAGES
from os1.store.conversations import Message

PERSONA = Persona(
    companion_name="Iris",
    name_reason="Iris carried messages between worlds",
    voice="female",
    user_name="Theo",
    traits=("warm", "curious", "honest", "easygoing"),
    answers={"help": "letters and my calendar", "relationship": "my sister Annie"},
)
T0 = datetime(2026, 11, 23, 19, 5, tzinfo=UTC)  # a Monday evening


def msg(n: int, role: str, text: str, at: datetime, **meta: str) -> Message:
    speaker = "Theo" if role == "user" else "Iris"
    return Message(f"m{n}", "c1", role, speaker, text, at, meta=dict(meta))  # type: ignore[arg-type]


def builder() -> PromptBuilder:
    return PromptBuilder(PERSONA, timezone=UTC)


def test_header_carries_persona_and_what_onboarding_learned() -> None:
    header = builder().header(STAGES[0])
    assert "Iris is Theo's AI companion" in header
    assert "Iris carried messages between worlds" in header
    assert "letters and mail" in header and "keeping their days in order" in header
    assert "my sister Annie" in header
    assert STAGES[0].description in header


def test_transcript_ends_with_the_companions_cue_and_stops_at_the_user() -> None:
    history = [msg(1, "user", "hello", T0)]
    prompt = builder().build(history, STAGES[0])
    assert prompt.transcript.endswith("Theo: hello\nIris:")
    assert "\n" in prompt.stop and "Theo:" in prompt.stop


def test_date_time_and_long_silences_are_noted() -> None:
    history = [
        msg(1, "user", "evening!", T0),
        msg(2, "companion", "hi", T0 + timedelta(minutes=1)),
        msg(3, "user", "back again", T0 + timedelta(days=3, hours=14)),
    ]
    transcript = builder().build(history, STAGES[0]).transcript
    assert "(Monday 23 November 2026, 7:05 pm)" in transcript
    assert "(3 days later. Friday 27 November 2026, 9:05 am)" in transcript
    # No note between two messages a minute apart.
    assert "(Monday 23 November 2026, 7:06 pm)" not in transcript


def test_mood_is_noted_when_it_changes() -> None:
    history = [
        msg(1, "user", "my boss yelled at me", T0, mood="angry"),
        msg(2, "companion", "oh no", T0),
        msg(3, "user", "still angry", T0, mood="angry"),
    ]
    transcript = builder().build(history, STAGES[0]).transcript
    assert transcript.count("(Theo sounds upset; Iris feels patient.)") == 1


def test_interrupted_reply_is_shown_as_cut_off() -> None:
    history = [
        msg(1, "user", "tell me a story", T0),
        Message("m2", "c1", "companion", "Iris", "Once upon", T0, status="interrupted"),
    ]
    assert "Iris: Once upon —\n" in builder().build(history, STAGES[0]).transcript


def test_prompt_only_grows_at_the_end_between_turns() -> None:
    """The KV cache can be reused only if each prompt extends the previous exchange."""
    history: list[Message] = []
    previous = ""
    at = T0
    for n in range(12):
        at += timedelta(minutes=40 if n % 3 else 300)
        history.append(msg(2 * n, "user", f"message {n}", at, mood="sad" if n == 4 else ""))
        prompt = builder().build(history, STAGES[0]).transcript
        if previous:
            # Everything before the cue of the last prompt is still there, unchanged.
            assert prompt.startswith(previous[: -len("Iris:")])
        history.append(msg(2 * n + 1, "companion", f"reply {n}", at))
        previous = prompt


def test_chat_shape_says_the_same_things() -> None:
    history = [
        msg(1, "user", "hello", T0),
        msg(2, "companion", "hi Theo", T0),
        msg(3, "user", "I'm so anxious", T0, mood="anxious"),
    ]
    messages = builder().build(history, STAGES[0]).messages
    assert messages[0].role == "system" and "You are Iris." in messages[0].content
    assert [m.role for m in messages[1:]] == ["user", "assistant", "user"]
    assert messages[1].content.startswith("(Monday 23 November 2026, 7:05 pm)\nhello")
    assert messages[3].content.endswith("(Theo sounds anxious; Iris feels calm and reassuring.)")
