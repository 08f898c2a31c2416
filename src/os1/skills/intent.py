"""The deterministic intent parser: a user's words → a ``SkillCall``, or nothing.

It works with any model, the embedded one included, and offline. It acts only on a
request: a sentence that merely mentions a time ("I called Annie yesterday at 6") or uses
"remind" in another sense ("you remind me of her") is left to the conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from os1.skills.base import SkillCall
from os1.skills.when import find_when

_FILLERS = re.compile(
    r"\b(?:uh+|um+|erm|hmm+|uhm|like|okay|ok|so|hey|yeah|oh|well|please|pls|actually|"
    r"just|quickly|hi|hello|alright|right)\b[,.]?\s*"
)
_POLITE = re.compile(
    r"^(?:(?:can|could|would|will)\s+(?:you|u)\s+|(?:i\s+)?(?:want|need|would\s+like|'d\s+like)"
    r"\s+(?:you\s+)?to\s+|i'd\s+like\s+(?:you\s+)?to\s+|go\s+ahead\s+and\s+|let's\s+)+"
)

_ADD = re.compile(
    r"\b(?:remind|rmind|remnd|ping|nudge|buzz)\s+me\b"
    r"|\bset\s+(?:me\s+)?(?:up\s+)?(?:a|an|another|my)\s+(?:\w+\s+)?(?:reminder|alarm|timer|alert)\b"
    r"|\b(?:add|create|make|put\s+in)\s+(?:a|an)\s+reminder\b"
    r"|^(?:a\s+)?(?:reminder|timer|alarm)\s+(?:to|for|about|in|at)\b"
    r"|\b(?:don't|do\s+not)\s+let\s+me\s+forget\b"
    r"|\bi\s+need\s+(?:a|an)\s+(?:reminder|alarm)\b"
    r"|^(?:please\s+)?give\s+me\s+a\s+(?:reminder|nudge)\b|^(?:please\s+)?wake\s+me(?:\s+up)?\b"
)
_NOT_A_REQUEST = re.compile(
    r"\bremind\s+me\s+(?:what|who|how|where|why|if|whether|which)\b(?!.*\breminders?\b)"
    r"|\bforget\s+(?:how|what|who|why|that\s+i)\b|"
    r"\b(?:you|she|he|they|it|that|this|which|mom|dad)\s+(?:always\s+|just\s+)?reminds?\s+me\s+of\b"
    r"|\breminds?\s+me\s+of\b|(?<!\bbe\s)\breminded\b|\bremember\s+when\b"
    r"|^(?:did|didn't|have|has|had|do|does|why|how)\b.*\bremind(?:ed)?\s+me\b"
    r"|\b(?:i|we|they|he|she)\s+(?:already\s+)?set\s+(?:a|an|my|the)\s+(?:alarm|reminder|timer)\b"
)
_LIST = re.compile(
    r"\b(?:what|whats|what's|which|show|list|read|tell|give|check|any|do\s+i\s+have|how\s+many|see)\b"
    r".*\b(?:reminders?|remind\s+me\s+(?:about|of)|reminding\s+me|alarms|timers)\b"
    r"|\b(?:my|the)\s+reminders?\s*(?:list)?\s*\??$"
    r"|\bwhat\s+(?:did|have)\s+i\s+(?:ask|asked|tell|told)\s+you\s+to\s+remind\b"
    r"|\b(?:have\s+i\s+got|is\s+there)\s+anything\b.*\bremind"
)
_CANCEL = re.compile(
    r"\b(?:cancel|delete|remove|drop|clear|scrap|scratch|kill|stop|turn\s+off|get\s+rid\s+of|"
    r"forget\s+(?:about\s+)?(?:the|my|that|it)|never\s*mind|nevermind|don't\s+need|"
    r"no\s+longer\s+need|skip)\b"
)
_CANCEL_DONT = re.compile(r"\b(?:don't|do\s+not|no\s+need\s+to)\s+remind\s+me\b")
_MOVE = re.compile(
    r"\b(?:move|push|change|reschedule|shift|bump|postpone|delay|make|set|switch|put|snooze)\b"
    r"(?P<which>.*?)\b(?:to|until|till|for|at)\b\s+(?P<when>.+)$"
    r"|\b(?:make|change|move|push|snooze)\s+(?P<which2>(?:the|my|that|it)\b.*?"
    r"\b(?:reminder|one|it|that))\s+(?P<when2>.+)$"
)
_TYPOS = {
    "remmind": "remind", "reminer": "reminder", "remidner": "reminder", "reminde": "remind",
    "tommorow": "tomorrow", "tomorow": "tomorrow", "tommorrow": "tomorrow", "2morrow": "tomorrow",
    "tmrw": "tomorrow", "tmr": "tomorrow", "u": "you", "dont": "don't", "didnt": "didn't",
    "cant": "can't", "whats": "what's", "im": "i'm", "ive": "i've", "tonite": "tonight",
    "pls": "please", "plz": "please", "mins": "minutes", "hrs": "hours",
    "2moro": "tomorrow", "2mrw": "tomorrow", "calender": "calendar", "appt": "appointment",
    "appts": "appointments", "tmrw's": "tomorrow's",
}  # fmt: skip
_REMINDER_NOUN = re.compile(r"\b(?:remind\w*|reminders?|alarms?|timers?)\b")
_REMINDER_WORDS = re.compile(
    r"\b(?:reminders?|alarm|timer|it|that|that\s+one|the\s+\w+\s+one|the\s+last\s+one|one)\b"
)
_TASK_LEAD = re.compile(
    r"^(?:(?:to|that|about|of|for|i\s+(?:need|have|got|gotta|must|should|want)\s+to|"
    r"i've\s+got\s+to|i\s+gotta|i\s+have|i\s+need|i'm\s+supposed\s+to|we\s+need\s+to|"
    r"i\s+should|i\s+must|gotta|need\s+to|have\s+to|me\s+to|so\s+i\s+can|and|then|"
    r"the\s+reminder\s+is\s+to)\s+)+"
)
_TASK_TAIL = re.compile(r"(?:\s+(?:and|then|to|please|thanks|thank\s+you|ok|okay|for\s+me))+$")
_WHEN_WORDS = re.compile(r"\b(?:at|on|by|in|for|around)\s*$")


@dataclass(frozen=True)
class Parsed:
    """The call the words ask for (or None) and, for the benchmark, the intent's name."""

    intent: str  # "reminder.add" | "reminder.list" | "reminder.cancel" | "reminder.move" | "none"
    call: SkillCall | None


