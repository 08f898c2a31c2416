"""Cut a streaming reply into pieces a voice can say while the model is still writing.

The first piece is short (a clause, or two words, more while the last of them promises
more: "That's the best", not "That's the") so the companion starts speaking early; later
pieces are whole sentences, which sound better. Each word of the first piece costs the
female voice about 45 ms of work before the first sound. Text that should not be
read aloud (``*smiles*``, emoji, links, markdown) is removed or replaced.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from os1.voice.endpoint import promises_more

_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s")
_CLAUSE_END = re.compile(r"[,;:—–]\s")
_ACTION = re.compile(r"\*[^*\n]{0,80}\*|\([^)\n]{0,60}\)")
_URL = re.compile(r"https?://\S+")
_MARKUP = re.compile(r"[*_#`~<>|\[\]{}]")
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0000fe0f\U0000200d\U0001f1e6-\U0001f1ff]"
)


def speakable(text: str) -> str:
    """``text`` as it should be read aloud."""
    text = _ACTION.sub(" ", text)
    text = _URL.sub(" a link ", text)
    text = _EMOJI.sub(" ", text)
    text = _MARKUP.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


class SentenceChunker:
    """Feed text as it streams; take out the pieces that are ready to be spoken."""

    def __init__(
        self,
        *,
        first_words: int = 3,
        first_clause_words: int = 2,
        max_first_words: int = 5,
        max_words: int = 30,
    ) -> None:
        self.first_words = first_words
        self.max_first_words = max(first_words, max_first_words)
        self.first_clause_words = first_clause_words
        self.max_words = max_words
        self._buffer = ""
        self._pieces = 0

    def feed(self, text: str) -> Iterator[str]:
        self._buffer += text
        while True:
            cut = self._cut()
            if cut is None:
                return
            piece, self._buffer = self._buffer[:cut], self._buffer[cut:]
            spoken = speakable(piece)
            if spoken:
                self._pieces += 1
                yield spoken

    def finish(self) -> Iterator[str]:
        """The rest, once the reply is complete."""
        piece, self._buffer = self._buffer, ""
        spoken = speakable(piece)
        if spoken:
            self._pieces += 1
            yield spoken

    def _cut(self) -> int | None:
        """Where the next ready piece ends in the buffer, or None if none is ready."""
        text = self._buffer
        sentence = _SENTENCE_END.search(text)
        if sentence and _words(text[: sentence.end()]) >= 1:
            return sentence.end()
        # Words are complete once whitespace follows them (tokens arrive as " word").
        settled = len(text.rstrip()) if text[-1:].isspace() else text.rfind(" ") + 1
        words = _words(text[:settled])
        if self._pieces == 0:
            clause = _CLAUSE_END.search(text)
            if clause and _words(text[: clause.end()]) >= self.first_clause_words:
                return clause.end()
            if words >= self.max_first_words or (
                words >= self.first_words and not promises_more(text[:settled])
            ):
                return settled
        elif words >= self.max_words:
            clauses = [m.end() for m in _CLAUSE_END.finditer(text[:settled])]
            return clauses[-1] if clauses else settled
        return None


def _words(text: str) -> int:
    return len(text.split())
