"""A scripted language model for tests: replays queued replies, records every prompt."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Literal

from os1.llm.base import GenerationParams, ModelInfo, Prompt

DEFAULT_REPLY = "I'm here, and I'm listening. Tell me more."


class FakeLLM:
    """Replays queued replies word by word, exactly as queued (it applies no stop
    sequences: shaping the reply is the companion's job, and tests should see it do it).

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
        prompt_format: Literal["transcript", "chat"] = "transcript",
    ) -> None:
        self._queue: deque[str | BaseException | tuple[str, BaseException, int]] = deque(replies)
        self.default = default
        self.delay = delay
        self.prompt_format: Literal["transcript", "chat"] = prompt_format
        self.prompts: list[Prompt] = []
        self.prepared: list[Prompt] = []
        self.params: list[GenerationParams] = []
        self.closed = False

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(name="fake", kind="fake", prompt_format=self.prompt_format)

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

    def count_tokens(self, prompt: Prompt) -> int:
        """A rough count (four characters a token), enough to test context limits."""
        if self.prompt_format == "transcript":
            return len(prompt.transcript) // 4
        return sum(len(m.content) for m in prompt.messages) // 4

    def close(self) -> None:
        self.closed = True
