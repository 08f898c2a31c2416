"""Requests for the calendar, read deterministically: "put dinner with Amy on Friday at
8", "what's on tomorrow?", "take the meeting with Bob off my calendar".

Like the reminder parser it acts only on a request: "I had dinner with Amy on Friday at
8" or "what's on your mind?" is left to the conversation. Reminder requests are read
first (``skills.requests``), so "remind me about dinner on Friday" stays a reminder.
"""

from __future__ import annotations

import re
from datetime import datetime

from os1.memory.timeparse import MONTH_NAMES, WEEKDAYS
from os1.skills.base import SkillCall
from os1.skills.intent import Parsed, cut_spans, normalize, recase
from os1.skills.when import find_days, find_when, says_clock

_CAL = r"(?:calendar|diary|agenda|schedule|planner|calender)"
_VERB = (
    r"(?:put|pop|add|schedule|book|pencil|set\s+up|arrange|plan|block(?:\s+out|\s+off)?|squeeze|slot|"
    r"carve\s+out(?:\s+(?:some\s+)?time(?:\s+for)?)?|"
    r"create|enter|save|mark|jot|note|stick|organi[sz]e|make)"
)
_ADD_START = re.compile(
    r"(?:^|\b(?:can|could|would|will)\s+you\s+|\bplease\s+|\bkindly\s+)"
    + _VERB
    + r"\b(?:\s+(?:down|in))?\s+"
    r"(?:(?:a|an|new)\s+)?(?:(?:event|appointment|entry)\s*:\s*)?"
    r"|^(?:calendar|new\s+event|event|diary|new\s+appointment)\s*:\s*"
)
_PUT_IT = re.compile(
    r"\s(?:put|pop|stick|add|book|pencil)\s+(?:it|that|this)\s+(?:in\s+|down\s+)?"
    r"(?=(?:for|on|at)\s)"
)
# "book club is on Thursday at 7": the verb is half of a noun.
_VERB_AS_NOUN = re.compile(r"^" + _VERB + r"\s+[\w']+\s+(?:is|was|are|were|'s|starts|meets)\b")
_LABEL = re.compile(r"^(?:calendar|new\s+event|event|diary|new\s+appointment)\s*:\s*")
_ADD_BACK = re.compile(
    r"(?:^|\s)(?:(?:can|could|would|will)\s+(?:you|u)\s+)?(?:add|put|pop|pencil|stick|save|enter|"
    r"note|write|schedule|book|get)\s+(?:(?:it|that|this|them)(?:\s+(?:down|in))?"
    r"(?:\s+(?:in|into|on|to)\s+(?:my|the)\s+" + _CAL + r")?"
    r"|(?:in|into|on|to)\s+(?:my\s+|the\s+)?" + _CAL + r"|(?:please|pls|plz))"
    r"(?:\s+(?:for\s+me|too|thanks|ta|please|pls|x|xx|thanks\s+x))*\s*$"
    r"|(?:^|\s)(?:diary|calendar)\s+(?:it|that|this)(?:\s+(?:please|pls|thanks|x))*\s*$"
    r"|(?:^|\s)(?:please|pls|plz)\s+add(?:\s+(?:it|that|this))?\s*$"
)
_IN_CAL = re.compile(r"\s*\b(?:in|into|on|to|onto|in\s+to)\s+(?:my|the|our)\s+" + _CAL + r"\b")
_NOT_ADD = re.compile(
    r"^" + _VERB + r"\s+(?:is|was|are|were|'s|seems|looks|sounds|means)\b"
    r"|^add\s+(?:it\s+)?(?:up|to\s+that|to\s+this)\b|^put\s+on\s+(?:some|the|a)\b"
    r"|^(?:add|put)\s+\d+\s+(?:and|to|plus)\s+\d+|\bput\s+(?:\w+\s+){0,3}(?:to\s+bed|away|back)\b"
    r"|\bput\s+(?:yourself|myself|it\s+this\s+way)\b|^make\s+(?:me|sure|it|a\s+(?:cup|coffee|tea))"
    r"|^make\s+(?:time\s+for\s+(?:yourself|myself|you|me|us)|peace|friends|sense|do|up)\b"
    r"|\bto\s+(?:the|my|our|your)\s+(?:[\w'-]+\s+)?list\b"  # "add Annie to the guest list"
)
EVENT_NOUN = re.compile(
    r"\b(?:dinner|lunch|breakfast|brunch|meeting|appointment|appt|call|class|lesson|session|party|"
    r"concert|game|practice|date|drinks|coffee|tennis|yoga|club|event|entry|interview|visit|"
    r"check-?up|dentist|doctor|vet|haircut|gym|training|rehearsal|recital|play|show|match|"
    r"conference|workshop|webinar|zoom|standup|stand-up|review|catch-?up|booking|reservation|"
    r"birthday|wedding|trip|flight|massage|physio|therapy|exam|course|service|viewing|quiz|"
    r"screen|offsite|one-on-one|1:1|pickup|prep|beer|coffee|rehearsal|lesson|gig|mot|inspection|"
    r"optician|hairdresser|retro|sync|choir|brunch|slot|check-?in|barber|test|run|jog|swim|hike|"
    r"jab|vaccination|scan)s?\b"
)
_CANCEL = re.compile(
    r"\b(?:cancel|delete|remove|drop|clear|scrap|scratch|strike|call\s+off|get\s+rid\s+of|wipe|kill|"
    r"bin|ditch|axe|"
    r"take\s+(?P<inner>(?:[\w'-]+\s+){0,6}?)(?:off|out))\b"
)
_LEADING_CANCEL = re.compile(
    r"^(?:cancel|scrap|remove|delete|drop)\s+(?:the|tomorrow's|today's|"
    r"(?!that\b|this\b|it\b)[\w'-]+'s)\s+[\w'-]+"
)
_CANCEL_IT = re.compile(r"\b(?:please\s+)?(?:cancel|delete|remove)\s+(?:it|that)\s*$")
_OFF_CAL = re.compile(r"\b(?:off|out\s+of|from)\s+(?:my|the)\s+" + _CAL + r"\b")
_MENTION = re.compile(
    r"^(?:i|we|he|she|they|my|our|his|her|their)\s+(?:\w+\s+)?(?:had|was|were|did|went|"
    r"cancelled|canceled|booked|scheduled|got|have\s+been|'ve\s+been|love|hate|loved|can't)\b"
    r"|^(?:my|our|his|her|their)\s+(?:[\w']+\s+){0,3}?(?:always|usually|never|often|meets|"
    r"books|starts|runs|is\s+always)\b"
    r"|^(?:should|shall|did|would)\s+(?:i|we)\b"
    # Conditions and what-ifs: "if the train's late I'll miss my 8:30 meeting", "I would
    # book a massage at 3 if I had the money".
    r"|^if\b(?!.*\byou\b)|\bif\s+(?:i|we)\s+(?:had|could|were|was|didn't|won)\b"
    # Someone else's words: "my boss yelled 'cancel the 3pm meeting'".
    r"|\b(?:said|says|yelled|shouted|screamed|asked|wrote|texted|emailed|goes)\s*:?\s*['\"“‘]"
    r"|^(?:don't|do\s+not|never)\s+(?:cancel|delete|remove|add|put|book|schedule|change|move)\b"
    r"|^(?:[\w']+\s+){0,2}see\s+(?:you|ya)\b"  # "grand, see you at the match Sunday at 2"
    r"|\b(?:off|out\s+of)\s+(?:my|your)\s+(?:mind|head)\b|\bclear\s+the\s+air\b"
    # Not events: "cancel my gym membership".
    r"|\b(?:cancel|end|stop|terminate)\s+(?:my|the|our)\s+(?:[\w-]+\s+)?(?:membership|"
    r"subscription|account|order|insurance|policy|card|plan)(?:\s+(?:too|please|now|today|"
    r"tomorrow|as\s+well|for\s+me))*\s*$"
)
_LIST = re.compile(
    r"^what(?:\s+else)?(?:'s|\s+is|s)?\s+on\s*(?:$|(?=for\b|my\b|the\s+(?:\d|day|week|calendar|agenda|schedule)"
    r"|today|tonight|tomorrow|this\b|next\b|on\b|\d|"
    + "|".join(WEEKDAYS)
    + "|"
    + "|".join(MONTH_NAMES)
    + r"|new\s+year|christmas))"
    r"|^what\s+(?:have|do|'ve|did)?\s*i\s*(?:'ve)?\s+(?:got|have)(?!\s+to\b)"
    r"|^what've\s+i\s+got|^whatve\s+i\s+got"
    r"|^(?:what|how)\b.*\b(?:look|looking|looks)\b"
    r"|^(?:am|are)\s+(?:i|we)\s+(?:\w+\s+)?(?:free|busy|available|booked|double\s+booked)\b"
    r"(?!\s+to\b)"
    r"|^is\s+my\s+(?:\w+\s+)?(?:free|busy|clear|full|packed|open)\b"
    r"|^is\s+(?:my\s+)?(?:(?:this|next)\s+)?(?:" + "|".join(WEEKDAYS) + r"|today|tomorrow|tonight|"
    r"the\s+\d{1,2}(?:st|nd|rd|th)?|(?:the|this)\s+weekend)(?:\s+(?:morning|afternoon|evening|"
    r"night))?\s+(?:free|clear|busy|open|full|packed)\b"
    r"|^what(?:'s|\s+is)\s+coming\s+up\b|^(?:am|are)\s+(?:i|we)\s+doing\s+anything\b"
    r"|\b(?:let\s+me\s+know|tell\s+me)\s+what\s+(?:commitments|plans|meetings|appointments)\b"
    r"|^(?:any|anything|do\s+i\s+have\s+any(?:thing)?|is\s+(?:there\s+)?anything|"
    r"have\s+i\s+got\s+any(?:thing)?|are\s+there\s+any)\b"
    r"|\b(?:read|tell|show|give|check|list|go\s+through)\b.*\b(?:my|the)\s+(?:" + _CAL + r"|"
    r"appointments|events|meetings|plans|day|week)\b"
    r"|^show\s+me\s+(?:everything|what's\s+on|my)"
    r"|^what(?:'s|\s+is)\s+(?:my|the)\s+(?:first|next|last)\s+(?:meeting|appointment|event|thing)"
    r"|^what(?:'s|\s+is)\s+(?:in|on)\s+(?:my|the)\s+"
    + _CAL
    + r"|^what\s+(?:does|is)\s+my\s+"
    + _CAL
    + r"|^what(?:'s|\s+is)\s+(?:my|the)\s+(?:plans?|"
    + _CAL
    + r")\b"
)
_LIST_TOPIC = re.compile(
    r"\b(?:" + _CAL + r"|appointments?|events?|meetings?|plans?|planned|scheduled|booked|free|"
    r"commitments|clear|doing|open|"
    r"busy|available|on|happening|coming\s+up|look|looking|looks|everything|packed)\b"
)
_PEOPLE = re.compile(
    r"\b(?:with|w/)\s+((?:(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+)?[A-Z][\w'-]*"
    r"(?:\s*(?:,|and|&)\s*(?:(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+)?[A-Z][\w'-]*)*)"
)
_PLACE = re.compile(
    r"\b(?:at|in)\s+(?P<place>(?:the|a|that)\s+[\w'-]+(?:\s+[\w'-]+){0,3}|[\w'-]+'s(?:\s+place)?"
    r"|(?:room|suite|studio|building|hall|gate|floor)\s+[\w-]+"
    r"|[a-z][\w'-]*\s+(?:cafe|café|restaurant|hall|room|office|garage|market|bar|pub|gym|park)"
    r"|the\s+office|home|work)\b"
)
_NAMED_PLACE = re.compile(r"\b(?:at|in)\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*){0,3})")
# Once the time words are out, a last "at robarts" can only be where.
_LAST_AT = re.compile(r"\bat\s+(?P<place>[a-z][\w'-]+)$")
# "block off 9 to 11 friday": a span said without "from".
_BARE_SPAN = re.compile(
    r"^(?=\d{1,2}(?::\d{2})?\s*(?:[ap]m)?\s+(?:to|till|until)\s+\d{1,2}\b"
    r"(?!\s*(?:days?|weeks?|hours?|people|times)))"
)
# "next saturday add a bbq at 5": the day said first, put after the request.
_DAY_FIRST = re.compile(
    r"^(?P<day>(?:(?:next|this|on)\s+)?(?:" + "|".join(WEEKDAYS) + r")|tomorrow|today|tonight)\s+"
    r"(?=(?:add|put|book|schedule|pencil\s+in)\s)"
)
_DURATION = re.compile(
    r"\b(?:for\s+|take\s+(?:about\s+|around\s+)?|lasts?\s+(?:about\s+)?|"
    r"it'll\s+take\s+(?:about\s+)?)"
    r"(?P<n>\d+|an?|one|two|three|four|half\s+an)\s+(?P<unit>minutes?|mins?|hours?|hrs?)"
    r"(?P<half>\s+and\s+a\s+half)?\b|\b(?P<n2>\d+|thirty|fifteen|forty[- ]five|ninety)[- ]"
    r"(?P<unit2>minute|min|hour)\b"
    r"|(?<!\bin\s)(?<!\bwithin\s)\b(?P<n3>\d+|half\s+an|an|one|two)\s+(?P<unit3>minutes?|mins?|hours?|hrs?)\s*$"
)
_FROM_TO = re.compile(
    r"\b(?:from\s+(?P<a>\d{1,2}(?::\d{2})?)\s*(?P<ap>[ap]m)?\s+(?:to|till|until|-)\s+"
    r"|(?<![\d-])(?P<a2>\d{1,2}(?::\d{2})?)\s*(?P<ap2>[ap]m)?\s*-\s*)"
    r"(?P<b>\d{1,2}(?::\d{2})?)(?![\d-])\s*(?P<bp>[ap]m)?"
)
_LEAD = re.compile(
    r"^(?:(?:a|an|the|my|in|down|up|for|me|to|that|it's|it\s+is|there's|i've\s+got|i\s+have)\s+)+"
)
_TAIL = re.compile(
    r"(?:\s+(?:please|thanks|for\s+me|in|on|at|for|too|and|then|down|it's|it\s+is|it'll|"
    r"take|about|haven't\s+decided\s+yet|whichever|entry|that|it))+$"
)
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "half an": 0.5, "thirty": 30,
    "fifteen": 15, "forty-five": 45, "forty five": 45, "ninety": 90,
}  # fmt: skip


