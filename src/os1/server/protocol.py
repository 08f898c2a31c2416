"""The WebSocket protocol, version 1 (docs/protocol.md): what clients may send, typed, and
the shapes the server sends back.

Client messages are parsed into frozen dataclasses here and nowhere else; anything that
does not fit gets a ``ProtocolError`` with a code and a sentence the user can act on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from os1.clock import to_iso
from os1.server.events import ErrorEvent
from os1.store.conversations import Message
from os1.voice.base import MIC_RATE

PROTOCOL_VERSION = 1
AUDIO_FORMAT = "pcm_s16le"
MAX_FRAME_BYTES = 64 * 1024  # text or binary
MESSAGES_PER_S = 50.0  # text messages, on average, before a client counts as flooding
MESSAGES_BURST = 100.0
HELLO_TIMEOUT_S = 10.0
HISTORY_IN_WELCOME = 50

# WebSocket close codes (4000-4999 are the application's own).
CLOSE_UNAUTHORIZED = 4401
CLOSE_HELLO_TIMEOUT = 4408
CLOSE_UNSUPPORTED = 4426
CLOSE_POLICY = 1008  # flooding, or too slow to read
CLOSE_TOO_BIG = 1009
CLOSE_GOING_AWAY = 1001


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref

    def event(self) -> ErrorEvent:
        return ErrorEvent(self.code, self.message, self.ref)


@dataclass(frozen=True)
class Hello:
    protocol: int
    token: str


@dataclass(frozen=True)
class Send:
    text: str
    ref: str | None = None


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class VoiceStart:
    sample_rate: int
    format: str


@dataclass(frozen=True)
class VoiceStop:
    pass


@dataclass(frozen=True)
class Ping:
    ref: str | None = None


ClientMessage = Hello | Send | Stop | VoiceStart | VoiceStop | Ping


def parse(text: str) -> ClientMessage:
    """One client text frame as a typed message (``ProtocolError`` if it is not one)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # ValueError: also a number of 4,300+ digits
        raise ProtocolError("bad_json", "That message is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", "A message must be a JSON object with a 'type'.")
    ref = data.get("ref")
    ref = ref if isinstance(ref, str) and len(ref) <= 100 else None
    kind = data.get("type")
    if kind == "hello":
        version = data.get("protocol")
        token = data.get("token")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ProtocolError("bad_message", "'hello' needs 'protocol' (a number).", ref)
        if not isinstance(token, str):
            raise ProtocolError("bad_message", "'hello' needs 'token' (a string).", ref)
        return Hello(version, token)
    if kind == "send":
        body = data.get("text")
        if not isinstance(body, str):
            raise ProtocolError("bad_message", "'send' needs 'text' (a string).", ref)
        return Send(body, ref)
    if kind == "stop":
        return Stop()
    if kind == "voice.start":
        rate = data.get("sample_rate", MIC_RATE)
        fmt = data.get("format", AUDIO_FORMAT)
        if rate != MIC_RATE or fmt != AUDIO_FORMAT:
            raise ProtocolError(
                "bad_audio",
                f"Voice input must be {AUDIO_FORMAT} at {MIC_RATE} Hz "
                f"(got {fmt!r} at {rate!r}). Resample it before sending.",
                ref,
            )
        return VoiceStart(MIC_RATE, AUDIO_FORMAT)
    if kind == "voice.stop":
        return VoiceStop()
    if kind == "ping":
        return Ping(ref)
    shown = kind if isinstance(kind, str) else None
    raise ProtocolError(
        "bad_message",
        f"Unknown message type {shown[:40]!r}." if shown else "A message needs a 'type'.",
        ref,
    )


PROACTIVE_KINDS = ("reminder", "briefing", "followup")  # what the companion brings up itself


def message_dict(message: Message) -> dict[str, Any]:
    """A stored message as clients see it."""
    meta = message.meta
    via = meta.get("via") or ("terminal" if message.role == "user" else None)
    return {
        "id": message.id,
        "role": message.role,
        "speaker": message.speaker,
        "text": message.text,
        "created_at": to_iso(message.created_at),
        "status": message.status,
        "via": via,
        "device": meta.get("device"),
        "kind": meta["kind"] if meta.get("kind") in PROACTIVE_KINDS else None,
    }


def rounded_ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
