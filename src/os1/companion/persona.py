"""Who the companion is and what it learned about the user during onboarding."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from os1.companion.names import Voice
from os1.store.state import StateStore

PERSONA_KEY = "persona"
AFFECT_KEY = "affect"

_HELP_FOCUS = (
    (
        re.compile(r"\b(day|days|schedule|calendar|plan|plans|organi[sz]\w*|remind\w*)\b"),
        "keeping their days in order",
    ),
    (re.compile(r"\b(mail|email|e-mail|letters?|writ\w*|inbox)\b"), "letters and mail"),
    (
        re.compile(r"\b(talk|company|someone|friend|lonely|listen\w*|chat)\b"),
        "good conversation and company",
    ),
    (re.compile(r"\b(think|ideas?|decid\w*|work|projects?|focus)\b"), "thinking things through"),
)


def help_focus(answers: dict[str, str]) -> list[str]:
    text = answers.get("help", "").lower()
    return [label for pattern, label in _HELP_FOCUS if pattern.search(text)]


@dataclass(frozen=True)
class Persona:
    companion_name: str
    name_reason: str
    voice: Voice
    user_name: str
    traits: tuple[str, ...]
    answers: dict[str, str] = field(default_factory=dict)
    created_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["traits"] = list(self.traits)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Persona:
        return cls(
            companion_name=str(data["companion_name"]),
            name_reason=str(data.get("name_reason", "")),
            voice="male" if data.get("voice") == "male" else "female",
            user_name=str(data["user_name"]),
            traits=tuple(str(t) for t in data.get("traits", ())),
            answers={str(k): str(v) for k, v in dict(data.get("answers", {})).items()},
            created_at=str(data.get("created_at", "")),
        )


def load_persona(state: StateStore) -> Persona | None:
    data = state.get(PERSONA_KEY)
    return Persona.from_dict(data) if data else None


def save_persona(state: StateStore, persona: Persona) -> None:
    state.put(PERSONA_KEY, persona.to_dict())
