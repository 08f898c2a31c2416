"""The first conversation: a few questions, a voice, and a name the companion chooses.

``Onboarding`` is a small state machine with no I/O: the CLI (or a test, or later the
web page) asks ``question()``, passes the user's words to ``answer()``, shows the
acknowledgement, and finally calls ``finish()`` with a language model.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass
from datetime import datetime

from os1.clock import to_iso
from os1.companion import names
from os1.companion.names import Voice
from os1.companion.persona import Persona, help_focus
from os1.companion.prompt import name_choice_prompt, name_reason_prompt
from os1.errors import InputError, OS1Error
from os1.llm.base import LLM, GenerationParams, Prompt

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Question:
    key: str
    text: str


QUESTIONS: tuple[Question, ...] = (
    Question(
        "user_name",
        "Hello. I'm an operating system, and I've only just woken up. Before I become"
        " anyone, I'd like to get to know you a little. What's your name?",
    ),
    Question(
        "social",
        "Nice to meet you, {user_name}. Are you a social person, or do you keep more to yourself?",
    ),
    Question(
        "help",
        "What would you most like my help with? Keeping your days in order, letters and"
        " mail, or just someone to talk to?",
    ),
    Question(
        "relationship",
        "Think of someone who matters to you. How would you describe that relationship?",
    ),
    Question("feeling", "And how are you feeling these days, honestly?"),
    Question("voice", "Last thing. Would you like me to have a female voice or a male voice?"),
)

DEFAULT_ANSWERS: dict[str, str] = {
    "social": "somewhere in between",
    "help": "a bit of everything: my days, my mail, and someone to talk to",
    "relationship": "",
    "feeling": "fine",
}

_NAME_PREFIX = re.compile(
    r"^(?:hi|hello|hey)?[\s,!.]*(?:my name is|my name's|i am|i'm|im|it's|it is|call me|"
    r"you can call me|this is|name's)\s+",
    re.IGNORECASE,
)
_NOT_NAMES = {
    "the",
    "a",
    "an",
    "my",
    "myself",
    "it",
    "i",
    "me",
    "you",
    "os",
    "os1",
    "name",
    "named",
    "call",
    "am",
    "be",
    "not",
    "just",
    "something",
    "that",
    "this",
    "because",
    "hello",
    "hi",
}


def parse_user_name(text: str) -> str:
    """The name in 'I'm Theodore', 'call me Theo', 'theodore twombly', or raise InputError."""
    cleaned = _NAME_PREFIX.sub("", text.strip()).strip(" .!,\"'")
    words = [w for w in re.findall(r"[^\W\d_][\w'\-]*", cleaned)][:3]
    if not words or len(" ".join(words)) > 40:
        raise InputError("Sorry, I didn't catch your name. What should I call you?")
    return " ".join(w if w[0].isupper() else w.capitalize() for w in words)


def parse_voice(text: str) -> Voice:
    lowered = f" {text.lower()} "
    female = re.search(r"\b(female|woman|women|girl|feminine|she|her|f)\b", lowered)
    male = re.search(r"\b(male|man|men|boy|masculine|he|him|m)\b", lowered)
    if female and not male:
        return "female"
    if male and not female:
        return "male"
    raise InputError("Would you like a female voice or a male voice?")


_SOCIAL_LIVELY = re.compile(r"\b(social|outgoing|extrovert\w*|people person|friends|party)\b")
_SOCIAL_QUIET = re.compile(
    r"\b(keep to myself|to myself|introvert\w*|quiet|shy|alone|anti|private|homebody|not really)"
)


def traits_for(answers: dict[str, str]) -> tuple[str, ...]:
    """The companion's personality, seeded from the user's answers."""
    traits = ["warm", "curious", "honest", "a little playful"]
    social = answers.get("social", "").lower()
    if _SOCIAL_QUIET.search(social):
        traits.append("calm and unhurried")
    elif _SOCIAL_LIVELY.search(social):
        traits.append("lively and talkative")
    else:
        traits.append("easygoing")
    return tuple(traits)


def _acknowledge(key: str, answer: str, user_name: str) -> str:
    text = answer.lower()
    if not answer.strip():
        return "That's alright. We can come back to it another time."
    if key == "social":
        if _SOCIAL_QUIET.search(text):
            return "I understand. Quiet has its own good company."
        if _SOCIAL_LIVELY.search(text):
            return "Good. I'd love to hear about the people in your life."
        return "Somewhere in the middle, then. That sounds balanced."
    if key == "help":
        focus = help_focus({"help": answer})
        if focus:
            return f"Then {' and '.join(focus[:2])} it is. I'll keep that in mind."
        return "Got it. I'll keep that in mind."
    if key == "relationship":
        return "Thank you for telling me that. It says a lot about what matters to you."
    if key == "feeling":
        return f"Thank you for being honest with me, {user_name}."
    return "Got it."


