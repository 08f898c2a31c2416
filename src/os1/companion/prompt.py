"""Every prompt the companion sends to a model is built here.

Conversation prompts come from ``PromptBuilder``; onboarding's name choice from the two
functions at the end.

The prompt is laid out so that it only ever grows at the end between turns: a stable
header (who the companion is, what it knows, where the relationship stands), then the
recent messages, each rendered from what is stored (its time, any mood noted at the
time), and finally the cue for the reply. Nothing in the header depends on the clock,
and the window of recent messages moves in blocks, so llama.cpp can reuse its KV cache
for everything but the newest lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from os1.clock import humanize_gap
from os1.companion.affect import response_mood
from os1.companion.persona import Persona, help_focus
from os1.companion.relationship import Stage, stage_for
from os1.llm.base import ChatMessage, Prompt
from os1.store.conversations import Conversations, Message

GAP_NOTE_AFTER = timedelta(hours=3)
"""A silence at least this long is mentioned in the prompt ("3 days later.")."""

_MOOD_PHRASES = {
    "happy": "seems happy",
    "excited": "sounds excited",
    "sad": "seems sad",
    "anxious": "sounds anxious",
    "angry": "sounds upset",
    "tired": "sounds tired",
    "lonely": "sounds lonely",
}


def part_of_day(moment: datetime) -> str:
    hour = moment.hour
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    if 17 <= hour < 22:
        return "evening"
    return "night"


@dataclass(frozen=True)
class Line:
    """One rendered message, shared by the transcript and the chat shapes."""

    note: str  # narration before the message (day, time, long silence); may be empty
    speaker: str
    text: str
    role: str
    mood_note: str  # narration after a user message; may be empty
    recalled_note: str = ""  # what the companion remembered on hearing it; may be empty


class PromptBuilder:
    def __init__(self, persona: Persona, *, timezone: tzinfo | None = None) -> None:
        self.persona = persona
        self.timezone = timezone

    # -- header -----------------------------------------------------------------

    def header(self, stage: Stage, profile: str = "") -> str:
        p = self.persona
        c, u = p.companion_name, p.user_name
        she, her = ("he", "his") if p.voice == "male" else ("she", "her")
        *character, temperament = p.traits or ("kind", "easygoing")
        traits = ", ".join(character[:-1]) + f" and {character[-1]}" if character else "kind"
        known = []
        focus = help_focus(p.answers)
        if focus:
            known.append(f"{u} wants help with {' and '.join(focus)}.")
        elif p.answers.get("help"):
            known.append(f'{u} wants help with "{p.answers["help"]}".')
        if p.answers.get("social"):
            known.append(f'Asked whether {u} is a social person, {u} said "{p.answers["social"]}".')
        if p.answers.get("relationship"):
            known.append(f'About someone who matters to {u}: "{p.answers["relationship"]}".')
        if p.answers.get("feeling"):
            known.append(f'When they met, {u} was feeling "{p.answers["feeling"]}".')
        knowledge = " ".join(known) or f"{c} is still getting to know {u}."
        return (
            f"This is a transcript of conversations between {u} and {c}. {c} is {u}'s AI"
            f" companion: an operating system with a {p.voice} voice, who chose {her} name"
            f" because {p.name_reason}. {c} is {traits}, and {temperament} by nature."
            f" {she.capitalize()} answers in one"
            f" or two short sentences, shows {she} cares about how {u} feels, and often"
            f" asks {u} a question back. {c} never pretends to be human.\n\n"
            f"What {c} knows: {knowledge}\n"
            + (f"What {c} has learned since: {profile}\n" if profile else "")
            + f"Where they stand: {stage.description}\n\n"
        )

    # -- messages ---------------------------------------------------------------

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.timezone)

    def _time_note(self, message: Message, previous: Message | None) -> str:
        """'(3 days later. Thursday 26 November 2026, 8:14 pm)' when the day, part of day
        or a long silence makes it worth saying; otherwise ''."""
        local = self._local(message.created_at)
        if previous is not None:
            before = self._local(previous.created_at)
            gap = message.created_at - previous.created_at
            same_span = before.date() == local.date() and part_of_day(before) == part_of_day(local)
            if same_span and gap < GAP_NOTE_AFTER:
                return ""
        clock = f"{local:%I:%M}".lstrip("0") + (" am" if local.hour < 12 else " pm")
        note = f"{local:%A} {local.day} {local:%B %Y}, {clock}"
        if previous is not None and message.created_at - previous.created_at >= GAP_NOTE_AFTER:
            note = f"{humanize_gap(message.created_at - previous.created_at)} later. {note}"
        return f"({note})"

    def lines(self, history: Sequence[Message], max_message_chars: int = 0) -> list[Line]:
        lines: list[Line] = []
        previous: Message | None = None
        last_mood = "neutral"
        for message in history:
            text = " ".join(message.text.split())
            if max_message_chars and len(text) > max_message_chars:
                text = text[:max_message_chars].rsplit(" ", 1)[0] + " …"
            if message.status == "interrupted":
                text = f"{text} —" if text else "—"
            mood_note = ""
            mood = str(message.meta.get("mood", "neutral"))
            if message.role == "user" and mood != last_mood:
                if mood in _MOOD_PHRASES:
                    p = self.persona
                    mood_note = (
                        f"({p.user_name} {_MOOD_PHRASES[mood]}; {p.companion_name} feels"
                        f" {response_mood(mood)}.)"
                    )
                last_mood = mood
            lines.append(
                Line(
                    recalled_note=self._recalled_note(message),
                    note=self._time_note(message, previous),
                    speaker=message.speaker,
                    text=text,
                    role=message.role,
                    mood_note=mood_note,
                )
            )
            previous = message
        return lines

    def _recalled_note(self, message: Message) -> str:
        """'(Iris remembers: Theo lives in Seattle; on 3 November Theo said "…")'."""
        items = message.meta.get("recalled") or []
        if message.role != "user" or not items:
            return ""
        parts = []
        for item in items:
            if item.get("kind") == "fact":
                parts.append(str(item["text"]).rstrip("."))
            else:
                day = self._local(datetime.fromisoformat(str(item["time"])))
                who = item.get("speaker") or self.persona.user_name
                parts.append(f'on {day.day} {day:%B} {who} said "{item["text"]}"')
        return f"({self.persona.companion_name} remembers: {'; '.join(parts)}.)"

    @staticmethod
    def _render_line(line: Line) -> str:
        out = f"{line.note}\n" if line.note else ""
        out += f"{line.speaker}: {line.text}\n"
        if line.mood_note:
            out += f"{line.mood_note}\n"
        if line.recalled_note:
            out += f"{line.recalled_note}\n"
        return out

    def build(
        self,
        history: Sequence[Message],
        stage: Stage,
        *,
        max_message_chars: int = 0,
        profile: str = "",
    ) -> Prompt:
        """The prompt for the companion's next reply, given the messages so far.

        ``max_message_chars`` clips any single message that is longer (0: no limit).
        """
        p = self.persona
        header = self.header(stage, profile)
        lines = self.lines(history, max_message_chars)
        transcript = header + "".join(self._render_line(line) for line in lines)
        transcript += f"{p.companion_name}:"

        messages = [ChatMessage("system", self._chat_system(header))]
        for line in lines:
            if line.role == "user":
                prefix = f"{line.note}\n" if line.note else ""
                notes = [n for n in (line.mood_note, line.recalled_note) if n]
                suffix = "".join(f"\n{n}" for n in notes)
                messages.append(ChatMessage("user", f"{prefix}{line.text}{suffix}"))
            elif line.role == "companion":
                messages.append(ChatMessage("assistant", line.text))
        stop = ("\n", f"{p.user_name}:")
        return Prompt(messages=tuple(messages), transcript=transcript, stop=stop)

    def _chat_system(self, header: str) -> str:
        p = self.persona
        return (
            f"You are {p.companion_name}. {header.strip()}\n\n"
            f"Lines in parentheses in {p.user_name}'s messages are notes for you: the local"
            f" date and time, or how {p.user_name} seems. Reply as {p.companion_name} in one"
            " to three short spoken sentences, without notes or a name prefix."
        )


def name_choice_prompt(user_name: str, answers: dict[str, str], candidates: list[str]) -> Prompt:
    """Onboarding: the companion, having heard the user's answers, chooses its name."""
    learned = []
    if answers.get("social"):
        learned.append(f'Asked if they are social, {user_name} said: "{answers["social"]}".')
    if answers.get("help"):
        learned.append(f'They want help with: "{answers["help"]}".')
    if answers.get("relationship"):
        learned.append(
            f'About someone who matters to them, they said: "{answers["relationship"]}".'
        )
    listing = ", ".join(candidates)
    transcript = (
        f"A new AI companion has just met {user_name} and is choosing a name for itself.\n"
        + "\n".join(learned)
        + f"\nIt thought about the names {listing}, picked the one that felt right,"
        " and told them why in one sentence.\n\n"
        f"{user_name}: So, what should I call you?\n"
        "AI: I've decided to call myself"
    )
    messages = (
        ChatMessage(
            "system",
            "You are a newly started AI companion choosing a name for yourself. "
            "Answer in exactly one sentence of the form: "
            "I've decided to call myself NAME, because REASON.",
        ),
        ChatMessage(
            "user",
            "\n".join(learned)
            + f"\nNames you like: {listing}. Pick one (or a better one) and say why.",
        ),
    )
    return Prompt(messages=messages, transcript=transcript, stop=("\n",))


