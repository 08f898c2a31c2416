from __future__ import annotations

from pathlib import Path

import pytest

from os1.config import ConfigFile, load_settings, resolve_home, set_setting, setting_sources
from os1.errors import ConfigError


def test_defaults_when_nothing_is_configured(home: Path) -> None:
    settings = load_settings(home, environ={})
    assert settings.model == "embedded"
    assert settings.llm.context_tokens == 4096


def test_file_then_environment_then_flags(home: Path) -> None:
    (home / "config.toml").write_text('model = "fake"\n[llm]\ntemperature = 0.3\n')
    assert load_settings(home, environ={}).model == "fake"
    env = {"OS1_MODEL": "openai:llama3.2", "OS1_LLM_TEMPERATURE": "0.5"}
    from_env = load_settings(home, environ=env)
    assert from_env.model == "openai:llama3.2"
    assert from_env.llm.temperature == 0.5
    from_flags = load_settings(home, {"model": "gguf:/m.gguf"}, environ=env)
    assert from_flags.model == "gguf:/m.gguf"
    assert setting_sources(home, {"model": "x"}, env)["model"] == "flag"
    assert setting_sources(home, {}, env)["llm.temperature"] == "environment"
    assert setting_sources(home, {}, {})["llm.temperature"] == "config file"
    assert setting_sources(home, {}, {})["chat.max_input_chars"] == "default"


def test_corrupt_file_names_file_and_line(home: Path) -> None:
    (home / "config.toml").write_text('model = "fake"\n[llm]\ntemperature = = 3\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(home, environ={})
    message = str(caught.value)
    assert str(home / "config.toml") in message
    assert "line 3" in message


def test_invalid_value_names_key_file_and_line(home: Path) -> None:
    (home / "config.toml").write_text('model = "fake"\n\n[llm]\ntemperature = "hot"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(home, environ={})
    assert "llm.temperature" in str(caught.value)
    assert "line 4" in str(caught.value)


def test_invalid_environment_value_names_variable(home: Path) -> None:
    with pytest.raises(ConfigError, match="OS1_LLM_CONTEXT_TOKENS"):
        load_settings(home, environ={"OS1_LLM_CONTEXT_TOKENS": "lots"})


def test_unknown_key_is_refused(home: Path) -> None:
    (home / "config.toml").write_text("[llm]\ntemprature = 0.2\n")
    with pytest.raises(ConfigError, match=r"llm\.temprature.*line 2"):
        load_settings(home, environ={})


def test_set_keeps_comments_and_validates(home: Path) -> None:
    (home / "config.toml").write_text('# my settings\nmodel = "fake"\n')
    set_setting(home, "llm.temperature", "0.2")
    set_setting(home, "model", "openai:qwen2.5")
    text = (home / "config.toml").read_text()
    assert "# my settings" in text
    settings = load_settings(home, environ={})
    assert settings.llm.temperature == 0.2
    assert settings.model == "openai:qwen2.5"
    with pytest.raises(ConfigError):
        set_setting(home, "llm.temperature", "7")
    with pytest.raises(ConfigError):
        set_setting(home, "llm.context_tokens", "many")
    with pytest.raises(ConfigError):
        set_setting(home, "nope", "1")
    assert load_settings(home, environ={}).llm.temperature == 0.2


def test_non_utf8_config_is_a_clear_error(home: Path) -> None:
    (home / "config.toml").write_bytes(b'model = "\xff"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        ConfigFile(home).load()


def test_home_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OS1_HOME", str(tmp_path / "from-env"))
    assert resolve_home(tmp_path / "from-flag") == (tmp_path / "from-flag").resolve()
    assert resolve_home(None) == (tmp_path / "from-env").resolve()
    monkeypatch.delenv("OS1_HOME")
    assert "os1" in str(resolve_home(None))


def test_set_blames_the_broken_value_not_the_one_being_set(home: Path) -> None:
    (home / "config.toml").write_text('[llm]\ntemperature = "hot"\n')
    with pytest.raises(ConfigError) as caught:
        set_setting(home, "model", "fake")
    assert "llm.temperature" in str(caught.value) and "line 2" in str(caught.value)


def test_a_config_path_that_is_not_a_file_is_a_clear_error(home: Path) -> None:
    (home / "config.toml").mkdir()
    with pytest.raises(ConfigError, match="Cannot read"):
        load_settings(home, environ={})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("model", "telepathy", "Unknown model"),
        ("model", "fake:-1", "0 to 10 seconds"),
        ("openai.base_url", "http://[::1", "not a valid URL"),
        ("openai.base_url", "localhost:11434", "http:// or https://"),
        ("chat.new_conversation_after_hours", "1e308", "less than or equal"),
        ("chat.new_conversation_after_hours", "inf", "less than or equal"),
    ],
)
def test_values_that_would_break_later_are_refused_now(
    home: Path, key: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        set_setting(home, key, value)


def test_setting_under_a_non_table_is_a_clear_error(home: Path) -> None:
    (home / "config.toml").write_text("llm = 3\n")
    with pytest.raises(ConfigError, match=r"Unknown setting 'llm'.*line 1"):
        set_setting(home, "llm.temperature", "0.5")
