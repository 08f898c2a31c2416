"""Voice benchmark: a spoken conversation on the embedded defaults, timed as a user feels it.

Real recordings (``../shared/fixtures/speech`` in a checkout, or ``--speech DIR``) are
fed as the microphone in real time; the companion answers on the embedded model and a
shipped voice, into a speaker that plays in real time. Some turns are spoken over the
companion's reply to time barge-in. Measured per turn, from the end of the user's speech
(the last frame the voice activity detector heard as speech):

- ``transcript_ms``: the final transcript is ready;
- ``first_token_ms``: the model's first words;
- ``voice_to_voice_ms``: the first sample of the reply is played;
- ``barge_in_ms``: from the first frame of speech over the reply to playback stopped.

Also: the speech recognisers' word error rate on the recordings' transcripts, and each
voice's round trip (synthesised, then transcribed by Whisper base).
"""

from __future__ import annotations

import asyncio
import csv
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from os1.app import App
from os1.bench.chat import seed_history
from os1.bench.stats import percentile
from os1.companion.persona import Persona, save_persona
from os1.errors import OS1Error
from os1.store.state import StateStore
from os1.voice.audio import read_wav
from os1.voice.events import Event, Interrupt
from os1.voice.io import FileMicrophone
from os1.voice.pipeline import VoiceParts, VoiceRun, load_parts
from os1.voice.wer import word_error_rate

ROUND_TRIP_SENTENCES = [
    "Hi, I'm Samantha. It's really nice to meet you.",
    "How did you sleep last night?",
    "That sounds like a lovely walk by the river.",
    "Your sister's birthday is on Saturday, the twelfth of March.",
    "I can remind you to call Annie at seven tonight.",
    "Take a deep breath. You've prepared well for this.",
    "What would make today feel like a good day?",
    "I'm so glad the review went fine!",
    "Red lentils, cumin, and a squeeze of lemon at the end.",
    "Good night. Talk to you tomorrow.",
]
BARGE_AFTER_S = 0.6  # how long into a reply the user starts talking over it


