"""The voices without their models: the fake voice, voice specs, moods, prosody arithmetic
and how text is cut into chunks."""

from __future__ import annotations

import itertools
import typing
from pathlib import Path

import numpy as np
import pytest

from os1.companion.affect import response_mood
from os1.companion.names import Voice
from os1.errors import ConfigError, ModelError
from os1.voice.base import NEUTRAL, Prosody, Samples
from os1.voice.kokoro_voice import (
    FIRST_CHUNK_WORDS,
    KokoroVoice,
    plan_chunks,
    split_opening,
    trim_silence,
)
from os1.voice.piper_voice import espeak_clauses, shift_pitch, split_first_clause
from os1.voice.tts_fake import FakeTTS
from os1.voice.voices import (
    CHOICES,
    PROSODY_RANGE,
    KokoroSpec,
    PiperSpec,
    available_voices,
    clamp_prosody,
    duration_factor,
    load_voice,
    mood_prosody,
    parse_spec,
)

USER_MOODS = ["neutral", "happy", "excited", "sad", "anxious", "angry", "tired", "lonely"]


def _frequency(audio: Samples, sample_rate: int) -> float:
    """The frequency of a pure tone, from its zero crossings."""
    crossings = np.count_nonzero(np.diff(np.signbit(audio)))
    return crossings / 2 / (audio.size / sample_rate)


def _tone(seconds: float, hz: float, sample_rate: int) -> Samples:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


# --- FakeTTS -------------------------------------------------------------------------


def test_fake_voice_speaks_a_tone_as_long_as_the_text() -> None:
    tts = FakeTTS(seconds_per_char=0.02, chunks=3)
    chunks = list(tts.synthesize("Hello there."))
    assert len(chunks) == 3
    assert all(c.dtype == np.float32 and c.ndim == 1 for c in chunks)
    audio = np.concatenate(chunks)
    assert audio.size == round(len("Hello there.") * 0.02 * 22_050)
    assert tts.duration("Hello there.") == pytest.approx(audio.size / 22_050)
    assert _frequency(audio, 22_050) == pytest.approx(220, rel=0.02)
    longer = np.concatenate(list(tts.synthesize("Hello there, how are you today?")))
    assert longer.size > audio.size


def test_fake_voice_is_deterministic_and_records_what_it_was_asked() -> None:
    tts = FakeTTS(sample_rate=16_000)
    first = np.concatenate(list(tts.synthesize("Same words.", Prosody(rate=1.1))))
    second = np.concatenate(list(tts.synthesize("Same words.", Prosody(rate=1.1))))
    np.testing.assert_array_equal(first, second)
    assert tts.said == ["Same words.", "Same words."]
    assert tts.requests[0].prosody == Prosody(rate=1.1)
    assert tts.sample_rate == 16_000 and tts.name == "fake"


def test_fake_voice_follows_rate_and_pitch() -> None:
    tts = FakeTTS()
    plain = np.concatenate(list(tts.synthesize("A sentence of some length.")))
    fast = np.concatenate(list(tts.synthesize("A sentence of some length.", Prosody(rate=1.25))))
    high = np.concatenate(list(tts.synthesize("A sentence of some length.", Prosody(pitch=1.5))))
    assert fast.size == pytest.approx(plain.size / 1.25, abs=1)
    assert high.size == plain.size
    assert _frequency(high, tts.sample_rate) == pytest.approx(330, rel=0.02)


def test_fake_voice_notes_a_reply_closed_early_and_says_nothing_for_no_text() -> None:
    tts = FakeTTS(chunks=4)
    audio = tts.synthesize("Interrupted halfway.")
    next(audio)
    audio.close()
    list(tts.synthesize("Heard to the end."))
    assert tts.interrupted == ["Interrupted halfway."]
    assert list(tts.synthesize("   ")) == []


# --- moods and prosody ---------------------------------------------------------------


@pytest.mark.parametrize("user_mood", USER_MOODS)
def test_every_companion_mood_has_a_small_prosody(user_mood: str) -> None:
    prosody = mood_prosody(response_mood(user_mood))
    assert prosody != NEUTRAL, f"no prosody for {response_mood(user_mood)!r}"
    assert 0.92 <= prosody.rate <= 1.08
    assert 0.92 <= prosody.pitch <= 1.08


def test_moods_lean_the_expected_way_and_unknown_moods_change_nothing() -> None:
    assert mood_prosody("excited").rate > 1 and mood_prosody("excited").pitch > 1
    assert mood_prosody("tender").rate < 1 and mood_prosody("calm and reassuring").rate < 1
    assert mood_prosody("Cheerful ") == mood_prosody("cheerful")
    assert mood_prosody("bewildered") == NEUTRAL


