"""The pure parts of the voice turn: endpointing, chunking, playback, the echo gate,
and the listener's segmentation (on a deterministic energy VAD)."""

from __future__ import annotations

import numpy as np
import pytest

from os1.voice.base import MIC_RATE
from os1.voice.chunker import SentenceChunker, speakable
from os1.voice.echo import EchoGate
from os1.voice.endpoint import EndpointPolicy, ending, is_backchannel, parse_backchannels
from os1.voice.events import AudioChunk, SpeechEnded, SpeechStarted
from os1.voice.listener import Listener
from os1.voice.playback import Playback
from os1.voice.vad import EnergyVAD


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I saw Anna today.", "complete"),
        ("What do you think?", "complete"),
        ("I saw Anna today", "complete"),
        ("I went to the shop because", "unfinished"),
        ("I went to the shop because.", "unfinished"),
        ("and then we talked about the", "unfinished"),
        ("I was thinking, um", "hesitating"),
        ("We went out and", "hesitating"),
        ("So I told her...", "hesitating"),
        ("", "hesitating"),
        ("I like it.", "complete"),
    ],
)
def test_ending_reads_how_the_words_end(text: str, expected: str) -> None:
    assert ending(text) == expected


def test_policy_waits_longer_for_unfinished_thoughts() -> None:
    policy = EndpointPolicy(complete_ms=200, unfinished_ms=800, hesitating_ms=1500)
    assert policy.pause_ms("That was lovely.") == 200
    assert policy.pause_ms("I think that") == 800
    assert policy.pause_ms("Well, um") == 1500


def test_backchannels_are_recognised_and_configurable() -> None:
    words = parse_backchannels("mm-hm, yeah, right, i see")
    assert is_backchannel("Mm-hm.", words)
    assert is_backchannel("Yeah, right.", words)
    assert is_backchannel("I see.", words)
    assert not is_backchannel("Yeah, but what about tomorrow?", words)
    assert not is_backchannel("Stop.", words)
    assert not is_backchannel("Yeah.", parse_backchannels("mm-hm"))


def _stream(chunker: SentenceChunker, tokens: list[str]) -> list[str]:
    pieces: list[str] = []
    for token in tokens:
        pieces.extend(chunker.feed(token))
    pieces.extend(chunker.finish())
    return pieces


def test_first_piece_is_short_and_later_pieces_are_sentences() -> None:
    tokens = [
        "Oh",
        ",",
        "that",
        "sounds",
        "lovely",
        "!",
        "What",
        "did",
        "you",
        "do",
        "after",
        "the",
        "party",
        "?",
        "Tell",
        "me",
    ]
    text_tokens = [t if t in ",!?" else " " + t for t in tokens]
    pieces = _stream(SentenceChunker(first_words=6), text_tokens)
    assert pieces == ["Oh, that sounds lovely!", "What did you do after the party?", "Tell me"]


def test_first_piece_cut_after_a_few_words_without_punctuation() -> None:
    words = [
        "I",
        "really",
        "think",
        "that",
        "we",
        "should",
        "go",
        "out",
        "tomorrow",
        "and",
        "see",
        "the",
        "sunrise",
    ]
    pieces = _stream(SentenceChunker(first_words=6), [" " + w for w in words])
    assert pieces[0] == "I really think that we should"
    assert " ".join(pieces) == " ".join(words)


def test_nothing_is_lost_or_repeated_in_long_replies() -> None:
    words = [f"w{i}" for i in range(100)]
    pieces = _stream(SentenceChunker(max_words=30), [" " + w for w in words])
    assert " ".join(pieces).split() == words
    assert all(len(p.split()) <= 31 for p in pieces)


def test_speakable_drops_actions_emoji_links_and_markup() -> None:
    assert speakable("*smiles* Hello **there** 😊 see https://x.org/a") == "Hello there see a link"


def _tone(seconds: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * MIC_RATE)) / MIC_RATE
    return (amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * MIC_RATE), dtype=np.float32)


def test_playback_knows_what_was_heard() -> None:
    now = [0.0]
    playback = Playback(1000, clock=lambda: now[0])
    reply = playback.begin_reply()
    first = playback.add_piece(reply, "Hello there.")
    playback.play(reply, first, np.ones(100, np.float32))
    playback.piece_done(reply, first)
    second = playback.add_piece(reply, "one two three four")
    playback.play(reply, second, np.ones(400, np.float32))
    playback.piece_done(reply, second)
    playback.pull(100)
    assert playback.heard_text() == "Hello there."
    playback.pull(200)  # half of the second piece
    assert playback.heard_text() == "Hello there. one two"
    playback.pause()
    assert not playback.pull(50).any()  # paused: silence, position kept
    playback.resume()
    playback.pull(1000)
    assert playback.heard_text() == "Hello there. one two three four"
    assert not playback.busy


