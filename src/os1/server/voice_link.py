"""Hands-free voice over a WebSocket: the device's microphone in, the companion's voice out.

The voice conversation itself is ``os1.voice.session.VoiceSession``, the same one `os1 talk`
runs; this module only gives it a microphone and a speaker made of WebSocket frames, and
turns what happens in it into protocol messages for every device.

The companion's voice is sent in real time, a little ahead of playback (``LEAD_S``), so
the server still knows which words the user has heard when they talk over it; on a
barge-in the device is told to drop whatever it has not played yet (``audio.stop``), and
that audio is taken back: unheard, and sent again if it was only "mm-hm".
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from os1.clock import new_id
from os1.errors import AudioError
from os1.server.events import (
    AudioStop,
    ReplyDelta,
    ReplyDone,
    ReplyStart,
    TranscriptHeard,
    VoiceEnded,
    status_of,
)
from os1.server.protocol import ProtocolError, rounded_ms
from os1.voice.audio import from_pcm16, to_pcm16
from os1.voice.events import (
    AudioChunk,
    Event,
    Interrupt,
    ReplyText,
    ReplyWithdrawn,
    SpeechStarted,
    Transcript,
    TurnDone,
)
from os1.voice.pipeline import VoiceParts, prosody_for
from os1.voice.playback import Playback
from os1.voice.session import VoiceSession

if TYPE_CHECKING:
    from os1.server.hub import Client, Hub

LEAD_S = 0.1  # audio is sent this far ahead of when it is heard
BLOCK_S = 0.02  # and in blocks of about this long
AUDIO_STOP = AudioStop().encode()


class SocketMicrophone:
    """Microphone audio as it arrives in binary frames (``feed``), until ``end``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._queue: asyncio.Queue[AudioChunk | None] = asyncio.Queue()

    def feed(self, data: bytes) -> None:
        try:
            samples = from_pcm16(data)
        except AudioError as error:
            raise ProtocolError("bad_audio", error.message) from None
        if samples.size:
            self._queue.put_nowait(AudioChunk(samples, at=self.clock()))

    def end(self) -> None:
        self._queue.put_nowait(None)

    async def chunks(self) -> AsyncIterator[AudioChunk]:
        while (chunk := await self._queue.get()) is not None:
            yield chunk