def normalize(text: str) -> str:
    lowered = " ".join(text.lower().replace("’", "'").split())
    lowered = re.sub(r"[!?,;]+", " ", lowered)
    lowered = re.sub(r"\.(?!\d)|(?<=\s)-|-(?=\s)", " ", lowered)  # keep 6.30 and a.m.
    lowered = re.sub(r"\b([ap])\s+m\b", r"\1m", lowered)
    # "7.30pm", "at 12.30": a clock time written with a dot.
    lowered = re.sub(r"\b(\d{1,2})\.([0-5]\d)(?=\s*[ap]\.?m\b)", r"\1:\2", lowered)
    lowered = re.sub(r"\b(at\s+\d{1,2})\.([0-5]\d)\b", r"\1:\2", lowered)
    lowered = re.sub(
        r"(?<![\w-])[\w']+(?![\w-])", lambda m: _TYPOS.get(m.group(0), m.group(0)), lowered
    )
    previous = None
    while previous != lowered:
        previous = lowered
        lowered = _FILLERS.sub("", lowered)
    lowered = " ".join(lowered.split())
    return _POLITE.sub("", lowered).strip()


def cut_spans(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    keep = []
    last = 0
    for start, end in sorted(spans):
        keep.append(text[last:start])
        last = max(last, end)
    keep.append(text[last:])
    return " ".join(" ".join(keep).split())


def recase(task: str, original: str) -> str:
    """Give the task's words back the case the user typed ("annie" → "Annie")."""
    cased = {w.lower(): w for w in re.findall(r"[\w']+", original)}
    return re.sub(r"[\w']+", lambda m: cased.get(m.group(0), m.group(0)), task)


def _when_text(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    return " ".join(text[start:end] for start, end in sorted(spans))


class IntentParser:
    """Reads requests for the reminder skills; ``parse`` returns what it understood."""

    def parse(self, text: str, now: datetime, *, just_talked_about: bool = False) -> Parsed:
        """``just_talked_about``: the last turn was about reminders, so "move it to 7" and
        "never mind that" mean one; otherwise changing or cancelling needs the word."""
        words = normalize(text)
        if not words or _NOT_A_REQUEST.search(words):
            return Parsed("none", None)
        add = _ADD.search(words)
        cancel = _CANCEL.search(words) or _CANCEL_DONT.search(words)
        if _LIST.search(words) and not cancel and not _looks_like_new(words, add, now):
            return self._call("reminder.list", {}, text)
        if (
            cancel
            and (
                _REMINDER_NOUN.search(words)
                or (just_talked_about and _REMINDER_WORDS.search(words))
            )
            and not (add and add.start() < cancel.start() and not _CANCEL_DONT.search(words))
        ):
            return self._call("reminder.cancel", {"which": _which(words, cancel.end())}, text)
        if add is None:
            move = _MOVE.search(words)
            which = (move.group("which") or move.group("which2") or "") if move else ""
            named = _REMINDER_NOUN.search(which) or (
                just_talked_about and _REMINDER_WORDS.search(which + " ")
            )
            if move and named:
                new_time = re.sub(r"\s+instead$", "", move.group("when") or move.group("when2"))
                arguments = {"which": _which(which, 0), "when": new_time}
                return self._call("reminder.move", arguments, text)
            return Parsed("none", None)
        when = find_when(words, now)
        if add.group(0).startswith("wake") and not when.found:
            return Parsed("none", None)  # "wake me when it's over": no alarm to set
        task = cut_spans(words, (*when.spans, (add.start(), add.end())))
        task = _WHEN_WORDS.sub("", task).strip()
        task = _TASK_LEAD.sub("", task)
        task = _TASK_TAIL.sub("", task).strip()
        task = re.sub(r"^(?:in|at|on|for)\s+", "", task)
        when_text = _when_text(words, when.spans)
        if not task and add.group(0).startswith("wake"):
            task = "wake up"  # "wake me at 7 tomorrow": an alarm
        return self._call("reminder.add", {"text": recase(task, text), "when": when_text}, text)

    @staticmethod
    def _call(intent: str, arguments: dict[str, str], text: str) -> Parsed:
        return Parsed(intent, SkillCall(intent, arguments, asked_by="user", source_text=text))


def _looks_like_new(words: str, add: re.Match[str] | None, now: datetime) -> bool:
    """'remind me about the dentist at 3' asks for a reminder, not the list."""
    return add is not None and find_when(words, now).found


_WHICH_DROP = re.compile(
    r"\b(?:the|my|a|reminder|reminders|alarm|timer|one|it|that|this|about|for|to|of|remind|me|"
    r"please|reminding|cancel|delete|remove|don't|do|not|need|anymore|any\s+more|last|one|i|you|can|"
    r"set|made|just|with|call|calling)\b"
)


def _which(words: str, start: int) -> str:
    """The words that pick a reminder out ("the Annie one" → "annie")."""
    rest = words[start:]
    rest = re.split(r"\b(?:to|until|till|at)\s+(?=\S)", rest)[0] if rest else rest
    picked = _WHICH_DROP.sub(" ", rest)
    return " ".join(picked.split())
