"""Model specs (``embedded``, ``gguf:PATH``, ``openai:MODEL``, ``fake``) to backends.

Heavy backends are imported only when chosen.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from os1.config import Settings
from os1.errors import ConfigError
from os1.llm.base import LLM
from os1.llm.embedded_model import Progress

SPEC_HELP = "Use embedded, gguf:/path/to/model.gguf, openai:MODEL_NAME or fake."


@dataclass(frozen=True)
class ModelSpec:
    kind: Literal["embedded", "gguf", "openai", "fake"]
    value: str = ""


def parse_model_spec(spec: str) -> ModelSpec:
    text = spec.strip()
    if text in ("", "embedded", "default"):
        return ModelSpec("embedded")
    if text == "fake":
        return ModelSpec("fake")
    if text.startswith("fake:"):
        # fake:SECONDS streams the fake reply with a pause per word (for terminal tests).
        try:
            float(text[len("fake:") :])
        except ValueError:
            raise ConfigError(f"Unknown model {spec!r}.", SPEC_HELP) from None
        return ModelSpec("fake", text[len("fake:") :])
    if text.startswith("openai:") and text[len("openai:") :].strip():
        return ModelSpec("openai", text[len("openai:") :].strip())
    if text.startswith("gguf:") and text[len("gguf:") :].strip():
        return ModelSpec("gguf", text[len("gguf:") :].strip())
    if text.lower().endswith(".gguf"):
        return ModelSpec("gguf", text)
    raise ConfigError(f"Unknown model {spec!r}.", SPEC_HELP)


def load_llm(settings: Settings, progress: Progress | None = None) -> LLM:
    """The model the settings ask for, loaded and ready."""
    spec = parse_model_spec(settings.model)
    if spec.kind == "fake":
        from os1.llm.fake import FakeLLM

        return FakeLLM(delay=float(spec.value or 0))
    if spec.kind == "openai":
        from os1.llm.openai_compat import OpenAICompatibleLLM

        return OpenAICompatibleLLM(
            settings.openai.base_url,
            spec.value,
            api_key=os.environ.get(settings.openai.api_key_env) or None,
            timeout=settings.openai.timeout,
        )
    from os1.llm.llamacpp import LlamaCppLLM

    if spec.kind == "embedded":
        from os1.llm.embedded_model import embedded_model_path

        path = embedded_model_path(settings.models_path(), progress)
        return LlamaCppLLM(
            path,
            kind="embedded",
            n_ctx=settings.llm.context_tokens,
            threads=settings.llm.threads,
            prompt_format="transcript",
        )
    return LlamaCppLLM(
        Path(spec.value).expanduser(),
        kind="gguf",
        n_ctx=settings.llm.context_tokens,
        threads=settings.llm.threads,
        prompt_format=settings.llm.prompt_format,
    )
