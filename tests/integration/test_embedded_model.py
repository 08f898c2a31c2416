"""The companion on the real embedded Gemma 3 270M model."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from os1.app import App
from os1.companion import names
from os1.companion.onboarding import Onboarding
from os1.llm.base import LLM, GenerationParams, Prompt
from os1.llm.llamacpp import LlamaCppLLM
from tests.helpers import run_os1, set_up


@pytest.fixture(scope="module")
def gemma(embedded_gguf: Path) -> Iterator[LLM]:
    llm = LlamaCppLLM(embedded_gguf, kind="embedded", n_ctx=4096, prompt_format="transcript")
    yield llm
    llm.close()


@pytest.fixture
def app(home: Path, gemma: LLM) -> Iterator[App]:
    application = App.open(home, {"model": "embedded"}, llm_factory=lambda settings: gemma)
    yield application
    application.db.close()


def test_the_model_chooses_a_name_and_a_few_turns_work(app: App) -> None:
    onboarding = Onboarding()
    for answer in [
        "Theo",
        "I keep to myself mostly",
        "keeping my days organised, and someone to talk to",
        "my sister Annie; we're close but live far apart",
        "a bit tired",
        "female",
    ]:
        onboarding.answer(answer)
    persona, greeting, _ = app.complete_onboarding(onboarding, random.Random(7))
    assert re.fullmatch(r"[A-Z][a-z]{2,11}", persona.companion_name)
    assert persona.companion_name != "Theo"
    shipped = names.find(persona.companion_name)
    assert shipped is None or shipped.voice in ("female", "any")
    assert persona.name_reason and "\n" not in persona.name_reason
    assert persona.companion_name in greeting

    companion = app.companion()
    for text in ["Hi! How are you today?", "I had a long day at work.", "Good night!"]:
        turn = companion.respond(text)
        assert turn.status == "complete"
        reply = turn.reply
        assert reply and "\n" not in reply
        # In character: never speaks for the user, no transcript tags, short.
        assert "Theo:" not in reply and f"{persona.companion_name}:" not in reply
        assert len(re.findall(r"[.!?]+(?:\s|$)", reply)) <= 3
        assert turn.timings.first_token_ms is not None
    stored = [m.text for m in companion.conversations.recent(10)]
    assert stored[-2] == "Good night!"


def test_ask_on_the_embedded_model_from_the_command_line(home: Path, embedded_gguf: Path) -> None:
    setup = run_os1(
        "setup", "--non-interactive", "--user-name", "Ana", "--voice", "male", "--json", home=home
    )
    assert setup.returncode == 0, setup.stderr
    companion = json.loads(setup.stdout)["companion_name"]
    done = run_os1("ask", "What a lovely morning!", "--json", home=home)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["companion"] == companion
    assert result["model"] == "embedded:gemma-3-270m"
    assert result["reply"] and result["status"] == "complete"
    assert result["timings"]["first_token_ms"] > 0
    assert result["timings"]["total_ms"] >= result["timings"]["first_token_ms"]


def test_doctor_loads_the_embedded_model(home: Path, embedded_gguf: Path) -> None:
    done = run_os1("doctor", home=home)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[ok  ] model loads: loaded in" in done.stdout


def test_a_local_gguf_by_path(home: Path, embedded_gguf: Path) -> None:
    set_up(home, "Ana", "female")
    done = run_os1("--model", f"gguf:{embedded_gguf}", "ask", "Hello!", "--json", home=home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["model"] == f"gguf:{embedded_gguf}"


def test_a_broken_gguf_is_a_clear_error(home: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 1000)
    set_up(home, "Ana", "female")
    done = run_os1("--model", f"gguf:{broken}", "ask", "Hello!", home=home)
    assert done.returncode == 1
    assert "could not load" in done.stderr and "Traceback" not in done.stderr


def _greedy(llm: LLM, prompt: Prompt) -> str:
    return "".join(llm.stream(prompt, GenerationParams(max_tokens=12, temperature=0.0, seed=1)))


def test_the_evaluated_prompt_is_kept_for_the_next_process(
    embedded_gguf: Path, tmp_path: Path, gemma: LLM
) -> None:
    """A fresh process starts from the saved state and says exactly what it would have
    said without it; a state that does not fit is dropped, never trusted."""
    lines = "".join(f"Theo: I walked by the river on day {n}.\nIris: Lovely.\n" for n in range(40))
    stable = Prompt(messages=(), transcript=f"A talk between Theo and Iris.\n{lines}Theo:")
    asked = Prompt(
        messages=(), transcript=f"{stable.transcript} What did I do?\nIris:", stop=("\n",)
    )
    expected = _greedy(gemma, asked)
    first = LlamaCppLLM(
        embedded_gguf, kind="embedded", prompt_format="transcript", state_dir=tmp_path
    )
    first.prepare(stable)
    first.close()
    [saved] = list(tmp_path.glob("prompt-*"))
    assert saved.stat().st_size > 1_000_000 and saved.stat().st_mode & 0o777 == 0o600
    second = LlamaCppLLM(
        embedded_gguf, kind="embedded", prompt_format="transcript", state_dir=tmp_path
    )
    try:
        assert _greedy(second, asked) == expected
        assert second.restored_tokens > 400  # most of the prompt came from the file
    finally:
        second.close()
    # A conversation that has moved on shares only the start: the rest is evaluated anew.
    moved = Prompt(
        messages=(),
        transcript=f"A talk between Theo and Iris.\n{lines[:300]}\nTheo: Bye!\nIris:",
        stop=("\n",),
    )
    moved_expected = _greedy(gemma, moved)
    fourth = LlamaCppLLM(
        embedded_gguf, kind="embedded", prompt_format="transcript", state_dir=tmp_path
    )
    try:
        assert _greedy(fourth, moved) == moved_expected and fourth.restored_tokens > 400
    finally:
        fourth.close()
    saved.write_bytes(b"not a llama.cpp state" * 100)  # damaged, or from another build
    third = LlamaCppLLM(
        embedded_gguf, kind="embedded", prompt_format="transcript", state_dir=tmp_path
    )
    try:
        assert _greedy(third, asked) == expected
        assert third.restored_tokens == 0 and not saved.exists()
    finally:
        third.close()
