"""Model specs (``embedded``, ``gguf:PATH``, ``openai:MODEL``, ``fake``) to backends.

Heavy backends are imported only when chosen.
"""

from __future__ import annotations

import os
from pathlib import Path

from os1.config import Settings
from os1.errors import ConfigError
from os1.llm.base import LLM
from os1.llm.spec import parse_model_spec
from os1.parts import Progress


def api_key(settings: Settings) -> str | None:
    """The API key from the environment variable the settings name, if it is set."""
    key = os.environ.get(settings.openai.api_key_env) or None
    if key is not None and not key.isascii():
        raise ConfigError(
            f"The API key in ${settings.openai.api_key_env} has characters that cannot be sent"
            " in an HTTP header.",
            "Check that the variable holds the key and nothing else.",
        )
    return key


def load_llm(
    settings: Settings, progress: Progress | None = None, state_dir: Path | None = None
) -> LLM:
    """The model the settings ask for, loaded and ready. ``state_dir`` (in the user's
    data directory) keeps an in-process model's evaluated prompt for the next start."""
    spec = parse_model_spec(settings.model)
    if spec.kind == "fake":
        from os1.llm.fake import FakeLLM

        return FakeLLM(delay=float(spec.value or 0))
    if spec.kind == "openai":
        from os1.llm.openai_compat import OpenAICompatibleLLM

        return OpenAICompatibleLLM(
            settings.openai.base_url,
            spec.value,
            api_key=api_key(settings),
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
            state_dir=state_dir,
        )
    return LlamaCppLLM(
        Path(spec.value).expanduser(),
        kind="gguf",
        n_ctx=settings.llm.context_tokens,
        threads=settings.llm.threads,
        prompt_format=settings.llm.prompt_format,
        state_dir=state_dir,
    )
