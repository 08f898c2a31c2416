from __future__ import annotations

from os1.companion.shaping import ReplyShaper


def shape(chunks: list[str], **kwargs: object) -> tuple[str, list[str], bool]:
    shaper = ReplyShaper(["Theo", "Iris"], **kwargs)  # type: ignore[arg-type]
    shown = []
    for chunk in chunks:
        shown.append(shaper.feed(chunk))
        if shaper.stopped:
            break
    shown.append(shaper.finish())
    return shaper.text, shown, shaper.stopped


def test_first_word_is_shown_at_once() -> None:
    shaper = ReplyShaper(["Theo", "Iris"])
    assert shaper.feed(" Hi") == "Hi"
    assert shaper.feed(" there") == " there"


def test_stops_where_the_model_starts_the_users_line() -> None:
    text, _, stopped = shape([" Sure", ".", " The", "o", ":", " thanks"])
    assert text == "Sure. "
    assert stopped


def test_holds_back_what_might_be_a_speaker_tag_then_releases_it() -> None:
    shaper = ReplyShaper(["Theo", "Iris"])
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


def test_newlines_allowed_for_chat_models() -> None:
    text, _, _ = shape([" One.", "\n\nTwo."], stop_at_newline=False)
    assert "Two." in text
