"""One typed settings model, read from a TOML file, ``OS1_*`` variables and flags.

Precedence, lowest to highest: defaults, ``config.toml`` in the data directory,
environment variables, command-line flags. Every setting has a dotted key
(``llm.temperature``) and an environment variable (``OS1_LLM_TEMPERATURE``).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import platformdirs
import tomlkit
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from os1.errors import ConfigError

CONFIG_FILE = "config.toml"
HOME_ENV = "OS1_HOME"
ENV_PREFIX = "OS1_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class LLMSettings(_Section):
    context_tokens: int = Field(4096, ge=512, le=131072, description="Context window (tokens).")
    threads: int = Field(0, ge=0, le=256, description="CPU threads for llama.cpp; 0 = all cores.")
    max_reply_tokens: int = Field(96, ge=8, le=4096, description="Longest reply, in tokens.")
    temperature: float = Field(0.6, ge=0.0, le=2.0, description="Sampling temperature.")
    prompt_format: Literal["auto", "transcript", "chat"] = Field(
        "auto",
        description="How to prompt a local GGUF: transcript (base models), chat (its template),"
        " or auto (chat if the file has a chat template).",
    )


class OpenAISettings(_Section):
    base_url: str = Field(
        "http://127.0.0.1:11434/v1", description="OpenAI-compatible endpoint (ends in /v1)."
    )
    api_key_env: str = Field(
        "OS1_OPENAI_API_KEY", description="Environment variable that holds the API key."
    )
    timeout: float = Field(60.0, gt=0, le=3600, description="Seconds to wait for the server.")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError as exc:
            raise ValueError(f"not a valid URL ({exc})") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "must be an http:// or https:// URL, such as http://127.0.0.1:11434/v1"
            )
        return value


class ChatSettings(_Section):
    history_messages: int = Field(
        60, ge=2, le=2000, description="Recent messages kept in the prompt."
    )
    max_input_chars: int = Field(
        8000, ge=100, le=1_000_000, description="Longest message accepted, in characters."
    )
    new_conversation_after_hours: float = Field(
        6.0, gt=0, le=24 * 365, description="Start a new conversation after this long a silence."
    )


class VoiceSettings(_Section):
    voice: str = Field(
        "",
        description="Voice to speak with: empty = the one chosen at setup; female | male |"
        " /path/to/piper-voice.onnx | kokoro:STYLE (see `os1 voices`).",
    )
    rate: float = Field(1.0, ge=0.5, le=2.0, description="Speaking rate (1.0 = the voice's own).")
    pitch: float = Field(0.0, ge=-6.0, le=6.0, description="Pitch shift in semitones.")
    mood_prosody: bool = Field(True, description="Let the companion's mood colour its voice.")
    stt_model: str = Field(
        "tiny.en",
        description="Speech recognition: tiny.en (fastest) | base | /path/to/ctranslate2-whisper.",
    )
    threads: int = Field(2, ge=1, le=64, description="CPU threads for speech recognition.")
    vad_threshold: float = Field(
        0.5, ge=0.05, le=0.95, description="Speech probability that counts as speech."
    )
    end_of_turn_ms: int = Field(
        500, ge=60, le=5000, description="Silence after a finished sentence before answering."
    )
    unfinished_ms: int = Field(
        900, ge=100, le=10000, description="Silence after a clause that sounds unfinished."
    )
    hesitation_ms: int = Field(
        1600, ge=100, le=20000, description='Silence after "and…", "um" or "so…".'
    )
    barge_in: bool = Field(True, description="Stop speaking when you talk over the companion.")
    backchannels: str = Field(
        "mm-hm, mhm, mm, uh-huh, yeah, yes, yep, right, okay, ok, sure, i see, wow, oh, ah",
        description="Short words that do not interrupt the companion (comma-separated).",
    )
    backchannel_ms: int = Field(
        700, ge=0, le=3000, description="Longest sound that may be a backchannel."
    )
    echo_gate: bool = Field(
        True,
        description="Ignore the companion's own voice coming back through the microphone.",
    )
    input_device: str = Field("", description="Microphone (name or number; empty = default).")
    output_device: str = Field("", description="Speaker (name or number; empty = default).")

    @field_validator("voice")
    @classmethod
    def _known_voice(cls, value: str) -> str:
        if not value:
            return value
        from os1.voice.voices import parse_spec

        try:
            parse_spec(value)
        except ConfigError as exc:
            raise ValueError(f"{exc.message} {exc.hint}") from exc
        return value


_CLOCK_TIME = r"([01]?\d|2[0-3]):[0-5]\d"  # HH:MM, 24-hour


class SkillsSettings(_Section):
    enabled: bool = Field(
        True, description="Act on requests in conversation (reminders, calendar); off = only talk."
    )
    timezone: str = Field(
        "", description="Your time zone, such as Europe/Paris; empty = this computer's."
    )
    reminders_in_chat: bool = Field(
        True, description="Show reminders when they are due in os1 chat and os1 serve."
    )
    briefing_at: str = Field(
        "",
        description="When to say the morning briefing (today's events and reminders), such as"
        " 07:30; empty = none.",
    )

    follow_ups: bool = Field(
        True, description="Ask how a plan you mentioned went, once, afterwards."
    )
    quiet_hours: str = Field(
        "22:00-08:00",
        description="When follow-ups wait (HH:MM-HH:MM); empty = none. Reminders you set"
        " still come.",
    )

    @field_validator("quiet_hours")
    @classmethod
    def _clock_span(cls, value: str) -> str:
        import re

        value = value.strip()
        if value and not re.fullmatch(rf"{_CLOCK_TIME}\s*-\s*{_CLOCK_TIME}", value):
            raise ValueError(
                f"{value!r} is not a span of hours; use HH:MM-HH:MM, such as 22:00-08:00"
            )
        return value

    @field_validator("briefing_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        import re

        value = value.strip()
        if value and not re.fullmatch(_CLOCK_TIME, value):
            raise ValueError(f"{value!r} is not a time of day; use HH:MM, such as 07:30")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"{value!r} is not a time zone; use a name such as Europe/Paris"
                ) from None
        return value


class CalendarSettings(_Section):
    caldav_url: str = Field(
        "", description="Your CalDAV calendar or account URL to sync with; empty = no sync."
    )
    caldav_username: str = Field("", description="The CalDAV user name.")
    caldav_password_env: str = Field(
        "OS1_CALDAV_PASSWORD",
        description="Environment variable that holds the CalDAV password (else the OS keyring).",
    )
    allow_writes: bool = Field(
        False, description="Send calendar changes to the CalDAV server without asking each time."
    )
    sync_minutes: float = Field(
        15.0, ge=1, le=1440, description="How often os1 serve syncs with the CalDAV server."
    )
    timeout: float = Field(20.0, gt=0, le=300, description="Seconds to wait for the server.")

    @field_validator("caldav_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL of your CalDAV server")
        if parts.password:
            raise ValueError(
                "must not hold a password: put it in the environment variable named by"
                " calendar.caldav_password_env, or in the OS keyring"
            )
        return value


class Settings(_Section):
    model: str = Field(
        "embedded",
        description="embedded | gguf:/path/to/model.gguf | openai:MODEL_NAME | fake",
    )
    models_dir: str = Field(
        "", description="Where embedded models are assembled; empty = the user cache directory."
    )
    llm: LLMSettings = Field(default_factory=LLMSettings)
    openai: OpenAISettings = Field(default_factory=OpenAISettings)
    chat: ChatSettings = Field(default_factory=ChatSettings)
    voice: VoiceSettings = Field(default_factory=VoiceSettings)
    skills: SkillsSettings = Field(default_factory=SkillsSettings)
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        from os1.llm.spec import parse_model_spec

        try:
            parse_model_spec(value)
        except ConfigError as exc:
            raise ValueError(f"{exc.message} {exc.hint}") from exc
        return value

    def models_path(self) -> Path:
        if self.models_dir:
            return Path(self.models_dir).expanduser()
        return Path(platformdirs.user_cache_dir("os1")) / "models"


@dataclass(frozen=True)
class SettingInfo:
    key: str
    env: str
    type: Any
    default: Any
    description: str


def setting_infos() -> dict[str, SettingInfo]:
    """Every setting by dotted key, in declaration order."""
    infos: dict[str, SettingInfo] = {}

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name}.")
                continue
            key = f"{prefix}{name}"
            infos[key] = SettingInfo(
                key=key,
                env=ENV_PREFIX + key.replace(".", "_").upper(),
                type=annotation,
                default=field.get_default(call_default_factory=True),
                description=field.description or "",
            )

    walk(Settings, "")
    return infos


def resolve_home(flag: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``--home``, else ``OS1_HOME``, else the platform's user data dir."""
    if flag:
        home = Path(flag)
    elif os.environ.get(HOME_ENV):
        home = Path(os.environ[HOME_ENV])
    else:
        home = Path(platformdirs.user_data_dir("os1"))
    return home.expanduser().resolve()


