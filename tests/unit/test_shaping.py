from __future__ import annotations

from os1.companion.shaping import ReplyShaper


def shape(chunks: list[str], chat: bool = False) -> tuple[str, list[str], bool]:
    """Feed chunks; return (text, what was shown, whether the shaper cut the stream)."""
    if chat:
        shaper = ReplyShaper.for_chat_model(["Theo", "Iris"])
    else:
        shaper = ReplyShaper.for_base_model(["Theo", "Iris"])
    shown = []
    for chunk in chunks:
        shown.append(shaper.feed(chunk))
        if shaper.stopped:
            break
    stopped_early = shaper.stopped
    shown.append(shaper.finish())
    return shaper.text, shown, stopped_early


def test_first_word_is_shown_at_once() -> None:
    shaper = ReplyShaper.for_base_model(["Theo", "Iris"])
    assert shaper.feed(" Hi") == "Hi"
    assert shaper.feed(" there") == " there"


def test_stops_where_the_model_starts_the_users_line() -> None:
    text, _, stopped = shape([" Sure", ".", " The", "o", ":", " thanks"])
    assert text == "Sure. "
    assert stopped


def test_holds_back_what_might_be_a_speaker_tag_then_releases_it() -> None:
    shaper = ReplyShaper.for_base_model(["Theo", "Iris"])
    assert shaper.feed(" Hello The") == "Hello "
    assert shaper.feed("re") == "There"


def test_stops_at_newline_and_timestamps() -> None:
    assert shape([" Good.", "\n", "more"])[0] == "Good."
    assert shape([" Good.", " [08:15]", " Theo"])[0] == "Good. "


def test_drops_stage_directions() -> None:
    text, _, _ = shape([" (smiles)", " That's", " lovely", " *laughs*", " really."])
    assert text == "That's lovely really."


def test_unclosed_stage_direction_is_dropped_at_the_end() -> None:
    text, _, _ = shape([" Yes.", " (she pauses"])
    assert text == "Yes. "


def test_stops_after_three_sentences() -> None:
    text, _, stopped = shape([" One.", " Two!", " Three?", " Four.", " Five."])
    assert text == "One. Two! Three?"
    assert stopped


def test_chat_models_may_write_paragraphs_lists_and_parentheses() -> None:
    text, _, stopped = shape([" Two ideas:", "\n- soup", " (lentil)", "\n- a walk."], chat=True)
    assert text == "Two ideas:\n- soup (lentil)\n- a walk."
    assert not stopped


def test_chat_models_still_do_not_speak_for_the_user() -> None:
    text, _, stopped = shape([" Sure *smiles* thing.", "\nTheo: thanks"], chat=True)
    assert text == "Sure thing."
    assert stopped