_GERUNDS = {
    "scheduling": "schedule", "adding": "add", "putting": "put", "booking": "book",
    "deleting": "delete", "removing": "remove", "reading": "read", "checking": "check",
    "cancelling": "cancel", "canceling": "cancel", "popping": "pop", "creating": "create",
    "taking": "take", "clearing": "clear", "listing": "list", "telling": "tell",
    "showing": "show", "making": "make", "setting": "set",
}  # fmt: skip
_MIND = re.compile(r"(?:^|\b(?:would|do)\s+you\s+)mind\s+(\w+ing)\b")
_WANT = re.compile(
    # "i'd to": "I'd like to" once the filler "like" is gone; a bare "I'd book…" is a what-if.
    r"^(?:i\s+want|i\s+need|i'd\s+love|we\s+need|i\s+wanna|i'd(?=\s+to\b)|i\s+would(?=\s+to\b))"
    r"\s+(?:to\s+)?"
    r"(?=" + _VERB + r"\b)"
)
_NEED = re.compile(
    r"^(?:i\s+)?need\s+(?=(?:a|an)\s+(?:quick\s+)?(?:meeting|call|appointment|slot)\b)"
)
_MY_DAYS = {"my day": "today", "my week": "this week", "my weekend": "this weekend"}
_STRONG_LIST = re.compile(
    r"\b(?:do\s+i\s+have|have\s+i\s+got|i've\s+got|i\s+have\s+got)\s+anything\b"
    r"|\bwhat\s+(?:i've|i\s+have)\s+got\b|^what(?:'s|\s+is)\s+happening\b"
    r"|\b(?:rundown|overview|summary)\s+of\s+my\b|^what\s+time\s+is\s+my\b"
    r"|\bwhat(?:'s|\s+is)\s+(?:on|in)\s+(?:my|the)\s+"
    + _CAL
    + r"|^(?:show|list)\s+(?:me\s+)?everything\b"
    r"|^show\s+me\s+(?:next|this|my|the)\b|^what\s+am\s+i\s+doing\b"
    r"|\bwhat\s+(?:meetings|appointments|events|plans)\s+(?:do|have|did)\s+i\b"
    r"|\bhow\s+(?:busy|booked)\s+am\s+i\b|\b(?:my\s+)?availability\b"
    r"|^what\s+(?:do\s+i\s+have|have\s+i\s+got)\b(?!\s+to\b)|^do\s+i\s+have\s+(?:any\s+)?plans\b"
    r"|\b(?:share|pull\s+up|send)\s+(?:me\s+)?my\s+(?:" + _CAL + r"|appointments|meetings)\b"
    r"|^(?:" + "|".join(WEEKDAYS) + r"|today|tomorrow)(?:'s)?\s+(?:schedule|agenda|plans)\b"
    r"|\bcheck\s+(?:if|whether)\s+(?:i'm|i\s+am|we're|we\s+are)\s+(?:free|busy|available)\b"
    r"|^when(?:'s|\s+is)\s+my\s+next\s+free\b"
    r"|\b(?:read|tell|show|give|list)\s+(?:me\s+)?(?:today's|tomorrow's|this\s+week's|"
    r"(?:" + "|".join(WEEKDAYS) + r")'s)\s+(?:events|appointments|meetings|plans|schedule)\b"
)


