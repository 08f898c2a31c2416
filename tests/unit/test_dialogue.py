from __future__ import annotations

import pytest

from os1.app import App
from os1.companion.dialogue import Companion
from os1.errors import InputError, LLMUnavailableError
from os1.llm.fake import FakeLLM
from os1.store.conversations import Conversations
from tests.conftest import MovableClock


def texts(app: App) -> list[tuple[str, str, str]]:
    return [(m.role, m.text, m.status) for m in Conversations(app.db).recent(100)]


def test_a_turn_stores_both_sides(onboarded: App, fake_llm: FakeLLM) -> None:
    fake_llm.enqueue("Hi Theo! How was your day?")
    companion = onboarded.companion()
    turn = companion.respond("Hello Iris")
    assert turn.reply == "Hi Theo! How was your day?"
    assert turn.status == "complete"
    assert texts(onboarded)[-2:] == [
        ("user", "Hello Iris", "complete"),
        ("companion", "Hi Theo! How was your day?", "complete"),
    ]
    assert turn.timings.first_token_ms is not None and turn.timings.tokens > 0
    # The model saw the onboarding greeting and the user's words.
    assert "I've chosen a name for myself: Iris" in fake_llm.prompts[-1].transcript
    assert fake_llm.prompts[-1].transcript.endswith("Theo: Hello Iris\nIris:")


def test_replies_are_streamed_in_pieces(onboarded: App, fake_llm: FakeLLM) -> None:
    fake_llm.enqueue("One two three four.")
    companion = onboarded.companion()
    turn = companion.start_turn("count")
    chunks = list(companion.stream(turn))
    assert len(chunks) >= 3
    assert "".join(chunks) == "One two three four."


def test_interrupting_keeps_the_part_that_was_said(onboarded: App, fake_llm: FakeLLM) -> None:
    fake_llm.enqueue("Once upon a time there was a fox who lived by the river.")
    companion = onboarded.companion()
    turn = companion.start_turn("tell me a story")
    stream = companion.stream(turn)
    heard = [next(stream), next(stream), next(stream)]
    stream.close()  # what the CLI does on Ctrl-C
    assert turn.status == "interrupted"
    assert texts(onboarded)[-1] == ("companion", "".join(heard), "interrupted")
    # The conversation goes on normally afterwards.
    fake_llm.enqueue("Sorry, go on.")
    assert companion.respond("wait").status == "complete"


def test_ctrl_c_inside_the_model_keeps_partial_reply(onboarded: App, fake_llm: FakeLLM) -> None:
    fake_llm.enqueue_failure("I think that you should", KeyboardInterrupt(), after_chunks=3)
    companion = onboarded.companion()
    turn = companion.start_turn("what should I do?")
    with pytest.raises(KeyboardInterrupt):
        list(companion.stream(turn))
    assert texts(onboarded)[-1] == ("companion", "I think that", "interrupted")


