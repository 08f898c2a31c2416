"""Shared fixtures and helpers for the server's tests: a real uvicorn on loopback serving
the onboarded test companion (FakeLLM, HashingEmbedder, "Iris" and "Theo"), and a small
WebSocket client that says hello and keeps what it is sent.

Registered for every test through ``pytest_plugins`` in ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from os1.app import App
from os1.config import VoiceSettings
from os1.llm.fake import FakeLLM
from os1.server.app import create_app
from os1.server.hub import Hub
from os1.server.runner import ServerThread
from os1.store.db import Database
from os1.voice.pipeline import VoiceParts
from os1.voice.stt import FakeSTT
from os1.voice.tts_fake import FakeTTS
from os1.voice.vad import EnergyVAD

T = TypeVar("T")

WAIT_S = 5.0  # how long a helper waits for something that should come at once
SYNC_WAIT_S = 5.0  # for what arrives through the periodic sync (every 0.5 s)


@dataclass
class Paired:
    id: str
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Served:
    """A running server and what tests need to reach into it."""

    app: App
    hub: Hub
    llm: FakeLLM
    url: str
    alerts: list[str]
    stt: FakeSTT
    tts: FakeTTS
    voice_loads: list[str] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/ws"

    @property
    def origin(self) -> str:
        return self.url

    def new_code(self) -> str:
        return self.hub.devices.new_code()

    def http(self, *, local_address: str | None = None) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=local_address) if local_address else None
        return httpx.Client(base_url=self.url, timeout=WAIT_S * 2, transport=transport)

    def pair(self, name: str = "Pixel 8") -> Paired:
        """Pair a new device over HTTP, as the web app does."""
        with self.http() as client:
            response = client.post("/api/pair", json={"code": self.new_code(), "name": name})
        assert response.status_code == 200, response.text
        body = response.json()
        return Paired(body["device"]["id"], body["device"]["name"], body["token"])

    def second_db(self) -> Database:
        """The same database file opened again, as another process (`os1 chat`) has it."""
        return Database(self.app.db.path)


def fake_voice_loader(served_loads: list[str], stt: FakeSTT, tts: FakeTTS) -> Any:
    def load(settings: VoiceSettings, voice: str, models_dir: Path) -> VoiceParts:
        served_loads.append(voice)
        return VoiceParts(stt=stt, vad=EnergyVAD(), tts=tts)

    return load


@pytest.fixture
def served(onboarded: App, fake_llm: FakeLLM) -> Iterator[Served]:
    """The onboarded companion served on 127.0.0.1 (a free port) by a real uvicorn."""
    alerts: list[str] = []
    loads: list[str] = []
    stt, tts = FakeSTT(), FakeTTS(sample_rate=16_000, seconds_per_char=0.002)
    hub = Hub(onboarded, voice_loader=fake_voice_loader(loads, stt, tts))
    web = create_app(hub, on_alert=alerts.append)
    with ServerThread(web).running() as server:
        yield Served(onboarded, hub, fake_llm, server.url, alerts, stt, tts, loads)


@pytest.fixture
def device(served: Served) -> Paired:
    """A device paired with the served companion."""
    return served.pair("Pixel 8")


# -- a WebSocket client ---------------------------------------------------------------


class Socket:
    """One device's WebSocket, from the device's side: everything it is sent is kept in
    ``seen`` (JSON) and ``audio`` (binary frames)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []
        self.audio: list[bytes] = []
        self.welcome: dict[str, Any] = {}
        self._pending: list[dict[str, Any]] = []

    async def send(self, payload: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(json.dumps(payload) if isinstance(payload, dict) else payload)

    async def recv(self, within: float = WAIT_S) -> dict[str, Any]:
        """The next JSON message (binary frames on the way are kept in ``audio``).

        A typed message comes inside its ``reply.start``: like the web app, this reads it
        as a ``message`` event followed by the ``reply.start``."""
        if self._pending:
            return self._pending.pop(0)
        while True:
            frame = await asyncio.wait_for(self.ws.recv(), within)
            if isinstance(frame, bytes):
                self.audio.append(frame)
                continue
            message: dict[str, Any] = json.loads(frame)
            self.seen.append(message)
            if message.get("type") == "reply.start" and message.get("message"):
                shown = {"type": "message", "message": message["message"]}
                self._pending.append(message)
                return shown
            return message

    async def expect(self, kind: str, within: float = WAIT_S, **fields: Any) -> dict[str, Any]:
        """Read until a message of type ``kind`` (with these field values) arrives."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        start = len(self.seen)
        while True:
            left = deadline - loop.time()
            try:
                if left <= 0:
                    raise TimeoutError
                message = await self.recv(left)
            except TimeoutError:
                kinds = [m.get("type") for m in self.seen[start:]]
                raise AssertionError(
                    f"no {kind!r} {fields or ''} within {within} s; got {kinds}"
                ) from None
            if message.get("type") == kind and all(message.get(k) == v for k, v in fields.items()):
                return message

    async def reply(self, within: float = WAIT_S) -> tuple[str, dict[str, Any]]:
        """The text streamed in the next reply, and its ``reply.done``."""
        start = await self.expect("reply.start", within)
        pieces: list[str] = []
        while True:
            message = await self.expect_any(("reply.delta", "reply.done"), within)
            if message["turn"] != start["turn"]:
                continue
            if message["type"] == "reply.done":
                return "".join(pieces), message
            pieces.append(message["text"])

    async def expect_any(self, kinds: tuple[str, ...], within: float = WAIT_S) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"none of {kinds} within {within} s")
            try:
                message = await self.recv(left)
            except TimeoutError:
                raise AssertionError(f"none of {kinds} within {within} s") from None
            if message.get("type") in kinds:
                return message

    async def closed(self, within: float = WAIT_S) -> int | None:
        """Read (and keep) whatever comes until the server closes; the close code."""
        try:
            async with asyncio.timeout(within):
                while True:
                    frame = await self.ws.recv()
                    if isinstance(frame, bytes):
                        self.audio.append(frame)
                    else:
                        self.seen.append(json.loads(frame))
        except ConnectionClosed:
            return self.ws.close_code
        except TimeoutError:
            raise AssertionError(f"the socket was not closed within {within} s") from None

    async def ping(self, ref: str = "p", within: float = WAIT_S) -> None:
        """Prove the socket still works: a ping is answered."""
        await self.send({"type": "ping", "ref": ref})
        await self.expect("pong", within, ref=ref)


async def open_socket(
    served: Served | str,
    token: str | None,
    *,
    origin: str | None = None,
    hello: bool = True,
    max_size: int | None = 2**24,
) -> Socket:
    """Connect to ``/ws`` of ``served`` (or at a ws:// URL); with ``hello``, say hello
    with ``token`` and read the welcome."""
    url = served if isinstance(served, str) else served.ws_url
    headers = {"Origin": origin} if origin is not None else None
    ws = await connect(
        url,
        additional_headers=headers,
        max_size=max_size,
        max_queue=None,  # what a test does not read must not hold up its goodbye
        open_timeout=WAIT_S,
        close_timeout=2,
    )
    sock = Socket(ws)
    if hello:
        await sock.send({"type": "hello", "protocol": 1, "token": token or ""})
        sock.welcome = await sock.expect("welcome")
    return sock


@contextlib.asynccontextmanager
async def socket_of(served: Served, paired: Paired, **options: Any) -> AsyncIterator[Socket]:
    sock = await open_socket(served, paired.token, **options)
    try:
        yield sock
    finally:
        await sock.ws.close()


def run(scenario: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
    """Run an async test scenario to its end (with a ceiling, so a hang fails the test)."""

    async def bounded() -> T:
        return await asyncio.wait_for(scenario(), timeout)

    return asyncio.run(bounded())


async def eventually(
    check: Callable[[], bool], within: float = SYNC_WAIT_S, every: float = 0.05
) -> None:
    """Wait until ``check()`` is true (for what happens in the server's own time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"{check} did not become true within {within} s")
        await asyncio.sleep(every)


def wait_until(check: Callable[[], bool], timeout: float = SYNC_WAIT_S) -> None:
    run(lambda: eventually(check, timeout), timeout + 5)


def raw_http(url: str, request: bytes, timeout: float = WAIT_S) -> tuple[int, bytes]:
    """Send ``request`` as is (no client normalises its path); the status and body."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0]
    parts = status_line.split(b" ")
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return status, body


class RawSocket:
    """A WebSocket spoken by hand over a plain TCP socket, for a device that misbehaves
    below what a client library allows (one that never reads, with a tiny buffer)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    @classmethod
    def open(cls, served: Served, *, receive_buffer: int | None = None) -> RawSocket:
        import base64
        import os

        host, port = served.url.removeprefix("http://").split(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.settimeout(WAIT_S)
        sock.connect((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        raw = cls(sock)
        while b"\r\n\r\n" not in raw.buffer:
            raw.buffer += sock.recv(4096)
        head, _, raw.buffer = raw.buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return raw

    def send_text(self, text: str) -> None:
        self.send_frame(0x1, text.encode())

    def send_frame(self, opcode: int, payload: bytes) -> None:
        import os
        import struct

        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def read_until_closed(
        self, timeout: float = WAIT_S, *, texts: list[str] | None = None
    ) -> tuple[list[str], int | None]:
        """Read every frame until the server's close frame (its code) or the end of the
        connection (None); the text frames on the way (also added to ``texts``).
        AssertionError if it stays open."""
        import struct
        import time

        texts = texts if texts is not None else []
        deadline = time.monotonic() + timeout
        while True:
            while True:  # parse what is buffered
                if len(self.buffer) < 2:
                    break
                first, second = self.buffer[0], self.buffer[1]
                length, offset = second & 0x7F, 2
                if length == 126:
                    if len(self.buffer) < 4:
                        break
                    length, offset = struct.unpack("!H", self.buffer[2:4])[0], 4
                elif length == 127:
                    if len(self.buffer) < 10:
                        break
                    length, offset = struct.unpack("!Q", self.buffer[2:10])[0], 10
                if len(self.buffer) < offset + length:
                    break
                payload = self.buffer[offset : offset + length]
                self.buffer = self.buffer[offset + length :]
                opcode = first & 0x0F
                if opcode == 0x1:
                    texts.append(payload.decode())
                elif opcode == 0x8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    return texts, code
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"still open after {timeout} s ({len(texts)} messages)")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 20)
            except TimeoutError:
                continue
            except ConnectionResetError:
                return texts, None
            if not chunk:
                return texts, None
            self.buffer += chunk

    def close(self) -> None:
        self.sock.close()