_CORRECTION = re.compile(
    r"\b[\w:.]+(?:\s*[ap]m)?,?\s+(?:no\s+sorry|no\s+wait|sorry|i\s+mean|or\s+rather|actually|"
    r"make\s+that|no)\s*,?\s+(?=(?:at\s+|on\s+)?(?:\d|one|two|three|four|five|six|seven|eight|"
    r"nine|ten|eleven|twelve|noon|" + "|".join(WEEKDAYS) + r"|tomorrow|today)\b)",
    re.IGNORECASE,
)
_SLANG = {"wats": "what's", "wk": "week", "ugh": "", "mtg": "meeting", "arvo": "afternoon",
          "brekkie": "breakfast", "nix": "cancel", "unschedule": "cancel", "fri": "friday",
          "mon": "monday", "thurs": "thursday", "scheudle": "schedule", "meting": "meeting",
          "thrusday": "thursday", "@": "at", "mtgs": "meetings",
          "appts": "appointments", "w": "with"}  # fmt: skip


_RESTATED_CLOCK = re.compile(
    r"(?P<clock>\b(?:at\s+)?\d{1,2}(?::\d{2})?\s*(?:[ap]m)?)(?P<between>[^,]{0,80}?),?\s+"
    r"(?:no\s+wait|no\s+sorry|sorry|actually|no)\s*,?\s+(?:make\s+(?:it|that)\s+)"
    r"(?P<new>(?:at\s+)?\d{1,2}(?::\d{2})?\s*(?:[ap]m)?)\b",
    re.IGNORECASE,
)


