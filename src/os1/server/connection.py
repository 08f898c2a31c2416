"""One device's WebSocket: say hello, then messages both ways until either side leaves.

Sending and receiving are separate: what the hub delivers waits in this connection's
outbox and a pump task writes it, so a device that stops reading fills only its own
outbox (and is then disconnected) while every other device carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect

from os1.errors import OS1Error
from os1.server.devices import Device, Devices
from os1.server.events import ErrorEvent, Pong
from os1.server.hub import Hub
from os1.server.limits import TokenBucket
from os1.server.protocol import (
    CLOSE_HELLO_TIMEOUT,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CLOSE_UNAUTHORIZED,
    CLOSE_UNSUPPORTED,
    HELLO_TIMEOUT_S,
    MAX_FRAME_BYTES,
    MESSAGES_BURST,
    MESSAGES_PER_S,
    PROTOCOL_VERSION,
    Hello,
    Ping,
    ProtocolError,
    Send,
    Stop,
    VoiceStart,
    VoiceStop,
    parse,
)
from os1.voice.base import MIC_RATE

_log = logging.getLogger(__name__)

OUTBOX = 1000  # messages waiting for a device before it counts as stalled
CLOSE_TIMEOUT_S = 5.0
MAX_TURNS_PER_DEVICE = 3  # text messages of one device waiting for their reply
AUDIO_ERROR_EVERY_S = 1.0
MAX_UNGREETED = 128  # sockets open but not yet through hello (all reconnect at a restart)


class SocketClient:
    """A device connected over a WebSocket (the hub's ``Client``)."""

    def __init__(self, websocket: WebSocket, device: Device) -> None:
        self.websocket = websocket
        self.device = device
        self.gone = asyncio.Event()  # set once the socket is closing: stop reading it
        self.turns = 0
        self.last_audio_error = 0.0
        self._outbox: asyncio.Queue[str | bytes] = asyncio.Queue(OUTBOX)
        self._pump: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None

    @property
    def closed(self) -> bool:
        return self.gone.is_set()

    def start(self) -> None:
        self._pump = asyncio.create_task(self._send_all())

    def deliver(self, payload: str) -> None:
        self._put(payload)

    def deliver_audio(self, data: bytes) -> None:
        self._put(data)

    def _put(self, item: str | bytes) -> None:
        if self.closed:
            return
        try:
            self._outbox.put_nowait(item)
        except asyncio.QueueFull:
            self.close_soon(CLOSE_POLICY, "This device stopped reading; reconnect to catch up.")

    async def _send_all(self) -> None:
        try:
            while True:
                item = await self._outbox.get()
                if isinstance(item, str):
                    await self.websocket.send_text(item)
                else:
                    await self.websocket.send_bytes(item)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.gone.set()

    def close_soon(self, code: int, reason: str) -> None:
        """Close the socket (without waiting for this device's outbox)."""
        if self.closed:
            return
        self.gone.set()
        if self._pump is not None:
            self._pump.cancel()
        self._closer = asyncio.ensure_future(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.websocket.close(code, reason), CLOSE_TIMEOUT_S)

    async def finish(self) -> None:
        """Stop sending (the device is gone)."""
        self.gone.set()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pump
        if self._closer is not None:
            with contextlib.suppress(Exception):
                await self._closer


class Greeting:
    """Counts sockets that have not said hello yet: each may wait 10 s, so there must
    not be a crowd of them."""

    def __init__(self, limit: int = MAX_UNGREETED) -> None:
        self.limit = limit
        self.waiting = 0


async def serve_socket(websocket: WebSocket, hub: Hub, greeting: Greeting) -> None:
    """The whole life of one WebSocket (the Origin was checked before it got here)."""
    if greeting.waiting >= greeting.limit:
        await websocket.close()  # refused before it opens (HTTP 403)
        return
    greeting.waiting += 1
    try:
        await websocket.accept()
        device = await _hello(websocket, hub.devices)
    finally:
        greeting.waiting -= 1
    if device is None:
        return
    client = SocketClient(websocket, device)
    client.start()
    try:
        await hub.join(client)
    except BaseException:
        await client.finish()
        raise
    texts = TokenBucket(MESSAGES_PER_S, MESSAGES_BURST)
    audio = TokenBucket(MIC_RATE * 1.5, MIC_RATE * 3.0)  # samples: real time, with slack
    gone = asyncio.ensure_future(client.gone.wait())
    try:
        while not client.closed:
            # A device that stops reading cannot take our close frame either: when the
            # socket is given up on, stop waiting for it to speak.
            receiving = asyncio.ensure_future(websocket.receive())
            await asyncio.wait({receiving, gone}, return_when=asyncio.FIRST_COMPLETED)
            if not receiving.done():
                receiving.cancel()
                break
            frame = receiving.result()
            if frame["type"] == "websocket.disconnect":
                break
            data = frame.get("bytes")
            if data is not None:
                if len(data) > MAX_FRAME_BYTES:
                    client.close_soon(CLOSE_TOO_BIG, "Audio frames must be at most 64 KiB.")
                elif not audio.take(len(data) / 2):
                    client.close_soon(CLOSE_POLICY, "Audio is arriving faster than real time.")
                else:
                    _hear(hub, client, data)
                continue
            text = frame.get("text") or ""
            if len(text) > MAX_FRAME_BYTES // 4 and len(text.encode()) > MAX_FRAME_BYTES:
                client.close_soon(CLOSE_TOO_BIG, "Messages must be at most 64 KiB.")
            elif not texts.take():
                client.close_soon(CLOSE_POLICY, "Too many messages; slow down.")
            else:
                _dispatch(hub, client, text)
    except WebSocketDisconnect:
        pass
    finally:
        gone.cancel()
        hub.leave(client)
        await client.finish()


async def _hello(websocket: WebSocket, devices: Devices) -> Device | None:
    """Wait for ``hello``; the paired device, or None once the socket is closed."""

    async def refuse(code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await websocket.close(code, reason)

    try:
        frame = await asyncio.wait_for(websocket.receive(), HELLO_TIMEOUT_S)
    except TimeoutError:
        await refuse(CLOSE_HELLO_TIMEOUT, "Send 'hello' with your token first.")
        return None
    if frame["type"] == "websocket.disconnect":
        return None
    text = frame.get("text")
    try:
        hello = parse(text) if text is not None and len(text) <= MAX_FRAME_BYTES else None
    except ProtocolError:
        hello = None
    if not isinstance(hello, Hello):
        await refuse(CLOSE_UNAUTHORIZED, "The first message must be 'hello' with your token.")
        return None
    if hello.protocol != PROTOCOL_VERSION:
        await refuse(
            CLOSE_UNSUPPORTED,
            f"This server speaks protocol {PROTOCOL_VERSION}, not {hello.protocol}.",
        )
        return None
    device = await asyncio.to_thread(devices.authenticate, hello.token)
    if device is None:
        await refuse(CLOSE_UNAUTHORIZED, "This device is not paired with OS1; pair it again.")
        return None
    return device


def _hear(hub: Hub, client: SocketClient, data: bytes) -> None:
    try:
        hub.audio_from(client, data)
    except ProtocolError as problem:
        now = asyncio.get_running_loop().time()
        if now - client.last_audio_error >= AUDIO_ERROR_EVERY_S:  # not one per frame
            client.last_audio_error = now
            client.deliver(problem.event().encode())


def _dispatch(hub: Hub, client: SocketClient, text: str) -> None:
    try:
        message = parse(text)
    except ProtocolError as problem:
        client.deliver(problem.event().encode())
        return
    if isinstance(message, Hello):
        client.deliver(ErrorEvent("out_of_order", "Already said hello.").encode())
    elif isinstance(message, Send):
        if client.turns >= MAX_TURNS_PER_DEVICE:
            busy = ErrorEvent("busy", "Wait for the replies to your last messages.", message.ref)
            client.deliver(busy.encode())
            return
        client.turns += 1  # now, not in the task: a burst must not slip past the limit
        hub.spawn(_send(hub, client, message))
    elif isinstance(message, Stop):
        hub.turns.stop_reply()
    elif isinstance(message, VoiceStart):
        hub.spawn(_start_voice(hub, client))
    elif isinstance(message, VoiceStop):
        hub.spawn(hub.stop_voice(client, "Voice turned off."))
    elif isinstance(message, Ping):
        client.deliver(Pong(message.ref).encode())


async def _send(hub: Hub, client: SocketClient, message: Send) -> None:
    try:
        outcome = await hub.turns.say(message.text, via="text", device=client.device)
        if outcome.error:
            client.deliver(ErrorEvent("failed", outcome.error, message.ref).encode())
    except ProtocolError as problem:
        problem.ref = message.ref
        client.deliver(problem.event().encode())
    except OS1Error as problem:
        limit = hub.companion.settings.chat.max_input_chars
        code = "empty" if not message.text.strip() else "bad_message"
        if len(message.text.strip()) > limit:
            code = "too_long"
        client.deliver(ErrorEvent(code, problem.one_line(), message.ref).encode())
    finally:
        client.turns -= 1


async def _start_voice(hub: Hub, client: SocketClient) -> None:
    try:
        await hub.start_voice(client)
    except ProtocolError as problem:
        client.deliver(problem.event().encode())