def _speech_onsets_s(clip: np.ndarray, level: float = 0.02) -> list[float]:
    """Where each stretch of sound in a recording begins (10 ms frames louder than
    ``level``, after at least 200 ms of quiet): the true moments the user starts."""
    frames = clip[: clip.size // 160 * 160].reshape(-1, 160)
    loud = np.sqrt(np.mean(np.square(frames), axis=1)) > level
    onsets, quiet = [], 20
    for index, is_loud in enumerate(loud):
        if is_loud and quiet >= 20:
            onsets.append(index * 0.01)
        quiet = 0 if is_loud else quiet + 1
    return onsets


def _true_onset(dated: float, onsets: list[float]) -> float:
    """The recording's onset of the stretch the VAD dated at ``dated`` (or ``dated``)."""
    near = [o for o in onsets if dated - 0.4 <= o <= dated + 0.05]
    return min(dated, max(near)) if near else dated


def _barge_in_ms(event: Interrupt, onsets: list[float]) -> float:
    """From the start of the speech over the reply (or from the reply's first sound, when
    the user was already speaking as it began: nothing could stop it sooner) to the moment
    playback stopped."""
    start = _true_onset(event.onset_at, onsets)
    if event.reply_heard_at is not None:
        start = max(start, event.reply_heard_at)
    return (event.stopped_at - start) * 1000


def find_speech_dir(explicit: Path | None = None) -> Path:
    if explicit is not None:
        candidates = [explicit]
    else:
        root = Path(__file__).resolve().parents[3]
        candidates = [root.parent / "shared" / "fixtures" / "speech", Path.cwd() / "speech"]
    for candidate in candidates:
        if (candidate / "transcripts.tsv").is_file():
            return candidate
    raise OS1Error(
        "No recordings to benchmark with were found.",
        "Pass a folder of WAVs with a transcripts.tsv (file, tab, text): --speech DIR",
    )


def transcripts(speech_dir: Path) -> list[tuple[Path, str]]:
    with (speech_dir / "transcripts.tsv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    return [(speech_dir / name, text) for name, text in rows[1:] if name.endswith(".wav")]


def _stats(values: Sequence[float | None]) -> dict[str, float | None]:
    present = [v for v in values if v is not None]
    if not present:
        return {"p50": None, "p95": None, "n": 0}
    p95 = percentile(present, 0.95)
    return {"p50": round(statistics.median(present), 1), "p95": round(p95, 1), "n": len(present)}


def stt_accuracy(speech_dir: Path, models_dir: Path) -> dict[str, Any]:
    from os1.voice.stt import WhisperSTT

    pairs = transcripts(speech_dir)
    report: dict[str, Any] = {}
    for model in ("tiny.en", "base"):
        stt = WhisperSTT(model, models_dir=models_dir)
        stt.load()
        refs, hyps, seconds, audio_s = [], [], 0.0, 0.0
        for path, text in pairs:
            audio = read_wav(path)
            started = time.perf_counter()
            hyps.append(stt.transcribe(audio))
            seconds += time.perf_counter() - started
            audio_s += audio.size / 16000
            refs.append(text)
        report[model] = {
            "wer": round(word_error_rate(" ".join(refs), " ".join(hyps)), 4),
            "real_time_factor": round(seconds / audio_s, 3),
            "files": len(pairs),
        }
    return report


def voice_round_trip(spec: str, models_dir: Path, judge: Any) -> dict[str, Any]:
    from os1.voice.voices import load_voice

    voice = load_voice(spec, models_dir)
    for _ in voice.synthesize("Hello."):
        pass
    from os1.voice.audio import resample

    firsts: list[float] = []
    refs: list[str] = []
    hyps: list[str] = []
    for sentence in ROUND_TRIP_SENTENCES:
        started = time.perf_counter()
        chunks: list[np.ndarray] = []
        for chunk in voice.synthesize(sentence):
            if not chunks:
                firsts.append((time.perf_counter() - started) * 1000)
            chunks.append(chunk)
        audio = resample(np.concatenate(chunks), voice.sample_rate, 16000)
        refs.append(sentence)
        hyps.append(judge.transcribe(audio))
    return {
        "voice": voice.name,
        "round_trip_wer": round(word_error_rate(" ".join(refs), " ".join(hyps)), 4),
        "first_audio_ms": _stats(firsts),
        "misheard": [h for r, h in zip(refs, hyps, strict=True) if word_error_rate(r, h) > 0],
    }


def set_up_companion(home: Path, voice: str) -> App:
    app = App.open(home, {"model": "embedded"})
    persona = Persona(
        companion_name="Samantha" if voice == "female" else "Theo",
        name_reason="it sounds like someone who listens",
        voice="male" if voice == "male" else "female",
        user_name="Alex",
        traits=("warm", "curious", "honest", "a little playful", "easygoing"),
        answers={"help": "my days and someone to talk to", "social": "a bit of both"},
    )
    save_persona(StateStore(app.db), persona)
    companion = app.companion()
    seed_history(
        app.db,
        persona,
        1500,
        lambda: companion.llm.count_tokens(companion.build_prompt()) or 0,
    )
    app.memory.index_pending()
    companion.consolidate()
    return app


def conversation(
    voice: str, speech_dir: Path, models_dir: Path, *, barge_every: int = 2
) -> dict[str, Any]:
    """Hold a spoken conversation; every ``barge_every``-th turn after the first two
    starts while the companion is still speaking."""
    clips = [path for path, _ in transcripts(speech_dir)]
    plan = clips + clips[:4]  # enough turns for percentiles, some over a reply
    with tempfile.TemporaryDirectory(prefix="os1-bench-voice-") as tmp:
        app = set_up_companion(Path(tmp) / "home", voice)
        try:
            companion = app.companion()
            settings = app.settings.voice.model_copy(update={"voice": voice})
            parts: VoiceParts = load_parts(settings, voice, models_dir, quiet=True)
            run = VoiceRun(companion, settings, models_dir)
            run.use_files(plan, Path(tmp) / "out")
            barging = [n >= 2 and n % barge_every == 0 for n in range(len(plan))]

            async def cue(number: int) -> None:
                session = run.session
                assert session is not None
                if number == 0:
                    await session.warmed.wait()
                if not barging[number]:
                    await session.wait_idle(0.8)
                    return
                playback = session.playback
                waited = 0.0
                # Talk over the reply once it is heard (if it never is, talk anyway).
                while not (playback.busy and playback.first_sample_at is not None):
                    await asyncio.sleep(0.005)
                    waited += 0.005
                    if waited > 15:
                        return
                await asyncio.sleep(BARGE_AFTER_S)

            interrupts: list[Interrupt] = []

            def observe(event: Event) -> None:
                if isinstance(event, Interrupt) and event.by_user and not event.resumed:
                    interrupts.append(event)

            report = asyncio.run(run.converse(parts, cue=cue, observe=observe))
            microphone = run.microphone
            assert isinstance(microphone, FileMicrophone)
            onsets = [
                start + offset
                for n, start in enumerate(microphone.speech_starts)
                for offset in _speech_onsets_s(read_wav(plan[n]))
            ]
        finally:
            app.close()
    turns = report["turns"]
    return {
        "voice": report["voice"],
        "stt": report["stt"],
        "turns": turns,
        "transcript_ms": _stats([t["speech_end_to_transcript_ms"] for t in turns]),
        "first_token_ms": _stats([t["speech_end_to_first_token_ms"] for t in turns]),
        "voice_to_voice_ms": _stats([t["speech_end_to_first_audio_ms"] for t in turns]),
        # From the true start of the speech over the reply (the first sound of that
        # stretch in the recording, up to 0.4 s before the VAD dated it) to the moment
        # playback stopped: the detector's own lag is counted.
        "barge_in_ms": _stats([_barge_in_ms(event, onsets) for event in interrupts]),
        "barge_in_vad_ms": _stats([t["barge_in_ms"] for t in turns]),
        # The reply paused at a sound that was not speech (each a gap of up to 0.35 s).
        "false_onsets": report["false_onsets"],
        # Silence inside a reply heard to its end while its next audio was not ready: a
        # faster start must not be paid for with pauses mid-reply.
        "stalled_ms": _stats([t["stalled_ms"] for t in turns if t["status"] == "complete"]),
    }


def run_voice_benchmark(
    *, voices: tuple[str, ...] = ("female", "male"), speech_dir: Path | None = None
) -> dict[str, Any]:
    from os1.config import load_settings
    from os1.voice.stt import WhisperSTT

    speech = find_speech_dir(speech_dir)
    settings = load_settings(Path(tempfile.gettempdir()), {}, environ={})
    models_dir = settings.models_path()
    judge = WhisperSTT("base", models_dir=models_dir)
    judge.load()
    report: dict[str, Any] = {
        "bars": {
            "voice_to_voice_p50_ms": 800,
            "voice_to_voice_p95_ms": 1200,
            "barge_in_p95_ms": 150,
            "stt_wer": 0.10,
            "voice_round_trip_wer": 0.10,
        },
        "speech_dir": str(speech),
        "stt": stt_accuracy(speech, models_dir),
        "voices": {spec: voice_round_trip(spec, models_dir, judge) for spec in voices},
        "conversations": {spec: conversation(spec, speech, models_dir) for spec in voices},
    }
    report["summary"] = {
        "stt_wer": {m: r["wer"] for m, r in report["stt"].items()},
        "voice_round_trip_wer": {v: r["round_trip_wer"] for v, r in report["voices"].items()},
        **{
            spec: {
                key: conv[key]
                for key in (
                    "transcript_ms",
                    "first_token_ms",
                    "voice_to_voice_ms",
                    "barge_in_ms",
                    "stalled_ms",
                    "false_onsets",
                )
            }
            for spec, conv in report["conversations"].items()
        },
    }
    return report