def ensure_home(home: Path) -> Path:
    """Create the data directory (private to the user) if it does not exist."""
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ConfigError(
            f"Cannot create the data directory {home}: {exc.strerror}.",
            "Choose another with --home DIR or OS1_HOME=DIR.",
        ) from exc
    return home


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def _line_of(text: str, key: str) -> int | None:
    """Line number (1-based) where a dotted key is set in a TOML text, if found."""
    *section_parts, leaf = key.split(".")
    want = ".".join(section_parts)
    section = ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.fullmatch(r"\[\s*([^\]]+?)\s*\]", stripped)
        if header:
            section = header.group(1)
            continue
        match = re.match(r"([A-Za-z0-9_.\-\"]+)\s*=", stripped)
        if not match:
            continue
        full = ".".join(p for p in (section, match.group(1).strip('"')) if p)
        if full == key or (section == want and match.group(1) == leaf):
            return number
    return None


class ConfigFile:
    """The ``config.toml`` in a data directory: read with line-accurate errors, edit in place."""

    def __init__(self, home: Path) -> None:
        self.path = home / CONFIG_FILE

    def read_text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{self.path} is not UTF-8 text (bad byte at offset {exc.start}).",
                "Fix or delete the file; `os1 config set` recreates it.",
            ) from exc
        except OSError as exc:
            raise ConfigError(
                f"Cannot read {self.path}: {exc.strerror}.",
                "It should be a readable TOML file; fix or remove it.",
            ) from exc

    def load(self) -> dict[str, Any]:
        text = self.read_text()
        try:
            return dict(_flatten(tomllib.loads(text)))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"{self.path} is not valid TOML: {exc}.",
                "Fix that line, or delete the file to go back to the defaults.",
            ) from exc

    def set(self, key: str, value: Any) -> None:
        text = self.read_text()
        try:
            document = tomlkit.parse(text)
        except tomlkit.exceptions.ParseError as exc:
            raise ConfigError(f"{self.path} is not valid TOML: {exc}.") from exc
        *parents, leaf = key.split(".")
        table: Any = document
        for part in parents:
            if part not in table:
                table[part] = tomlkit.table()
            table = table[part]
        table[leaf] = value
        tmp = self.path.with_suffix(".toml.tmp")
        try:
            tmp.write_text(tomlkit.dumps(document), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ConfigError(f"Cannot write {self.path}: {exc.strerror}.") from exc


def _env_values(environ: Mapping[str, str]) -> dict[str, str]:
    return {info.key: environ[info.env] for info in setting_infos().values() if info.env in environ}


def load_settings(
    home: Path,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Settings for a data directory: file, then environment, then ``overrides`` (flags)."""
    environ = os.environ if environ is None else environ
    config = ConfigFile(home)
    layers: list[tuple[str, dict[str, Any]]] = [
        (str(config.path), config.load()),
        ("environment", _env_values(environ)),
        ("flags", {k: v for k, v in (overrides or {}).items() if v is not None}),
    ]
    infos = setting_infos()
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for source, values in layers:
        for key, value in values.items():
            if key not in infos:
                known = ", ".join(infos)
                raise ConfigError(
                    f"Unknown setting {key!r} ({_where(config, key, source)}).",
                    f"Known settings: {known}.",
                )
            merged[key] = value
            origin[key] = source
    return _validate(config, merged, origin)


def _where(config: ConfigFile, key: str, source: str) -> str:
    """'…/config.toml, line 4', 'environment variable OS1_X', or the source as is."""
    if source == str(config.path):
        line = _line_of(config.read_text(), key)
        return f"{source}, line {line}" if line else source
    if source == "environment":
        return f"environment variable {setting_infos()[key].env}"
    return source


def _validate(config: ConfigFile, merged: dict[str, Any], origin: dict[str, str]) -> Settings:
    try:
        return Settings.model_validate(_nest(merged))
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"])
        where = _where(config, key, origin.get(key, "defaults"))
        raise ConfigError(
            f"Invalid value for {key} ({where}): {error['msg']}.",
            f"Change it with `os1 config set {key} VALUE`.",
        ) from exc


def parse_value(key: str, raw: str) -> Any:
    """Turn a command-line string into the type a setting expects, or raise ConfigError."""
    infos = setting_infos()
    if key not in infos:
        raise ConfigError(f"Unknown setting {key!r}.", f"Known settings: {', '.join(infos)}.")
    kind = infos[key].type
    try:
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered in {"true", "yes", "on", "1"}:
                return True
            if lowered in {"false", "no", "off", "0"}:
                return False
            raise ValueError(raw)
    except ValueError as exc:
        name = getattr(kind, "__name__", str(kind))
        raise ConfigError(f"{key} expects a {name}, not {raw!r}.") from exc
    return raw


def settings_as_flat(settings: Settings) -> dict[str, Any]:
    return dict(_flatten(settings.model_dump()))


def set_setting(home: Path, key: str, raw: str) -> Any:
    """Validate and store one setting in the data directory's config file."""
    value = parse_value(key, raw)
    config = ConfigFile(home)
    current = config.load()
    for present in current:
        if present not in setting_infos():
            raise ConfigError(
                f"Unknown setting {present!r} ({_where(config, present, str(config.path))}).",
                "Fix or remove it in the file first.",
            )
    origin = dict.fromkeys(current, str(config.path))
    current[key] = value
    origin[key] = "the value given"
    _validate(config, current, origin)
    config.set(key, value)
    return value


def setting_sources(
    home: Path, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Where each setting's value comes from: flag, environment, config file or default."""
    environ = os.environ if environ is None else environ
    from_file = ConfigFile(home).load()
    from_env = _env_values(environ)
    sources = {}
    for key in setting_infos():
        if (overrides or {}).get(key) is not None:
            sources[key] = "flag"
        elif key in from_env:
            sources[key] = "environment"
        elif key in from_file:
            sources[key] = "config file"
        else:
            sources[key] = "default"
    return sources
