"""The skill seam: one Protocol, typed calls and results, a registry, and a fake."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from os1.errors import OS1Error

Outcome = Literal["done", "question", "nothing", "refused"]


@dataclass(frozen=True)
class SkillCall:
    """A request for one action: which skill, its arguments, and what asked for it."""

    skill: str
    arguments: Mapping[str, Any]
    asked_by: str = "user"  # "user" (their own words), "model", "schedule"
    source_text: str = ""  # the words that asked, for the action log


@dataclass(frozen=True)
class SkillResult:
    """What a skill did and what to tell the user about it.

    ``say`` is built from what actually happened, so a reply that reports an action is
    true: ``outcome`` is "done" only when something was changed or found, "question" when
    the request needs an answer first (an ambiguous time), "nothing" when there was
    nothing to act on, "refused" when it was not allowed.
    """

    outcome: Outcome
    say: str
    data: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Skill(Protocol):
    """One capability the companion can use."""

    @property
    def name(self) -> str:
        """Dotted and stable, such as ``reminder.add``: the log and tool calls use it."""
        ...

    @property
    def description(self) -> str:
        """One sentence for a model choosing a tool."""
        ...

    @property
    def parameters(self) -> Mapping[str, Any]:
        """The arguments, as a JSON Schema object (what tool-calling models read)."""
        ...

    def act(self, call: SkillCall) -> SkillResult: ...


def text_arguments(required: tuple[str, ...] | None = None, **properties: str) -> Mapping[str, Any]:
    """A JSON Schema object of string arguments, each with its description; ``required``
    None means all of them."""
    return {
        "type": "object",
        "properties": {
            name: {"type": "string", "description": d} for name, d in properties.items()
        },
        "required": list(properties if required is None else required),
    }


class SkillError(OS1Error):
    """A call the registry cannot run (an unknown skill, arguments of the wrong kind)."""


class Registry:
    """The skills one companion has, by name."""

    def __init__(self, skills: list[Skill] | None = None) -> None:
        self._skills: dict[str, Skill] = {}
        for skill in skills or []:
            self.add(skill)

    def add(self, skill: Skill) -> None:
        if skill.name in self._skills:
            raise ValueError(f"two skills are named {skill.name!r}")
        self._skills[skill.name] = skill

    def names(self) -> list[str]:
        return sorted(self._skills)

    def get(self, name: str) -> Skill:
        try:
            return self._skills[name]
        except KeyError:
            raise SkillError(f"There is no skill called {name!r}.") from None

    def tools(self) -> list[dict[str, Any]]:
        """The skills as OpenAI-style function tools."""
        return [
            {
                "type": "function",
                "function": {
                    "name": skill.name.replace(".", "_"),
                    "description": skill.description,
                    "parameters": dict(skill.parameters),
                },
            }
            for skill in (self._skills[name] for name in self.names())
        ]

    def act(self, call: SkillCall) -> SkillResult:
        return self.get(call.skill).act(call)


@dataclass
class FakeSkill:
    """A skill for tests: records its calls and answers with queued results."""

    name: str = "fake.echo"
    description: str = "Says what it was asked."
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    results: list[SkillResult] = field(default_factory=list)
    calls: list[SkillCall] = field(default_factory=list)

    def act(self, call: SkillCall) -> SkillResult:
        self.calls.append(call)
        if self.results:
            return self.results.pop(0)
        return SkillResult("done", f"Done: {dict(call.arguments)}")
