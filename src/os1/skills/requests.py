"""Which skill a user's words ask for: reminders first, then the calendar.

Reminders come first so that "remind me about dinner with Amy on Friday" stays a
reminder; the calendar reads what is left ("put dinner with Amy on Friday at 8").
"""

from __future__ import annotations

from datetime import datetime

from os1.skills.calendar_intent import CalendarParser
from os1.skills.intent import IntentParser, Parsed


class RequestParser:
    def __init__(self) -> None:
        self.reminders = IntentParser()
        self.calendar = CalendarParser()

    def parse(self, text: str, now: datetime, *, just_talked_about: bool = False) -> Parsed:
        parsed = self.reminders.parse(text, now, just_talked_about=just_talked_about)
        if parsed.call is not None:
            return parsed
        return self.calendar.parse(text, now)
