"""A simple affect state: the companion's read of the user's mood, and its own mood.

Reading the user's mood is deterministic (a small lexicon plus cues such as
exclamation marks), so it works with any model and costs microseconds. The state is
smoothed over turns: one grumpy word does not turn a good day into a bad one.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

# Each mood: words that suggest it, and its valence (-1 unpleasant .. +1 pleasant).
_LEXICON: dict[str, tuple[float, tuple[str, ...]]] = {
    "happy": (
        0.7,
        (
            "happy",
            "glad",
            "great",
            "good news",
            "wonderful",
            "love it",
            "awesome",
            "fantastic",
            "yay",
            "delighted",
            "grateful",
            "thankful",
            "proud",
            "relieved",
            "fun",
            "enjoyed",
            "lovely",
            "amazing",
            "perfect",
            "nice",
        ),
    ),
    "excited": (
        0.8,
        ("excited", "can't wait", "cannot wait", "thrilled", "pumped", "stoked", "so ready"),
    ),
    "sad": (
        -0.7,
        (
            "sad",
            "feeling down",
            "feel down",
            "unhappy",
            "miserable",
            "depressed",
            "cry",
            "crying",
            "cried",
            "heartbroken",
            "miss her",
            "miss him",
            "miss them",
            "lost my",
            "passed away",
            "died",
            "grief",
            "hurts",
            "awful day",
            "terrible day",
        ),
    ),
    "anxious": (
        -0.5,
        (
            "anxious",
            "nervous",
            "worried",
            "worry",
            "stressed",
            "stress",
            "scared",
            "afraid",
            "panic",
            "overwhelmed",
            "dread",
            "freaking out",
            "tense",
        ),
    ),
    "angry": (
        -0.6,
        (
            "angry",
            "furious",
            "annoyed",
            "pissed",
            "hate",
            "fed up",
            "frustrated",
            "frustrating",
            "irritated",
            "mad at",
        ),
    ),
    "tired": (
        -0.3,
        ("tired", "exhausted", "sleepy", "worn out", "drained", "burnt out", "burned out"),
    ),
    "lonely": (
        -0.6,
        ("lonely", "alone", "no one", "nobody", "isolated", "left out"),
    ),
}
_NEGATIONS = ("not ", "n't ", "never ", "no ")
_PATTERNS = {
    mood: [re.compile(rf"\b{re.escape(word)}\b") for word in words]
    for mood, (_, words) in _LEXICON.items()
}

# How the companion feels in answer to the user's mood.
_RESPONSE_MOOD = {
    "neutral": "curious",
    "happy": "cheerful",
    "excited": "excited",
    "sad": "tender",
    "anxious": "calm and reassuring",
    "angry": "patient",
    "tired": "gentle",
    "lonely": "warm",
}


def response_mood(user_mood: str) -> str:
    """How the companion feels in answer to the user's mood."""
    return _RESPONSE_MOOD.get(user_mood, "curious")


@dataclass(frozen=True)
class MoodReading:
    mood: str
    valence: float
    confidence: float


def read_mood(text: str) -> MoodReading:
    """The mood a message suggests, from its words and punctuation.

    Only the start and end of a long message are read: that is where people say how
    they feel, and it keeps a pasted document from costing seconds.
    """
    if len(text) > 4000:
        text = f"{text[:2000]} {text[-2000:]}"
    lowered = " " + text.lower() + " "
    scores: dict[str, float] = {}
    for mood, patterns in _PATTERNS.items():
        for pattern in patterns:
            for match in pattern.finditer(lowered):
                before = lowered[max(0, match.start() - 12) : match.start()]
                if any(neg in before for neg in _NEGATIONS):
                    continue
                scores[mood] = scores.get(mood, 0.0) + 1.0
    if not scores:
        return MoodReading("neutral", 0.0, 0.0)
    mood = max(scores, key=lambda m: (scores[m], abs(_LEXICON[m][0])))
    intensity = 1.0 + 0.25 * min(text.count("!"), 4)
    confidence = min(1.0, 0.5 * scores[mood] * intensity)
    return MoodReading(mood, _LEXICON[mood][0], confidence)


@dataclass(frozen=True)
class AffectState:
    user_mood: str = "neutral"
    user_valence: float = 0.0
    companion_mood: str = "curious"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AffectState:
        if not data:
            return cls()
        return cls(
            user_mood=str(data.get("user_mood", "neutral")),
            user_valence=float(data.get("user_valence", 0.0)),
            companion_mood=str(data.get("companion_mood", "curious")),
        )

    def update(self, reading: MoodReading) -> AffectState:
        """Blend a new reading in; a confident reading moves the state further."""
        weight = 0.3 + 0.5 * reading.confidence
        valence = round((1 - weight) * self.user_valence + weight * reading.valence, 3)
        if reading.mood != "neutral":
            mood = reading.mood
        elif abs(valence) < 0.2:
            mood = "neutral"
        else:
            mood = self.user_mood
        return AffectState(user_mood=mood, user_valence=valence, companion_mood=response_mood(mood))
