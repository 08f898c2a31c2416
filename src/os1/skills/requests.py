"""Which skill a user's words ask for: reminders first, then the calendar.

Reminders come first so that "remind me about dinner with Amy on Friday" stays a
reminder; the calendar reads what is left ("put dinner with Amy on Friday at 8").
"""

from __future__ import annotations

import re
from datetime import datetime

from os1.skills.base import Registry, SkillResult
from os1.skills.calendar_intent import CalendarParser
from os1.skills.intent import IntentParser, Parsed

# Where one sentence ends and the next begins ("so today was a lot. can you remind me…"),
# though not after "Dr." or "Mr.".
_SENTENCE_END = re.compile(
    r"(?<!\bdr\.)(?<!\bmr\.)(?<!\bms\.)(?<!\bst\.)(?<!\bmrs\.)(?<!\bprof\.)(?<=[.!?])\s+(?=\S)"
    r"|\s*(?:\.\.\.|…)\s*",
    re.IGNORECASE,
)
# A request that leans on the sentence before it: "…dinner Saturday at 8? Put it in."
_LEANS_BACK = {"it", "that", "this", "them", ""}


class RequestParser:
    def __init__(self) -> None:
        self.reminders = IntentParser()
        self.calendar = CalendarParser()

    def parse(self, text: str, now: datetime, *, just_talked_about: bool = False) -> Parsed:
        """The request in ``text``. In a message of several sentences the request is read
        from the first sentence that asks on its own, so the story before it ("work ran
        late today. Can you remind me…") lends it no time words; what follows it ("At the
        Kaffeehaus.") still counts."""
        sentences = [s for s in _SENTENCE_END.split(text.strip()) if s.strip()]
        for index, sentence in enumerate(sentences[1:], start=1):
            parsed = self._one(sentence, now, just_talked_about)
            if parsed.call is not None and not _leans_back(parsed):
                if self._one(" ".join(sentences[:index]), now, just_talked_about).call:
                    break  # the story itself asks: read it all together
                return self._one(" ".join(sentences[index:]), now, just_talked_about)
        return self._one(text, now, just_talked_about)

    def _one(self, text: str, now: datetime, just_talked_about: bool) -> Parsed:
        parsed = self.reminders.parse(text, now, just_talked_about=just_talked_about)
        if parsed.call is not None:
            return parsed
        return self.calendar.parse(text, now)


def carry_out(parsed: Parsed, registry: Registry) -> SkillResult | None:
    """What the parsed request did; None where nothing was asked: no call, or a
    tentative one ("no need to remind me about the dentist") that found nothing."""
    if parsed.call is None:
        return None
    result = registry.act(parsed.call)
    if parsed.tentative and result.outcome == "nothing":
        return None
    return result


def _leans_back(parsed: Parsed) -> bool:
    """ "Put it in", "remind me about it", "remind me to go": the sentence before says
    what, or when."""
    assert parsed.call is not None
    arguments = parsed.call.arguments
    if parsed.call.skill == "calendar.add":
        return str(arguments.get("title", "")).strip().lower() in _LEANS_BACK
    if parsed.call.skill == "reminder.add":
        text = str(arguments.get("text", "")).strip().lower()
        return text in _LEANS_BACK or not str(arguments.get("when", "")).strip()
    return False
