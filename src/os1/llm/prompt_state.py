"""llama.cpp's evaluated prompt kept on disk, so a new process starts where the last left off.

The companion's prompt starts the same way every turn (persona, what it remembers, the
recent conversation) and only grows at the end. Evaluating those ~1,500 tokens is most
of the wait before the first word of a fresh `os1 ask` or of the first turn after
`os1 chat` starts. After a warm-up the context (its KV cache) and the tokens in it are
written to the data directory; the next process loads them, and llama-cpp-python's own
prefix matching then evaluates only what differs.

The file is named by what must match for the state to be valid: the model file (path,
size, modification time), the context size and the llama-cpp-python version. It is
written to a temporary file and renamed, so a process killed mid-write leaves the old
state or none, never half of one. It holds the user's conversation, so it lives in the
data directory, never in a shared cache.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from os1.store.files import written_whole

_log = logging.getLogger("os1.llm.prompt_state")
_PREFIX = "prompt-"
_SUFFIX = ".llama-state"


class PromptState:
    """Save and restore one ``llama_cpp.Llama``'s evaluated tokens in ``folder``."""

    def __init__(self, folder: Path, model_path: Path, llama: Any) -> None:
        import llama_cpp

        self._llama = llama
        self._api = llama_cpp
        stat = model_path.stat()
        identity = "|".join(
            str(part)
            for part in (
                model_path.resolve(),
                stat.st_size,
                stat.st_mtime_ns,
                llama.n_ctx(),
                getattr(llama_cpp, "__version__", "?"),
            )
        )
        digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
        self.folder = folder
        self.path = folder / f"{_PREFIX}{digest}{_SUFFIX}"
        self._saved: tuple[int, ...] = ()

    def restore(self) -> int:
        """Load the saved state into an empty context; the number of tokens it holds (0
        when there was none, or it did not fit this model)."""
        if self._llama.n_tokens or not self.path.is_file():
            return 0
        capacity = self._llama.n_ctx()
        tokens = (self._api.llama_token * capacity)()
        count = ctypes.c_size_t(0)
        try:
            loaded = self._api.llama_state_load_file(
                self._llama.ctx, os.fsencode(self.path), tokens, capacity, ctypes.byref(count)
            )
        except (OSError, ValueError) as exc:
            loaded, reason = False, str(exc)
        else:
            reason = "llama.cpp refused it"
        if not loaded or not 0 < count.value <= capacity:
            _log.info("prompt state %s not used (%s); removing it", self.path, reason)
            self._clear_context()  # whatever a failed load left in it must not be attended
            self._forget()
            return 0
        n = count.value
        self._llama.input_ids[:n] = tokens[:n]
        self._llama.n_tokens = n
        if hasattr(self._llama, "_requires_eval"):
            self._llama._requires_eval = True  # the logits are not restored: decode again
        self._saved = tuple(tokens[:n])
        return n

    def save(self) -> bool:
        """Write the context's evaluated tokens and KV cache; False if there was nothing
        new to write or it could not be written (the next start is then only slower)."""
        n = int(self._llama.n_tokens)
        held = tuple(int(t) for t in self._llama.input_ids[:n])
        if n == 0 or held == self._saved:
            return False
        try:
            with written_whole(self.path) as partial:  # llama.cpp writes it by name
                tokens = (self._api.llama_token * n)(*held)
                if not self._api.llama_state_save_file(
                    self._llama.ctx, os.fsencode(partial), tokens, n
                ):
                    raise OSError("llama.cpp could not write it")
        except OSError as exc:
            _log.warning("could not save the prompt state to %s: %s", self.path, exc)
            return False
        self._saved = held
        for old in self.folder.glob(f"{_PREFIX}*{_SUFFIX}"):
            if old != self.path:  # made for another model or version: never valid again
                old.unlink(missing_ok=True)
        return True

    def _clear_context(self) -> None:
        try:
            memory = self._api.llama_get_memory(self._llama.ctx)
            if memory:
                self._api.llama_memory_clear(memory, True)
        except AttributeError:  # an older llama-cpp-python: clear it as it knew how
            self._llama.reset()

    def _forget(self) -> None:
        self.path.unlink(missing_ok=True)
        self._saved = ()
