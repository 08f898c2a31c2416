"""The deterministic intent parser: a user's words → a ``SkillCall``, or nothing.

It works with any model, the embedded one included, and offline. It acts only on a
request: a sentence that merely mentions a time ("I called Annie yesterday at 6") or uses
"remind" in another sense ("you remind me of her") is left to the conversation.
"""

from __future__ import annotations

import itertools
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
    # "I need you to…" asks; "I need to call Annie at 6" only tells.
    r"^(?:(?:can|could|would|will)\s+(?:you|u)\s+|(?:i\s+)?(?:want|need)\s+you\s+to\s+|"
    r"(?:i\s+)?(?:would\s+like|'d\s+like)\s+(?:you\s+)?to\s+|i'd\s+like\s+(?:you\s+)?to\s+|"
    r"go\s+ahead\s+and\s+|let's\s+)+"
)

_ADD = re.compile(
    r"\b(?:remind|rmind|remnd|ping|nudge|buzz)\s+me\b"
    r"|\bset\s+(?:me\s+)?(?:up\s+)?(?:a|an|another|my)\s+(?:\w+\s+)?(?:reminder|alarm|timer|alert)\b"
    r"|\b(?:add|create|make|put\s+in)\s+(?:a|an)\s+reminder\b"
    r"|^(?:a\s+)?(?:reminder|timer|alarm)\s+(?:to|for|about|in|at)\b"
    r"|\b(?:don't|do\s+not)\s+let\s+me\s+forget\b"
    # "I need a reminder…", "I'd like a reminder…" (the filler "like" is gone by now)
    r"|\bi(?:\s+need|\s+want|\s+would|'d)(?:\s+love)?\s+(?:a|an)\s+(?:reminder|alarm|timer)\b"
    r"|\bi(?:\s+need|\s+want|\s+would|'d)(?:\s+love)?\s+to\s+be\s+reminded\b"
    r"|^(?:please\s+)?give\s+me\s+a\s+(?:reminder|nudge)\b|^(?:please\s+)?wake\s+me(?:\s+up)?\b"
    r"|^remind\s+(?=(?:at|on|in|tomorrow|today|tonight|\d{1,2}(?::\d\d)?\s*[ap]m)\b)"
    r"|\bmind\s+reminding\s+me\b|\bmake\s+sure\s+i\s+(?:remember|don't\s+forget)\b"
    r"|^(?:reminder|todo|to\s+do)\s*:"
    r"|^(?:a\s+)?timer\s+(?:for\s+)?(?=\S+\s+(?:minutes?|mins?|hours?|hrs?|seconds?|secs?)\b)"
)
# A timer runs for a while: "a timer for 10 minutes" is due in 10 minutes.
_TIMER_FOR = re.compile(
    r"\b(?:for|of)\s+(?=(?:\S+\s+){1,2}?(?:minutes?|mins?|hours?|hrs?|seconds?|secs?)\b)"
    r"|(?<=\btimer\s)(?=\d)"
)
_NOT_A_REQUEST = re.compile(
    r"\bremind(?:ing)?\s+me\s+(?:what|who|how|where|why|if|whether|which)\b(?!.*\breminders?\b)"
    r"|\bforget\s+(?:how|what|who|why|that\s+i)\b|"
    r"\b(?:you|she|he|they|it|that|this|which|mom|dad)\s+(?:always\s+|just\s+)?reminds?\s+me\s+of\b"
    r"|\bremind(?:s|ing)?\s+me\s+of\b|(?<!\bbe\s)\breminded\b|\bremember\s+when\b"
    r"|\bremind\s+me\s+(?:to\s+)?never\b"  # "remind me never to eat there again"
    r"|\b(?:forgot|forget|didn't|never|meant)\s+to\s+set\b"  # "I forgot to set a reminder"
    r"|^(?:did|didn't|have|has|had|do(?!\s+not)|does|why|how)\b.*\bremind(?:ed)?\s+me\b"
    r"|(?<!\bdid\s)(?<!\bhave\s)\b(?:i|we|they|he|she)\s+(?:already\s+|just\s+)?set\s+"
    r"(?:a|an|my|the|two|three|\d+|some|several)\s+(?:alarms?|reminders?|timers?)\b"
    # What the user will do: "I'll set an alarm later"; "set it and forget it".
    r"|\b(?:i'll|i\s+will|i'm\s+going\s+to|i'm\s+gonna|i\s+can)\s+set\s+(?:a|an|my|the)\b"
    r"|\bset\s+it\s+and\s+forget\s+it\b"
    # Someone else's reminders, told about: "my mum set a reminder on her phone", "I told
    # Sam to remind me at 10", "my old phone used to remind me", "the recipe says to set…".
    r"|\b(?:my|his|her|their|our)\s+[\w']+(?:\s+[\w']+)?\s+(?:already\s+|just\s+|always\s+)?"
    r"(?:set|sets|has\s+set)\s+(?:a|an|the|her|his|their)\s+(?:\w+\s+)?(?:alarm|reminder|timer)s?\b"
    r"|^(?!(?:what|which|who)\b).*?\b(?:told|asked|tells|asks|said|says|used|texted|emailed|"
    r"messaged|called|rang|wrote)\s+(?:[\w']+\s+){0,3}?to\s+(?:remind|set)\b"
    # Wishes and what one ought to do: "I wish someone would remind me", "I should
    # probably set an alarm", "I once set my alarm for 6pm".
    r"|\b(?:someone|somebody|anyone|anybody|nobody|no\s+one)\s+(?:\w+\s+)?remind"
    r"|\bi\s+(?:should|could|might|ought\s+to)\s+(?:\w+\s+)?set\s+(?:a|an|my|the)\s+"
    r"(?:alarm|reminder|timer)\b"
    r"|\bi\s+(?:once|accidentally|always|usually|never|sometimes)\s+set\s+(?:a|an|my|the)\s+"
    r"(?:\w+\s+)?(?:alarm|reminder|timer)\b"
)
_LIST = re.compile(
    r"\b(?:what|whats|what's|which|show|list|read|tell|give|check|any|do\s+i\s+have|how\s+many|see|"
    r"go\s+over|run\s+through|read\s+out)\b"
    r".*\b(?:reminders?|remind\s+me\s+(?:about|of)|reminding\s+me|alarms|timers)\b"
    r"|\b(?:my|the)\s+reminders?\s*(?:list)?\s*\??$"
    r"|\bwhat\s+(?:did|have)\s+i\s+(?:ask|asked|tell|told)\s+you\s+to\s+remind\b"
    r"|\b(?:have\s+i\s+got|is\s+there)\s+anything\b.*\bremind"
    r"|^(?:did|have)\s+i\s+(?:set|made|make|got|create|created|added)\s+(?:a|an|any|the)\s+"
    r"(?:\w+\s+)?(?:reminders?|alarms?)\b"
)
_CANCEL = re.compile(
    r"\b(?:cancel|delete|remove|drop|clear|scrap|scratch|kill|stop|turn\s+off|get\s+rid\s+of|"
    r"forget\s+(?:about\s+)?(?:the|my|that|it|reminding)|never\s*mind|nevermind|don't\s+need|"
    r"no\s+longer\s+need|skip)\b"
)
_CANCEL_DONT = re.compile(
    r"\b(?:don't|do\s+not|no\s+need\s+to|(?:you\s+)?(?:don't|do\s+not)\s+(?:need|have)\s+to)\s+"
    r"remind\s+me\b"
)
# Said of a reminder that may not exist: "I don't need a reminder for that".
_SOFT_CANCEL = re.compile(
    r"\b(?:don't|do\s+not|no\s+need|no\s+longer)\b(?!\s+(?:cancel|delete|remove))"
)
# "Don't remind me about the dentist" is about one; "you don't need to remind me, I'll
# remember" only says so.
_DONT_ABOUT = re.compile(
    r"(?:\s+(?:at|on|in|tonight|today|tomorrow)(?:\s+\S+)?)?"  # "don't remind me at 5pm about…"
    r"\s+(?:about|to|of|on|anymore|any\s+more|again)\b"
)
_MOVE = re.compile(
    r"\b(?:move|push|change|reschedule|shift|bump|postpone|delay|make|set|switch|put|snooze|"
    r"update)\b(?P<which>.*?)\b(?:to|until|till|for|at)\b\s+(?P<when>.+)$"
    r"|\b(?:make|change|move|push|snooze|update)\s+(?P<which2>it|that|(?:the|my|that)\b.*?"
    r"\b(?:reminder|one|it|that))\s+(?P<when2>.+)$"
    r"|(?P<which3>\b(?:the|my|that)\s+(?:[\w']+\s+){0,3}?reminder)\s+(?:go\s+off|ring|fire|"
    r"come\s+up|buzz)\s+(?P<when3>.+)$"
)
_TYPOS = {
    "remmind": "remind", "reminer": "reminder", "remidner": "reminder", "reminde": "remind",
    "tommorow": "tomorrow", "tomorow": "tomorrow", "tommorrow": "tomorrow", "2morrow": "tomorrow",
    "tmrw": "tomorrow", "tmr": "tomorrow", "u": "you", "dont": "don't", "didnt": "didn't",
    "cant": "can't", "whats": "what's", "im": "i'm", "ive": "i've", "tonite": "tonight",
    "pls": "please", "plz": "please", "mins": "minutes", "hrs": "hours",
    "2moro": "tomorrow", "2mrw": "tomorrow", "calender": "calendar", "appt": "appointment",
    "appts": "appointments", "tmrw's": "tomorrow's", "rmnd": "remind", "rmd": "remind",
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
_TASK_TAIL = re.compile(
    r"(?:\s+(?:and|then|to|please|thanks|thank\s+you|ok|okay|for\s+me|instead))+$"
)
_BY_THE_WAY = re.compile(
    r"^(?:(?:oh|and|also|right|ok|okay)\s+)*(?:before\s+i\s+forget|while\s+i\s+(?:remember|think\s+of"
    r"\s+it)|by\s+the\s+way|btw|one\s+more\s+thing|oh\s+and|and\s+also)\s+"
)
_THANKS = re.compile(
    r"\s+(?:thanks|thank\s+you|thx|ty|cheers|ta)(?:\s+(?:so\s+)?(?:much|a\s+lot|heaps|x+))?$"
)
_WHEN_WORDS = re.compile(r"\b(?:at|on|by|in|for|around)\s*$")


# "if I can make it at 6": to get there, not to change a time.
# A move verb that does not ask to move anything: "if I can make it at 6", "the alarm is
# set for 7", "I set two alarms", "I want to make it to the party at 8", "put it this way".
_NOT_MOVING_BEFORE = re.compile(
    r"(?:\b(?:can|could|can't|couldn't|cannot|gonna|won't|might|is|are|was|were|got|been|be)"
    r"|(?<!\bwant)(?<!\bneed)(?<!\bi'd)\s+to|(?<!\bcan)(?<!\bcould)\s+i|^i)\s+$"
)
_NOT_MOVING_AT = re.compile(
    r"make\s+it\s+to\s+(?:the|my|a|an|work|class|school|his|her|their)\b|put\s+it\s+this\s+way\b"
)
_MOVE_VERBS_TRIED = 6  # a request names its verb early; a long text is not tried verb by verb
_MOVE_VERB = re.compile(
    r"\b(?P<verb>move|push|change|reschedule|shift|bump|postpone|delay|make|set|switch|put|snooze|"
    r"update)\b|\b(?:the|my|that)\s+(?:[\w']+\s+){0,3}?reminder\s+(?:go\s+off|ring|fire|come\s+up|"
    r"buzz)\b"
)
_NAMELESS = {"wake": "wake up", "alarm": "alarm", "timer": "timer"}


@dataclass(frozen=True)
class Parsed:
    """The call the words ask for (or None) and, for the benchmark, the intent's name."""

    intent: str  # "reminder.add" | "reminder.list" | "reminder.cancel" | "reminder.move" | "none"
    call: SkillCall | None
    # Only a request if it finds something: "no need to remind me about the dentist" is
    # a cancellation when there is such a reminder, and just talk when there is none.
    tentative: bool = False


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
    lowered = _THANKS.sub("", " ".join(lowered.split()))
    lowered = _BY_THE_WAY.sub("", lowered)
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
        told = _NOT_A_REQUEST.search(words) if words else None
        if told is not None:
            # "I forgot to set a reminder, remind me to call the bank at 10": a request
            # after what was only told is still one.
            later = _ADD.search(words, told.end())
            if later is None or _NOT_A_REQUEST.search(words, later.start()):
                return Parsed("none", None)
            words = words[later.start() :]
        if not words:
            return Parsed("none", None)
        dont = _CANCEL_DONT.search(words)
        if dont is not None and not _DONT_ABOUT.match(words, dont.end()):
            # "you don't need to remind me, I'll remember": said, not asked; what may
            # follow is ("don't remind me tonight, remind me tomorrow at 9").
            later = _ADD.search(words, dont.end())
            add = later
            if later is not None:
                words = words[later.start() :]
                add = _ADD.search(words)
            dont = None
        else:
            add = _ADD.search(words)
        cancel = _CANCEL.search(words) or dont
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
            which = _which(words, cancel.end(), now=now)
            if not which and _REMINDER_NOUN.search(words[: cancel.start()]):
                # "I don't want the dentist reminder anymore, delete it"
                which = _which(words[: cancel.start()], 0, now=now)
            soft = bool(_SOFT_CANCEL.search(words[: cancel.end()]))
            if soft and not which and not just_talked_about:
                return Parsed("none", None)  # "I don't need a reminder for that"
            parsed = self._call("reminder.cancel", {"which": which}, text)
            if soft or not (_REMINDER_NOUN.search(words) or re.search(r"\bone\b", words)):
                # Said of a reminder that may not be there, or "cancel that thought" just
                # after one was set: a cancellation only if it picks one out.
                return Parsed(parsed.intent, parsed.call, tentative=True)
            return parsed
        if add is None:
            return self._move(words, text, now, just_talked_about)
        if "timer" in add.group(0) or words.startswith("timer"):
            words = _TIMER_FOR.sub("in ", words)
        when = find_when(words, now)
        if add.group(0).startswith("wake") and not when.found:
            return Parsed("none", None)  # "wake me when it's over": no alarm to set
        task = cut_spans(words, (*when.spans, (add.start(), add.end())))
        task = _WHEN_WORDS.sub("", task).strip()
        task = _TASK_LEAD.sub("", task)
        task = _TASK_TAIL.sub("", task).strip()
        task = re.sub(r"^(?:in|at|on|for)\s+", "", task)
        when_text = _when_text(words, when.spans)
        if not task:
            # "wake me at 7 tomorrow", "set an alarm for 6:30", "a timer for 10 minutes"
            task = next((said for key, said in _NAMELESS.items() if key in add.group(0)), "")
        return self._call("reminder.add", {"text": recase(task, text), "when": when_text}, text)

    def _move(self, words: str, text: str, now: datetime, just_talked_about: bool) -> Parsed:
        verbs = itertools.islice(_MOVE_VERB.finditer(words), _MOVE_VERBS_TRIED)
        move = next(
            (
                found
                for verb in verbs
                if not (
                    verb.group("verb")
                    and _NOT_MOVING_BEFORE.search(words, max(0, verb.start() - 32), verb.start())
                )
                and not _NOT_MOVING_AT.match(words, verb.start())
                and (found := _MOVE.match(words, verb.start())) is not None
            ),
            None,
        )
        if move is None:
            return Parsed("none", None)
        said = move.group("when") or move.group("when2") or move.group("when3")
        if not find_when(said, now).spans:
            return Parsed("none", None)  # "make it snappy": no time to move it to
        which = move.group("which") or move.group("which2") or move.group("which3") or ""
        before = words[: move.start()]
        if not _REMINDER_NOUN.search(which) and _REMINDER_NOUN.search(before):
            which = f"{before} {which}"  # "the dentist reminder, can you make it 8am"
        named = _REMINDER_NOUN.search(which) or (
            just_talked_about and _REMINDER_WORDS.search(which + " ")
        )
        if not named:
            return Parsed("none", None)
        arguments = {"which": _which(which, 0), "when": re.sub(r"\s+instead$", "", said)}
        parsed = self._call("reminder.move", arguments, text)
        if not _REMINDER_NOUN.search(which):
            # Only "it" from having just talked about one: a reminder if it finds one.
            return Parsed(parsed.intent, parsed.call, tentative=True)
        return parsed

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


def _which(words: str, start: int, *, now: datetime | None = None) -> str:
    """The words that pick a reminder out ("the Annie one" → "annie").

    To move one, the words end where the new time begins ("the Annie one to 7"); to
    cancel one (``now`` given), its time words are dropped and the rest kept ("the 6pm
    reminder to call mum" → "call mum")."""
    rest = words[start:]
    if now is not None:
        rest = cut_spans(rest, find_when(rest, now).spans)
    elif rest:
        rest = re.split(r"\b(?:to|until|till|at)\s+(?=\S)", rest)[0]
    picked = _WHICH_DROP.sub(" ", rest)
    return " ".join(picked.split())