class SocketSpeaker:
    """Sends the reply's audio to the device as PCM16 frames, paced in real time."""

    def __init__(
        self,
        sample_rate: int,
        send: Callable[[bytes], None],
        on_playing: Callable[[bool], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.playback = Playback(sample_rate, latency_s=LEAD_S, clock=clock)
        self.send = send
        self.on_playing = on_playing
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._sent_until: float | None = None  # when the audio sent so far runs out

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        rate = self.playback.sample_rate
        while True:
            await asyncio.sleep(BLOCK_S)
            if not self.playback.playing:
                if self._sent_until is not None:
                    self._sent_until = None
                    self.on_playing(False)
                continue
            now = self.clock()
            if self._sent_until is None:
                self._sent_until = now
                self.on_playing(True)
            count = round((now + LEAD_S - self._sent_until) * rate)
            if count <= 0:
                continue
            samples = self.playback.pull(count)
            self._sent_until = max(self._sent_until, now) + count / rate
            self.send(to_pcm16(samples))

    def unsend(self) -> None:
        """The device drops what it has not played yet (``audio.stop``): take that audio
        back, so it counts as unheard and is sent again if the reply goes on."""
        if self._sent_until is None:
            return
        unplayed = round(max(0.0, self._sent_until - self.clock()) * self.playback.sample_rate)
        taken = self.playback.rewind(unplayed)
        self._sent_until -= taken / self.playback.sample_rate

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class VoiceLink:
    """One device talking hands-free with the companion."""

    def __init__(self, hub: Hub, client: Client, parts: VoiceParts) -> None:
        self.hub = hub
        self.client = client
        settings = hub.app.settings.voice
        self.settings = settings
        self.microphone = SocketMicrophone()
        self.speaker = SocketSpeaker(parts.tts.sample_rate, client.deliver_audio, self._playing)
        parts.vad.reset()
        companion = hub.companion
        self.session = VoiceSession(
            companion,
            stt=parts.stt,
            vad=parts.vad,
            tts=parts.tts,
            microphone=self.microphone,
            speaker=self.speaker,
            settings=settings,
            # Read at each reply: rate and pitch changed in the settings apply at once.
            prosody=lambda: prosody_for(hub.companion, hub.app.settings.voice)(),
            observe=self._on_event,
            turn_meta={"via": "voice", "device": client.device.name},
        )
        self._task: asyncio.Task[Any] | None = None
        self._reply_turn: str | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self.session.run())
        self._task.add_done_callback(lambda _: self._ended())

    def hear(self, data: bytes) -> None:
        self.microphone.feed(data)

    def deciding(self) -> bool:
        """A spoken turn is under way, and what is stored of it may yet be taken back."""
        return self.session.busy()

    async def stop(self, reason: str) -> None:
        """End voice now; a reply being spoken keeps only what was heard."""
        if self._stopping:
            return
        self._stopping = True
        self.microphone.end()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self.client.deliver(AUDIO_STOP)
        self.client.deliver(VoiceEnded(reason).encode())
        self.hub.voice_ended(self)
        self.hub.sync_soon()

    def _ended(self) -> None:
        if not self._stopping:  # the session ended by itself (an error)
            self.hub.spawn(self.stop("Voice stopped unexpectedly; turn it on again."))

    # -- what happens in the conversation ------------------------------------------------

    def _playing(self, playing: bool) -> None:
        if self._stopping:
            return
        self.hub.set_presence("speaking" if playing else "listening")

    def _on_event(self, event: Event) -> None:
        hub = self.hub
        if isinstance(event, SpeechStarted):
            if event.while_speaking and self.settings.barge_in:
                # The device drops what it has not played; if this was only "mm-hm" and
                # the reply goes on, that audio is sent again, not skipped.
                self.client.deliver(AUDIO_STOP)
                self.speaker.unsend()
            hub.set_presence("listening")
        elif isinstance(event, Transcript):
            hub.broadcast(TranscriptHeard(event.text, event.final, self.client.device.name))
            if event.final:
                hub.set_presence("thinking")
                # The user's words are stored: every device sees them. (The reply may be
                # stored too, all of it, before it is heard: it is shown as it is spoken.)
                hub.sync_soon(users_only=True)
        elif isinstance(event, ReplyText):
            if self._reply_turn is None:
                self._reply_turn = new_id("t")
                hub.broadcast(ReplyStart(self._reply_turn, reply_to=None))
            hub.broadcast(ReplyDelta(self._reply_turn, event.text))
        elif isinstance(event, ReplyWithdrawn) and self._reply_turn is not None:
            # The user went on: what was shown of this reply was never said.
            hub.broadcast(ReplyDone(self._reply_turn, "interrupted", message=None, timings={}))
            self._reply_turn = None
        elif isinstance(event, Interrupt) and not event.resumed:
            self.client.deliver(AUDIO_STOP)
        elif isinstance(event, TurnDone):
            hub.broadcast(
                ReplyDone(
                    self._reply_turn or new_id("t"),
                    status_of(event.status),
                    message=None,  # the stored messages follow as `message` events
                    timings={
                        name: rounded_ms(getattr(event, name))
                        for name in (
                            "speech_end_to_transcript_ms",
                            "speech_end_to_first_token_ms",
                            "speech_end_to_first_audio_ms",
                        )
                    },
                    error=event.error,
                    reply_id=event.reply_id,
                )
            )
            self._reply_turn = None
            hub.sync_soon()
            if not self.speaker.playback.playing:
                hub.set_presence("listening")
