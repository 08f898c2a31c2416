"""One model, many callers: a lock around a model that serves one request at a time.

The server answers several devices, and a voice session writes replies from its own
threads; an in-process model (llama.cpp) must not be entered by two of them at once.
A stream holds the lock from its first chunk until it is finished or closed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from os1.llm.base import LLM, GenerationParams, ModelInfo, Prompt, ToolCall, ToolCallingLLM


class SharedLLM:
    def __init__(self, inner: LLM) -> None:
        self.inner = inner
        self._lock = threading.RLock()

    @property
    def info(self) -> ModelInfo:
        return self.inner.info

    def stream(self, prompt: Prompt, params: GenerationParams) -> Iterator[str]:
        with self._lock:
            chunks = self.inner.stream(prompt, params)
            try:
                yield from chunks
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()

    def call_tools(
        self, prompt: Prompt, tools: list[dict[str, Any]], params: GenerationParams
    ) -> list[ToolCall]:
        """The inner model's tool calls; none from a model that cannot call tools."""
        if not isinstance(self.inner, ToolCallingLLM):
            return []
        with self._lock:
            return self.inner.call_tools(prompt, tools, params)

    def prepare(self, prompt: Prompt) -> None:
        with self._lock:
            self.inner.prepare(prompt)

    def count_tokens(self, prompt: Prompt) -> int | None:
        with self._lock:
            return self.inner.count_tokens(prompt)

    def close(self) -> None:
        with self._lock:
            self.inner.close()
