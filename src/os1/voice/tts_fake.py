"""A deterministic stand-in voice for tests: no model, instant, and it remembers.

``FakeTTS`` speaks a plain tone whose length follows the text (and the requested rate),
in a few chunks, so a pipeline test can check what was said, with which prosody, and
whether playback was cut short, without loading a model.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np

from os1.voice.base import NEUTRAL, Prosody, Samples
from os1.voice.voices import clamp_prosody


@dataclass(frozen=True)
class Request:
    """One call to ``synthesize``."""

    text: str
    prosody: Prosody


class FakeTTS:
    """Implements ``TextToSpeech`` with a tone of ``seconds_per_char`` per character.

    ``requests`` records every call as it is made; ``interrupted`` lists the texts whose
    audio was closed after its first chunk was taken and before its last (barge-in).
    """

    name = "fake"

    def __init__(
        self,
        sample_rate: int = 22_050,
        *,
        seconds_per_char: float = 0.02,
        chunks: int = 3,
        frequency: float = 220.0,
    ) -> None:
        self.sample_rate = sample_rate
        self.seconds_per_char = seconds_per_char
        self.chunks = chunks
        self.frequency = frequency
        self.requests: list[Request] = []
        self.interrupted: list[str] = []

    @property
    def said(self) -> list[str]:
        """The texts asked for, in order."""
        return [r.text for r in self.requests]

    def duration(self, text: str, prosody: Prosody = NEUTRAL) -> float:
        """Seconds of audio ``synthesize`` gives for ``text``."""
        samples = self._length(text.strip(), clamp_prosody(prosody))
        return samples / self.sample_rate

    def synthesize(self, text: str, prosody: Prosody = NEUTRAL) -> Generator[Samples, None, None]:
        """A tone of ``frequency`` × pitch lasting ``seconds_per_char`` per character / rate."""
        self.requests.append(Request(text, prosody))
        spoken = text.strip()
        prosody = clamp_prosody(prosody)
        n = self._length(spoken, prosody)
        t = np.arange(n, dtype=np.float64) / self.sample_rate
        tone = (0.3 * np.sin(2 * np.pi * self.frequency * prosody.pitch * t)).astype(np.float32)
        parts = [p for p in np.array_split(tone, max(1, self.chunks)) if p.size]
        return self._play(text, parts)

    def _length(self, spoken: str, prosody: Prosody) -> int:
        return round(len(spoken) * self.seconds_per_char / prosody.rate * self.sample_rate)

    def _play(self, text: str, parts: list[Samples]) -> Generator[Samples, None, None]:
        finished = False
        try:
            yield from parts
            finished = True
        finally:
            if not finished:
                self.interrupted.append(text)
