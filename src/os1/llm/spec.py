"""Model specs: one line that says which model to use."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from os1.errors import ConfigError

SPEC_HELP = "Use embedded, gguf:/path/to/model.gguf, openai:MODEL_NAME or fake."


@dataclass(frozen=True)
class ModelSpec:
    kind: Literal["embedded", "gguf", "openai", "fake"]
    value: str = ""


def parse_model_spec(spec: str) -> ModelSpec:
    """``embedded``, ``gguf:PATH`` (or a path ending in .gguf), ``openai:MODEL``, ``fake``.

    ``fake:SECONDS`` is the scripted test model streaming with a pause per word.
    """
    text = spec.strip()
    if text in ("", "embedded", "default"):
        return ModelSpec("embedded")
    if text == "fake":
        return ModelSpec("fake")
    if text.startswith("fake:"):
        try:
            delay = float(text[len("fake:") :])
        except ValueError:
            delay = -1.0
        if not (math.isfinite(delay) and 0 <= delay <= 10):
            raise ConfigError(f"Unknown model {spec!r}.", "fake:SECONDS takes 0 to 10 seconds.")
        return ModelSpec("fake", str(delay))
    for kind in ("openai", "gguf"):
        if text.startswith(f"{kind}:") and text[len(kind) + 1 :].strip():
            return ModelSpec(kind, text[len(kind) + 1 :].strip())
    if text.lower().endswith(".gguf"):
        return ModelSpec("gguf", text)
    raise ConfigError(f"Unknown model {spec!r}.", SPEC_HELP)
