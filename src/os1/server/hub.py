"""One companion, many devices: turns, live updates and presence for everyone connected.

The companion (its store, memory and model) is one; each device is a ``Client`` that the
hub delivers protocol messages to. Text turns take their turn one at a time (there is
one model); a reply streams to every device as it is written. Whatever changes in the
store, from here or from `os1 chat` in another process, reaches every device through the
``MessageFeed``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from os1.app import App
from os1.clock import new_id
from os1.companion.dialogue import Companion, TurnResult
from os1.config import VoiceSettings
from os1.errors import OS1Error
from os1.llm.shared import SharedLLM
from os1.server.devices import Device, Devices
from os1.server.feed import MessageFeed
from os1.server.protocol import (
    AUDIO_FORMAT,
    HISTORY_IN_WELCOME,
    PROTOCOL_VERSION,
    ProtocolError,
    encode,
    message_dict,
)
from os1.voice.base import MIC_RATE
from os1.voice.pipeline import VoiceParts

_log = logging.getLogger(__name__)

Presence = Literal["idle", "listening", "thinking", "speaking"]
SYNC_EVERY_S = 0.5  # how often the store is checked for changes made elsewhere
MAX_WAITING_TURNS = 20  # text turns queued behind the one being answered

VoiceLoader = Callable[[VoiceSettings, str, Path], VoiceParts]


class Client(Protocol):
    """A connected device, as the hub sees it. Delivery never blocks: a client that
    cannot keep up is disconnected rather than slowing the others."""

    device: Device

    def deliver(self, payload: str) -> None: ...

    def deliver_audio(self, data: bytes) -> None: ...

    def close_soon(self, code: int, reason: str) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """How a text turn ended."""

    turn: TurnResult
    status: Literal["complete", "interrupted", "failed"]
    error: str | None = None


def _load_voice(settings: VoiceSettings, voice: str, models_dir: Path) -> VoiceParts:
    from os1.voice.pipeline import load_parts

    return load_parts(settings, voice, models_dir, quiet=True)


class Hub:
    def __init__(
        self,
        app: App,
        *,
        voice_loader: VoiceLoader = _load_voice,
        sync_every_s: float = SYNC_EVERY_S,
    ) -> None:
        self.app = app
        self.voice_loader = voice_loader
        self.sync_every_s = sync_every_s
        self.clients: set[Client] = set()
        self.presence: Presence = "idle"
        self.feed = MessageFeed(app.db)
        self.devices = Devices(app.db, app.clock)
        self.voice: Any = None  # the VoiceLink of the device talking hands-free, if any
        self._companion: Companion | None = None
        self._turns = asyncio.Lock()
        self._waiting = 0
        self._cancel: threading.Event | None = None
        self._sync_lock = asyncio.Lock()
        self._voice_lock = asyncio.Lock()
        self._parts: tuple[tuple[str, str, int], VoiceParts] | None = None
        self._store = ThreadPoolExecutor(1, thread_name_prefix="os1-feed")
        self._learner = ThreadPoolExecutor(1, thread_name_prefix="os1-learn")
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watcher: asyncio.Task[None] | None = None

    # -- life -----------------------------------------------------------------------

    async def start(self) -> None:
        self._companion = await asyncio.to_thread(self._make_companion)
        await self.sync()  # the baseline: what is there now is already known
        self._watcher = asyncio.create_task(self._watch_store())
        self.spawn(asyncio.to_thread(self._warm_up))

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        if self.voice is not None:
            await self.voice.stop("The server is shutting down.")
        for client in list(self.clients):
            client.close_soon(1001, "The server is shutting down.")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._learner.shutdown(wait=True)
        self._store.shutdown(wait=True)

    def _make_companion(self) -> Companion:
        app = self.app
        persona = app.require_persona()
        return Companion(
            app.db,
            SharedLLM(app.llm),
            persona,
            app.settings,
            clock=app.clock,
            memory=app.memory,
        )

    def _warm_up(self) -> None:
        try:
            self.companion.warm_up()
        except Exception:
            _log.warning("warming up the model failed", exc_info=True)

    @property
    def companion(self) -> Companion:
        if self._companion is None:
            raise RuntimeError("the hub has not started")
        return self._companion

    def spawn(self, work: Any) -> asyncio.Task[Any]:
        """Run ``work`` (a coroutine or future) in the background, keeping a reference."""
        task: asyncio.Task[Any] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)
        return task

    # -- devices --------------------------------------------------------------------

    async def join(self, client: Client) -> None:
        """Greet a device with the recent conversation, then keep it up to date."""
        companion = self.companion
        async with self._sync_lock:  # no change slips between the history and the feed
            loop = asyncio.get_running_loop()
            recent = await loop.run_in_executor(self._store, self.feed.recent, HISTORY_IN_WELCOME)
            client.deliver(
                encode(
                    {
                        "type": "welcome",
                        "protocol": PROTOCOL_VERSION,
                        "device": {"id": client.device.id, "name": client.device.name},
                        "companion": companion.persona.companion_name,
                        "user": companion.persona.user_name,
                        "model": companion.llm.info.name,
                        "presence": self.presence,
                        "messages": [message_dict(m) for m in recent],
                        "voice": {"input_rate": MIC_RATE, "input_format": AUDIO_FORMAT},
                    }
                )
            )
            self.clients.add(client)

    def leave(self, client: Client) -> None:
        self.clients.discard(client)
        if self.voice is not None and self.voice.client is client:
            self.spawn(self.stop_voice(client, "The device disconnected."))

    def disconnect_device(self, device_id: str, reason: str) -> None:
        for client in list(self.clients):
            if client.device.id == device_id:
                client.close_soon(4401, reason)

    def broadcast(self, payload: dict[str, Any]) -> None:
        text = encode(payload)  # once, however many devices
        for client in list(self.clients):
            client.deliver(text)

    def set_presence(self, state: Presence) -> None:
        if state != self.presence:
            self.presence = state
            self.broadcast({"type": "presence", "state": state})

    def resting_presence(self) -> Presence:
        return "listening" if self.voice is not None else "idle"

    # -- the conversation -------------------------------------------------------------

    async def sync(self) -> None:
        """Tell every device what changed in the store since the last look."""
        loop = asyncio.get_running_loop()
        async with self._sync_lock:
            events = await loop.run_in_executor(self._store, self.feed.changes)
            for event in events:
                self.broadcast(event)

    def sync_soon(self) -> None:
        self.spawn(self.sync())

    async def _watch_store(self) -> None:
        while True:
            await asyncio.sleep(self.sync_every_s)
            try:
                await self._close_revoked()
                if self._turns.locked() or (self.voice is not None and self.voice.deciding()):
                    continue  # those announce their own changes, when they are settled
                await self.sync()
            except Exception:
                _log.warning("reading the conversation failed", exc_info=True)

    async def _close_revoked(self) -> None:
        """Devices revoked elsewhere (`os1 devices revoke`) are disconnected at once."""
        connected = {client.device.id for client in self.clients}
        if not connected:
            return
        active = {d.id for d in await asyncio.to_thread(self.devices.list)}
        for device_id in connected - active:
            self.disconnect_device(device_id, "This device was revoked.")

    async def say(
        self,
        text: str,
        *,
        via: str,
        device: Device | None,
        on_delta: Callable[[str], None] | None = None,
    ) -> Outcome:
        """A text turn: store the message, stream the reply to every device, store it.

        Raises ``OS1Error`` (an ``InputError``) if the message cannot be taken; model
        failures end the turn as ``failed`` instead.
        """
        if self._waiting >= MAX_WAITING_TURNS:
            raise ProtocolError("busy", "Too many messages are waiting; try again in a moment.")
        self._waiting += 1
        try:
            await self._turns.acquire()
        finally:
            self._waiting -= 1
        try:
            return await self._turn(text, via, device, on_delta)
        finally:
            self._turns.release()

    async def _turn(
        self,
        text: str,
        via: str,
        device: Device | None,
        on_delta: Callable[[str], None] | None,
    ) -> Outcome:
        companion = self.companion
        meta: dict[str, Any] = {"via": via}
        if device is not None:
            meta["device"] = device.name
        turn = await asyncio.to_thread(companion.start_turn, text, meta=meta)
        await self.sync()  # everyone sees the message before the reply
        turn_id = new_id("t")
        self.broadcast({"type": "reply.start", "turn": turn_id, "reply_to": turn.user_message.id})
        self.set_presence("thinking")
        cancel = threading.Event()
        self._cancel = cancel
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[str | None] = asyncio.Queue()
        failure: list[BaseException] = []

        def write() -> None:
            stream = companion.stream(turn)
            try:
                for chunk in stream:
                    if cancel.is_set():
                        break
                    loop.call_soon_threadsafe(chunks.put_nowait, chunk)
            except Exception as error:
                failure.append(error)
            finally:
                stream.close()  # keeps what was written, marked interrupted
                loop.call_soon_threadsafe(chunks.put_nowait, None)

        writer = loop.run_in_executor(None, write)
        try:
            first = True
            while (chunk := await chunks.get()) is not None:
                if first:
                    self.set_presence("speaking")
                    first = False
                self.broadcast({"type": "reply.delta", "turn": turn_id, "text": chunk})
                if on_delta is not None:
                    on_delta(chunk)
        finally:
            await asyncio.shield(writer)  # a reply goes on even if the asker goes away
            self._cancel = None
        error = _describe(failure[0]) if failure else None
        status: Literal["complete", "interrupted", "failed"] = (
            "failed" if failure else ("interrupted" if turn.status == "interrupted" else "complete")
        )
        message = turn.reply_message
        if message is not None:
            await loop.run_in_executor(self._store, self.feed.announced, message)
        timings = turn.timings
        done: dict[str, Any] = {
            "type": "reply.done",
            "turn": turn_id,
            "status": status,
            "message": message_dict(message) if message is not None else None,
            "timings": {
                "first_token_ms": _ms(timings.first_token_ms),
                "total_ms": _ms(timings.total_ms),
                "tokens": timings.tokens,
            },
        }
        if error:
            done["error"] = error
        self.broadcast(done)
        self.set_presence(self.resting_presence())
        self._learner.submit(self._learn, companion, turn)
        return Outcome(turn, status, error)

    @staticmethod
    def _learn(companion: Companion, turn: TurnResult) -> None:
        try:
            companion.learn(turn)
        except Exception:
            _log.warning("memory could not learn from a turn", exc_info=True)

    def stop_reply(self) -> bool:
        """Stop the reply being written (what was written is kept); False if none."""
        if self._cancel is None:
            return False
        self._cancel.set()
        return True

    async def settings_changed(self) -> None:
        """The settings file changed: use the new settings from the next turn on."""
        if self.voice is not None:
            await self.voice.stop("The settings changed; turn voice on again.")
        async with self._turns:
            await asyncio.to_thread(self.app.reload_settings)
            self._companion = await asyncio.to_thread(self._make_companion)
        self.spawn(asyncio.to_thread(self._warm_up))

    # -- voice ------------------------------------------------------------------------

    async def start_voice(self, client: Client) -> None:
        from os1.server.voice_link import VoiceLink

        async with self._voice_lock:
            if self.voice is not None:
                previous = self.voice
                moved = previous.client is not client
                await previous.stop(
                    f"Voice moved to {client.device.name}." if moved else "Voice restarted."
                )
            parts = await self._voice_parts()
            self.voice = VoiceLink(self, client, parts, self.app.settings.voice)
            self.voice.start()
            client.deliver(
                encode(
                    {
                        "type": "voice.ready",
                        "output_rate": parts.tts.sample_rate,
                        "output_format": AUDIO_FORMAT,
                        "voice": parts.tts.name,
                    }
                )
            )
            self.set_presence("listening")

    async def stop_voice(self, client: Client, reason: str) -> None:
        async with self._voice_lock:
            if self.voice is not None and self.voice.client is client:
                await self.voice.stop(reason)

    def voice_ended(self, link: Any) -> None:
        """Called by a VoiceLink once it has stopped."""
        if self.voice is link:
            self.voice = None
            self.set_presence("idle")

    def audio_from(self, client: Client, data: bytes) -> None:
        link = self.voice
        if link is None or link.client is not client:
            raise ProtocolError(
                "out_of_order", "Audio arrived before voice.ready: send voice.start."
            )
        link.hear(data)

    async def _voice_parts(self) -> VoiceParts:
        settings = self.app.settings.voice
        chosen = settings.voice or self.companion.persona.voice
        key = (chosen, settings.stt_model, settings.threads)
        if self._parts is None or self._parts[0] != key:
            try:
                parts = await asyncio.to_thread(
                    self.voice_loader, settings, chosen, self.app.settings.models_path()
                )
            except OS1Error as error:
                raise ProtocolError(
                    "voice_unavailable", f"{error.message} {error.hint or ''}".strip()
                ) from error
            except Exception as error:
                _log.warning("loading the voice failed", exc_info=True)
                raise ProtocolError(
                    "voice_unavailable", f"The voice could not be loaded ({error})."
                ) from error
            self._parts = (key, parts)
        return self._parts[1]


def _describe(error: BaseException) -> str:
    if isinstance(error, OS1Error):
        return f"{error.message} {error.hint or ''}".strip()
    return f"The reply failed ({type(error).__name__}: {error})."


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        error = task.exception()
        _log.warning("a background task failed: %r", error, exc_info=error)
