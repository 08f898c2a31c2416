"""The language-model seam: one Protocol, one request shape, plain text chunks out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Prompt:
    """One request, in both shapes a model may need.

    Chat models read ``messages``. Base (not chat-tuned) models continue ``transcript``
    and stop at any of ``stop``. Both are built together in ``os1.companion.prompt`` so
    they always say the same thing.
    """

    messages: tuple[ChatMessage, ...]
    transcript: str
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class GenerationParams:
    max_tokens: int = 96
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    repeat_penalty: float = 1.15
    seed: int | None = None


@dataclass(frozen=True)
class ModelInfo:
    """What a backend tells about itself (shown by ``os1 doctor`` and ``--json``).

    ``prompt_format`` says which shape of ``Prompt`` it reads: ``transcript`` (a base
    model continuing text, whose replies need firm shaping) or ``chat`` (messages).
    """

    name: str
    kind: Literal["embedded", "gguf", "openai", "fake"]
    prompt_format: Literal["transcript", "chat"] = "chat"
    details: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class LLM(Protocol):
    """A language model that streams text."""

    @property
    def info(self) -> ModelInfo: ...

    def stream(self, prompt: Prompt, params: GenerationParams) -> Iterator[str]:
        """Yield the reply in chunks as it is generated. Closing the iterator cancels."""
        ...

    def prepare(self, prompt: Prompt) -> None:
        """Process ``prompt`` ahead of time so a later request that extends it starts fast.

        Backends that cannot do this do nothing.
        """
        ...

    def count_tokens(self, prompt: Prompt) -> int | None:
        """How many tokens ``prompt`` takes in this model's context; None if unknown."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ToolCall:
    """A function a model chose to call, with the arguments it gave (JSON-decoded)."""

    name: str
    arguments: dict[str, Any]


@runtime_checkable
class ToolCallingLLM(Protocol):
    """A model that can choose among tools (OpenAI-style function calling)."""

    def call_tools(
        self, prompt: Prompt, tools: list[dict[str, Any]], params: GenerationParams
    ) -> list[ToolCall]:
        """The tool calls the model makes for ``prompt`` (none when it would just talk)."""
        ...
