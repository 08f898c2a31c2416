"""SharedLLM: one model, many threads, never two requests inside it at once."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator

from os1.llm.base import GenerationParams, Prompt
from os1.llm.fake import FakeLLM
from os1.llm.shared import SharedLLM

PROMPT = Prompt(messages=(), transcript="Theo: hi\nIris:")


class _Watched(FakeLLM):
    """A fake model that notes when two requests are inside it together."""

    def __init__(self) -> None:
        super().__init__(default="one two three four five six", delay=0.005)
        self.inside = 0
        self.overlapped = False
        self._count = threading.Lock()

    def stream(self, prompt: Prompt, params: GenerationParams) -> Iterator[str]:
        with self._count:
            self.inside += 1
            self.overlapped |= self.inside > 1
        try:
            yield from super().stream(prompt, params)
        finally:
            with self._count:
                self.inside -= 1


def test_streams_from_many_threads_take_turns() -> None:
    inner = _Watched()
    shared = SharedLLM(inner)
    replies: list[str] = []

    def ask() -> None:
        replies.append("".join(shared.stream(PROMPT, GenerationParams())))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert replies == ["one two three four five six"] * 4
    assert not inner.overlapped


def test_closing_a_stream_early_lets_the_next_one_in() -> None:
    shared = SharedLLM(FakeLLM(default="a b c d"))
    first = shared.stream(PROMPT, GenerationParams())
    assert isinstance(first, Generator)
    assert next(first) == "a"
    first.close()  # cancelled mid-reply: the lock is released
    done: list[str] = []
    worker = threading.Thread(
        target=lambda: done.append("".join(shared.stream(PROMPT, GenerationParams())))
    )
    worker.start()
    worker.join(timeout=5)
    assert done == ["a b c d"]
    assert shared.info.kind == "fake"
