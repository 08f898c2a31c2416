"""What the companion brings to mind during a turn, and "forget that" in conversation."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from os1.memory.core import Hit, Memory

RECALL_MIN_SCORE = 0.026
"""Fused score a memory needs to be brought up: about the top five of both the keyword
and the vector ranking. Below that, what comes back is too loosely related to mention."""

RECALL_LIMIT = 2
_CLIP = 140

_FORGET = re.compile(
    r"\b(?:please\s+)?(?:forget\s+(?:that|this|what\s+i\s+(?:just\s+)?said|it)"
    r"|(?:don'?t|do\s+not)\s+(?:remember|keep|save|store)\s+(?:that|this|it))\b",
    re.IGNORECASE,
)


def forget_command(text: str) -> Literal["previous", "this"] | None:
    """'forget that' → the previous message; 'my PIN is 1234, don't remember this' → this
    one; None when the message asks nothing of the kind."""
    match = _FORGET.search(text)
    if not match:
        return None
    rest = (text[: match.start()] + text[match.end() :]).strip(" .,!?;:-")
    rest = re.sub(r"^(?:ok(?:ay)?|please|and|actually|oh|hey|also)\b[\s,]*", "", rest, flags=re.I)
    return "this" if len(rest.split()) >= 3 else "previous"


def recall(memory: Memory, text: str, exclude: Iterable[str]) -> list[dict[str, Any]]:
    """The few memories worth mentioning for ``text``, as stored with the user's message."""
    excluded = set(exclude)
    hits = [
        h
        for h in memory.search(text, k=6, exclude=excluded)
        if h.score >= RECALL_MIN_SCORE
        and h.kind != "profile"
        and not excluded.intersection(h.sources)
    ]
    return [_note(h) for h in hits[:RECALL_LIMIT]]


def _note(hit: Hit) -> dict[str, Any]:
    text = " ".join(hit.text.split())
    if len(text) > _CLIP:
        text = text[:_CLIP].rsplit(" ", 1)[0] + " …"
    return {
        "id": hit.id,
        "kind": hit.kind,
        "text": text,
        "time": hit.time.isoformat(),
        "speaker": hit.speaker,
    }
