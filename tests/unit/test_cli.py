"""The command line driven as a user would, with the fake model (fast, no weights)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_os1, set_up


@pytest.fixture
def ready(home: Path) -> Path:
    set_up(home, "theo", "male")
    return home


def test_non_interactive_setup_names_the_companion(home: Path) -> None:
    done = run_os1(
        "--model",
        "fake",
        "setup",
        "--non-interactive",
        "--user-name",
        "Theo",
        "--voice",
        "female",
        "--json",
        home=home,
    )
    assert done.returncode == 0, done.stderr
    persona = json.loads(done.stdout)
    assert persona["user_name"] == "Theo" and persona["voice"] == "female"
    assert persona["companion_name"] and persona["name_reason"]
    assert persona["companion_name"] in persona["greeting"]
    again = run_os1("--model", "fake", "setup", home=home)
    assert "Already set up" in again.stdout
    again_json = run_os1("--model", "fake", "setup", "--json", home=home)
    assert json.loads(again_json.stdout)["already_set_up"] is True


def test_setup_needs_name_and_voice_when_non_interactive(home: Path) -> None:
    done = run_os1("setup", "--non-interactive", "--user-name", "Theo", home=home)
    assert done.returncode == 2
    assert "--voice" in done.stderr


def test_ask_before_setup_says_what_to_do(home: Path) -> None:
    done = run_os1("--model", "fake", "ask", "hello", home=home)
    assert done.returncode == 1
    assert "isn't set up" in done.stderr and "os1 setup" in done.stderr


def test_ask_json_has_the_promised_fields(ready: Path) -> None:
    done = run_os1("--model", "fake", "ask", "Hello there", "--json", home=ready)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for key in ("reply", "companion", "model", "conversation_id", "timings"):
        assert key in result
    assert result["reply"] and result["model"] == "fake"
    assert set(result["timings"]) >= {"first_token_ms", "total_ms"}
    follow = json.loads(run_os1("--model", "fake", "ask", "again", "--json", home=ready).stdout)
    assert follow["conversation_id"] == result["conversation_id"]
    new = json.loads(run_os1("--model", "fake", "ask", "new", "--new", "--json", home=ready).stdout)
    assert new["conversation_id"] != result["conversation_id"]


def test_ask_plain_prints_the_reply(ready: Path) -> None:
    done = run_os1("--model", "fake", "ask", "Hello", home=ready)
    assert done.returncode == 0
    assert "listening" in done.stdout


def test_empty_input_is_refused(ready: Path) -> None:
    done = run_os1("--model", "fake", "ask", "   ", home=ready)
    assert done.returncode == 2
    assert "empty" in done.stderr


def test_a_megabyte_paste_is_refused_clearly(ready: Path) -> None:
    done = run_os1("--model", "fake", "ask", "-", home=ready, stdin=b"a" * 1_048_576)
    assert done.returncode == 2
    assert "1,048,576 characters" in done.stderr and "limit" in done.stderr
    history = json.loads(run_os1("history", "--json", home=ready).stdout)
    assert all(len(m["text"]) < 10_000 for m in history)


def test_non_utf8_stdin_is_refused_clearly(ready: Path) -> None:
    done = run_os1("--model", "fake", "ask", "-", home=ready, stdin=b"caf\xe9 au lait")
    assert done.returncode == 2
    assert "UTF-8" in done.stderr


def test_chat_over_a_pipe_with_bad_lines_keeps_going(ready: Path) -> None:
    lines = b"hello\n\xff\xfe\n\n" + b"x" * 20_000 + b"\nstill here\n"
    done = run_os1("--model", "fake", "chat", home=ready, stdin=lines)
    assert done.returncode == 0, done.stderr
    assert "not valid UTF-8" in done.stderr
    assert "20,000 characters" in done.stderr
    assert done.stdout.count("listening") == 2
    history = json.loads(run_os1("history", "--json", home=ready).stdout)
    assert [m["text"] for m in history if m["role"] == "user"] == ["hello", "still here"]


def test_unreachable_endpoint_is_named_and_message_kept(ready: Path) -> None:
    env = {"OS1_OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    done = run_os1("--model", "openai:tiny", "ask", "are you there?", home=ready, env=env)
    assert done.returncode == 3
    assert "http://127.0.0.1:9/v1" in done.stderr
    assert "Traceback" not in done.stderr
    history = json.loads(run_os1("history", "--json", home=ready).stdout)
    assert history[-1]["text"] == "are you there?"


def test_unreachable_endpoint_with_json(ready: Path) -> None:
    env = {"OS1_OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    done = run_os1("--model", "openai:tiny", "ask", "hi", "--json", home=ready, env=env)
    assert done.returncode == 3
    result = json.loads(done.stdout)
    assert result["status"] == "error" and "127.0.0.1:9" in result["error"]


def test_corrupt_config_names_file_and_line(ready: Path) -> None:
    (ready / "config.toml").write_text('model = "fake"\n[llm\n')
    done = run_os1("ask", "hi", home=ready)
    assert done.returncode == 2
    assert str(ready / "config.toml") in done.stderr and "line 2" in done.stderr
    assert "Traceback" not in done.stderr


def test_config_set_and_show(home: Path) -> None:
    done = run_os1("config", "set", "llm.temperature", "0.3", home=home)
    assert done.returncode == 0, done.stderr
    shown = json.loads(run_os1("config", "show", "--json", home=home).stdout)
    assert shown["settings"]["llm.temperature"] == {
        "value": 0.3,
        "source": "config file",
        "env": "OS1_LLM_TEMPERATURE",
    }
    env_shown = json.loads(
        run_os1("config", "show", "--json", home=home, env={"OS1_LLM_TEMPERATURE": "0.9"}).stdout
    )
    assert env_shown["settings"]["llm.temperature"]["value"] == 0.9
    bad = run_os1("config", "set", "llm.temperature", "hot", home=home)
    assert bad.returncode == 2 and "expects a float" in bad.stderr


def test_switching_model_is_one_config_line(ready: Path) -> None:
    run_os1("config", "set", "model", "fake", home=ready)
    result = json.loads(run_os1("ask", "hi", "--json", home=ready).stdout)
    assert result["model"] == "fake"
    bad = run_os1("--model", "telepathy", "ask", "hi", home=ready)
    assert bad.returncode == 2 and "Unknown model" in bad.stderr


def test_reset_needs_confirmation_and_keeps_a_backup(ready: Path) -> None:
    kept = ready / "cache" / "prompt-0123.llama-state"  # what is kept to start fast
    kept.parent.mkdir(exist_ok=True)
    kept.write_bytes(b"the old conversation")
    refused = run_os1("--model", "fake", "setup", "--reset", home=ready)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    done = run_os1(
        "--model",
        "fake",
        "setup",
        "--reset",
        "--yes",
        "--non-interactive",
        "--user-name",
        "Ana",
        "--voice",
        "female",
        "--json",
        home=ready,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["user_name"] == "Ana"
    assert not kept.exists()  # it held the old conversation
    assert list((ready / "backups").glob("os1-*.db"))


def test_doctor_reports_each_check(ready: Path) -> None:
    done = run_os1("--model", "fake", "doctor", home=ready)
    assert done.returncode == 0, done.stdout
    for name in ("data directory", "config", "database", "setup", "model"):
        assert f"] {name}:" in done.stdout


def test_doctor_prints_a_fix_for_a_broken_endpoint(ready: Path) -> None:
    env = {"OS1_OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    done = run_os1("--model", "openai:tiny", "doctor", home=ready, env=env)
    assert done.returncode == 1
    assert "[FAIL] endpoint" in done.stdout and "fix:" in done.stdout


def test_doctor_on_a_missing_gguf(ready: Path) -> None:
    done = run_os1("--model", "gguf:/nowhere/model.gguf", "doctor", home=ready)
    assert done.returncode == 1
    assert "Model file not found: /nowhere/model.gguf" in done.stdout


def test_onboarding_over_a_pipe_asks_again_after_unreadable_answers(home: Path) -> None:
    answers = b"Theo\ncaf\xe9\nquiet\nmail\nmy sister\nfine\nmale\n"
    done = run_os1("--model", "fake", "setup", home=home, stdin=answers)
    assert done.returncode == 0, done.stderr
    assert "isn't UTF-8" in done.stdout
    assert "Traceback" not in done.stderr
    persona = json.loads(run_os1("--model", "fake", "setup", "--json", home=home).stdout)
    assert persona["answers"]["social"] == "quiet" and persona["voice"] == "male"


def test_files_are_private_to_the_user(ready: Path) -> None:
    assert (ready / "os1.db").stat().st_mode & 0o077 == 0


def test_a_reader_that_goes_away_loses_nothing(ready: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("OS1_")}
    env["OS1_HOME"] = str(ready)
    command = f"{sys.executable} -m os1 --model fake:0.05 ask 'hello there' | head -c 5"
    done = subprocess.run(command, shell=True, capture_output=True, text=True, env=env)
    assert done.stdout == "I'm h"
    assert "Traceback" not in done.stderr and "Exception" not in done.stderr
    history = json.loads(run_os1("history", "--json", home=ready).stdout)
    assert history[-2]["text"] == "hello there"
    assert history[-1]["role"] == "companion" and history[-1]["text"].startswith("I'm")


def test_ask_refuses_new_with_conversation(ready: Path) -> None:
    done = run_os1("--model", "fake", "ask", "hi", "--new", "--conversation", "c_1", home=ready)
    assert done.returncode == 2 and "either --new or --conversation" in done.stderr


def test_a_locked_database_is_reported_not_a_traceback(ready: Path) -> None:
    import sqlite3

    other = sqlite3.connect(ready / "os1.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        done = run_os1("--model", "fake", "ask", "hi", home=ready, timeout=60)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert done.returncode == 1
    assert "is busy" in done.stderr and "Traceback" not in done.stderr
