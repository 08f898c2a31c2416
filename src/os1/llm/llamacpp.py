"""A GGUF model run in-process by llama.cpp (through llama-cpp-python).

Base models are prompted as a transcript (``Prompt.transcript`` with stop sequences);
chat-tuned models through the chat template stored in the GGUF. llama-cpp-python keeps
the evaluated tokens of the last request and reuses the longest common prefix, so the
companion's prompts, which only grow at the end, start fast turn after turn.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from os1.errors import ModelError
from os1.llm.base import GenerationParams, ModelInfo, Prompt
from os1.llm.prompt_state import PromptState

BUILD_HINT = (
    "Install it with: bash scripts/setup.sh (it compiles llama.cpp; a C++ compiler and"
    " cmake are needed: sudo apt-get install build-essential cmake)"
)


_log = logging.getLogger("os1.llama_cpp")
_quiet_callback: object = None


def _route_llama_logs(llama_cpp: object) -> None:
    """Send llama.cpp's own log lines to Python logging instead of the user's terminal."""
    global _quiet_callback
    if _quiet_callback is not None:
        return

    @llama_cpp.llama_log_callback  # type: ignore[attr-defined, untyped-decorator]
    def forward(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        _log.debug("%s", text.decode("utf-8", "replace").rstrip())

    _quiet_callback = forward  # keep a reference: llama.cpp holds only a C pointer
    llama_cpp.llama_log_set(forward, ctypes.c_void_p(0))  # type: ignore[attr-defined]


def load_llama(model_path: Path, *, n_ctx: int, threads: int) -> Any:
    """Load a GGUF with llama.cpp, or raise ModelError saying why not."""
    try:
        import llama_cpp
        from llama_cpp import Llama
    except ImportError as exc:
        raise ModelError("llama-cpp-python is not installed.", BUILD_HINT) from exc
    _route_llama_logs(llama_cpp)
    if not model_path.is_file():
        raise ModelError(
            f"Model file not found: {model_path}.",
            "Check the path, or go back to the default with `os1 config set model embedded`.",
        )
    threads = threads or os.cpu_count() or 1
    try:
        return Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=512,
            # Keep the whole sliding-window cache so any common prefix can be reused.
            swa_full=True,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelError(
            f"llama.cpp could not load {model_path}: {exc}.",
            "Is it a complete GGUF file? Try `os1 doctor`.",
        ) from exc


class LlamaCppLLM:
    def __init__(
        self,
        model_path: Path,
        *,
        kind: Literal["embedded", "gguf"],
        n_ctx: int = 4096,
        threads: int = 0,
        prompt_format: Literal["auto", "transcript", "chat"] = "auto",
        state_dir: Path | None = None,
    ) -> None:
        """``state_dir``: where the evaluated prompt is kept between processes (see
        ``os1.llm.prompt_state``); None keeps it in memory only."""
        self.model_path = model_path
        self._kind: Literal["embedded", "gguf"] = kind
        self._llama = load_llama(model_path, n_ctx=n_ctx, threads=threads)
        self._lock = threading.Lock()
        self._state = PromptState(state_dir, model_path, self._llama) if state_dir else None
        self._restored = self._state is None
        self.restored_tokens = 0  # how many tokens the first request found already evaluated
        if prompt_format == "auto":
            has_template = bool(self._llama.metadata.get("tokenizer.chat_template"))
            prompt_format = "chat" if has_template and kind == "gguf" else "transcript"
        self.prompt_format: Literal["transcript", "chat"] = prompt_format

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            name="embedded:gemma-3-270m" if self._kind == "embedded" else f"gguf:{self.model_path}",
            kind=self._kind,
            prompt_format=self.prompt_format,
            details={
                "path": str(self.model_path),
                "format": self.prompt_format,
                "context": str(self._llama.n_ctx()),
            },
        )

    @property
    def llama(self) -> Any:
        """The underlying ``llama_cpp.Llama`` (for benchmarks that compare against it)."""
        return self._llama

    def count_text_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=True, special=False))

    def count_tokens(self, prompt: Prompt) -> int:
        if self.prompt_format == "transcript":
            return self.count_text_tokens(prompt.transcript)
        # The chat template adds a few tokens per message around the contents.
        contents = "\n".join(m.content for m in prompt.messages)
        return self.count_text_tokens(contents) + 8 * len(prompt.messages)

    def _sampling(self, params: GenerationParams) -> dict[str, Any]:
        sampling: dict[str, Any] = {
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "top_k": params.top_k,
            "repeat_penalty": params.repeat_penalty,
        }
        if params.seed is not None:
            sampling["seed"] = params.seed
        return sampling

    def stream(self, prompt: Prompt, params: GenerationParams) -> Iterator[str]:
        with self._lock:
            self._restore_once()
            try:
                if self.prompt_format == "transcript":
                    chunks = self._llama.create_completion(
                        prompt.transcript,
                        stop=list(prompt.stop),
                        stream=True,
                        **self._sampling(params),
                    )
                    for chunk in chunks:
                        text = chunk["choices"][0]["text"]
                        if text:
                            yield text
                else:
                    messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
                    chunks = self._llama.create_chat_completion(
                        messages=messages, stream=True, **self._sampling(params)
                    )
                    for chunk in chunks:
                        text = chunk["choices"][0]["delta"].get("content")
                        if text:
                            yield text
            except ValueError as exc:
                # llama-cpp-python raises ValueError when the prompt exceeds the context.
                raise ModelError(
                    f"The model could not take this prompt: {exc}.",
                    "Raise llm.context_tokens or lower chat.history_messages.",
                ) from exc

    def prepare(self, prompt: Prompt) -> None:
        if self.prompt_format != "transcript":
            return
        with self._lock:
            self._restore_once()
            # Evaluating the prompt (and sampling one token) leaves it in the KV cache.
            for _ in self._llama.create_completion(prompt.transcript, max_tokens=1, stream=True):
                pass
            if self._state is not None:
                self._state.save()  # the next process starts from here

    def _restore_once(self) -> None:
        """Before the first request: what an earlier process evaluated, if it still fits."""
        if not self._restored and self._state is not None:
            self._restored = True
            self.restored_tokens = self._state.restore()
            if self.restored_tokens:
                _log.debug("restored %d evaluated prompt tokens", self.restored_tokens)

    def close(self) -> None:
        with self._lock:
            close = getattr(self._llama, "close", None)
            if close:
                close()