def _restate_clock(m: re.Match[str]) -> str:
    new = m.group("new").removeprefix("at ").strip()
    old_meridiem = re.search(r"[ap]m$", m.group("clock").strip().lower())
    if old_meridiem and not re.search(r"[ap]m$", new.lower()):
        new += old_meridiem.group(0)  # "6pm, no wait, make it 6:30": 6:30pm
    return f"at {new}{m.group('between')}"


# "if it's not too late, book a massage at 3": the condition, then the request.
_IF_CLAUSE = re.compile(r"^\s*if\b[^,]{0,60},\s*(?=(?:please\s+|can\s+you\s+|could\s+you\s+)?"
                        + _VERB + r"\b)", re.IGNORECASE)  # fmt: skip


def _prepare(text: str) -> str:
    # "at 6pm tomorrow, no wait, make it 6:30": the new time in place of the old one.
    text = _IF_CLAUSE.sub("", text)
    text = _RESTATED_CLOCK.sub(_restate_clock, text)
    corrected = _CORRECTION.sub("", text)  # "at three, no sorry, four": four
    words = normalize(corrected).replace("w/", "with")
    words = " ".join(filter(None, (_SLANG.get(w, w) for w in words.split())))
    words = re.sub(r"^remind\s+me\s+(?=what)", "", words)
    words = re.sub(r"^ad\s+(?=(?:a|an|the|my)?\s*\w+\s)", "add ", words)  # "ad dinner w farah…"
    words = _MIND.sub(lambda m: _GERUNDS.get(m.group(1), m.group(0)), words)
    if says_clock(words):
        words = _NEED.sub("add ", words)  # "need a meeting w/ Raj tmrw at 3pm"
    day_first = _DAY_FIRST.match(words)
    if day_first is not None:
        words = f"{words[day_first.end() :]} {day_first.group('day')}"
    return _WANT.sub("", words)


