"""The computer's own microphone and speaker, through PortAudio (``sounddevice``).

The microphone callback hands blocks to the asyncio loop; the speaker callback pulls
from the reply's ``Playback``, so pausing takes effect within one block (about 20 ms)
plus the device's own output latency.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from os1.errors import AudioError
from os1.voice.audio import resample
from os1.voice.base import MIC_RATE
from os1.voice.events import AudioChunk
from os1.voice.playback import Playback

_BLOCK_S = 0.02
NO_DEVICE_HINT = (
    "Talk through recordings instead: os1 talk --in hello.wav --out replies/ (or text: os1 chat)."
)


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # the PortAudio library itself is missing
        raise AudioError(
            "No sound system was found (the PortAudio library is not installed).",
            "On Debian: sudo apt-get install libportaudio2. " + NO_DEVICE_HINT,
        ) from exc
    except ImportError as exc:
        raise AudioError(
            "The sounddevice package is not installed.",
            "Install it with: .venv/bin/pip install sounddevice",
        ) from exc
    return sounddevice


def _device(spec: str) -> int | str | None:
    if not spec:
        return None
    return int(spec) if spec.isdigit() else spec


def check_devices(input_device: str = "", output_device: str = "") -> None:
    """Raise AudioError, with what to do, unless a microphone and a speaker are there."""
    sd = _sounddevice()
    for kind, spec in (("input", input_device), ("output", output_device)):
        try:
            info = sd.query_devices(_device(spec), kind)
        except Exception as exc:
            what = "microphone" if kind == "input" else "speaker"
            named = f" called {spec!r}" if spec else ""
            raise AudioError(f"No {what}{named} was found ({exc}).", NO_DEVICE_HINT) from exc
        if not info:
            raise AudioError("No sound device was found.", NO_DEVICE_HINT)


class SoundMicrophone:
    def __init__(self, device: str = "") -> None:
        self.device = _device(device)

    async def chunks(self) -> AsyncIterator[AudioChunk]:
        sd = _sounddevice()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[AudioChunk] = asyncio.Queue()
        info = sd.query_devices(self.device, "input")
        rate = MIC_RATE
        try:
            sd.check_input_settings(self.device, channels=1, samplerate=MIC_RATE)
        except Exception:
            rate = int(info["default_samplerate"])  # resampled below

        def captured(data: Any, frames: int, when: Any, status: Any) -> None:
            block = np.asarray(data[:, 0], dtype=np.float32).copy()
            if rate != MIC_RATE:
                block = resample(block, rate, MIC_RATE)
            chunk = AudioChunk(block, at=time.monotonic())
            loop.call_soon_threadsafe(queue.put_nowait, chunk)

        try:
            stream = sd.InputStream(
                device=self.device,
                channels=1,
                samplerate=rate,
                dtype="float32",
                blocksize=round(rate * _BLOCK_S),
                callback=captured,
            )
        except Exception as exc:
            raise AudioError(
                f"The microphone could not be opened ({exc}).", NO_DEVICE_HINT
            ) from exc
        with stream:
            while True:
                yield await queue.get()


class SoundSpeaker:
    def __init__(self, sample_rate: int, device: str = "") -> None:
        self.device = _device(device)
        self.playback = Playback(sample_rate)
        self._stream: Any = None

    async def start(self) -> None:
        sd = _sounddevice()
        rate = self.playback.sample_rate

        def play(out: Any, frames: int, when: Any, status: Any) -> None:
            out[:, 0] = self.playback.pull(frames)

        try:
            self._stream = sd.OutputStream(
                device=self.device,
                channels=1,
                samplerate=rate,
                dtype="float32",
                blocksize=round(rate * _BLOCK_S),
                latency="low",
                callback=play,
            )
            self._stream.start()
        except Exception as exc:
            raise AudioError(f"The speaker could not be opened ({exc}).", NO_DEVICE_HINT) from exc
        self.playback.latency_s = float(self._stream.latency)

    async def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None