def test_playback_rewind_takes_back_audio_a_device_dropped_unheard() -> None:
    playback = Playback(1000)
    reply = playback.begin_reply()
    first = playback.add_piece(reply, "Hello there.")
    playback.play(reply, first, np.arange(1, 101, dtype=np.float32))
    playback.piece_done(reply, first)
    second = playback.add_piece(reply, "one two three four")
    playback.play(reply, second, np.arange(101, 501, dtype=np.float32))
    playback.piece_done(reply, second)
    playback.pull(300)  # all of the first piece and half of the second were sent
    assert playback.heard_text() == "Hello there. one two"
    # The device had the last 250 samples buffered and dropped them: across both pieces.
    assert playback.rewind(250) == 250
    assert playback.heard_text() == "Hello"  # half of "Hello there." was heard
    again = playback.pull(250)  # sent again, in order, from where it was really heard
    assert again[0] == 51 and again[-1] == 300
    assert playback.heard_text() == "Hello there. one two"
    # Never further back than what was played (or kept: the last second).
    assert playback.rewind(10_000) == 300
    assert playback.pull(500)[0] == 1


def test_playback_clear_drops_what_is_queued() -> None:
    playback = Playback(1000)
    reply = playback.begin_reply()
    piece = playback.add_piece(reply, "never heard")
    playback.play(reply, piece, np.ones(500, np.float32))
    playback.clear()
    assert not playback.busy
    assert playback.heard_text() == ""


def test_a_cancelled_replys_late_audio_is_dropped() -> None:
    playback = Playback(1000)
    old = playback.begin_reply()
    piece = playback.add_piece(old, "old words")
    new = playback.begin_reply(held=True)
    playback.play(old, piece, np.ones(500, np.float32))  # arrives after the new reply began
    assert playback.add_piece(old, "more old words") == -1
    assert not playback.busy
    fresh = playback.add_piece(new, "new words")
    playback.play(new, fresh, np.ones(100, np.float32))
    assert not playback.pull(100).any()  # held until released
    playback.release()
    assert playback.pull(100).all()


def test_echo_gate_learns_the_room_and_still_hears_the_user() -> None:
    gate = EchoGate()
    rng = np.random.default_rng(1)

    def echo() -> np.ndarray:
        return (0.05 * rng.standard_normal(512)).astype(np.float32)

    for _ in range(100):  # the companion's voice comes back at a fifth of its level
        gate.admits(echo(), playback_level=0.25)
    assert 0.1 < gate.coupling < 0.3
    assert not gate.admits(echo(), playback_level=0.25)
    user = (0.3 * rng.standard_normal(512)).astype(np.float32)
    assert gate.admits(user, playback_level=0.25)
    assert gate.admits(echo(), playback_level=0.0)  # not speaking: nothing is held back


def _feed(listener: Listener, audio: np.ndarray, start: float = 0.0) -> list[object]:
    events: list[object] = []
    block = 320
    for offset in range(0, audio.size, block):
        chunk = audio[offset : offset + block]
        at = start + (offset + chunk.size) / MIC_RATE
        events.extend(listener.feed(AudioChunk(chunk, at)))
    return events


def test_listener_dates_speech_from_its_first_frame_and_hands_on_the_audio() -> None:
    listener = Listener(EnergyVAD(), threshold=0.5, pause_ms=160)
    audio = np.concatenate([_silence(1.0), _tone(1.5), _silence(0.5)])
    events = _feed(listener, audio)
    started = [e for e in events if isinstance(e, SpeechStarted)]
    ended = [e for e in events if isinstance(e, SpeechEnded)]
    assert len(started) == 1 and len(ended) == 1
    assert started[0].at == pytest.approx(1.0, abs=0.07)
    assert ended[0].at == pytest.approx(2.5, abs=0.07)
    assert ended[0].detected_at - ended[0].at == pytest.approx(0.16, abs=0.07)
    assert ended[0].audio.size / MIC_RATE == pytest.approx(1.5 + 0.16 + 0.2, abs=0.1)


