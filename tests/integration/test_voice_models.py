"""The real voice models on real speech: Silero VAD and Whisper tiny.en / base.

Speech comes from ../shared/fixtures/speech (beside the project), with its transcripts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from os1.voice.audio import read_wav, resample
from os1.voice.base import MIC_RATE, Samples, SpeechToText, VoiceActivityDetector
from os1.voice.stt import BASE_DIR_NAME, WhisperSTT
from os1.voice.vad import SileroVAD
from os1.voice.wer import corpus_word_error_rate, word_error_rate
from tests.unit.test_voice_audio import FLOAT, wav_bytes

pytestmark = pytest.mark.integration

SPEECH = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "speech"
needs_speech = pytest.mark.skipif(
    not (SPEECH / "transcripts.tsv").is_file(),
    reason="../shared/fixtures is not beside the project",
)


def transcripts() -> list[tuple[str, str]]:
    lines = (SPEECH / "transcripts.tsv").read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t", 1) for line in lines[1:] if line.strip()]
    return [(name, text) for name, text in rows]


def noises() -> dict[str, Samples]:
    rng = np.random.default_rng(0)
    t = np.arange(3 * MIC_RATE) / MIC_RATE
    return {
        "silence": np.zeros(3 * MIC_RATE, dtype=np.float32),
        "white noise": (0.03 * rng.standard_normal(3 * MIC_RATE)).astype(np.float32),
        "loud white noise": (0.3 * rng.standard_normal(3 * MIC_RATE)).astype(np.float32),
        "mains hum": (0.1 * np.sin(2 * np.pi * 100 * t)).astype(np.float32),
        "brown noise": (1e-3 * np.cumsum(rng.standard_normal(3 * MIC_RATE))).astype(np.float32),
    }


def frame_probabilities(vad: VoiceActivityDetector, audio: Samples) -> Samples:
    vad.reset()
    n = audio.size // vad.frame_samples * vad.frame_samples
    frames = audio[:n].reshape(-1, vad.frame_samples)
    return np.array([vad.probability(frame) for frame in frames], dtype=np.float32)


# --- Silero VAD ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def silero() -> SileroVAD:
    return SileroVAD()


@needs_speech
@pytest.mark.parametrize(
    "name", [row[0] for row in transcripts()] if (SPEECH / "transcripts.tsv").is_file() else []
)
def test_silero_hears_speech(silero: SileroVAD, name: str) -> None:
    probs = frame_probabilities(silero, read_wav(SPEECH / name))
    assert probs.max() > 0.9
    assert (probs > 0.5).mean() > 0.25  # these recordings are mostly speech


@pytest.mark.parametrize("kind", list(noises()))
def test_silero_hears_no_speech_in_silence_and_noise(silero: SileroVAD, kind: str) -> None:
    probs = frame_probabilities(silero, noises()[kind])
    assert probs.max() < 0.5, f"{kind}: {probs.max():.2f}"


@needs_speech
def test_silero_marks_where_speech_starts_and_stops(silero: SileroVAD) -> None:
    speech = read_wav(SPEECH / "sb_spk1_snt1.wav")
    quiet = np.zeros(MIC_RATE, dtype=np.float32)
    probs = frame_probabilities(silero, np.concatenate([quiet, speech, quiet]))
    per_second = MIC_RATE // silero.frame_samples  # 31 frames
    assert probs[: per_second - 2].max() < 0.2  # the leading second of silence
    assert probs[-per_second + 12 :].max() < 0.2  # the trailing silence, after a short tail
    assert probs[per_second:-per_second].max() > 0.9


@needs_speech
def test_silero_streaming_matches_faster_whispers_batch_run(silero: SileroVAD) -> None:
    """Frame by frame with carried state gives what the whole-file reference gives."""
    from faster_whisper.vad import get_vad_model

    audio = read_wav(SPEECH / "beckett.wav")
    audio = audio[: audio.size // 512 * 512].copy()
    reference = np.asarray(get_vad_model()(audio)).reshape(-1)
    streamed = frame_probabilities(silero, audio)
    assert streamed.shape == reference.shape
    np.testing.assert_allclose(streamed, reference, atol=5e-3)
    again = frame_probabilities(silero, audio)  # reset() really forgets
    np.testing.assert_array_equal(again, streamed)


@needs_speech
def test_silero_state_matters(silero: SileroVAD) -> None:
    """Without its carried state the model answers differently: the state is being used."""
    audio = read_wav(SPEECH / "beckett.wav")[: 100 * 512]
    streamed = frame_probabilities(silero, audio)
    isolated = []
    for frame in audio.reshape(-1, 512):
        silero.reset()
        isolated.append(silero.probability(frame))
    assert np.abs(streamed - np.array(isolated)).max() > 0.05


# --- Whisper ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module", params=["tiny.en", "base"])
def whisper(request: pytest.FixtureRequest, models_dir: Path) -> Iterator[WhisperSTT]:
    stt = WhisperSTT(request.param, models_dir=models_dir)
    stt.load()
    yield stt


@needs_speech
def test_whisper_transcribes_the_fixtures(whisper: WhisperSTT) -> None:
    stt: SpeechToText = whisper
    pairs = [(text, stt.transcribe(read_wav(SPEECH / name))) for name, text in transcripts()]
    rate = corpus_word_error_rate(pairs)
    assert rate <= 0.10, f"{whisper.name}: WER {rate:.1%}: {pairs}"
    assert all(hypothesis for _, hypothesis in pairs)


@pytest.mark.parametrize("kind", list(noises()))
def test_whisper_hears_nothing_in_silence_and_noise(whisper: WhisperSTT, kind: str) -> None:
    assert whisper.transcribe(noises()[kind]) == ""


@needs_speech
def test_whisper_drops_what_it_hallucinates_on_a_fragment(whisper: WhisperSTT) -> None:
    """A fifth of a second cut from a word: tiny.en "hears" "Thank you.", base a run-on
    sentence, unless the cleaning steps in."""
    fragment = read_wav(SPEECH / "beckett.wav")[8000:11200]
    assert whisper.transcribe(fragment) == ""


@needs_speech
def test_whisper_takes_context(whisper: WhisperSTT) -> None:
    name, text = transcripts()[1]
    heard = whisper.transcribe(read_wav(SPEECH / name), context="We were talking about pets.")
    assert word_error_rate(text, heard) <= 0.15


@needs_speech
def test_whisper_reads_a_stereo_44k_float_recording(whisper: WhisperSTT, tmp_path: Path) -> None:
    """The fixture turned into what a desktop recorder writes, then read back."""
    name, text = transcripts()[0]
    speech = resample(read_wav(SPEECH / name), MIC_RATE, 44_100)
    stereo = np.stack([speech, speech * 0.5], axis=1).astype("<f4").reshape(-1)
    path = tmp_path / "desktop.wav"
    path.write_bytes(wav_bytes(stereo.tobytes(), rate=44_100, channels=2, width=4, tag=FLOAT))
    assert word_error_rate(text, whisper.transcribe(read_wav(path))) <= 0.10


def test_base_is_assembled_once_into_the_models_directory(tmp_path: Path) -> None:
    first = WhisperSTT("base", models_dir=tmp_path)
    first.load()
    target = tmp_path / BASE_DIR_NAME
    stamp = json.loads((target / "assembled.json").read_text())
    assert (target / "model.bin").stat().st_size == sum(stamp["parts"]) > 100_000_000
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (target / name).is_file()
    assert not list(target.glob("*.partial"))
    mtime = (target / "model.bin").stat().st_mtime_ns
    WhisperSTT("base", models_dir=tmp_path).load()
    assert (target / "model.bin").stat().st_mtime_ns == mtime  # reused, not rebuilt


def test_the_short_window_hears_what_the_full_window_hears(
    whisper: WhisperSTT, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os1.voice.stt as stt_module

    audio = {name: read_wav(SPEECH / name) for name, _ in transcripts()}
    short = {name: whisper.transcribe(clip) for name, clip in audio.items()}
    monkeypatch.setattr(stt_module, "SHORT_WINDOW_MAX_S", 0.0)  # always the 30 s window
    full = {name: whisper.transcribe(clip) for name, clip in audio.items()}
    references = dict(transcripts())
    short_wer = corpus_word_error_rate([(references[n], short[n]) for n in audio])
    full_wer = corpus_word_error_rate([(references[n], full[n]) for n in audio])
    assert short_wer <= 0.05 and short_wer <= full_wer + 0.04


def test_a_looping_short_window_falls_back_to_the_full_pass() -> None:
    from os1.voice.stt import _looks_looped

    assert _looks_looped("Sunday is the best part of the week. " * 4)
    assert _looks_looped("A thin stripe runs down the middle. A thin stripe")
    assert not _looks_looped("Sunday is the best part of the week.")
    assert not _looks_looped("Ever tried. Ever failed. No matter. Try again. Fail again.")