def test_unreachable_model_keeps_the_users_message(onboarded: App, fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(
        LLMUnavailableError("The model server at http://127.0.0.1:9 cannot be reached.")
    )
    companion = onboarded.companion()
    before = len(texts(onboarded))
    turn = companion.start_turn("are you there?")
    with pytest.raises(LLMUnavailableError, match=r"127\.0\.0\.1:9"):
        list(companion.stream(turn))
    after = texts(onboarded)
    assert len(after) == before + 1
    assert after[-1] == ("user", "are you there?", "complete")


def test_model_failing_midway_keeps_what_was_said(onboarded: App, fake_llm: FakeLLM) -> None:
    fake_llm.enqueue_failure("Sure, the first", LLMUnavailableError("dropped"), after_chunks=2)
    companion = onboarded.companion()
    with pytest.raises(LLMUnavailableError):
        companion.respond("go")
    assert texts(onboarded)[-1] == ("companion", "Sure, the", "interrupted")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("x" * 1_000_000, "1,000,000 characters"),
        ("caf\udce9", "not valid UTF-8"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    onboarded: App, text: str, message: str
) -> None:
    before = texts(onboarded)
    with pytest.raises(InputError, match=message):
        onboarded.companion().start_turn(text)
    assert texts(onboarded) == before


def test_an_empty_reply_is_retried_then_a_gentle_fallback(
    onboarded: App, fake_llm: FakeLLM
) -> None:
    fake_llm.enqueue("\n", "Oh, hello!")
    assert onboarded.companion().respond("hi").reply == "Oh, hello!"
    fake_llm.enqueue("\n", "(nods)")
    assert onboarded.companion().respond("hi").reply == "Mm. Tell me more?"


def test_runaway_base_model_text_is_cut(onboarded: App, fake_llm: FakeLLM) -> None:
    fake_llm.enqueue("Sure, I can help. Theo: thanks Iris: you're welcome")
    assert onboarded.companion().respond("help me").reply == "Sure, I can help."


def test_conversation_continues_after_restart(
    home: object, clock: MovableClock, onboarded: App, fake_llm: FakeLLM
) -> None:
    turn = onboarded.companion().respond("remember the blue door")
    onboarded.close()
    second = FakeLLM()
    reopened = App.open(onboarded.home, clock=clock, llm_factory=lambda s: second)
    clock.advance(minutes=5)
    again = reopened.companion().respond("what colour was the door?")
    assert again.conversation_id == turn.conversation_id
    assert "remember the blue door" in second.prompts[-1].transcript
    reopened.close()


def test_a_long_silence_starts_a_new_conversation_but_keeps_context(
    onboarded: App, clock: MovableClock, fake_llm: FakeLLM
) -> None:
    companion = onboarded.companion()
    first = companion.respond("I have an interview on Friday")
    clock.advance(days=3)
    second = companion.respond("I'm back")
    assert second.conversation_id != first.conversation_id
    prompt = fake_llm.prompts[-1].transcript
    assert "I have an interview on Friday" in prompt
    assert "(3 days later." in prompt


def test_mood_and_relationship_are_tracked(onboarded: App, fake_llm: FakeLLM) -> None:
    companion = onboarded.companion()
    companion.respond("I'm really anxious about tomorrow")
    assert companion.affect.user_mood == "anxious"
    assert companion.affect.companion_mood == "calm and reassuring"
    assert (
        "(Theo sounds anxious; Iris feels calm and reassuring.)" in fake_llm.prompts[-1].transcript
    )
    assert companion.stage().name == "new"


def test_history_window_moves_in_blocks(onboarded: App) -> None:
    onboarded.settings.chat.history_messages = 10
    companion: Companion = onboarded.companion()
    starts = []
    for n in range(14):
        companion.respond(f"message {n}")
        starts.append(companion.history()[0].id)
    # The window start changes rarely (every 5 messages), not on every turn.
    assert len(set(starts)) <= 6
    assert len(companion.history()) <= 15


def test_huge_history_messages_are_trimmed_to_fit(onboarded: App, fake_llm: FakeLLM) -> None:
    onboarded.settings.llm.context_tokens = 1024
    companion = onboarded.companion()
    for n in range(6):
        companion.respond(f"turn{n} " + "word " * 1500)
    prompt = fake_llm.prompts[-1].transcript
    assert len(prompt) < 1024 * 4
    assert "Theo: turn5 word word" in prompt  # the newest message is always there


def test_chat_models_keep_their_paragraphs(home: object, clock: MovableClock) -> None:
    chatty = FakeLLM(prompt_format="chat")
    app = App.open(home, clock=clock, llm_factory=lambda s: chatty)  # type: ignore[arg-type]
    chatty.enqueue("Iris, because it is bright.")
    from os1.companion.onboarding import Onboarding

    onboarding = Onboarding()
    onboarding.fill_defaults("Theo", "female")
    app.complete_onboarding(onboarding)
    chatty.enqueue("Two ideas:\n- lentil soup (with lemon)\n- a walk by the river.")
    reply = app.companion().respond("what should I do tonight?").reply
    assert reply == "Two ideas:\n- lentil soup (with lemon)\n- a walk by the river."
    app.close()


def test_prompt_is_cut_to_the_models_context_by_its_own_count(
    onboarded: App, fake_llm: FakeLLM
) -> None:
    onboarded.settings.llm.context_tokens = 1024
    onboarded.settings.llm.max_reply_tokens = 64
    companion = onboarded.companion()
    for n in range(8):
        companion.respond(f"turn{n} " + "漢字" * 1500)  # dense text: few characters a token
    prompt = fake_llm.prompts[-1]
    assert fake_llm.count_tokens(prompt) <= 1024 - 64
    assert "turn7" in prompt.transcript


def test_a_withdrawn_turn_leaves_no_trace(onboarded: App, fake_llm: FakeLLM) -> None:
    companion = onboarded.companion()
    before = companion.affect
    count = companion.conversations.count()
    turn = companion.start_turn("I am so sad and lonely today")
    for _ in companion.stream(turn):
        pass
    assert companion.affect != before
    companion.withdraw(turn)
    assert companion.conversations.count() == count
    assert companion.affect == before
