"""Piper voices: small VITS models that speak about twenty times faster than real time.

A sentence is synthesised as soon as the one before it has been handed out (a long first
sentence in two, at its first comma), so the first audio is ready after one short model
run, and closing the iterator (barge-in) stops the work between sentences.

Piper bundles espeak-ng. This module also owns the one lock that every user of that
espeak-ng in the process shares (the Kokoro voice is fed by it too), because espeak-ng
keeps process-global state.

Rate is set through the model's ``length_scale``. Pitch is changed by resampling: audio
played ``p`` times faster sounds ``p`` times higher and lasts ``1/p`` as long, so the
model is first asked for speech ``p`` times longer than the requested rate calls for.
The two cancel out and the rate stays what was asked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime
import soxr
from piper import PiperConfig, SynthesisConfig, espeakbridge
from piper import PiperVoice as _PiperModel
from piper.phonemize_espeak import ESPEAK_DATA_DIR

from os1.errors import ModelError
from os1.voice.base import NEUTRAL, Prosody, Samples
from os1.voice.voices import clamp_prosody, duration_factor

DEFAULT_THREADS = 2
"""Measured on two cores: two threads halve the time to the first audio of a sentence
(about 0.2 s instead of 0.4 s for a 70-character sentence)."""

_LENGTH_EXPONENT = 1.5
"""Piper's ``length_scale`` stretches speech less than it says: every phoneme and the
silence between phonemes lasts at least one frame whatever the scale. Raising the wanted
factor to this power (measured over 15 sentences of ``en_US-joe-medium``) makes the audio
length follow it within 3 % for factors 0.8 to 1.25."""
_CLAUSE_MARKS = frozenset(",;:")
_MIN_REST = 20  # phonemes after the first clause worth a model run of their own
_VOLUME = 0.9  # peak of each normalised sentence: headroom for the pitch resampler

ESPEAK_LOCK = threading.Lock()
"""Held around every call into the espeak-ng that Piper bundles."""
_espeak_ready = False


def shift_pitch(audio: Samples, pitch: float, sample_rate: int) -> Samples:
    """``audio`` played ``pitch`` times faster (higher and shorter), at the same sample rate.

    Resampling from ``sample_rate * pitch`` down to ``sample_rate`` keeps 1/pitch of the
    samples, which is what playing the original ``pitch`` times faster sounds like.
    """
    if pitch == 1.0 or audio.size == 0:
        return audio
    shifted = soxr.resample(audio, sample_rate * pitch, sample_rate, quality="HQ")
    return np.asarray(shifted, dtype=np.float32)


@dataclass(frozen=True)
class Clause:
    """One clause as espeak-ng reads it: IPA phonemes with stress marks, the punctuation
    that ended it ("" when none did) and whether it ends a sentence."""

    phonemes: str
    terminator: str
    ends_sentence: bool


def espeak_clauses(text: str, language: str = "en-us") -> list[Clause]:
    """``text`` as espeak-ng's IPA clauses, through the shared lock."""
    global _espeak_ready
    with ESPEAK_LOCK:
        if not _espeak_ready:
            espeakbridge.initialize(str(ESPEAK_DATA_DIR))
            _espeak_ready = True
        espeakbridge.set_voice(language)
        found = espeakbridge.get_phonemes(text)
    return [Clause(p, t, end) for p, t, end in found]


def split_first_clause(phonemes: list[str]) -> list[list[str]]:
    """A long first sentence as its first clause and the rest, for quicker first audio.

    Piper's time to first audio grows with the first sentence (about 0.2 s for 70
    characters on two cores); its first clause alone comes out in a third of that, and
    ends on its comma, so it still sounds like the start of a sentence.
    """
    for index, phoneme in enumerate(phonemes):
        if phoneme in _CLAUSE_MARKS and index >= 2:
            head, rest = phonemes[: index + 1], phonemes[index + 1 :]
            while rest and rest[0] == " ":
                rest = rest[1:]
            if sum(p.strip() != "" for p in rest) >= _MIN_REST:
                return [head, rest]
            break
    return [phonemes]


