"""The OpenAI-compatible backend against a real server on loopback.

The server is llama-cpp-python's own (``python -m llama_cpp.server``) serving the same
GGUF as the embedded model, with an API key, as a user's Ollama or vLLM would be.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import run_os1, set_up

API_KEY = "test-key-for-loopback"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(embedded_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(embedded_gguf),
                "--model_alias",
                "gemma-270m",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--api_key",
                API_KEY,
                "--n_ctx",
                "4096",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    pytest.fail(f"the model server exited: {log.read_text()[-2000:]}")
                try:
                    headers = {"Authorization": f"Bearer {API_KEY}"}
                    if httpx.get(f"{base_url}/models", headers=headers, timeout=2).is_success:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("the model server did not start within 120 s")
                time.sleep(0.5)
            yield base_url
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture
def configured(home: Path, server: str) -> Path:
    set_up(home, "Theo", "female")
    assert run_os1("config", "set", "openai.base_url", server, home=home).returncode == 0
    assert run_os1("config", "set", "model", "openai:gemma-270m", home=home).returncode == 0
    return home


def test_ask_streams_through_the_server(configured: Path) -> None:
    done = run_os1(
        "ask", "Hello! How are you?", "--json", home=configured, env={"OS1_OPENAI_API_KEY": API_KEY}
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["model"] == "openai:gemma-270m"
    assert result["reply"] and result["status"] == "complete"
    assert result["timings"]["first_token_ms"] > 0
    history = json.loads(run_os1("history", "--json", home=configured).stdout)
    assert [m["role"] for m in history[-2:]] == ["user", "companion"]


def test_a_wrong_key_is_a_clear_error_and_the_message_is_kept(configured: Path) -> None:
    done = run_os1("ask", "Are you there?", home=configured, env={"OS1_OPENAI_API_KEY": "wrong"})
    assert done.returncode == 3
    assert "refused the API key" in done.stderr
    history = json.loads(run_os1("history", "--json", home=configured).stdout)
    assert history[-1]["text"] == "Are you there?"


def test_the_key_comes_from_the_variable_the_config_names(configured: Path) -> None:
    run_os1("config", "set", "openai.api_key_env", "MY_LLM_KEY", home=configured)
    done = run_os1("ask", "Hi", "--json", home=configured, env={"MY_LLM_KEY": API_KEY})
    assert done.returncode == 0, done.stderr


def test_doctor_checks_the_endpoint(configured: Path) -> None:
    done = run_os1("doctor", home=configured, env={"OS1_OPENAI_API_KEY": API_KEY})
    assert done.returncode == 0, done.stdout
    assert "[ok  ] endpoint:" in done.stdout and "gemma-270m" in done.stdout
    unknown = run_os1(
        "--model", "openai:nope", "doctor", home=configured, env={"OS1_OPENAI_API_KEY": API_KEY}
    )
    assert unknown.returncode == 1 and "does not offer model 'nope'" in unknown.stdout


def test_skills_act_with_the_server_as_the_model(configured: Path) -> None:
    """A request is acted on whatever the model; the reply reports what was stored."""
    key = {"OS1_OPENAI_API_KEY": API_KEY}
    done = run_os1(
        "ask", "Can you remind me to call Annie tomorrow at 6pm?", "--json", home=configured,
        env=key,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)["reply"]
    assert "call Annie" in reply and "6 PM" in reply, reply
    (reminder,) = json.loads(run_os1("reminders", "--json", home=configured).stdout)["reminders"]
    assert reminder["text"] == "call Annie"
    actions = json.loads(run_os1("actions", "--json", home=configured).stdout)["actions"]
    assert [(a["skill"], a["asked_by"]) for a in actions] == [("reminder.add", "user")]


def test_a_request_offered_to_the_real_server_as_tools(configured: Path) -> None:
    """Words about the calendar that the parser cannot read go to the server with the
    skills as tools. The small model calls none (or a broken one): the turn is answered in
    words and nothing is done."""
    done = run_os1(
        "ask", "my agenda, what does it look like", "--json", home=configured,
        env={"OS1_OPENAI_API_KEY": API_KEY},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "complete"
    actions = json.loads(run_os1("actions", "--json", home=configured).stdout)["actions"]
    assert actions == []
