"""Facts: short statements about the user's life, each citing the messages it rests on.

Extraction here is deterministic: patterns for what people say about themselves ("my
sister Annie", "I moved to Seattle", "I'm allergic to nuts"), so it works with the
embedded 270M model, which cannot be trusted to extract. A fact with a *slot* (where
the user lives, their job) supersedes the previous fact in that slot: the old one gets
an end of validity instead of being deleted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from os1.store.conversations import Message

_PRONOUNS = r"(?!(?:She|He|It|This|That|They|We|You|I|My|Our|Your|His|Her|Their|The)\b)"
_NAME = rf"({_PRONOUNS}[A-Z][a-zà-ÿ]+(?: [A-Z][a-zà-ÿ]+)?)"
_PLACE = r"([A-Z][\w-]+(?:,? [A-Z][\w-]+){0,2})"
_THING = r"([\w' -]{2,40}?)"
_END = r"(?=[.,!?;]|\s+(?:and|but|because|so|now|since|which|who)\b|$)"

_RELATIONS = (
    "sister", "brother", "mother", "mom", "mum", "father", "dad", "wife", "husband",
    "partner", "girlfriend", "boyfriend", "son", "daughter", "friend", "best friend",
    "boss", "colleague", "roommate", "neighbour", "neighbor", "grandmother", "grandma",
    "grandfather", "grandpa", "aunt", "uncle", "cousin", "niece", "nephew", "cat", "dog",
    "puppy", "kitten", "therapist", "doctor",
)  # fmt: skip
_ONE_OF_A_KIND = {"mother", "mom", "mum", "father", "dad", "wife", "husband", "partner", "boss"}
_RELATION = "|".join(sorted((re.escape(r) for r in _RELATIONS), key=len, reverse=True))


@dataclass(frozen=True)
class FactCandidate:
    """A fact found in a message, before it is stored."""

    text: str
    slot: str | None
    importance: float


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    template: str  # formatted with {user} and the groups {1}, {2}
    slot: str | None
    importance: float
    relation: int  # which group names a relation ("sister"), 0 if none


def _rule(
    pattern: str,
    template: str,
    slot: str | None = None,
    importance: float = 0.6,
    relation: int = 0,
) -> _Rule:
    return _Rule(re.compile(pattern), template, slot, importance, relation)


_RULES: tuple[_Rule, ...] = (
    _rule(
        rf"\b[Mm]y ({_RELATION})(?:'s name is|,| is called| is named| named| called)? {_NAME}\b",
        "{user}'s {1} is {2}.",
        importance=0.7,
        relation=1,
    ),
    _rule(rf"\b{_NAME} is my ({_RELATION})\b", "{user}'s {2} is {1}.", importance=0.7, relation=2),
    _rule(
        rf"\b(?:adopted|got|have) an? ({_RELATION}|\w+)(?:,| and)? (?:we |I )?(?:named|called)"
        rf" (?:him|her|it) {_NAME}",
        "{user}'s {1} is {2}.",
        importance=0.7,
    ),
    _rule(
        rf"\b(?:I|[Ww]e) (?:just )?(?:moved|relocated) to {_PLACE}",
        "{user} lives in {1}.",
        slot="home",
        importance=0.8,
    ),
    _rule(
        rf"\b(?:I|[Ww]e) (?:live|am living|are living|now live) in {_PLACE}",
        "{user} lives in {1}.",
        slot="home",
        importance=0.8,
    ),
    _rule(
        rf"\bI(?: just)? (?:started|got) a (?:new )?job (?:at|with) {_PLACE}",
        "{user} works at {1}.",
        slot="work",
        importance=0.8,
    ),
    _rule(
        rf"\bI (?:work|am working) (?:at|for) {_PLACE}",
        "{user} works at {1}.",
        slot="work",
        importance=0.8,
    ),
    _rule(
        rf"\bI(?:'m| am) an? ([a-z][\w -]{{2,30}}?) by (?:profession|trade){_END}",
        "{user} is a {1}.",
        slot="profession",
    ),
    _rule(
        rf"\bI(?:'m| am) allergic to {_THING}{_END}",
        "{user} is allergic to {1}.",
        importance=0.9,
    ),
    _rule(
        rf"\b[Mm]y birthday is (?:on )?{_THING}{_END}",
        "{user}'s birthday is {1}.",
        slot="birthday",
        importance=0.9,
    ),
    _rule(
        rf"\b[Mm]y favou?rite ([a-z]+(?: [a-z]+)?) is {_THING}{_END}",
        "{user}'s favourite {1} is {2}.",
        slot="favourite:{1}",
    ),
    _rule(
        rf"\bI (?:really )?(love|hate|can't stand|adore) {_THING}{_END}",
        "{user} says: I {1} {2}.",
        importance=0.5,
    ),
    _rule(
        rf"\bI(?:'ve| have) (?:got )?an? ((?:job )?interview|appointment|exam|test|meeting|date"
        rf"|flight|concert|wedding|surgery|operation)({_THING}){_END}",
        "{user} has an upcoming {1} {2}.",
        importance=0.8,
    ),
)


def _clean(value: str) -> str:
    return " ".join(value.strip(" ,.;:!?\"'").split())


_SENTENCES = re.compile(r"[^.!?]+[.!?]*")
_NOT_A_STATEMENT = re.compile(r"\b(?:if|whether|maybe|might|would|could|wish)\b", re.IGNORECASE)


def statements(text: str) -> Iterator[str]:
    """The sentences of a message that state something: no questions, no what-ifs."""
    for sentence in _SENTENCES.findall(text.replace("’", "'")):
        sentence = sentence.strip()
        if sentence and not sentence.endswith("?") and not _NOT_A_STATEMENT.search(sentence):
            yield sentence


def extract_facts(message: Message, user_name: str) -> Iterator[FactCandidate]:
    """Facts stated in one of the user's messages (nothing for the companion's)."""
    if message.role != "user":
        return
    seen: set[str] = set()
    for rule, sentence in ((r, s) for s in statements(message.text) for r in _RULES):
        for match in rule.pattern.finditer(sentence):
            groups = [_clean(g or "") for g in match.groups()]
            if not all(groups[:1]) or any(len(g) > 60 for g in groups):
                continue
            # Templates number groups from 1, as regular expressions do.
            text = rule.template.format("", *groups, user=user_name).replace("  ", " ")
            text = re.sub(r" +\.", ".", " ".join(text.split()))
            if text in seen:
                continue
            seen.add(text)
            slot = rule.slot.format("", *groups).lower() if rule.slot else None
            if rule.relation:
                relation = groups[rule.relation - 1].lower()
                slot = f"relation:{relation}" if relation in _ONE_OF_A_KIND else None
            yield FactCandidate(text=text, slot=slot, importance=rule.importance)
