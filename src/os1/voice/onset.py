"""The first sound of the user's voice over the companion's, 10 ms at a time.

Silero needs a 32 ms frame, and on a soft onset ("mm", a breathy "wait") several, before
it is sure it hears speech: the companion went on talking for 50-300 ms after the user
started. Loudness is known at once. A rise well above the room's noise floor (and above
what the companion's own echo could be) for two 10 ms blocks in a row is an onset: the
session pauses the reply there provisionally, and resumes it if Silero does not confirm
speech soon after (a cough, a door), so a false alarm costs a moment's gap, not the reply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from os1.voice.base import MIC_RATE, Samples
from os1.voice.events import AudioChunk

BLOCK_SAMPLES = MIC_RATE // 100  # 10 ms


@dataclass
class OnsetDetector:
    """Feed every microphone chunk; ``feed`` returns when a sound started, if one did.

    ``min_rms`` is the quietest level that counts (about -44 dBFS, a soft voice at arm's
    length), ``rise`` how many times louder than the noise floor a block must be, and
    ``blocks`` how many loud blocks in a row make an onset (one is a click).
    """

    min_rms: float = 0.006
    rise: float = 6.0
    blocks: int = 2
    floor: float = 0.001  # the room's noise level, learned from quiet blocks
    adapt: float = 0.05  # how fast the floor follows the room (per quiet block)
    sounds: int = 0  # how many sounds have begun (each one's onset counted once)
    sounding_since: float | None = None  # when the sound going on now began
    _pending: Samples = field(default_factory=lambda: np.zeros(0, np.float32), repr=False)
    _loud_run: int = 0

    def feed(
        self, chunk: AudioChunk, above_echo: Callable[[float], bool] = lambda rms: True
    ) -> float | None:
        """The time the sound began when this chunk completes an onset, else None.
        ``above_echo(rms)`` tells whether a level is louder than the companion's own
        voice coming back through the room could be."""
        audio = (
            np.concatenate([self._pending, chunk.samples]) if self._pending.size else chunk.samples
        )
        whole = audio.size // BLOCK_SAMPLES * BLOCK_SAMPLES
        self._pending = audio[whole:].copy()
        onset: float | None = None
        for start in range(0, whole, BLOCK_SAMPLES):
            block = audio[start : start + BLOCK_SAMPLES]
            rms = float(np.sqrt(np.mean(np.square(block))))
            loud = rms >= max(self.min_rms, self.rise * self.floor) and above_echo(rms)
            if not loud:
                self._loud_run = 0
                self.sounding_since = None
                self.floor += self.adapt * (rms - self.floor)
                continue
            self._loud_run += 1
            if self._loud_run == self.blocks:
                # When the first loud block began: its last sample arrived at ``ended``.
                ended = chunk.at - (audio.size - (start + BLOCK_SAMPLES)) / MIC_RATE
                onset = ended - self.blocks * BLOCK_SAMPLES / MIC_RATE
                self.sounding_since = onset
                self.sounds += 1
        return onset
