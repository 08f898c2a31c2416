"""One companion, many devices: who is connected, live updates, presence and voice.

The companion (its store, memory and model) is one; each device is a ``Client`` that the
hub delivers protocol messages to. Typed turns are ``TextTurns`` (``server/turns.py``);
spoken ones run in the ``VoiceLink`` of the one device talking hands-free. Whatever
changes in the store, from here or from `os1 chat` in another process, reaches every
device through the ``MessageFeed``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from os1.app import App
from os1.clock import from_iso
from os1.companion.dialogue import Companion
from os1.config import VoiceSettings
from os1.errors import OS1Error
from os1.server.devices import Device, Devices
from os1.server.events import (
    MessageShown,
    Presence,
    PresenceChanged,
    ServerEvent,
    VoiceReady,
    Welcome,
)
from os1.server.feed import MessageFeed
from os1.server.protocol import (
    AUDIO_FORMAT,
    HISTORY_IN_WELCOME,
    PROTOCOL_VERSION,
    ProtocolError,
    message_dict,
)
from os1.server.turns import TextTurns
from os1.voice.base import MIC_RATE
from os1.voice.pipeline import VoiceParts

if TYPE_CHECKING:
    from os1.server.voice_link import VoiceLink

_log = logging.getLogger(__name__)
ANNOUNCE_WITHIN = timedelta(minutes=5)  # older proactive messages are not said aloud

LIVE_VOICE_SETTINGS = {"voice.rate", "voice.pitch", "voice.mood_prosody"}
SYNC_EVERY_S = 0.5  # how often the store is checked for changes made elsewhere

VoiceLoader = Callable[[VoiceSettings, str, Path], VoiceParts]


class Client(Protocol):
    """A connected device, as the hub sees it. Delivery never blocks: a client that
    cannot keep up is disconnected rather than slowing the others."""

    device: Device

    def deliver(self, payload: str) -> None: ...

    def deliver_audio(self, data: bytes) -> None: ...

    def close_soon(self, code: int, reason: str) -> None: ...


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
        self.voice: VoiceLink | None = None  # the device talking hands-free, if any
        self._companion: Companion | None = None
        self.turns = TextTurns(self)
        self._sync_lock = asyncio.Lock()
        self._voice_lock = asyncio.Lock()
        self._parts: tuple[tuple[str, str, int], VoiceParts] | None = None
        self._store = ThreadPoolExecutor(1, thread_name_prefix="os1-feed")
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._warmed = False

    # -- life -----------------------------------------------------------------------

    def prepare(self) -> None:
        """Load the companion and its model, and read the conversation into the model,
        now: slow, and it may fail with a message for the user. Otherwise ``start`` does
        it, and the first turns wait for the warm-up."""
        if self._companion is None:
            self._companion = self._make_companion()
        self._warm_up()
        self._warmed = True

    async def start(self) -> None:
        if self._companion is None:
            self._companion = await asyncio.to_thread(self._make_companion)
        await self.sync()  # the baseline: what is there now is already known
        self._watcher = asyncio.create_task(self._watch_store())
        if not self._warmed:
            self.spawn(asyncio.to_thread(self._warm_up))

    async def stop(self) -> None:
        """Shut down quickly: a reply being written is cut short and kept as far as it
        got (marked interrupted); turns still waiting do not start."""
        await self.turns.close()
        if self._watcher is not None:
            self._watcher.cancel()
        if self.voice is not None:
            await self.voice.stop("The server is shutting down.")
        for client in list(self.clients):
            client.close_soon(1001, "The server is shutting down.")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.to_thread(self._store.shutdown, wait=True, cancel_futures=True)

    def _make_companion(self) -> Companion:
        app = self.app
        persona = app.require_persona()
        return Companion(
            app.db,
            app.llm,
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
            welcome = Welcome(
                protocol=PROTOCOL_VERSION,
                device={"id": client.device.id, "name": client.device.name},
                companion=companion.persona.companion_name,
                user=companion.persona.user_name,
                model=companion.llm.info.name,
                presence=self.presence,
                messages=[message_dict(m) for m in recent],
                voice={"input_rate": MIC_RATE, "input_format": AUDIO_FORMAT},
            )
            client.deliver(welcome.encode())
            self.clients.add(client)

    def leave(self, client: Client) -> None:
        self.clients.discard(client)
        # Always (under the voice lock): its voice may still be starting.
        self.spawn(self.stop_voice(client, "The device disconnected."))

    def disconnect_device(self, device_id: str, reason: str) -> None:
        for client in list(self.clients):
            if client.device.id == device_id:
                client.close_soon(4401, reason)

    def broadcast(self, event: ServerEvent) -> None:
        text = event.encode()  # once, however many devices
        for client in list(self.clients):
            client.deliver(text)

    def set_presence(self, state: Presence, *, told: bool = False) -> None:
        """Change the presence; ``told`` when the event that changed it carries it
        already (a reply's start, first piece and end do: one frame fewer for each)."""
        if state != self.presence:
            self.presence = state
            if not told:
                self.broadcast(PresenceChanged(state))

    def resting_presence(self) -> Presence:
        return "listening" if self.voice is not None else "idle"

    # -- the conversation -------------------------------------------------------------

    async def sync(self, *, users_only: bool = False) -> None:
        """Tell every device what changed in the store since the last look (see
        ``MessageFeed.changes`` for ``users_only``)."""
        loop = asyncio.get_running_loop()
        changes = functools.partial(self.feed.changes, users_only=users_only)
        async with self._sync_lock:
            events = await loop.run_in_executor(self._store, changes)
            for event in events:
                self.broadcast(event)
                if (
                    self.voice is not None
                    and isinstance(event, MessageShown)
                    and _brought_up(event.message, self.app.clock())
                ):
                    # In voice mode it is said aloud too, once nothing else is being said.
                    self.voice.session.announce(event.message["text"])

    def sync_soon(self, *, users_only: bool = False) -> None:
        self.spawn(self.sync(users_only=users_only))

    async def _watch_store(self) -> None:
        while True:
            await asyncio.sleep(self.sync_every_s)
            try:
                await self._close_revoked()
                if self.turns.busy() or (self.voice is not None and self.voice.deciding()):
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

    async def settings_changed(self, keys: set[str]) -> None:
        """Settings ``keys`` changed in the file: use them from the next turn on. How the
        voice sounds changes at once; anything else restarts voice."""
        async with self._voice_lock, self.turns.lock:
            await asyncio.to_thread(self.app.reload_settings)
            if keys <= LIVE_VOICE_SETTINGS:
                return  # read at each spoken reply; the companion stays as it is
            if self.voice is not None:
                await self.voice.stop("The settings changed; turn voice on again.")
            # A new companion only once nothing uses the old one (its turn gate with it).
            self._companion = await asyncio.to_thread(self._make_companion)
        self.spawn(asyncio.to_thread(self._warm_up))

    # -- voice ------------------------------------------------------------------------

    async def start_voice(self, client: Client) -> None:
        from os1.server.voice_link import VoiceLink

        async with self._voice_lock:
            if self.voice is not None:
                if self.voice.client is client:
                    return  # already on here (a second voice.start)
                await self.voice.stop(f"Voice moved to {client.device.name}.")
            parts = await self._voice_parts()
            if client not in self.clients:
                return  # it left while the voice was loading
            self.voice = VoiceLink(self, client, parts)
            self.voice.start()
            client.deliver(VoiceReady(parts.tts.sample_rate, AUDIO_FORMAT, parts.tts.name).encode())
            self.set_presence("listening")

    async def stop_voice(self, client: Client, reason: str) -> None:
        async with self._voice_lock:
            if self.voice is not None and self.voice.client is client:
                await self.voice.stop(reason)

    def voice_ended(self, link: VoiceLink) -> None:
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
                raise ProtocolError("voice_unavailable", error.one_line()) from error
            except Exception as error:
                _log.warning("loading the voice failed", exc_info=True)
                raise ProtocolError(
                    "voice_unavailable", f"The voice could not be loaded ({error})."
                ) from error
            self._parts = (key, parts)
        return self._parts[1]


def _brought_up(message: dict[str, Any], now: datetime) -> bool:
    """A message the companion wrote on its own just now: a reminder, briefing or
    follow-up (an old one coming back into view is not said again)."""
    if message["role"] != "companion" or message.get("kind") is None:
        return False
    return now - from_iso(message["created_at"]) < ANNOUNCE_WITHIN


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        error = task.exception()
        _log.warning("a background task failed: %r", error, exc_info=error)
