"""The seams of the voice pipeline: one Protocol per swappable stage.

Audio inside the pipeline is mono float32 in [-1, 1]. Microphone audio, the voice
activity detector and speech-to-text all run at ``MIC_RATE``; a voice speaks at its own
``sample_rate`` and the speaker resamples when it has to.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

MIC_RATE = 16_000
Samples = npt.NDArray[np.float32]


class VoiceActivityDetector(Protocol):
    """How likely a frame of microphone audio is to be speech."""

    frame_samples: int  # the frame length it takes, at MIC_RATE

    def probability(self, frame: Samples) -> float:
        """Speech probability (0..1) of one frame of exactly ``frame_samples`` samples.
        Frames must be fed in order: detectors keep state between them."""
        ...

    def reset(self) -> None:
        """Forget the state carried between frames (a new stream starts)."""
        ...


class SpeechToText(Protocol):
    """Audio in, words out."""

    name: str

    def transcribe(self, audio: Samples, context: str = "") -> str:
        """The words in ``audio`` (MIC_RATE), or "" when nothing was said.
        ``context`` is text said just before, to help with names and continuity."""
        ...

    def transcribe_quickly(self, audio: Samples, context: str = "") -> str | None:
        """The words, if one quick pass is sure of them; None when only the slower full
        pass (``transcribe``) could tell. For guesses that may be thrown away."""
        ...


@dataclass(frozen=True)
class Prosody:
    """How to say it: rate and pitch as factors of the voice's own (1.0 = unchanged)."""

    rate: float = 1.0
    pitch: float = 1.0


NEUTRAL = Prosody()
"""The voice as it is."""


class TextToSpeech(Protocol):
    """Text in, audio out, a chunk at a time so playback can start early."""

    name: str
    sample_rate: int

    def synthesize(self, text: str, prosody: Prosody = NEUTRAL) -> Generator[Samples, None, None]:
        """Audio for ``text`` at ``sample_rate``, in chunks. Closing the generator early
        stops the synthesis (barge-in)."""
        ...
