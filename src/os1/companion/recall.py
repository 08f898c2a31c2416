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

# The whole message is the request: "forget that", "okay, please forget what I said".
_FORGET_PREVIOUS = re.compile(
    r"^(?:(?:ok(?:ay)?|actually|oh|hey|sorry|wait|no|hmm)[\s,.!]+)*(?:please\s+)?"
    r"(?:forget|delete|erase)\s+(?:that|this|what\s+i\s+(?:just\s+)?said)"
    r"(?:[\s,]+please)?[\s.!]*$",
    re.IGNORECASE,
)
# Something said, then the request at the end: "My PIN is 4711, don't remember this."
_FORGET_THIS = re.compile(
    r"[,;:.!-]\s*(?:and\s+|but\s+)?(?:please\s+)?(?:don't|do\s+not)\s+"
    r"(?:remember|save|store|keep)\s+(?:this|that|it)(?:[\s,]+please)?[\s.!]*$",
    re.IGNORECASE,
)


def forget_command(text: str) -> Literal["previous", "this"] | None:
    """'forget that' → the previous message; 'my PIN is 1234, don't remember this' → this
    one; None for anything else ("don't forget that I…", "I'll never forget that")."""
    normalised = text.replace("’", "'").strip()
    if _FORGET_PREVIOUS.match(normalised):
        return "previous"
    if _FORGET_THIS.search(normalised):
        return "this"
    return None


def recall(memory: Memory, text: str, exclude: Iterable[str]) -> list[dict[str, Any]]:
    """The few memories worth mentioning for ``text``, as stored with the user's message.

    Only what the user said and facts that still hold: the companion's own old lines
    and superseded facts would only lead it to repeat itself or say what is no longer true.
    """
    excluded = set(exclude)
    hits = [
        h
        for h in memory.search(text, k=6, exclude=excluded, second_hop=False)
        if h.score >= RECALL_MIN_SCORE
        and ((h.kind == "fact" and h.current) or (h.kind == "episode" and h.role == "user"))
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
