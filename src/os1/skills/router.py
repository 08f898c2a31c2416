"""From a user's message to an action: parse, act, log, and remember an open question.

The deterministic parser reads requests first, on every backend. What it cannot read is
offered to a model that calls tools (an OpenAI-compatible server), but only when the
user's own words are about what the skills do (reminding, alarms, timers): a model's
tool call carries no authority of its own.

When a request needs an answer first ("remind me to call Mom" — when?), the question is
kept for a few minutes, and a reply that names a time ("at 6") completes the request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo

from os1.clock import Clock, from_iso, system_clock, to_iso
from os1.errors import OS1Error
from os1.llm.base import ChatMessage, GenerationParams, Prompt, ToolCallingLLM
from os1.skills.actions import ActionLog
from os1.skills.base import Registry, SkillCall, SkillResult
from os1.skills.calendar import CalendarStore
from os1.skills.calendar_skills import WRITE, Remote, calendar_skills
from os1.skills.consent import Consents, answer_of
from os1.skills.followups import FollowUps
from os1.skills.intent import normalize
from os1.skills.reminders import ReminderStore, reminder_skills, when_words
from os1.skills.requests import RequestParser, carry_out
from os1.skills.when import find_when, with_part
from os1.store.db import Database
from os1.store.state import StateStore

_log = logging.getLogger(__name__)
PENDING_KEY = "skills.pending"
# The user's words that let a model's tool call through to the skills (reminders, calendar).
_ABOUT_SKILLS = re.compile(
    r"\b(?:remind\w*|reminders?|alarms?|timers?|forget|forgetting|nudge|ping\s+me|"
    r"alert\s+me|wake\s+me|snooze|calendar|calender|diary|agenda|schedule|appointments?|"
    r"events?|meetings?)\b"
)
_TOOL_PROMPT = (
    "You manage the user's reminders and calendar with the tools given. Call a tool only"
    " when the user's message asks you to set, list, cancel or change a reminder, or to"
    " add, list or remove a calendar event; otherwise call none. Give times in the user's"
    " words (such as 'tomorrow at 6pm'). It is now {now}."
)
PENDING_FOR = timedelta(minutes=10)
_ASKS_WHEN = ("reminder.add", "calendar.add")  # a question back that a time answers


class SkillRouter:
    """The skills of one companion, reached from conversation."""

    def __init__(
        self,
        db: Database,
        zone: Callable[[], tuple[str, tzinfo]],
        clock: Clock = system_clock,
        remote: Callable[[], Remote] = Remote,
        followups: FollowUps | None = None,
    ) -> None:
        self.followups = followups
        self.clock = clock
        self.zone = zone
        self.remote = remote
        self.reminders = ReminderStore(db, clock)
        self.calendar = CalendarStore(db, clock)
        self.registry = Registry(
            [*reminder_skills(self.reminders, zone), *calendar_skills(self.calendar, zone, remote)]
        )
        self.parser = RequestParser()
        self.log = ActionLog(db, clock)
        self.state = StateStore(db, clock)
        self.consents = Consents(db, clock)

    def now(self) -> datetime:
        return self.clock().astimezone(self.zone()[1])

    def handle(self, text: str, model: ToolCallingLLM | None = None) -> SkillResult | None:
        """Act on ``text`` if it asks for something a skill does; None to just talk.

        ``model``, when given, is asked to choose a tool for requests the parser could
        not read."""
        now = self.now()
        consent = self._answer_to_consent(text)
        if consent is not None:
            return consent
        dropped = self.followups.drop(text) if self.followups is not None else None
        if dropped is not None:
            result = SkillResult("done", dropped)
            self.log.record(SkillCall("followup.drop", {}, "user", text), result)
            return result
        parsed = self.parser.parse(text, now, just_talked_about=self._just_acted())
        call = parsed.call
        if call is not None and parsed.tentative:
            found = carry_out(parsed, self.registry)
            if found is not None:
                self.log.record(call, found)
                self.state.delete(PENDING_KEY)
                return found
            call = None  # nothing it could be about: it was said, not asked
        if call is None:
            call = self._answer_to_pending(text, now)
        if call is None and model is not None:
            call = self._ask_model(model, text, now)
        if call is None:
            if self.followups is not None:
                self.followups.notice(text)  # news of a plan: asked about afterwards
            return None
        return self.run(call)

    def _just_acted(self) -> bool:
        """Whether the last action, a moment ago, was a reminder's ("move it to 7")."""
        last = self.log.recent(1)
        return (
            bool(last)
            and last[0].skill.startswith("reminder.")
            and self.clock() - last[0].at < PENDING_FOR
        )

    def _answer_to_consent(self, text: str) -> SkillResult | None:
        """A plain yes or no to "Shall I add it to your calendar on … too?"."""
        pending = self.consents.pending()
        if pending is None:
            return None
        answer = answer_of(text)
        self.consents.clear()  # answered now, or not at all: it never waits across turns
        if answer is None:
            return None
        server = self.remote().server or "the server"
        waiting = [uid for uid in pending.ids if (e := self.calendar.get(uid)) and e.push == "ask"]
        if not waiting:
            result = SkillResult("nothing", "There's nothing waiting to be sent any more.")
        elif answer:
            self.calendar.set_push(waiting, "send")
            result = SkillResult("done", f"Okay, sending it to {server}.", {"uids": waiting})
        else:
            self.calendar.set_push(waiting, "local")
            result = SkillResult("done", "Okay, it stays on this computer only.", {"uids": waiting})
        call = SkillCall(f"consent.{pending.kind}", {"ids": waiting, "yes": answer}, "user", text)
        self.log.record(call, result)
        return result

    def _ask_model(self, model: ToolCallingLLM, text: str, now: datetime) -> SkillCall | None:
        if not _ABOUT_SKILLS.search(normalize(text)):
            return None  # the user asked for nothing a skill does: no tool may run
        prompt = Prompt(
            messages=(
                ChatMessage("system", _TOOL_PROMPT.format(now=now.strftime("%A %d %B %Y %H:%M"))),
                ChatMessage("user", text),
            ),
            transcript="",
        )
        try:
            calls = model.call_tools(
                prompt, self.registry.tools(), GenerationParams(max_tokens=160, temperature=0.0)
            )
        except OS1Error:
            _log.warning("the model could not choose a tool; answering in words", exc_info=True)
            return None
        known = {name.replace(".", "_"): name for name in self.registry.names()}
        for chosen in calls:
            if chosen.name in known:
                return SkillCall(known[chosen.name], chosen.arguments, "model", text)
        return None

    def run(self, call: SkillCall) -> SkillResult:
        result = self.registry.act(call)
        self.log.record(call, result)
        if result.outcome == "question" and call.skill in _ASKS_WHEN:
            # Kept with what was said of the time so far ("at 7" → "Which day?"): the
            # answer adds to it, so the question is not asked round and round.
            rest = dict(call.arguments)
            rest.update({k: v for k, v in result.data.items() if k in ("text", "title")})
            if rest.get("text") or rest.get("title"):
                self.state.put(
                    PENDING_KEY,
                    {"skill": call.skill, "arguments": rest, "at": to_iso(self.clock())},
                )
        else:
            self.state.delete(PENDING_KEY)
        if result.data.get("consent") == WRITE and isinstance(result.data.get("uid"), str):
            # A yes answers this question only: earlier changes wait in `os1 calendar sync`.
            self.consents.ask(WRITE, [result.data["uid"]])
        return result

    def _answer_to_pending(self, text: str, now: datetime) -> SkillCall | None:
        pending = self.state.get(PENDING_KEY) or {}
        if pending.get("skill") not in _ASKS_WHEN or not pending.get("at"):
            return None
        if self.clock() - from_iso(pending["at"]) > PENDING_FOR:
            return None
        words = when_words(normalize(text))
        so_far = str(pending["arguments"].get("when") or "")
        parted = with_part(so_far, words)  # "in the morning or the evening?" "evening"
        if parted is not None:
            return SkillCall(
                pending["skill"], {**pending["arguments"], "when": parted}, "user", text
            )
        when = find_when(words, now)
        leftover = len(words.split()) - sum(len(words[a:b].split()) for a, b in when.spans)
        if not when.found or leftover > 3:
            return None  # not an answer to "when?": a sentence of its own
        answer = " ".join(words[a:b] for a, b in when.spans)
        if so_far and find_when(when_words(so_far), now).question:
            so_far = ""  # what was said cannot be: the answer replaces it
        # The answer first: where it says again what was said ("6pm" to "at 6"), it wins.
        said = f"{answer} {so_far}".strip()
        return SkillCall(
            pending["skill"],
            {**pending["arguments"], "when": said},
            asked_by="user",
            source_text=text,
        )