def test_listener_cuts_a_monologue_without_losing_audio() -> None:
    listener = Listener(EnergyVAD(), threshold=0.5, max_speech_s=5.0)
    speech = _tone(12.0)
    events = _feed(listener, np.concatenate([_silence(0.5), speech, _silence(0.5)]))
    ended = [e for e in events if isinstance(e, SpeechEnded)]
    assert len(ended) >= 3
    assert all(e.continues for e in ended[:-1]) and not ended[-1].continues
    total = sum(e.audio.size for e in ended) / MIC_RATE
    assert total == pytest.approx(12.0 + 0.16 + 0.2, abs=0.15)


def test_listener_ignores_silence_and_short_clicks() -> None:
    listener = Listener(EnergyVAD(), threshold=0.5)
    click = _tone(0.01)  # shorter than two frames
    audio = np.concatenate([_silence(1.0), click, _silence(1.0)])
    assert _feed(listener, audio) == []


def test_playback_level_fades_once_the_speaker_is_quiet() -> None:
    now = [0.0]
    playback = Playback(1000, clock=lambda: now[0])
    reply = playback.begin_reply()
    piece = playback.add_piece(reply, "hi")
    playback.play(reply, piece, np.full(100, 0.5, np.float32))
    playback.pull(100)
    assert playback.level() == pytest.approx(0.5)
    now[0] = 1.0  # nothing pulled since: the reply is over
    assert playback.level() == 0.0


def test_echo_gate_learns_from_quiet_frames_that_there_is_no_echo() -> None:
    gate = EchoGate()
    silence = np.zeros(512, dtype=np.float32)
    for _ in range(200):  # a headset: the companion plays, the microphone hears nothing
        gate.admits(silence, playback_level=0.3)
    soft_voice = (0.02 * np.random.default_rng(2).standard_normal(512)).astype(np.float32)
    assert gate.admits(soft_voice, playback_level=0.3)


def test_listener_reacts_a_frame_sooner_over_the_companions_voice() -> None:
    audio = np.concatenate([_silence(1.024), _tone(0.5), _silence(0.5)])

    def first_start(level: float) -> SpeechStarted:
        listener = Listener(EnergyVAD(), threshold=0.5)
        for offset in range(0, audio.size, 512):
            chunk = AudioChunk(audio[offset : offset + 512], (offset + 512) / MIC_RATE)
            for event in listener.feed(chunk, lambda: level):
                if isinstance(event, SpeechStarted):
                    return event
        raise AssertionError("no speech detected")

    quiet, speaking = first_start(0.0), first_start(0.3)
    assert speaking.while_speaking and not quiet.while_speaking
    assert quiet.detected_at - speaking.detected_at == pytest.approx(512 / MIC_RATE)
    assert speaking.at == pytest.approx(quiet.at) == pytest.approx(1.024)


def test_the_first_piece_never_ends_on_a_word_that_promises_more() -> None:
    def pieces(reply: str) -> list[str]:
        return _stream(SentenceChunker(), [" " + w for w in reply.split()])

    assert pieces("That's the best part of the week.") == ["That's the best", "part of the week."]
    assert pieces("I don't want to go out.") == ["I don't want", "to go out."]
    assert pieces("I am so happy for you") == ["I am so happy", "for you"]
    assert pieces("You're right.") == ["You're right."]
    # A run of such words is cut all the same, so the first sound is never long in coming.
    assert pieces("I and the a to of my own words")[0] == "I and the a to"


def test_playback_counts_the_silence_while_the_next_piece_was_not_ready() -> None:
    now = [0.0]
    playback = Playback(1000, clock=lambda: now[0])
    reply = playback.begin_reply()
    first = playback.add_piece(reply, "I don't want")
    playback.play(reply, first, np.full(500, 0.1, np.float32))
    playback.piece_done(reply, first)
    assert playback.stalled_ms_of(reply) is None  # not heard yet
    playback.pull(200)
    now[0] = 0.2
    playback.pull(400)  # the last 300 samples: the queue runs dry at 0.5 s
    second = playback.add_piece(reply, "to go out.")
    now[0] = 0.9
    playback.play(reply, second, np.full(500, 0.1, np.float32))  # 0.4 s late
    assert playback.stalled_ms_of(reply) == pytest.approx(400.0)
    playback.pull(500)  # played to the end: silence after the last piece is no stall
    now[0] = 3.0
    assert playback.stalled_ms_of(reply) == pytest.approx(400.0)
    assert playback.stalled_ms_of(reply + 1) is None


def test_echo_gate_tells_a_level_above_the_echo_without_learning() -> None:
    gate = EchoGate(coupling=0.1)
    assert gate.above_echo(0.2, playback_level=0.3)
    assert not gate.above_echo(0.05, playback_level=0.3)
    assert gate.above_echo(0.001, playback_level=0.0)  # nothing playing
    assert gate.coupling == 0.1