class CalendarParser:
    def parse(self, text: str, now: datetime) -> Parsed:
        words = _prepare(text)
        asks = _CANCEL_IT.search(words) or _ADD_BACK.search(words)
        if not words or (_MENTION.search(words) and not asks):
            return Parsed("none", None)
        listed = self._list(words, text, now)
        if listed is not None:
            return listed
        cancel = _CANCEL.search(words) if not _ADD_START.match(words) else None
        if cancel and (
            EVENT_NOUN.search(words)
            or _OFF_CAL.search(words)
            or re.search(_CAL, words)
            or _LEADING_CANCEL.match(words)
        ):
            return _call("calendar.cancel", {"which": _which(words, cancel)}, text)
        if _NOT_ADD.search(words):
            return Parsed("none", None)
        put_it = _PUT_IT.search(words)
        if (
            put_it is not None
            and not _ADD_START.match(words)
            and EVENT_NOUN.search(words[: put_it.start()])
            and says_clock(words[put_it.end() :])
        ):
            # "my boss moved the review, so put it on Friday at 3": it is the review.
            body = f"{words[: put_it.start()]} {words[put_it.end() :]}"
            return self._add(body, words, text, now)
        back = _ADD_BACK.search(words)
        if back is not None and back.start() > 0:
            body = words[: back.start()]  # "dinner at Nobu on the 26th at 8, add it"
            lead = _LABEL.match(body)
            return self._add(body[lead.end() :] if lead else body, words, text, now)
        start = _ADD_START.search(words)
        if start is not None and not _VERB_AS_NOUN.match(words):
            return self._add(words[start.end() :], words, text, now)
        if _terse_note(words, text, now):
            return self._add(words, words, text, now)  # "lunch with Omar Thursday at 1"
        return Parsed("none", None)

    @staticmethod
    def _list(words: str, text: str, now: datetime) -> Parsed | None:
        if _ADD_START.search(words) and not _STRONG_LIST.search(words):
            return None
        days_words = re.sub(
            r"\b(?:my\s+day|my\s+week|my\s+weekend)\b", lambda m: _MY_DAYS[m.group(0)], words
        )
        strong = _STRONG_LIST.search(words)
        weak = _LIST.search(words) and _LIST_TOPIC.search(words)
        if not (strong or weak):
            return None
        if find_days(words, now).found:
            return _call("calendar.list", {"when": words}, text)  # "my day … tomorrow"
        if find_days(days_words, now).found or re.search(_CAL, words):
            return _call("calendar.list", {"when": days_words}, text)
        return None

    def _add(self, body: str, words: str, text: str, now: datetime) -> Parsed:
        minutes = None
        body = _BARE_SPAN.sub("from ", body)
        span = _FROM_TO.search(body)
        if span is not None:
            minutes, body = _from_to(span, body)
        duration = _DURATION.search(body)
        if duration is not None:
            minutes = minutes or _duration(duration)
            body = (body[: duration.start()] + " " + body[duration.end() :]).strip()
        body = _IN_CAL.sub(" ", body)
        when = find_when(body, now)
        anchored = (
            re.search(_CAL, words)
            or EVENT_NOUN.search(body)
            or find_days(body, now).found
            or _people(text)
        )
        if not anchored:
            return Parsed("none", None)
        when_text = " ".join(body[a:b] for a, b in sorted(when.spans))
        rest = cut_spans(body, when.spans)
        place = ""
        found_place = _PLACE.search(rest)
        named = _NAMED_PLACE.search(text)
        if found_place is None and named is not None:
            # "at Lucky Star": a place named with capitals, as typed.
            found_place = re.search(r"\b(?:at|in)\s+(?P<place>" + re.escape(named.group(1).lower())
                                    + r")\b", rest)  # fmt: skip
        found_place = found_place or _LAST_AT.search(rest)
        if found_place is not None:
            place = found_place.group("place")
            rest = (rest[: found_place.start()] + rest[found_place.end() :]).strip()
        title = _TAIL.sub("", _LEAD.sub("", " ".join(rest.replace(",", " ").split()))).strip()
        if not title:
            return Parsed("none", None)
        arguments = {
            "title": recase(title, text),
            "when": when_text,
            "place": recase(place, text),
            "people": ", ".join(_people(text)),
        }
        if minutes:
            arguments["minutes"] = str(minutes)
        return _call("calendar.add", arguments, text)