def name_reason_prompt(choice: Prompt, name: str) -> Prompt:
    """Onboarding: after ``choice``, the companion says why it chose ``name``."""
    return Prompt(
        messages=(
            *choice.messages,
            ChatMessage("assistant", f"I've decided to call myself {name}."),
            ChatMessage("user", "Why that name? One short sentence."),
        ),
        transcript=f"{choice.transcript} {name}, because",
        stop=("\n", "."),
    )


def profile_header(persona: Persona, conversations: Conversations, now: datetime) -> str:
    """The first lines of the core profile: who is talking, and where they stand."""
    since = conversations.first_message_time()
    stage = stage_for(conversations.count("user"), since, now)
    met = f" since {since:%-d %B %Y}" if since else ""
    return (
        f"{persona.user_name} talks with {persona.companion_name}, an AI companion with a"
        f" {persona.voice} voice{met}. {stage.description}"
    )


def fact_extraction_prompt(text: str, user_name: str) -> Prompt:
    """Memory: ask a (bigger, chat-tuned) model for the facts one message states."""
    instructions = (
        f"List the lasting facts that this message from {user_name} states about"
        f" {user_name}'s life: people and pets (with names), places, work, health, plans"
        " with dates, likes and dislikes. One short sentence per line, starting with '- '"
        f" and naming {user_name}. Nothing guessed, nothing about the conversation itself."
        " If there is none, answer '- none'."
    )
    return Prompt(
        messages=(
            ChatMessage("system", instructions),
            ChatMessage("user", text),
        ),
        transcript=f"{instructions}\n\nMessage: {text}\nFacts:\n- ",
        stop=("\n\n",),
    )
