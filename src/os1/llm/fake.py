"""A scripted language model for tests: replays queued replies, records every prompt."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Iterable, Iterator

from os1.llm.base import GenerationParams, ModelInfo, Prompt

DEFAULT_REPLY = "I'm here, and I'm listening. Tell me more."


class FakeLLM:
    """Replays queued replies word by word.

    Queue a string to have it streamed, or an exception to have it raised (before the
    first chunk, or after ``fail_after`` chunks when given as ``(text, exc, n)``). With an
    empty queue it streams ``default``.
    """

    def __init__(
        self,
        replies: Iterable[str | BaseException] = (),
        *,
        default: str = DEFAULT_REPLY,
        delay: float = 0.0,
    ) -> None:
        self._queue: deque[str | BaseException | tuple[str, BaseException, int]] = deque(replies)
        self.default = default
        self.delay = delay
        self.prompts: list[Prompt] = []
        self.prepared: list[Prompt] = []
        self.params: list[GenerationParams] = []
        self.closed = False

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(name="fake", kind="fake")

    def enqueue(self, *replies: str | BaseException) -> None:
        self._queue.extend(replies)

    def enqueue_failure(self, text: str, error: BaseException, after_chunks: int) -> None:
        """Stream ``after_chunks`` chunks of ``text``, then raise ``error``."""
        self._queue.append((text, error, after_chunks))

    def stream(self, prompt: Prompt, params: GenerationParams) -> Iterator[str]:
        self.prompts.append(prompt)
        self.params.append(params)
        item = self._queue.popleft() if self._queue else self.default
        if isinstance(item, BaseException):
            raise item
        text, error, fail_after = (item, None, -1) if isinstance(item, str) else item
        for stop in prompt.stop:
            if stop and stop in text:
                text = text[: text.index(stop)]
        for index, chunk in enumerate(re.findall(r"\s*\S+", text)):
            if index == fail_after and error is not None:
                raise error
            if index >= params.max_tokens:
                return
            if self.delay:
                time.sleep(self.delay)
            yield chunk
        if error is not None:
            raise error

    def prepare(self, prompt: Prompt) -> None:
        self.prepared.append(prompt)

    def close(self) -> None:
        self.closed = True