_NOTE_VERB = re.compile(
    r"\b(?:is|was|are|were|be|been|went|had|has|have|got|get|sold|love|loved|hate|think|feel|"
    r"going|gonna|wish|can't|cannot|went|did|does|do|like|want|need|hope|excited|nervous|lands|"
    r"leaves|arrives|drags|runs|ran|starts|ends|goes|comes|came|said|says|called|calls|took|"
    r"takes|moved|usually|always|never|gets|opens|closes|begins|finishes|departs|kicks|wants|"
    r"needs|thinks)\b"
    r"|\b[\w']+s\s+play\b"  # "the Leafs play at 7 tonight"
)
_NOTE_START = re.compile(
    r"^(?:i|we|he|she|they|it|you|that|there|what|how|why|so|and|my|our|his|her|their|"
    r"every|each|ugh)\b|^this\b(?!\s+(?:"
    + "|".join(WEEKDAYS)
    + r"|morning|afternoon|evening|week))"
)


def _terse_note(words: str, text: str, now: datetime) -> bool:
    """A note with no verb, "flight to Melbourne tomorrow 6:05am": a request to put it in,
    as people type into a calendar (a sentence that tells something has a verb)."""
    if len(words.split()) > 12 or _NOTE_START.match(words) or _NOTE_VERB.search(words):
        return False
    if re.search(r"\b[a-z]{3,}ed\b", text):
        return False  # "the meeting ran long", "lands": said of something, as typed
    if not (EVENT_NOUN.search(words) or _people(text)):
        return False
    return find_days(words, now).found and says_clock(words)


