"""Word error rate: how far a transcript is from what was said, in word edits.

Both texts are normalised first, so the score counts misheard words rather than style:
case, punctuation and hyphens are dropped, curly apostrophes are straightened, and
whole numbers written as digits are spelled out ("20" and "twenty" agree, "25" and
"twenty-five" too). Contractions stay single words ("don't" is not "do not"): Whisper
writes them the way people say them, and expanding them would need guesswork ("he'd").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((1_000_000_000, "billion"), (1_000_000, "million"), (1_000, "thousand"))

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_GROUPED_NUMBER = re.compile(r"(?<=\d)[,_](?=\d{3}\b)")  # 1,000 → 1000
_SYMBOLS = {"%": " percent ", "&": " and ", "+": " plus "}
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")  # words, keeping inner apostrophes


def number_to_words(number: int) -> str:
    """``number`` spelled out in English words, without "and": 115 → "one hundred fifteen"."""
    if number < 0:
        return "minus " + number_to_words(-number)
    if number < 20:
        return _ONES[number]
    if number < 100:
        tens, ones = divmod(number, 10)
        return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_to_words(rest)}" if rest else "")
    for size, scale in _SCALES:
        if number >= size:
            high, rest = divmod(number, size)
            return f"{number_to_words(high)} {scale}" + (
                f" {number_to_words(rest)}" if rest else ""
            )
    raise AssertionError("unreachable")  # pragma: no cover


def normalize_text(text: str) -> list[str]:
    """The words of ``text`` as WER compares them (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    text = _GROUPED_NUMBER.sub("", text)
    for symbol, word in _SYMBOLS.items():
        text = text.replace(symbol, word)
    words: list[str] = []
    for token in _TOKEN.findall(text):
        if token.isdigit() and len(token) <= 12:
            words.extend(number_to_words(int(token)).split())
        else:
            words.append(token)
    return words


@dataclass(frozen=True)
class WordErrors:
    """The edits that turn the reference into the hypothesis, and the reference length."""

    substitutions: int
    deletions: int
    insertions: int
    reference_words: int

    @property
    def edits(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """Edits per reference word. With no reference words: 0.0 when nothing was
        inserted either, else 1.0 (everything heard was wrong)."""
        if self.reference_words == 0:
            return 0.0 if self.edits == 0 else 1.0
        return self.edits / self.reference_words

    def __add__(self, other: WordErrors) -> WordErrors:
        return WordErrors(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.reference_words + other.reference_words,
        )


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    """Counts of substituted, deleted and inserted words (a minimum-edit alignment)."""
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    # costs[j] is (edits, subs, dels, ins) aligning ref[:i] with hyp[:j]; one row at a time.
    costs = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i, ref_word in enumerate(ref, start=1):
        row = [(i, 0, i, 0)]
        for j, hyp_word in enumerate(hyp, start=1):
            diagonal = costs[j - 1]
            if ref_word == hyp_word:
                best = diagonal
            else:
                up, left = costs[j], row[j - 1]
                best = min(
                    (diagonal[0] + 1, diagonal[1] + 1, diagonal[2], diagonal[3]),
                    (up[0] + 1, up[1], up[2] + 1, up[3]),
                    (left[0] + 1, left[1], left[2], left[3] + 1),
                )
            row.append(best)
        costs = row
    _, subs, dels, ins = costs[-1]
    return WordErrors(subs, dels, ins, len(ref))


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word edits per reference word (0.0 is perfect; can exceed 1.0 with insertions)."""
    return word_errors(reference, hypothesis).rate


def corpus_word_error_rate(pairs: Iterable[tuple[str, str]]) -> float:
    """WER over many (reference, hypothesis) pairs: total edits over total reference
    words, so long utterances weigh more than short ones (unlike a mean of rates)."""
    total = WordErrors(0, 0, 0, 0)
    for reference, hypothesis in pairs:
        total += word_errors(reference, hypothesis)
    return total.rate
