"""One turn of conversation: store the user's words, stream a reply, store the reply.

Nothing is lost along the way: the user's message is stored before the model is asked,
a reply cut short by Ctrl-C is stored as far as it got and marked ``interrupted``, and a
model failure leaves the conversation exactly as it was plus the user's message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Literal

from os1.clock import Clock, system_clock
from os1.companion.affect import AffectState, read_mood
from os1.companion.persona import AFFECT_KEY, Persona
from os1.companion.prompt import PromptBuilder, profile_header
from os1.companion.recall import forget_command, recall
from os1.companion.relationship import Stage, stage_for
from os1.companion.shaping import ReplyShaper
from os1.config import Settings
from os1.errors import InputError
from os1.llm.base import LLM, GenerationParams, Prompt, ToolCallingLLM
from os1.memory.core import Memory
from os1.memory.facts import FactCandidate
from os1.memory.llm_facts import llm_facts
from os1.skills.router import SkillRouter
from os1.store.conversations import Conversations, Message
from os1.store.db import Database
from os1.store.state import StateStore

_FALLBACK_REPLY = "Mm. Tell me more?"
_HISTORY_BLOCK_DIVISOR = 2


@dataclass(frozen=True)
class Timings:
    first_token_ms: float | None
    total_ms: float
    tokens: int

    @property
    def tokens_per_s(self) -> float | None:
        if self.first_token_ms is None or self.tokens < 2:
            return None
        seconds = (self.total_ms - self.first_token_ms) / 1000
        return (self.tokens - 1) / seconds if seconds > 0 else None


@dataclass
class TurnResult:
    conversation_id: str
    user_message: Message
    reply: str = ""
    reply_message: Message | None = None
    status: Literal["complete", "interrupted", "pending"] = "pending"
    timings: Timings = field(default_factory=lambda: Timings(None, 0.0, 0))
    prepared_reply: str | None = None  # a reply that needs no model (e.g. "forget that")
    affect_before: dict[str, Any] | None = None  # to take the turn back (``withdraw``)


def check_input(text: str, max_chars: int) -> str:
    """The message to send, or InputError saying what is wrong with it."""
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        raise InputError(
            "That message is not valid UTF-8 text, so I can't read it.",
            "Check your terminal's encoding (it should be UTF-8) and try again.",
        )
    cleaned = text.replace("\x00", "").strip()
    if not cleaned:
        raise InputError("The message is empty. Type something to say.")
    if len(cleaned) > max_chars:
        raise InputError(
            f"That message is {len(cleaned):,} characters long; the limit is {max_chars:,}.",
            "Send a shorter part, or raise the limit with `os1 config set chat.max_input_chars N`.",
        )
    return cleaned


class Companion:
    """The mind of one companion: persona, memory of the conversation, and a model."""

    def __init__(
        self,
        db: Database,
        llm: LLM,
        persona: Persona,
        settings: Settings,
        *,
        clock: Clock = system_clock,
        memory: Memory | None = None,
        skills: SkillRouter | None = None,
    ) -> None:
        self.db = db
        self.skills = skills
        self.llm = llm
        self.memory = memory
        self.persona = persona
        self.settings = settings
        self.clock = clock
        self.conversations = Conversations(db, clock)
        self.state = StateStore(db, clock)
        self.prompts = PromptBuilder(persona)
        # Held from ``start_turn`` until the reply's ``stream`` has ended, by callers that
        # may run turns side by side (the server: one device typing, another talking), so
        # two turns never interleave in the conversation or race on the mood.
        self.turn_gate = threading.Lock()

    # -- state ------------------------------------------------------------------

    @property
    def affect(self) -> AffectState:
        return AffectState.from_dict(self.state.get(AFFECT_KEY))

    def stage(self) -> Stage:
        return stage_for(
            self.conversations.count("user"),
            self.conversations.first_message_time(),
            self.clock(),
        )

    def last_talked(self) -> timedelta | None:
        last = self.conversations.last_message()
        return self.clock() - last.created_at if last else None

    # -- prompts ----------------------------------------------------------------

    def history(self, upcoming: int = 0) -> list[Message]:
        """Recent messages for the prompt, in a window that moves in blocks.

        ``upcoming`` counts messages about to be added: the window is placed as it will
        be then, so a prompt prepared ahead of time stays a prefix of the real one.
        """
        size = self.settings.chat.history_messages
        block = max(1, size // _HISTORY_BLOCK_DIVISOR)
        total = self.conversations.count()
        start = max(0, total + upcoming - size) // block * block
        history = self.conversations.recent(total - start)
        budget = self._history_char_budget()
        while len(history) > 1 and sum(len(m.text) + 24 for m in history) > budget:
            history = history[block:] if len(history) > block else history[1:]
        return history

    def _history_char_budget(self) -> int:
        llm = self.settings.llm
        spare_tokens = llm.context_tokens - llm.max_reply_tokens - 400  # header and cue
        return max(1000, spare_tokens * 3)

    def build_prompt(self, upcoming: int = 0) -> Prompt:
        """The prompt for the next reply, made to fit the model's context.

        The character budget is a first guess; when the model can count tokens, older
        messages are dropped (a block at a time) and, as a last resort, the newest
        message is clipped, until the prompt leaves room for the reply.
        """
        history = self.history(upcoming)
        stage = self.stage()
        clip = self._history_char_budget()
        llm = self.settings.llm
        limit = llm.context_tokens - llm.max_reply_tokens - 8
        block = max(1, self.settings.chat.history_messages // _HISTORY_BLOCK_DIVISOR)
        while True:
            prompt = self.prompts.build(
                history, stage, max_message_chars=clip, profile=self._profile_text()
            )
            tokens = self.llm.count_tokens(prompt)
            if tokens is None or tokens <= limit or clip <= 64:
                return prompt
            if len(history) > 1:
                history = history[block:] if len(history) > block else history[-1:]
            else:
                clip //= 2

    def _profile_text(self) -> str:
        profile = self.memory.profile() if self.memory else None
        return str(profile["text"]) if profile else ""

    def warm_up(self) -> None:
        """Evaluate the prompt as it will start for the user's next message.

        Run it while the user is reading or typing: when the window of recent messages
        has just moved (or the header changed), the next reply then still starts fast.
        The memory's vectors are loaded then too.
        """
        if self.memory is not None:
            self.memory.index.load()
        self.llm.prepare(self.build_prompt(upcoming=1))

    # -- a turn -----------------------------------------------------------------

    def start_turn(
        self,
        text: str,
        conversation_id: str | None = None,
        *,
        meta: dict[str, Any] | None = None,
    ) -> TurnResult:
        """Validate and store the user's message; the reply is produced by ``stream``.

        ``meta`` is kept with the user's message (where it came from: a device, the API).
        """
        cleaned = check_input(text, self.settings.chat.max_input_chars)
        if conversation_id is None:
            new_after = timedelta(hours=self.settings.chat.new_conversation_after_hours)
            conversation_id = self.conversations.current(new_after)
        elif not self.conversations.exists(conversation_id):
            raise InputError(f"There is no conversation {conversation_id!r}.")
        origin = dict(meta or {})
        command = forget_command(cleaned) if self.memory else None
        if command is not None:
            return self._forget_turn(cleaned, command, conversation_id, origin)
        acted = None
        if self.skills is not None:
            # A model on a server can choose a tool for what the parser cannot read.
            chooser = self.llm if self.llm.info.kind == "openai" else None
            acted = self.skills.handle(
                cleaned, chooser if isinstance(chooser, ToolCallingLLM) else None
            )
        if acted is not None:
            # The reply is what the skill did, not what a model imagines it did.
            user_message = self.conversations.add(
                conversation_id,
                "user",
                self.persona.user_name,
                cleaned,
                meta={**origin, "skill": acted.outcome},
            )
            return TurnResult(conversation_id, user_message, prepared_reply=acted.say)
        reading = read_mood(cleaned)
        before = self.affect
        affect = before.update(reading)
        meta = origin
        if affect.user_mood != "neutral":
            meta["mood"] = affect.user_mood
        if self.memory is not None:
            in_view = [m.id for m in self.history(upcoming=1)]
            recalled = recall(self.memory, cleaned, exclude=in_view)
            if recalled:
                meta["recalled"] = recalled
        user_message = self.conversations.add(
            conversation_id, "user", self.persona.user_name, cleaned, meta=meta
        )
        self.state.put(AFFECT_KEY, affect.to_dict())
        return TurnResult(
            conversation_id=conversation_id,
            user_message=user_message,
            affect_before=before.to_dict(),
        )

    def _forget_turn(
        self,
        text: str,
        command: Literal["previous", "this"],
        conversation_id: str,
        origin: dict[str, Any],
    ) -> TurnResult:
        """'Forget that': forget the previous message (or this one), and say so."""
        assert self.memory is not None
        if command == "previous":
            # The user's last message, and the companion's answer to it (which echoes it).
            previous = self.conversations.last_message("user", said_only=True)
            if previous is not None:
                answer = self.conversations.reply_to(previous)
                self.memory.forget(previous.id)
                if answer is not None:
                    self.memory.forget(answer.id)
            stored = text
            reply = "Okay. I've forgotten that."
        else:
            stored = "(Something I was asked not to remember.)"
            reply = "Okay. I won't remember that."
        user_message = self.conversations.add(
            conversation_id,
            "user",
            self.persona.user_name,
            stored,
            meta={**origin, "forget": command},
        )
        return TurnResult(conversation_id, user_message, prepared_reply=reply)

    def learn(self, turn: TurnResult) -> None:
        """Let memory take in a finished turn (embeddings, facts). Call it off the reply
        path: after the reply is shown, or in a background thread."""
        if self.memory is None or turn.user_message.meta.get("forget"):
            return
        messages = [turn.user_message]
        if turn.reply_message is not None:
            messages.append(turn.reply_message)
        extra = None
        if self.llm.info.kind == "openai":
            # A model on a server can read facts the patterns miss, without holding up
            # the next reply (an in-process model would: it serves one request at a time).
            def extra(message: Message) -> list[FactCandidate]:
                return llm_facts(self.llm, message, self.persona.user_name)

        self.memory.learn(messages, extra)
        started_anew = self.conversations.count_in(turn.conversation_id, 3) <= 2
        if started_anew and self.conversations.conversation_count() > 1:
            self.consolidate()  # the previous conversation has ended

    def consolidate(self) -> str:
        """Rebuild the core profile: who is talking, where they stand, what is known."""
        if self.memory is None:
            return ""
        header = profile_header(self.persona, self.conversations, self.clock())
        return self.memory.consolidate(header)

    def stream(self, turn: TurnResult) -> Generator[str, None, None]:
        """Stream the reply to ``turn``. Closing early (or Ctrl-C) keeps what was said."""
        started = time.perf_counter()
        first: float | None = None
        tokens = 0
        shaper = self._shaper()
        params = GenerationParams(
            max_tokens=self.settings.llm.max_reply_tokens,
            temperature=self.settings.llm.temperature,
        )
        completed = False
        try:
            if turn.prepared_reply is not None:
                shaper.text = turn.prepared_reply
                first = time.perf_counter()
                yield turn.prepared_reply
                completed = True
                return
            for attempt in range(2):
                prompt = self.build_prompt()
                tokens = 0
                chunks = self.llm.stream(prompt, params)
                try:
                    for chunk in chunks:
                        tokens += 1
                        visible = shaper.feed(chunk)
                        if visible:
                            if first is None:
                                first = time.perf_counter()
                            yield visible
                        if shaper.stopped:
                            break
                finally:
                    close = getattr(chunks, "close", None)
                    if close:
                        close()
                if shaper.text.strip() or attempt == 1:
                    break
                # A small base model sometimes ends its turn at once: ask once more.
                shaper = self._shaper()
                params = GenerationParams(
                    max_tokens=params.max_tokens, temperature=min(1.0, params.temperature + 0.2)
                )
            tail = shaper.finish()
            if not shaper.text.strip():
                tail = _FALLBACK_REPLY
                shaper.text = tail
            if tail:
                if first is None:
                    first = time.perf_counter()
                yield tail
            completed = True
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            turn.timings = Timings(
                first_token_ms=None if first is None else (first - started) * 1000,
                total_ms=elapsed,
                tokens=tokens,
            )
            self._finish(turn, shaper.text.strip(), completed)

    def _shaper(self) -> ReplyShaper:
        speakers = [self.persona.user_name, self.persona.companion_name]
        if self.llm.info.prompt_format == "transcript":
            return ReplyShaper.for_base_model(speakers)
        return ReplyShaper.for_chat_model(speakers)

    def _finish(self, turn: TurnResult, reply: str, completed: bool) -> None:
        turn.reply = reply
        if not completed and not reply:
            # Failed or cancelled before a word was said: only the user's message stays.
            turn.status = "interrupted"
            return
        status: Literal["complete", "interrupted"] = "complete" if completed else "interrupted"
        turn.reply_message = self.conversations.add(
            turn.conversation_id,
            "companion",
            self.persona.companion_name,
            reply,
            status=status,
        )
        turn.status = status

    def settle_heard(self, turn: TurnResult, heard: str) -> None:
        """Keep only what the user heard of a spoken reply they talked over.

        Call it before ``learn``: memory then never holds words that were not said.
        """
        heard = heard.strip()
        message = turn.reply_message
        turn.status = "interrupted"
        turn.reply = heard
        if message is None:
            if heard:
                turn.reply_message = self.conversations.add(
                    turn.conversation_id,
                    "companion",
                    self.persona.companion_name,
                    heard,
                    status="interrupted",
                )
            return
        if not heard:
            self.conversations.remove(message.id)
            turn.reply_message = None
            return
        self.conversations.revise(message.id, heard, "interrupted")
        turn.reply_message = replace(message, text=heard, status="interrupted")

    def withdraw(self, turn: TurnResult) -> None:
        """Take back a turn nobody heard (the user had not finished speaking after all).

        Call it before ``learn``: memory never sees the half-sentence."""
        if turn.reply_message is not None:
            self.conversations.remove(turn.reply_message.id)
            turn.reply_message = None
        self.conversations.remove(turn.user_message.id)
        if turn.affect_before is not None:
            self.state.put(AFFECT_KEY, turn.affect_before)  # the half-sentence's mood too

    def respond(self, text: str, conversation_id: str | None = None) -> TurnResult:
        """Run a whole turn without streaming (tests, scripts)."""
        turn = self.start_turn(text, conversation_id)
        for _ in self.stream(turn):
            pass
        return turn