def _call(intent: str, arguments: dict[str, str], text: str) -> Parsed:
    return Parsed(intent, SkillCall(intent, arguments, asked_by="user", source_text=text))


_WITH = re.compile(r"\bw/\s*|\bw\s+(?=[A-Za-z])")
_WITH_FILLER = re.compile(r"\bwith\s+(?:(?:uh+|um+|er+|like),?\s+)+", re.IGNORECASE)
# "with my accountant, Priya": the name, not the role.
_WITH_ROLE = re.compile(r"\bwith\s+(?:my|our)\s+[a-z]+,?\s+(?=[A-Z])")
# Typed all in lower case, "lunch w/ mike": a name is the word after "with" that is no
# determiner or group.
_LOWER_PERSON = re.compile(
    r"\bwith\s+(?!(?:the|my|a|an|our|your|his|her|their|some|me|him|them|us|it|friends|"
    r"family|everyone|everybody|people|team|colleagues|work|kids)\b)([a-z][a-z'-]+)\b"
)


def _people(original: str) -> list[str]:
    typed = _WITH_ROLE.sub("with ", _WITH_FILLER.sub("with ", _WITH.sub("with ", original)))
    found: list[str] = []
    for m in _PEOPLE.finditer(typed):
        for name in re.split(r"\s*(?:,|\band\b|&)\s*", m.group(1)):
            if name and name not in found:
                found.append(name)
    if not found and not re.search(r"[A-Z]", typed.replace("I ", "")):
        found = [m.group(1) for m in _LOWER_PERSON.finditer(typed) if not says_clock(m.group(1))]
    return found


