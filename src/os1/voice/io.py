"""Where the voice conversation's sound comes from and goes to.

``Microphone`` and ``Speaker`` are the seams; this module has the file-driven pair used
by ``os1 talk --in``, tests and benchmarks. Both run in real time: the microphone feeds
its WAVs at the pace they were spoken, and the speaker consumes the companion's audio at
the pace it would be heard, so the timings measured are the ones a person would feel.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from os1.voice.audio import write_wav
from os1.voice.base import MIC_RATE, Samples
from os1.voice.events import AudioChunk
from os1.voice.playback import Playback

CHUNK_S = 0.02  # microphones deliver audio in blocks of about this long


class Microphone(Protocol):
    def chunks(self) -> AsyncIterator[AudioChunk]:
        """Audio as it is captured, at MIC_RATE, until the input ends."""
        ...


class Speaker(Protocol):
    playback: Playback

    async def start(self) -> None: ...

    async def close(self) -> None: ...


Cue = Callable[[int], Awaitable[None]]
"""Awaited before the microphone plays file number N (0-based): when to 'speak'."""


class FileMicrophone:
    """WAV files played as the microphone, in real time, with silence around them."""

    def __init__(
        self,
        clips: list[Samples],
        *,
        cue: Cue | None = None,
        lead_in_s: float = 0.3,
        tail_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clips = clips
        self.cue = cue
        self.lead_in_s = lead_in_s
        self.tail_s = tail_s
        self.clock = clock
        self.speech_starts: list[float] = []  # when each clip's first sample was fed
        self._block = round(CHUNK_S * MIC_RATE)
        self._cued = False

    async def chunks(self) -> AsyncIterator[AudioChunk]:
        start = self.clock()
        fed = 0  # samples fed since start: the clock they are paced by
        silence = np.zeros(self._block, dtype=np.float32)

        async def feed(samples: Samples) -> AsyncIterator[AudioChunk]:
            nonlocal fed
            for offset in range(0, samples.size, self._block):
                block = samples[offset : offset + self._block]
                fed += block.size
                due = start + fed / MIC_RATE
                delay = due - self.clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                yield AudioChunk(block, at=max(due, self.clock()))

        async def feed_silence_until(done: asyncio.Task[None]) -> AsyncIterator[AudioChunk]:
            while not done.done():
                async for chunk in feed(silence):
                    yield chunk

        async for chunk in feed(np.zeros(round(self.lead_in_s * MIC_RATE), np.float32)):
            yield chunk
        for number, clip in enumerate(self.clips):
            if self.cue is not None:
                waiting = asyncio.ensure_future(self.cue(number))
                async for chunk in feed_silence_until(waiting):
                    yield chunk
                await waiting
            self.speech_starts.append(start + fed / MIC_RATE)
            async for chunk in feed(clip):
                yield chunk
        async for chunk in feed(np.zeros(round(self.tail_s * MIC_RATE), np.float32)):
            yield chunk


class FileSpeaker:
    """A speaker that 'plays' in real time and keeps what it played, one WAV per reply."""

    def __init__(
        self,
        sample_rate: int,
        out_dir: Path | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        block_s: float = 0.01,
    ) -> None:
        self.playback = Playback(sample_rate, clock=clock)
        self.out_dir = out_dir
        self.clock = clock
        self.block_s = block_s
        self.files: list[Path] = []
        self._played: list[Samples] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        rate = self.playback.sample_rate
        last = self.clock()
        while True:
            await asyncio.sleep(self.block_s)
            now = self.clock()
            count = round((now - last) * rate)
            if count <= 0:
                continue
            last += count / rate
            if self.playback.busy:
                self._played.append(self.playback.pull(count))

    def save_reply(self, number: int) -> Path | None:
        """Write what was played since the last call as ``reply-NN.wav``."""
        audio = np.concatenate(self._played) if self._played else np.zeros(0, np.float32)
        self._played = []
        if self.out_dir is None or audio.size == 0:
            return None
        path = self.out_dir / f"reply-{number:02d}.wav"
        write_wav(path, audio, self.playback.sample_rate)
        self.files.append(path)
        return path

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
