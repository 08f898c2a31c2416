"""``os1 doctor``: check everything OS1 needs, and say how to fix what is wrong."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from os1.config import Settings, ensure_home, load_settings, resolve_home
from os1.errors import OS1Error


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _attempt(name: str, probe: Callable[[], str], fix: str = "") -> Check:
    try:
        return Check(name, True, probe())
    except OS1Error as error:
        return Check(name, False, error.message, error.hint or fix)
    except Exception as error:
        return Check(name, False, f"{type(error).__name__}: {error}", fix)


def _check_home(home: Path) -> str:
    ensure_home(home)
    probe = home / f".doctor-{os.getpid()}"
    try:
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise OS1Error(
            f"{home} is not writable: {exc.strerror}.",
            "Fix its permissions, or use another directory with --home DIR.",
        ) from exc
    return str(home)


def _check_database(home: Path) -> str:
    from os1.store.conversations import Conversations
    from os1.store.db import Database

    db = Database.in_home(home)
    try:
        result = db.query("PRAGMA quick_check")[0][0]
        if result != "ok":
            raise OS1Error(
                f"The database {db.path} is damaged: {result}.",
                "Move it aside (OS1 starts a new one) and keep the copy.",
            )
        migrations = len(db.applied_migrations())
        messages = Conversations(db).count()
    finally:
        db.close()
    return f"{db.path} (WAL, {migrations} migrations, {messages} messages)"


def _check_setup(home: Path) -> str:
    from os1.companion.persona import load_persona
    from os1.store.db import Database
    from os1.store.state import StateStore

    db = Database.in_home(home)
    try:
        persona = load_persona(StateStore(db))
    finally:
        db.close()
    if persona is None:
        return "not set up yet: run `os1` to meet your companion"
    return f"{persona.companion_name} ({persona.voice} voice), talking with {persona.user_name}"


def _model_checks(settings: Settings) -> list[Check]:
    from os1.llm.spec import parse_model_spec

    spec = parse_model_spec(settings.model)
    checks: list[Check] = []
    if spec.kind == "fake":
        return [Check("model", True, "fake (scripted replies, for tests)")]
    if spec.kind == "openai":
        return [_attempt("endpoint", lambda: _check_endpoint(settings, spec.value))]

    def runtime() -> str:
        from os1.llm.llamacpp import BUILD_HINT

        try:
            import llama_cpp
        except ImportError as exc:
            raise OS1Error("llama-cpp-python is not installed.", BUILD_HINT) from exc
        return f"llama-cpp-python {llama_cpp.__version__}"

    checks.append(_attempt("llama.cpp", runtime))
    if not checks[-1].ok:
        return checks
    path_holder: list[Path] = []

    def model_file() -> str:
        if spec.kind == "embedded":
            from os1.app import stderr_progress
            from os1.llm.embedded_model import embedded_model_path

            path = embedded_model_path(settings.models_path(), stderr_progress("Assembling"))
        else:
            path = Path(spec.value).expanduser()
            if not path.is_file():
                raise OS1Error(
                    f"Model file not found: {path}.",
                    "Fix the path with `os1 config set model gguf:/path/to/model.gguf`.",
                )
        path_holder.append(path)
        return f"{path} ({path.stat().st_size / 1e6:.0f} MB)"

    checks.append(_attempt("model file", model_file))
    if not checks[-1].ok:
        return checks

    def model_loads() -> str:
        from os1.llm.base import GenerationParams, Prompt
        from os1.llm.llamacpp import LlamaCppLLM

        started = time.perf_counter()
        llm = LlamaCppLLM(
            path_holder[0],
            kind="embedded" if spec.kind == "embedded" else "gguf",
            n_ctx=min(settings.llm.context_tokens, 2048),
            threads=settings.llm.threads,
            prompt_format="transcript" if spec.kind == "embedded" else settings.llm.prompt_format,
        )
        loaded = time.perf_counter() - started
        try:
            prompt = Prompt(messages=(), transcript="Hello, my name is", stop=("\n",))
            text = "".join(llm.stream(prompt, GenerationParams(max_tokens=4, temperature=0.0)))
        finally:
            llm.close()
        return f"loaded in {loaded:.1f} s, generates text ({text.strip()[:30]!r})"

    checks.append(_attempt("model loads", model_loads))
    return checks


def _check_endpoint(settings: Settings, model: str) -> str:
    from os1.llm.openai_compat import OpenAICompatibleLLM
    from os1.llm.registry import api_key

    key_env = settings.openai.api_key_env
    llm = OpenAICompatibleLLM(
        settings.openai.base_url,
        model,
        api_key=api_key(settings),
        timeout=min(settings.openai.timeout, 10.0),
    )
    try:
        models = llm.list_models()
    finally:
        llm.close()
    key_note = f"API key from ${key_env}" if os.environ.get(key_env) else f"no key in ${key_env}"
    if models and model not in models:
        raise OS1Error(
            f"{settings.openai.base_url} answers but does not offer model {model!r}"
            f" (it offers: {', '.join(models[:8])}).",
            "Pick one of those with `os1 config set model openai:NAME`.",
        )
    return f"{settings.openai.base_url} answers, model {model!r} available; {key_note}"


def _voice_checks(settings: Settings) -> list[Check]:
    """Voices and speech recognition are ready (assembled now, so the first `os1 talk`
    starts at once); a missing sound card is not a fault: files and the web app work."""
    models_dir = settings.models_path()

    def voices() -> str:
        from os1.app import stderr_progress
        from os1.voice.kokoro_voice import packaged_model_path
        from os1.voice.voices import CHOICES, KokoroSpec, available_voices, parse_spec

        installed = {info.spec: info for info in available_voices()}
        for choice in CHOICES.values():
            info = installed.get(choice.spec)
            if info is None or not info.installed:
                hint = info.install_hint if info else "Reinstall OS1: bash scripts/setup.sh"
                raise OS1Error(f"The {choice.choice} voice ({choice.spec}) is missing.", hint)
            if isinstance(parse_spec(choice.spec), KokoroSpec):
                packaged_model_path(models_dir, stderr_progress("Assembling the voice"))
        chosen = ", ".join(f"{c.choice}: {c.spec}" for c in CHOICES.values())
        return chosen + (f"; using {settings.voice.voice}" if settings.voice.voice else "")

    def recogniser() -> str:
        from os1.app import stderr_progress
        from os1.voice.stt import resolve_model

        path = resolve_model(
            settings.voice.stt_model, models_dir, stderr_progress("Assembling Whisper")
        )
        return f"Whisper {settings.voice.stt_model} ({path})"

    def sound() -> str:
        from os1.errors import AudioError
        from os1.voice.sound import check_devices

        try:
            check_devices(settings.voice.input_device, settings.voice.output_device)
        except AudioError as error:
            return f"no microphone or speaker here ({error.message}) — {error.hint}"
        return "microphone and speaker found"

    return [
        _attempt("voices", voices),
        _attempt("speech recognition", recogniser),
        _attempt("sound", sound),
    ]


def run_checks(home_flag: str | None, overrides: dict[str, Any]) -> list[Check]:
    home = resolve_home(home_flag)
    checks = [_attempt("data directory", lambda: _check_home(home))]
    if not checks[0].ok:
        return checks
    settings_holder: list[Settings] = []

    def config() -> str:
        settings_holder.append(load_settings(home, overrides))
        return f"valid (model = {settings_holder[0].model})"

    checks.append(_attempt("config", config))
    checks.append(_attempt("database", lambda: _check_database(home)))
    checks.append(_attempt("setup", lambda: _check_setup(home)))
    if settings_holder:
        checks.extend(_model_checks(settings_holder[0]))
        checks.extend(_voice_checks(settings_holder[0]))
    return checks