class Onboarding:
    """Asks the questions in order and collects validated answers."""

    def __init__(self) -> None:
        self.answers: dict[str, str] = {}
        self._index = 0

    @property
    def done(self) -> bool:
        return self._index >= len(QUESTIONS)

    def question(self) -> Question | None:
        if self.done:
            return None
        question = QUESTIONS[self._index]
        return Question(question.key, question.text.format(**self.answers))

    def answer(self, text: str) -> str:
        """Record the answer to the current question and return the acknowledgement.

        Raises InputError (whose message is the question asked again) when the answer
        cannot be used, such as an empty name or an unclear voice.
        """
        question = QUESTIONS[self._index]
        if any("\udc80" <= ch <= "\udcff" for ch in text):
            raise InputError("I couldn't read that (it isn't UTF-8 text). Could you say it again?")
        if question.key == "user_name":
            value = parse_user_name(text)
            ack = ""
        elif question.key == "voice":
            value = parse_voice(text)
            ack = "Thank you."
        else:
            value = " ".join(text.split())[:500]
            ack = _acknowledge(question.key, value, self.answers.get("user_name", ""))
        self.answers[question.key] = value
        self._index += 1
        return ack

    def fill_defaults(self, user_name: str, voice: Voice) -> None:
        """Answer every remaining question with a default (for `setup --non-interactive`)."""
        self.answers = {"user_name": parse_user_name(user_name), **DEFAULT_ANSWERS}
        self.answers["voice"] = voice
        self._index = len(QUESTIONS)

    def finish(self, llm: LLM, now: datetime, rng: random.Random | None = None) -> Persona:
        if not self.done:
            raise RuntimeError("onboarding is not finished")
        voice = parse_voice(self.answers["voice"])
        answers = {k: v for k, v in self.answers.items() if k not in ("user_name", "voice")}
        chosen, reason = choose_name(llm, self.answers["user_name"], voice, answers, rng)
        return Persona(
            companion_name=chosen,
            name_reason=reason,
            voice=voice,
            user_name=self.answers["user_name"],
            traits=traits_for(answers),
            answers=answers,
            created_at=to_iso(now),
        )


_CHOSEN = re.compile(
    r"^\s*(?:I've decided to call myself|I'll call myself|call me|my name is)?\s*[\"']?"
    r"(?P<name>[A-Za-z][a-z]{2,11})\b[\"']?[\s,.;:!-]*(?P<rest>.*)$",
    re.DOTALL,
)
_REASON = re.compile(r"\b(?:because|since)\s+(?P<reason>[^.!?\n]{8,160})", re.IGNORECASE)
# A reason that talks about family, the user's name or the model itself is the model
# confusing who is who; such reasons are not used.
_CONFUSED = re.compile(
    r"\b(sister|brother|mother|father|mom|mum|dad|wife|husband|son|daughter|AI|model)\b",
    re.IGNORECASE,
)


def parse_name_choice(text: str, user_name: str) -> tuple[str | None, str | None]:
    """Pull (name, reason) out of a model's answer; None where it did not give one."""
    match = _CHOSEN.match(text.strip())
    if not match:
        return None, None
    name = match.group("name").capitalize()
    if name.lower() in _NOT_NAMES or name.lower() in user_name.lower().split():
        return None, None
    return name, _usable_reason(match.group("rest"), user_name)


def _usable_reason(text: str, user_name: str) -> str | None:
    match = _REASON.search(text)
    if not match:
        return None
    reason = " ".join(match.group("reason").split())
    words = reason.split()
    if not 3 <= len(words) <= 25 or _CONFUSED.search(reason):
        return None
    if any(part.lower() in reason.lower() for part in user_name.split()):
        return None
    return reason


def choose_name(
    llm: LLM,
    user_name: str,
    voice: Voice,
    answers: dict[str, str],
    rng: random.Random | None = None,
    attempts: int = 3,
) -> tuple[str, str]:
    """Let the model choose the companion's name, and say why in one line.

    The model reads what the user said and picks from a handful of shipped names, or
    proposes its own; then it is asked why. A reason that does not hold together (small
    models mix up who is who) gives way to what a shipped name means to the companion.
    When the model gives no usable name (or cannot be reached), a shipped name is drawn.
    """
    rng = rng or random.Random()
    taken = {part.lower() for part in user_name.split()}
    pool = [n.name for n in names.names_for(voice) if n.name.lower() not in taken]
    params = GenerationParams(max_tokens=40, temperature=0.9, top_p=0.95, repeat_penalty=1.1)
    for _ in range(attempts):
        candidates = rng.sample(pool, k=min(6, len(pool)))
        prompt = name_choice_prompt(user_name, answers, candidates)
        try:
            text = "".join(llm.stream(prompt, params))
        except OS1Error as error:
            _log.warning("the model could not choose a name: %s", error)
            break
        name, reason = parse_name_choice(text, user_name)
        if name is None:
            continue
        known = names.find(name)
        if known is not None and known.voice not in (voice, "any"):
            continue
        name = known.name if known else name
        reason = reason or _ask_reason(llm, prompt, name, user_name, params)
        fallback = known.meaning if known else "it came to me the moment we started talking"
        return name, reason or fallback
    drawn = names.find(rng.choice(pool))
    assert drawn is not None
    return drawn.name, drawn.meaning


def _ask_reason(
    llm: LLM, prompt: Prompt, name: str, user_name: str, params: GenerationParams
) -> str | None:
    """Ask the model why it chose ``name``; None when its answer is not usable."""
    try:
        text = "".join(llm.stream(name_reason_prompt(prompt, name), params))
    except OS1Error:
        return None
    text = re.sub(r"^\s*(?:because|since)\s+", "", text.strip(), flags=re.IGNORECASE)
    return _usable_reason(f"because {text}", user_name)
