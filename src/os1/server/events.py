"""What the server tells devices: one frozen dataclass per message type of docs/protocol.md.

Every frame the server sends is built from one of these, so the protocol has one
definition in code; a test holds it to the document's tables. Fields left ``None`` that
are marked optional are left out of the frame.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

Presence = Literal["idle", "listening", "thinking", "speaking"]
Status = Literal["complete", "interrupted", "failed"]


def status_of(text: str) -> Status:
    """A turn's status as the protocol names it (anything unknown is a failure)."""
    if text == "complete":
        return "complete"
    return "interrupted" if text == "interrupted" else "failed"


OMITTED_IF_NONE = {"optional": True}  # field metadata: left out of the frame when None


@dataclass(frozen=True)
class ServerEvent:
    type: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value is None and spec.metadata.get("optional"):
                continue
            out[spec.name] = value
        return out

    def encode(self) -> str:
        """The frame's text (encode once, send to every device)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Welcome(ServerEvent):
    type: ClassVar[str] = "welcome"
    protocol: int
    device: dict[str, str]
    companion: str
    user: str
    model: str
    presence: Presence
    messages: list[dict[str, Any]]
    voice: dict[str, Any]


@dataclass(frozen=True)
class MessageShown(ServerEvent):
    type: ClassVar[str] = "message"
    message: dict[str, Any]


@dataclass(frozen=True)
class MessageUpdated(ServerEvent):
    type: ClassVar[str] = "message.updated"
    message: dict[str, Any]


@dataclass(frozen=True)
class MessageRemoved(ServerEvent):
    type: ClassVar[str] = "message.removed"
    id: str


@dataclass(frozen=True)
class ReplyStart(ServerEvent):
    type: ClassVar[str] = "reply.start"
    turn: str
    reply_to: str | None
    message: dict[str, Any] | None = field(
        default=None, metadata=OMITTED_IF_NONE
    )  # the typed message it answers
    presence: Presence | None = field(default=None, metadata=OMITTED_IF_NONE)


@dataclass(frozen=True)
class ReplyDelta(ServerEvent):
    type: ClassVar[str] = "reply.delta"
    turn: str
    text: str
    presence: Presence | None = field(default=None, metadata=OMITTED_IF_NONE)  # first piece


@dataclass(frozen=True)
class ReplyDone(ServerEvent):
    type: ClassVar[str] = "reply.done"
    turn: str
    status: Status
    message: dict[str, Any] | None
    timings: dict[str, Any]
    error: str | None = field(default=None, metadata=OMITTED_IF_NONE)
    reply_id: str | None = field(
        default=None, metadata=OMITTED_IF_NONE
    )  # a spoken reply's stored message
    presence: Presence | None = field(default=None, metadata=OMITTED_IF_NONE)


@dataclass(frozen=True)
class PresenceChanged(ServerEvent):
    type: ClassVar[str] = "presence"
    state: Presence


@dataclass(frozen=True)
class TranscriptHeard(ServerEvent):
    type: ClassVar[str] = "transcript"
    text: str
    final: bool
    device: str


@dataclass(frozen=True)
class VoiceReady(ServerEvent):
    type: ClassVar[str] = "voice.ready"
    output_rate: int
    output_format: str
    voice: str


@dataclass(frozen=True)
class VoiceEnded(ServerEvent):
    type: ClassVar[str] = "voice.ended"
    reason: str


@dataclass(frozen=True)
class AudioStop(ServerEvent):
    type: ClassVar[str] = "audio.stop"


@dataclass(frozen=True)
class ErrorEvent(ServerEvent):
    type: ClassVar[str] = "error"
    code: str
    message: str
    ref: str | None = field(default=None, metadata=OMITTED_IF_NONE)


@dataclass(frozen=True)
class Pong(ServerEvent):
    type: ClassVar[str] = "pong"
    ref: str | None = field(default=None, metadata=OMITTED_IF_NONE)


ALL_EVENTS: tuple[type[ServerEvent], ...] = (
    Welcome,
    MessageShown,
    MessageUpdated,
    MessageRemoved,
    ReplyStart,
    ReplyDelta,
    ReplyDone,
    PresenceChanged,
    TranscriptHeard,
    VoiceReady,
    VoiceEnded,
    AudioStop,
    ErrorEvent,
    Pong,
)
