"""Keep the companion from hearing itself through the user's speakers.

Without a headset, the companion's voice comes back into the microphone and would look
like the user talking over it. While the companion speaks, this gate learns how loud
that echo is relative to what is being played (the room's "coupling"), and lets a frame
count as the user only when it is clearly louder than the echo could be. With a headset
the coupling stays near zero and nothing is held back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from os1.voice.base import Samples

_FLOOR = 1e-4


@dataclass
class EchoGate:
    margin: float = 3.0  # the user must be this many times louder than the expected echo
    adapt: float = 0.05  # how fast the coupling estimate follows the room (per frame)
    coupling: float = 0.25  # microphone level per unit of playback level (a cautious start)

    def admits(self, frame: Samples, playback_level: float) -> bool:
        """Whether ``frame`` may be the user's voice while ``playback_level`` is playing.
        Frames judged to be echo (or quiet) teach the gate the room's coupling."""
        if playback_level < _FLOOR:
            return True
        mic = float(np.sqrt(np.mean(np.square(frame)))) if frame.size else 0.0
        if self.above_echo(mic, playback_level):
            return True
        self.coupling += self.adapt * (mic / playback_level - self.coupling)
        return False

    def above_echo(self, level: float, playback_level: float) -> bool:
        """Whether a microphone ``level`` (RMS) is clearly louder than the echo of
        ``playback_level`` could be (it learns nothing)."""
        return playback_level < _FLOOR or level > self.margin * self.coupling * playback_level
