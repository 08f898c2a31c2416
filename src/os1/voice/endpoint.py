"""When has the user finished their turn? Silence alone is a poor judge.

A finished sentence ("I saw Anna today.") is answered after a short pause; a clause that
hangs ("I went to the shop because") waits longer; a trailing "and…" or "um" waits
longest, because the speaker is still thinking. The transcript of what was said so far
decides which pause applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Ending = Literal["complete", "unfinished", "hesitating"]

_HESITATIONS = frozenset({"um", "umm", "uh", "uhh", "er", "erm", "hmm", "ah", "like", "well"})
# Words that promise more: conjunctions, prepositions, articles, possessives.
_CONTINUERS = frozenset(
    " ".join(
        [
            "and but or so because cause cuz since though although if when while whereas",
            "unless until then than that which who whose where",
            "the a an my your his her our their its this these those some any",
            "to of in on at for with from about into onto by as like",
            "i i'm i've you we they he she it is was were are am be been being have has had",
            "do does did can could will would should might must not just really very",
        ]
    ).split(" ")
)
_WORD = re.compile(r"[a-z']+")


def promises_more(text: str) -> bool:
    """The last word of ``text`` is one that more must follow ("the", "to", "because")."""
    words = _WORD.findall(text.lower())
    return bool(words) and words[-1] in _CONTINUERS


def ending(text: str) -> Ending:
    """How the words so far end: complete, unfinished, or hesitating."""
    stripped = text.strip()
    if not stripped:
        return "hesitating"
    if stripped.endswith(("...", "…", "-", "—")):
        return "hesitating"
    words = _WORD.findall(stripped.lower())
    last = words[-1] if words else ""
    if last in _HESITATIONS or (last in ("and", "so", "but", "or") and stripped[-1] not in ".?!"):
        return "hesitating"
    if stripped[-1] in ".?!":
        # Whisper often writes a full stop after a dangling "because." too.
        return "unfinished" if last in _CONTINUERS and last not in ("it", "this") else "complete"
    return "unfinished" if last in _CONTINUERS else "complete"


@dataclass(frozen=True)
class EndpointPolicy:
    """The pause (ms) that ends a turn, by how the words so far end."""

    complete_ms: int = 500
    unfinished_ms: int = 900
    hesitating_ms: int = 1600

    def pause_ms(self, text: str) -> int:
        kind = ending(text)
        if kind == "complete":
            return self.complete_ms
        return self.unfinished_ms if kind == "unfinished" else self.hesitating_ms


def parse_backchannels(setting: str) -> frozenset[str]:
    """The comma-separated backchannel setting as normalised phrases."""
    return frozenset(p for p in (_normalise(part) for part in setting.split(",")) if p)


def is_backchannel(text: str, backchannels: frozenset[str]) -> bool:
    """True when ``text`` is only a short acknowledgement ("mm-hm", "yeah, right")."""
    phrase = _normalise(text)
    if not phrase:
        return True  # a cough or breath: nothing to answer
    if phrase in backchannels:
        return True
    parts = [p for p in re.split(r"[,.!?;]+", text) if p.strip()]
    return 1 < len(parts) <= 3 and all(_normalise(p) in backchannels for p in parts)


def _normalise(text: str) -> str:
    words = re.findall(r"[a-z]+(?:-[a-z]+)*", text.lower())
    return " ".join(words)
