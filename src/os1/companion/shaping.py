"""Turns a model's raw stream into a reply fit to show or speak.

Small base models run on: they start writing the user's next line, add stage
directions, or go on for paragraphs. ``ReplyShaper`` watches the stream and

- stops at a speaker tag (``Alex:``), a bracket or a line break,
- drops stage directions in parentheses or asterisks,
- stops after ``max_sentences`` sentences,

while holding back as little as possible, so the first words still appear at once.
Chat-tuned models need a lighter hand (``for_chat_model``): they may write paragraphs
and parentheses, and only a speaker tag at the start of a line or an ``*action*`` goes.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*(?=\s)")
_ALL_ASIDES = {"(": ")", "*": "*"}


class ReplyShaper:
    def __init__(
        self,
        markers: list[str],
        *,
        max_sentences: int,
        asides: dict[str, str],
    ) -> None:
        self._markers = markers
        self._max_sentences = max_sentences
        self._asides = asides
        self._pending = ""
        self._aside: str | None = None  # closing character of a stage direction being dropped
        self.text = ""
        self.stopped = False

    @classmethod
    def for_base_model(cls, speakers: list[str]) -> ReplyShaper:
        markers = [f"{name}:" for name in speakers if name] + ["[", "User:", "AI:", "\n"]
        return cls(markers, max_sentences=3, asides=_ALL_ASIDES)

    @classmethod
    def for_chat_model(cls, speakers: list[str]) -> ReplyShaper:
        markers = [f"\n{name}:" for name in speakers if name]
        return cls(markers, max_sentences=8, asides={"*": "*"})

    def feed(self, chunk: str) -> str:
        """Add raw model text; return the part that is safe to show now."""
        if self.stopped:
            return ""
        self._pending += chunk
        return self._drain(final=False)

    def finish(self) -> str:
        """The stream has ended: return whatever is left to show."""
        if self.stopped:
            return ""
        out = self._drain(final=True)
        self.stopped = True
        return out

    def _drain(self, final: bool) -> str:
        out: list[str] = []
        while self._pending and not self.stopped:
            if self._aside is not None:
                end = self._pending.find(self._aside)
                if end < 0:
                    if final:
                        self._pending = ""
                    break
                self._pending = self._pending[end + 1 :]
                self._aside = None
                continue
            cut = self._first_marker()
            opener = min(
                (i for i in (self._pending.find(o) for o in self._asides) if i >= 0), default=-1
            )
            if opener >= 0 and (cut < 0 or opener < cut):
                out.append(self._emit(self._pending[:opener]))
                self._aside = self._asides[self._pending[opener]]
                self._pending = self._pending[opener + 1 :]
                continue
            if cut >= 0:
                out.append(self._emit(self._pending[:cut]))
                self._pending = ""
                self.stopped = True
                break
            keep = 0 if final else self._held_suffix()
            ready = self._pending[: len(self._pending) - keep]
            self._pending = self._pending[len(self._pending) - keep :]
            out.append(self._emit(ready))
            break
        return "".join(out)

    def _first_marker(self) -> int:
        """Index of the earliest stop marker in the pending text, or -1."""
        found = [i for i in (self._pending.find(m) for m in self._markers) if i >= 0]
        return min(found, default=-1)

    def _held_suffix(self) -> int:
        """Length of the longest tail of pending text that could start a marker."""
        longest = 0
        for marker in self._markers:
            for size in range(min(len(marker) - 1, len(self._pending)), 0, -1):
                if self._pending.endswith(marker[:size]):
                    longest = max(longest, size)
                    break
        return longest

    def _emit(self, text: str) -> str:
        if not text:
            return ""
        if not self.text:
            text = text.lstrip()
        elif self.text.endswith(" "):
            text = text.lstrip(" ")
        text = re.sub(r" {2,}", " ", text)
        candidate = self.text + text
        ends = list(_SENTENCE_END.finditer(candidate + " "))
        if len(ends) >= self._max_sentences:
            limit = ends[self._max_sentences - 1].end()
            if limit < len(candidate):
                text = text[: max(0, limit - len(self.text))]
                self.stopped = True
        self.text += text
        return text