def _which(words: str, cancel: re.Match[str]) -> str:
    inner = cancel.group("inner") or ""
    which = _OFF_CAL.sub(" ", f"{words[: cancel.start()]} {inner} {words[cancel.end() :]}")
    which = re.sub(
        r"\b(?:is\s+off|isn't\s+happening|not\s+happening|anymore|any\s+more|it|please|i\s+need"
        r"\s+to|can\s+you|take|out|off|from|my|the|of|entry|i'm\s+not\s+going|he's|she's|"
        r"injured|delete|remove|cancel)\b",
        " ",
        which,
    )
    return " ".join(which.split())


def _from_to(m: re.Match[str], body: str) -> tuple[int | None, str]:
    """'from 2 to 4pm': the length, and the words with 'at 2pm' in place of the span."""

    def minutes_of(clock: str) -> int:
        hour, _, minute = clock.partition(":")
        return int(hour) % 12 * 60 + int(minute or 0)

    start_text = m.group("a") or m.group("a2")
    start_ap = m.group("ap") or m.group("ap2")
    end_pm = m.group("bp") or start_ap
    start_pm = start_ap or end_pm
    a, b = minutes_of(start_text), minutes_of(m.group("b"))
    if start_pm == "pm" and start_ap is None and a > b:
        start_pm = "am"  # "from 11 to 1pm"
    a += 720 if start_pm == "pm" else 0
    b += 720 if end_pm == "pm" else 0
    if start_pm is None and b <= a:
        b += 720  # "from 9 till 5": the end is in the afternoon
    length = b - a if b > a else None
    said = f"at {start_text}{start_pm or ''}"
    return length, f"{body[: m.start()]}{said} {body[m.end() :]}"


def _duration(m: re.Match[str]) -> int | None:
    count = m.group("n") or m.group("n2") or m.group("n3")
    unit = m.group("unit") or m.group("unit2") or m.group("unit3")
    number = float(count) if count.isdigit() else _NUMBERS.get(count.replace("-", " "), 0)
    if m.group("half"):
        number += 0.5
    minutes = number * (60 if unit.startswith("h") else 1)
    return int(minutes) or None