def test_prosody_is_clamped_to_the_range() -> None:
    low, high = PROSODY_RANGE
    assert clamp_prosody(Prosody(rate=2.16, pitch=0.4)) == Prosody(rate=high, pitch=low)
    kept = Prosody(rate=1.1, pitch=0.9)
    assert clamp_prosody(kept) is kept


def test_duration_factor_makes_pitch_and_rate_independent() -> None:
    # The model speaks p/r as long; the pitch shift then shortens it p times: 1/r remains.
    for rate, pitch in [(1.0, 1.0), (1.25, 1.0), (1.0, 1.2), (0.8, 1.1), (1.3, 0.9)]:
        factor = duration_factor(Prosody(rate=rate, pitch=pitch))
        assert factor / pitch == pytest.approx(1 / rate)


def test_shift_pitch_raises_the_tone_and_shortens_it_by_the_factor() -> None:
    tone = _tone(1.0, 200.0, 22_050)
    higher = shift_pitch(tone, 1.25, 22_050)
    assert higher.dtype == np.float32
    assert higher.size == pytest.approx(tone.size / 1.25, rel=0.01)
    assert _frequency(higher, 22_050) == pytest.approx(250, rel=0.02)
    lower = shift_pitch(tone, 0.8, 22_050)
    assert lower.size == pytest.approx(tone.size / 0.8, rel=0.01)
    assert _frequency(lower, 22_050) == pytest.approx(160, rel=0.02)
    assert shift_pitch(tone, 1.0, 22_050) is tone


# --- voice specs ---------------------------------------------------------------------


def test_the_onboarding_choices_name_shipped_voices() -> None:
    assert set(CHOICES) == set(typing.get_args(Voice))
    female, male = parse_spec("female"), parse_spec("Male ")
    assert isinstance(female, KokoroSpec) and female.style == "jf_nezumi" and female.model is None
    assert isinstance(male, PiperSpec) and male.packaged is not None
    assert male.packaged.name == "en_US-joe-medium" and male.name == "piper:en_US-joe-medium"


def test_specs_for_voices_on_disk(tmp_path: Path) -> None:
    assert parse_spec("piper:/voices/amy.onnx") == PiperSpec("piper:amy", Path("/voices/amy.onnx"))
    assert parse_spec("/voices/amy.onnx") == PiperSpec("piper:amy", Path("/voices/amy.onnx"))
    spec = parse_spec("kokoro:/m/kokoro.onnx:/m/voices.npz:af_heart")
    assert spec == KokoroSpec(
        "kokoro:af_heart", "af_heart", Path("/m/kokoro.onnx"), Path("/m/voices.npz")
    )
    # Read from the right: the model path may contain a colon.
    spec = parse_spec("kokoro:/m/odd:name.onnx:/m/voices.npz:af_bella")
    assert isinstance(spec, KokoroSpec) and spec.model == Path("/m/odd:name.onnx")
    assert parse_spec("kokoro:jf_gongitsune") == KokoroSpec("kokoro:jf_gongitsune", "jf_gongitsune")


