"""Microphone frames in; "the user started speaking" and "the user paused" out.

Frames go through the voice activity detector one at a time. A few frames of speech in a
row start an utterance (dated from its first speech frame, with some audio from just
before so the first syllable is not clipped); a short run of silence ends a stretch of
speech, which is handed on to be transcribed (a shorter silence already hands on the
speech so far, to be transcribed while the pause is still being judged). Very long speech
is cut at its quietest recent moment so a monologue is transcribed in pieces as it goes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from os1.voice.base import MIC_RATE, Samples, VoiceActivityDetector
from os1.voice.echo import EchoGate
from os1.voice.events import AudioChunk, SpeechEnded, SpeechPaused, SpeechStarted

Detected = SpeechStarted | SpeechPaused | SpeechEnded


class Listener:
    def __init__(
        self,
        vad: VoiceActivityDetector,
        *,
        threshold: float = 0.5,
        start_frames: int = 2,
        pause_ms: int = 128,
        early_ms: int = 64,
        preroll_ms: int = 200,
        max_speech_s: float = 20.0,
        echo_gate: EchoGate | None = None,
    ) -> None:
        self.vad = vad
        self.threshold = threshold
        self.release = max(0.05, threshold - 0.15)  # hysteresis: harder to start than stay
        self.start_frames = start_frames
        self.frame = vad.frame_samples
        self.frame_s = self.frame / MIC_RATE
        self.pause_frames = max(1, round(pause_ms / 1000 / self.frame_s))
        # Silence this long hands on the speech so far (a dip between words must not:
        # a transcription started there is wasted and delays the next one).
        self.early_frames = max(1, round(early_ms / 1000 / self.frame_s))
        self.max_frames = max(self.pause_frames + 1, round(max_speech_s / self.frame_s))
        self.echo_gate = echo_gate
        self._pending = np.zeros(0, dtype=np.float32)
        self._preroll: deque[Samples] = deque(
            maxlen=max(1, round(preroll_ms / 1000 / self.frame_s))
        )
        self._speech: list[Samples] = []
        self._voiced_run = 0
        self._silent_run = 0
        self._in_speech = False
        self._last_voiced_at = 0.0

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    def feed(
        self, chunk: AudioChunk, playback_level: Callable[[], float] = lambda: 0.0
    ) -> list[Detected]:
        """Take a chunk of microphone audio; return what it shows (usually nothing)."""
        events: list[Detected] = []
        audio = (
            np.concatenate([self._pending, chunk.samples]) if self._pending.size else chunk.samples
        )
        whole = audio.size // self.frame * self.frame
        self._pending = audio[whole:].copy()
        frames = whole // self.frame
        for index in range(frames):
            frame = audio[index * self.frame : (index + 1) * self.frame]
            # When this frame's last sample arrived.
            at = chunk.at - (audio.size - (index + 1) * self.frame) / MIC_RATE
            level = playback_level()
            voiced = self._is_speech(frame, level)
            event = self._step(frame, at, voiced, level > 0.0)
            if event is not None:
                events.append(event)
        return events

    def flush(self, at: float) -> list[Detected]:
        """The input ended: close any speech in progress."""
        if not self._in_speech:
            return []
        return [self._end(at)]

    def _is_speech(self, frame: Samples, level: float) -> bool:
        probability = self.vad.probability(frame)
        limit = self.release if self._in_speech else self.threshold
        # The gate sees every frame, so it learns the room from the quiet ones too.
        admitted = self.echo_gate is None or self.echo_gate.admits(frame, level)
        return probability >= limit and admitted

    def _step(self, frame: Samples, at: float, voiced: bool, speaking: bool) -> Detected | None:
        if not self._in_speech:
            self._preroll.append(frame)
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            # Over the companion's voice one frame is enough: stopping it a frame
            # early costs a moment's pause when it was only a cough (then it resumes).
            needed = 1 if speaking else self.start_frames
            if self._voiced_run < needed:
                return None
            self._in_speech = True
            self._speech = list(self._preroll)
            self._silent_run = 0
            self._last_voiced_at = at
            onset = at - self._voiced_run * self.frame_s
            return SpeechStarted(at=onset, detected_at=at, while_speaking=speaking)
        self._speech.append(frame)
        if voiced:
            self._silent_run = 0
            self._last_voiced_at = at
        else:
            self._silent_run += 1
        if self._silent_run >= self.pause_frames:
            return self._end(at)
        if self._silent_run == self.early_frames:
            return SpeechPaused(at=self._last_voiced_at, audio=np.concatenate(self._speech))
        if len(self._speech) >= self.max_frames:
            return self._cut(at)
        return None

    def _end(self, at: float) -> SpeechEnded:
        audio = np.concatenate(self._speech) if self._speech else np.zeros(0, np.float32)
        self._in_speech = False
        self._speech = []
        self._voiced_run = 0
        self._preroll.clear()
        return SpeechEnded(at=self._last_voiced_at, detected_at=at, audio=audio)

    def _cut(self, at: float) -> SpeechEnded:
        """Hand on a long stretch of speech, cut at its quietest frame of the last 3 s;
        the rest stays and speech goes on."""
        window = min(len(self._speech) - 1, round(3.0 / self.frame_s))
        tail = self._speech[-window:]
        quietest = min(range(len(tail)), key=lambda i: float(np.mean(np.square(tail[i]))))
        split = len(self._speech) - window + quietest + 1
        audio = np.concatenate(self._speech[:split])
        self._speech = self._speech[split:]
        cut_at = at - len(self._speech) * self.frame_s
        return SpeechEnded(at=cut_at, detected_at=at, audio=audio, continues=True)