def session_options(threads: int) -> onnxruntime.SessionOptions:
    """ONNX Runtime options that use at most ``threads`` cores for one model run."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, not {threads}.")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    # Idle worker threads sleep instead of spinning: the language model and speech
    # recognition run beside the voice, and spinning took cores from them (measured:
    # with one core busy, Kokoro's first clause 1.6 s instead of 1.9 s; idle, 10 % slower).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def open_session(model: Path, threads: int, hint: str) -> onnxruntime.InferenceSession:
    """An ONNX Runtime session for a voice model, or ModelError saying what to do."""
    try:
        return onnxruntime.InferenceSession(
            str(model), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"The voice model {model} cannot be loaded ({exc}).", hint) from exc


class PiperVoice:
    """A Piper ``.onnx`` voice with its ``.onnx.json`` config, loaded once.

    Implements ``TextToSpeech``: ``synthesize`` yields one chunk per sentence.
    """

    def __init__(
        self,
        model_path: Path | str,
        config_path: Path | str | None = None,
        *,
        threads: int = DEFAULT_THREADS,
        name: str | None = None,
    ) -> None:
        model = Path(model_path)
        config = Path(config_path) if config_path else model.with_name(model.name + ".json")
        if not model.is_file():
            raise ModelError(
                f"The Piper voice {model} does not exist.",
                "Give the path of a Piper .onnx voice, with its .onnx.json beside it.",
            )
        if not config.is_file():
            raise ModelError(
                f"The Piper voice {model.name} has no config at {config}.",
                "Put the voice's .onnx.json file beside it (a Kokoro model is given as "
                "kokoro:MODEL.onnx:VOICES.npz:STYLE).",
            )
        try:
            piper_config = PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(
                f"The Piper voice config {config} cannot be read ({exc}).",
                "Reinstall the voice, or give the .onnx.json that came with it.",
            ) from exc
        session = open_session(
            model, threads, "Check that the file is a complete Piper .onnx voice; reinstall it."
        )
        self._model = _PiperModel(session=session, config=piper_config)
        self._length_scale = piper_config.length_scale
        self.name = name or f"piper:{model.stem}"
        self.sample_rate = piper_config.sample_rate

    def synthesize(self, text: str, prosody: Prosody = NEUTRAL) -> Generator[Samples, None, None]:
        """Audio for ``text``, a chunk per sentence; closing the iterator stops the work."""
        prosody = clamp_prosody(prosody)
        if not text.strip():
            return self._sentences([], SynthesisConfig(), 1.0)
        with ESPEAK_LOCK:
            sentences = self._model.phonemize(text)
        if sentences:
            sentences[:1] = split_first_clause(sentences[0])
        stretch = duration_factor(prosody) ** _LENGTH_EXPONENT
        config = SynthesisConfig(length_scale=self._length_scale * stretch)
        return self._sentences(sentences, config, prosody.pitch)

    def _sentences(
        self, sentences: list[list[str]], config: SynthesisConfig, pitch: float
    ) -> Generator[Samples, None, None]:
        for phonemes in sentences:
            if not phonemes:
                continue
            ids = self._model.phonemes_to_ids(phonemes)
            raw = self._model.phoneme_ids_to_audio(ids, config)
            audio = raw[0] if isinstance(raw, tuple) else raw
            yield shift_pitch(_normalised(audio, _VOLUME), pitch, self.sample_rate)


def _normalised(audio: object, peak: float) -> Samples:
    """Mono float32 scaled so its loudest sample is ``peak``: Piper's raw level varies a
    lot from sentence to sentence."""
    samples = np.asarray(audio, dtype=np.float32).reshape(-1)
    top = float(np.max(np.abs(samples))) if samples.size else 0.0
    if top < 1e-8:
        return np.zeros_like(samples)
    return np.asarray(samples * (peak / top), dtype=np.float32)