@pytest.mark.parametrize(
    ("spec", "says", "hint"),
    [
        ("", "is not a voice", "kokoro:STYLE"),
        ("robot", "'robot' is not a voice", "piper:PATH.onnx"),
        ("kokoro:af_heart", "no style 'af_heart'", "jf_nezumi"),
        ("kokoro:/m/kokoro.onnx:af_heart", "model, a voices file and a style", "VOICES.npz"),
        ("kokoro:/m/kokoro.onnx:/m/v.npz:", "model, a voices file and a style", "STYLE"),
        ("piper:amy", "No shipped Piper voice is called 'amy'", "en_US-joe-medium"),
    ],
)
def test_bad_specs_say_what_is_wrong_and_what_to_do(spec: str, says: str, hint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_spec(spec)
    assert says in caught.value.message
    assert caught.value.hint and hint in caught.value.hint


def test_every_catalogued_voice_has_a_spec_that_parses() -> None:
    voices = available_voices()
    assert {v.spec for v in voices if v.chosen_for} == {c.spec for c in CHOICES.values()}
    for voice in voices:
        parsed = parse_spec(voice.spec)
        assert parsed.name == voice.spec
        assert voice.install_hint.startswith("Install it with: .venv/bin/pip install")
    assert {v.gender for v in voices} == {"female", "male"}


def test_missing_voice_files_are_model_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        load_voice(str(tmp_path / "nobody.onnx"), tmp_path)
    lonely = tmp_path / "lonely.onnx"
    lonely.write_bytes(b"not a model")
    with pytest.raises(ModelError) as caught:
        load_voice(str(lonely), tmp_path)
    assert "has no config" in caught.value.message
    assert caught.value.hint and ".onnx.json" in caught.value.hint
    spec = f"kokoro:{tmp_path / 'none.onnx'}:{tmp_path / 'none.npz'}:af_heart"
    with pytest.raises(ModelError, match="does not exist"):
        load_voice(spec, tmp_path)


def test_a_kokoro_style_missing_from_its_file_is_named(tmp_path: Path) -> None:
    model = tmp_path / "kokoro.onnx"
    model.write_bytes(b"")
    styles = tmp_path / "voices.npz"
    np.savez(styles, af_heart=np.zeros((510, 1, 256), np.float32))
    with pytest.raises(ModelError) as caught:
        KokoroVoice(model, styles, "af_bella")
    assert "no style 'af_bella'" in caught.value.message
    assert caught.value.hint == "Choose one of: af_heart."
    broken = tmp_path / "broken.npz"
    broken.write_text("not an archive")
    with pytest.raises(ModelError, match="cannot be read"):
        KokoroVoice(model, broken, "af_heart")


# --- chunking ------------------------------------------------------------------------


def test_a_long_opening_clause_is_cut_before_a_joining_word() -> None:
    head, rest = split_opening("I think the best thing to do right now is rest. Then eat.")
    assert head == "I think the best thing"
    assert rest == "to do right now is rest. Then eat."
    assert split_opening("Hello, I'm Samantha.") == ("", "Hello, I'm Samantha.")
    head, _ = split_opening("Yesterday afternoon my very old friend Margaret finally called.")
    assert len(head.split()) == FIRST_CHUNK_WORDS


def test_chunks_start_short_grow_and_keep_every_sound() -> None:
    text = (
        "Oh, hello. I was just thinking about you, and about the walk we talked about, "
        "the one by the river; would you like to go this weekend, if the weather holds?"
    )
    chunks = plan_chunks(text)
    assert chunks[0].phonemes.startswith("ˈoʊ")
    assert len(chunks[0].phonemes) < 10
    for before, after in itertools.pairwise(chunks[1:]):
        assert len(after.phonemes) <= max(2 * len(before.phonemes), 60)
    spoken = "".join(c.phonemes for c in chunks)
    expected = "".join(c.phonemes for c in espeak_clauses(text))
    assert "".join(spoken.split()).translate(str.maketrans("", "", ",.;?")) == "".join(
        expected.split()
    )
    assert chunks[-1].phonemes.endswith("?") and chunks[-1].pause > chunks[0].pause


def test_no_text_means_no_chunks() -> None:
    assert plan_chunks("") == []
    assert plan_chunks("   ") == []


def test_trim_silence_keeps_a_short_pad() -> None:
    speech = _tone(0.5, 300.0, 24_000)
    padded = np.concatenate([np.zeros(12_000, np.float32), speech, np.zeros(24_000, np.float32)])
    trimmed = trim_silence(padded)
    assert speech.size <= trimmed.size <= speech.size + int(0.07 * 24_000)
    assert trim_silence(np.zeros(1000, np.float32)).size == 0


def test_piper_splits_only_a_long_first_sentence_at_its_first_comma() -> None:
    phonemes = list("həlˈoʊ, aɪm sɐmˈænθə, ænd aɪm ɹˈiəli ɡlæd juː kˈɔːld.")
    head, rest = split_first_clause(phonemes)
    assert "".join(head) == "həlˈoʊ,"
    assert "".join(rest) == "aɪm sɐmˈænθə, ænd aɪm ɹˈiəli ɡlæd juː kˈɔːld."
    short = list("həlˈoʊ, juː.")
    assert split_first_clause(short) == [short]
    assert split_first_clause(list("nˈoʊ kˈɑːmə hˈɪɹ.")) == [list("nˈoʊ kˈɑːmə hˈɪɹ.")]


def test_a_piece_of_a_sentence_is_said_as_going_on() -> None:
    (piece,) = plan_chunks("I don't want")
    assert not piece.phonemes.endswith((".", ",")) and piece.pause == 0.0
    whole = plan_chunks("I don't want to go out.")
    assert whole[-1].phonemes.endswith(".") and whole[-1].pause > 0.0
    (question,) = plan_chunks('"Really?"')
    assert question.phonemes.endswith("?") and question.pause > 0.0
