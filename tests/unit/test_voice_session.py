"""The whole voice turn with fakes: files as the microphone, a real-time speaker, a fake
recogniser, voice and model, so the session's decisions can be checked exactly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import pytest

from os1.app import App
from os1.config import VoiceSettings
from os1.errors import LLMUnavailableError
from os1.llm.fake import FakeLLM
from os1.store.conversations import Conversations
from os1.voice.base import MIC_RATE, NEUTRAL
from os1.voice.events import Event, Interrupt, ReplyText, ReplyWithdrawn, TurnDone
from os1.voice.io import FileMicrophone, FileSpeaker
from os1.voice.reply import APOLOGY
from os1.voice.session import VoiceSession
from os1.voice.stt import FakeSTT
from os1.voice.tts_fake import FakeTTS
from os1.voice.vad import EnergyVAD

LONG_REPLY = (
    "Once there was a lighthouse keeper who loved storms. Every night she climbed the"
    " stairs with a lamp and a book of poems."
)


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * MIC_RATE)) / MIC_RATE
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def _run(
    app: App,
    clips: list[np.ndarray],
    stt: FakeSTT,
    *,
    cue_after_audio_s: float | None = None,
    settings: VoiceSettings | None = None,
    out_dir: Path | None = None,
) -> tuple[list[TurnDone], list[Event], VoiceSession]:
    events: list[Event] = []
    tts = FakeTTS(sample_rate=16_000)
    speaker = FileSpeaker(tts.sample_rate, out_dir)
    session_box: list[VoiceSession] = []

    async def cue(number: int) -> None:
        session = session_box[0]
        if number == 0 or cue_after_audio_s is None:
            await session.wait_idle(0.3)
            return
        while speaker.playback.first_sample_at is None or not speaker.playback.busy:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await asyncio.sleep(cue_after_audio_s)

    session = _session(app, clips, stt, tts, speaker, cue, 0.5, settings, events)
    session_box.append(session)
    turns = asyncio.run(session.run())
    return turns, events, session


def _session(
    app: App,
    clips: list[np.ndarray],
    stt: FakeSTT,
    tts: FakeTTS,
    speaker: FileSpeaker,
    cue: Callable[[int], Awaitable[None]],
    tail_s: float,
    settings: VoiceSettings | None,
    events: list[Event],
) -> VoiceSession:
    """A session hearing ``clips`` from a file microphone (each after ``cue``)."""
    return VoiceSession(
        app.companion(),
        stt=stt,
        vad=EnergyVAD(),
        tts=tts,
        microphone=FileMicrophone(clips, cue=cue, tail_s=tail_s),
        speaker=speaker,
        settings=settings or VoiceSettings(),
        observe=events.append,
    )


def test_two_spoken_turns_are_answered_and_stored(onboarded: App, fake_llm: FakeLLM) -> None:
    fake_llm.enqueue("Hello Theo, good to hear you.", "I'm well, thank you.")
    stt = FakeSTT(["Hello there.", "How are you?"])
    turns, _, _ = _run(onboarded, [_tone(0.8), _tone(0.8)], stt)
    assert [t.status for t in turns] == ["complete", "complete"]
    assert [t.user_text for t in turns] == ["Hello there.", "How are you?"]
    assert turns[0].reply == "Hello Theo, good to hear you."
    for turn in turns:
        assert turn.speech_end_to_first_audio_ms is not None
        assert turn.speech_end_to_first_audio_ms > 0
    said = [(m.role, m.text) for m in Conversations(onboarded.db).recent(10)][-4:]
    assert said == [
        ("user", "Hello there."),
        ("companion", "Hello Theo, good to hear you."),
        ("user", "How are you?"),
        ("companion", "I'm well, thank you."),
    ]


def test_talking_over_the_companion_keeps_only_what_was_heard(
    onboarded: App, fake_llm: FakeLLM
) -> None:
    fake_llm.enqueue(LONG_REPLY, "Sure, go ahead.")
    stt = FakeSTT(["Tell me a story.", "Wait, stop, I have a question."])
    turns, events, _ = _run(onboarded, [_tone(0.8), _tone(1.5)], stt, cue_after_audio_s=0.8)
    interrupts = [e for e in events if isinstance(e, Interrupt) and not e.resumed]
    assert len(interrupts) == 1
    assert turns[0].status == "interrupted"
    assert turns[0].barge_in_ms is not None and turns[0].barge_in_ms >= 0
    heard = turns[0].reply
    assert heard and LONG_REPLY.startswith(heard) and len(heard) < len(LONG_REPLY)
    messages = Conversations(onboarded.db).recent(10)
    stored = [m for m in messages if m.role == "companion"][-2]
    assert stored.text == heard and stored.status == "interrupted"
    assert turns[1].user_text == "Wait, stop, I have a question."
    assert turns[1].status == "complete"


def test_a_backchannel_does_not_interrupt(onboarded: App, fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(LONG_REPLY)
    stt = FakeSTT(["Tell me a story.", "Mm-hm."])
    turns, events, _ = _run(onboarded, [_tone(0.8), _tone(0.3)], stt, cue_after_audio_s=0.5)
    resumed = [e for e in events if isinstance(e, Interrupt)]
    assert resumed and all(e.resumed for e in resumed)
    assert len(turns) == 1 and turns[0].status == "complete"
    assert turns[0].reply == LONG_REPLY
    assert "Mm-hm." not in [m.text for m in Conversations(onboarded.db).recent(10)]


def test_barge_in_can_be_turned_off(onboarded: App, fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(LONG_REPLY)
    stt = FakeSTT(["Tell me a story.", "Stop right there please."])
    turns, events, _ = _run(
        onboarded,
        [_tone(0.8), _tone(1.5)],
        stt,
        cue_after_audio_s=0.5,
        settings=VoiceSettings(barge_in=False),
    )
    assert not [e for e in events if isinstance(e, Interrupt)]
    assert [t.status for t in turns] == ["complete"]


def test_silence_and_noise_get_no_reply(onboarded: App, fake_llm: FakeLLM) -> None:
    quiet = np.zeros(MIC_RATE, dtype=np.float32)
    noise = (0.3 * np.random.default_rng(0).standard_normal(MIC_RATE // 2)).astype(np.float32)
    stt = FakeSTT([""])  # the recogniser hears no words in the noise
    asked = len(fake_llm.prompts)
    turns, _, _ = _run(onboarded, [quiet, noise], stt)
    assert turns == []
    assert len(fake_llm.prompts) == asked


def test_an_unfinished_sentence_waits_for_the_rest(onboarded: App, fake_llm: FakeLLM) -> None:
    fake_llm.enqueue("Oh no, I'm sorry.")
    # Each pause re-transcribes the open part of the turn, so the second call hears all.
    stt = FakeSTT(["I went to the shop because", "I went to the shop because it was raining."])
    pause = np.zeros(int(0.5 * MIC_RATE), dtype=np.float32)
    clip = np.concatenate([_tone(0.6), pause, _tone(0.6)])
    turns, _, _ = _run(onboarded, [clip], stt)
    assert [t.user_text for t in turns] == ["I went to the shop because it was raining."]
    # A reply may have been started on the first half; it was withdrawn, unheard.
    said = [(m.role, m.text) for m in Conversations(onboarded.db).recent(10)]
    assert said[-2] == ("user", "I went to the shop because it was raining.")
    assert ("user", "I went to the shop because") not in said
    assert said[-1][0] == "companion"


def test_a_reply_started_early_is_withdrawn_when_the_user_goes_on(
    onboarded: App, fake_llm: FakeLLM
) -> None:
    fake_llm.enqueue("Premature answer.", "Right, after the rain.")
    # A complete-sounding first half: the reply starts, held, then the user continues.
    stt = FakeSTT(["I went out.", "I went out after the rain stopped."])
    pause = np.zeros(int(0.3 * MIC_RATE), dtype=np.float32)
    clip = np.concatenate([_tone(0.6), pause, _tone(0.6)])
    settings = VoiceSettings(end_of_turn_ms=600)
    turns, _, _ = _run(onboarded, [clip], stt, settings=settings)
    assert [t.user_text for t in turns] == ["I went out after the rain stopped."]
    assert stt.calls[1][0] > stt.calls[0][0]  # the second pass heard both stretches
    texts = [m.text for m in Conversations(onboarded.db).recent(10)]
    assert "I went out." not in texts and "Premature answer." not in texts


def test_a_failing_model_still_says_something(onboarded: App, fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(LLMUnavailableError("The model server went away."))
    stt = FakeSTT(["Are you there?"])
    turns, _, _ = _run(onboarded, [_tone(0.8)], stt)
    assert turns[0].status == "failed"
    assert turns[0].error and "went away" in turns[0].error
    assert turns[0].speech_end_to_first_audio_ms is not None  # the apology was spoken
    assert APOLOGY not in [m.text for m in Conversations(onboarded.db).recent(10)]


def test_replies_are_written_as_wav_files(
    onboarded: App, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    fake_llm.enqueue("Hello.")
    stt = FakeSTT(["Hi."])
    out = tmp_path / "out"
    out.mkdir()
    _, _, session = _run(onboarded, [_tone(0.8)], stt, out_dir=out)
    speaker = session.speaker
    assert isinstance(speaker, FileSpeaker)
    path = speaker.save_reply(1)
    assert path is not None and path.is_file()


@pytest.mark.parametrize("text", ["", "   "])
def test_blank_transcripts_are_not_turns(onboarded: App, fake_llm: FakeLLM, text: str) -> None:
    turns, _, _ = _run(onboarded, [_tone(0.6)], FakeSTT([text]))
    assert turns == []


def test_going_on_before_a_word_of_the_reply_is_heard_keeps_the_turn_open(
    onboarded: App, fake_llm: FakeLLM
) -> None:
    fake_llm.delay = 0.4  # a slow model: nothing is heard for over a second
    fake_llm.enqueue("Premature answer to half a thought.", "Oh, after the rain then.")
    stt = FakeSTT(["I went out.", "I went out after the rain."])
    pause = np.zeros(int(0.8 * MIC_RATE), dtype=np.float32)
    clip = np.concatenate([_tone(0.6), pause, _tone(0.6)])
    turns, events, _ = _run(onboarded, [clip], stt, settings=VoiceSettings(end_of_turn_ms=300))
    assert [t.user_text for t in turns] == ["I went out after the rain."]
    assert not [e for e in events if isinstance(e, Interrupt)]
    texts = [m.text for m in Conversations(onboarded.db).recent(10)]
    assert "I went out." not in texts
    # Its text had been shown as it was written: watchers are told it was taken back,
    # before the new reply's text begins.
    kinds = [type(e).__name__ for e in events if isinstance(e, ReplyText | ReplyWithdrawn)]
    assert "ReplyWithdrawn" in kinds
    assert kinds.index("ReplyWithdrawn") < len(kinds) - 1  # the new reply's text follows


def test_a_reply_withdrawn_before_it_started_can_be_joined(onboarded: App) -> None:
    from os1.voice.playback import Playback
    from os1.voice.reply import SpokenReply

    reply = SpokenReply(onboarded.companion(), FakeTTS(), Playback(22_050), NEUTRAL)
    reply.cancel()
    reply.join()  # never started: nothing to wait for, and no error
    assert reply.written and reply.turn is None


def test_a_model_failing_mid_reply_keeps_what_was_said(onboarded: App, fake_llm: FakeLLM) -> None:
    fake_llm.enqueue_failure(
        "Well, that is a lovely question to think about. And then",
        LLMUnavailableError("The model server went away."),
        after_chunks=9,
    )
    turns, _, _ = _run(onboarded, [_tone(0.8)], FakeSTT(["What do you think?"]))
    (turn,) = turns
    assert turn.status == "failed" and turn.error
    assert turn.reply and "lovely question" in turn.reply  # said before the failure
    stored = [m for m in Conversations(onboarded.db).recent(10) if m.role == "companion"][-1]
    assert stored.text == turn.reply and APOLOGY not in stored.text


def _converse_with_announcement(
    app: App, clips: list[np.ndarray], stt: FakeSTT, announcement: str, *, over_it_s: float | None
) -> tuple[list[TurnDone], list[Event], FakeTTS]:
    """A conversation in which the companion has something to bring up (a reminder came
    due). ``over_it_s``: it is there from the start, and the user starts talking this
    long into it; None: it comes up while the user is speaking."""
    tts = FakeTTS(sample_rate=16_000)
    speaker = FileSpeaker(tts.sample_rate, None)
    box: list[VoiceSession] = []
    events: list[Event] = []

    async def cue(number: int) -> None:
        session = box[0]
        if over_it_s is None:
            await session.wait_idle(0.3)
            asyncio.get_running_loop().call_later(0.3, session.announce, announcement)
            return
        while not tts.said or not speaker.playback.busy:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await asyncio.sleep(over_it_s)

    session = _session(app, clips, stt, tts, speaker, cue, 2.5, None, events)
    box.append(session)
    if over_it_s is not None:
        session.announce(announcement)  # before it runs: said once it is quiet
    turns = asyncio.run(session.run())
    return turns, events, tts


def test_something_brought_up_is_said_aloud_never_over_the_user(
    onboarded: App, fake_llm: FakeLLM
) -> None:
    fake_llm.enqueue("Hello Theo, good to hear you.")
    turns, events, tts = _converse_with_announcement(
        onboarded, [_tone(0.8)], FakeSTT(["Hello there."]), "Reminder: call Annie.", over_it_s=None
    )
    assert [t.status for t in turns] == ["complete"]
    # It came up while the user spoke: the reply was said in full, and it after.
    assert " ".join(tts.said) == "Hello Theo, good to hear you. Reminder: call Annie."
    assert not [e for e in events if isinstance(e, Interrupt)]


def test_talking_over_something_brought_up_stops_it_and_is_a_turn(
    onboarded: App, fake_llm: FakeLLM
) -> None:
    fake_llm.enqueue("Sure, what is it?")
    long = "Reminder: " + "water the ferns on the balcony and the ones in the hall. " * 3
    turns, events, _ = _converse_with_announcement(
        onboarded, [_tone(1.0)], FakeSTT(["Wait, one thing first."]), long.strip(), over_it_s=0.4
    )
    (cut,) = [e for e in events if isinstance(e, Interrupt)]  # the moment the user spoke
    assert cut.heard.startswith("Reminder: water") and len(cut.heard) < len(long) / 2
    assert [t.user_text for t in turns] == ["Wait, one thing first."]
    assert turns[0].status == "complete" and turns[0].reply == "Sure, what is it?"


def _speech_start(session: VoiceSession, number: int) -> float:
    microphone = session.microphone
    assert isinstance(microphone, FileMicrophone)
    return microphone.speech_starts[number]


def test_the_reply_stops_at_the_first_sound_of_the_users_voice(
    onboarded: App, fake_llm: FakeLLM
) -> None:
    fake_llm.enqueue(LONG_REPLY, "Sure, go ahead.")
    stt = FakeSTT(["Tell me a story.", "Wait, stop, I have a question."])
    clips = [_tone(0.8), _tone(1.5)]
    turns, events, session = _run(onboarded, clips, stt, cue_after_audio_s=0.8)
    (cut,) = [e for e in events if isinstance(e, Interrupt) and not e.resumed]
    spoke_at = _speech_start(session, 1)
    # Dated by loudness, not by the voice detector's 32 ms frames, and stopped at once.
    assert cut.onset_at == pytest.approx(spoke_at, abs=0.011)
    assert cut.stopped_at - spoke_at < 0.03
    assert cut.reply_heard_at is not None and cut.reply_heard_at < spoke_at
    assert turns[0].status == "interrupted" and session.false_onsets == 0


def test_a_sound_that_is_not_speech_only_pauses_the_reply(
    onboarded: App, fake_llm: FakeLLM
) -> None:
    fake_llm.enqueue(LONG_REPLY)
    # Loud enough to be an onset (-42 dBFS), too quiet for the voice detector (-40 dBFS).
    rustle = _tone(0.15) * (0.0113 / 0.3)
    settings = VoiceSettings(echo_gate=False)
    turns, events, session = _run(
        onboarded,
        [_tone(0.8), rustle],
        FakeSTT(["Tell me a story."]),
        cue_after_audio_s=0.5,
        settings=settings,
    )
    assert session.false_onsets == 1
    assert not [e for e in events if isinstance(e, Interrupt)]
    assert len(turns) == 1 and turns[0].status == "complete" and turns[0].reply == LONG_REPLY


def test_words_transcribed_while_the_pause_was_judged_are_used(
    onboarded: App, fake_llm: FakeLLM
) -> None:
    fake_llm.enqueue("Hello Theo, good to hear you.", "I'm well, thank you.")
    stt = FakeSTT(["Hello there.", "How are you?"], quick=True)
    turns, _, _ = _run(onboarded, [_tone(0.8), _tone(0.8)], stt)
    assert [t.user_text for t in turns] == ["Hello there.", "How are you?"]
    assert len(stt.calls) == 2  # one transcription a turn: the early one was kept
    first_call_samples = stt.calls[0][0] / MIC_RATE
    assert first_call_samples < 0.8 + 0.2 + 0.128  # cut before the pause was over


def test_the_model_waits_while_the_first_piece_is_voiced(onboarded: App, fake_llm: FakeLLM) -> None:
    """On two cores the first sound comes sooner when the voice has them to itself."""
    import time

    from os1.voice.playback import Playback
    from os1.voice.reply import ReplyListener, SpokenReply

    written: list[str] = []
    seen: list[tuple[int, int]] = []  # (text written when a piece began, when it ended)

    class SlowTTS(FakeTTS):
        def synthesize(self, text, prosody=NEUTRAL):  # type: ignore[no-untyped-def]
            before = len(written)
            time.sleep(0.3)
            seen.append((before, len(written)))
            yield from super().synthesize(text, prosody)

    fake_llm.enqueue("I don't want to go out tonight, it is far too cold for that.")
    playback = Playback(16_000)
    reply = SpokenReply(
        onboarded.companion(),
        SlowTTS(sample_rate=16_000),
        playback,
        NEUTRAL,
        ReplyListener(on_text=written.append),
    )
    reply.start("Shall we go out?", None)
    reply.join(10)
    assert reply.written
    assert seen[0][0] == seen[0][1]  # nothing more was written while the first was voiced
    assert "".join(written).strip().endswith("cold for that.")
