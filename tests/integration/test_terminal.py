"""`os1` in a real pseudo-terminal, typed into as a person would."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pexpect
import pytest

from tests.helpers import run_os1, set_up


def spawn(home: Path, *args: str) -> pexpect.spawn:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS1_")}
    env.update({"OS1_HOME": str(home), "TERM": "dumb", "PYTHONIOENCODING": "utf-8"})
    return pexpect.spawn(
        sys.executable,
        ["-m", "os1", *args],
        env=env,
        encoding="utf-8",
        timeout=120,
        dimensions=(40, 200),
    )


def test_first_run_onboarding_then_chat(home: Path, embedded_gguf: Path) -> None:
    child = spawn(home)
    child.expect("What's your name\\?")
    child.sendline("")  # nothing typed: asked again
    child.expect("didn't catch your name")
    child.sendline("I'm Theo")
    child.expect("Nice to meet you, Theo. Are you a social person")
    child.sendline("Not really, I keep to myself")
    child.expect("Quiet has its own good company")
    child.expect("What would you most like my help with")
    child.sendline("letters and my calendar")
    child.expect("someone who matters to you")
    child.sendline("My sister Annie. We are close.")
    child.expect("how are you feeling")
    child.sendline("tired but ok")
    child.expect("female voice or a male voice")
    child.sendline("whatever")
    child.expect("female voice or a male voice")
    child.sendline("male")
    child.expect("choosing a name for myself")
    child.expect(r"\n(\w+): Hi Theo\. I've chosen a name for myself: (\w+)\.")
    name = child.match.group(1)
    assert child.match.group(2) == name
    child.expect("Theo> ")
    child.sendline("Hello! What a day.")
    child.expect(f"{name}: ")
    child.expect("Theo> ")
    child.sendeof()
    child.expect("Goodbye")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    history = json.loads(run_os1("history", "--json", home=home).stdout)
    assert [m["role"] for m in history] == ["companion", "user", "companion"]
    assert history[1]["text"] == "Hello! What a day."
    # The second run goes straight to the conversation.
    again = spawn(home, "chat")
    again.expect("Theo> ")
    again.sendline("/quit")
    again.expect(pexpect.EOF)


def test_ctrl_c_during_onboarding_saves_nothing(home: Path) -> None:
    child = spawn(home, "--model", "fake")
    child.expect("What's your name\\?")
    child.sendline("Theo")
    child.expect("social person")
    child.sendintr()
    child.expect("nothing was saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "isn't set up" in run_os1("--model", "fake", "ask", "hi", home=home).stderr


def test_ctrl_c_stops_a_reply_and_keeps_what_was_said(home: Path) -> None:
    set_up(home, "Theo", "female")
    child = spawn(home, "--model", "fake:0.3", "chat")
    child.expect("Theo> ")
    child.sendline("Tell me something long")
    child.expect(r": I'm here,")
    child.sendintr()
    child.expect(r"\[interrupted\]")
    child.expect("Theo> ")  # the conversation goes on
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    history = json.loads(run_os1("history", "--json", home=home).stdout)
    last = history[-1]
    assert last["role"] == "companion" and last["status"] == "interrupted"
    assert last["text"].startswith("I'm here,")
    assert last["text"] != "I'm here, and I'm listening. Tell me more."


@pytest.mark.parametrize("answer", ["n", "y, then Ctrl-C", "y"])
def test_reset_asks_first_and_keeps_the_old_companion_until_the_new_one_exists(
    home: Path, answer: str
) -> None:
    setup = ["--model", "fake", "setup"]
    run_os1(*setup, "--non-interactive", "--user-name", "Theo", "--voice", "female", home=home)
    child = spawn(home, *setup, "--reset")
    child.expect("starts over. Continue\\? \\[y/N\\]")
    child.sendline(answer[0])
    if answer.startswith("y"):
        child.expect("What's your name\\?")
        if answer == "y":
            for reply in ("Ana", "social", "mail", "my brother", "good", "female"):
                child.sendline(reply)
            child.expect("Hi Ana")
        else:
            child.sendintr()
    child.expect(pexpect.EOF)
    backups = list((home / "backups").glob("*.db")) if (home / "backups").exists() else []
    persona = json.loads(run_os1(*setup, "--json", home=home).stdout)
    if answer == "y":
        assert backups and persona["user_name"] == "Ana"
    else:
        assert not backups and persona["user_name"] == "Theo"


def test_closing_the_terminal_mid_reply_keeps_what_was_said(home: Path) -> None:
    set_up(home, "Theo", "female")
    child = spawn(home, "--model", "fake:0.3", "chat")
    child.expect("Theo> ")
    child.sendline("hello")
    child.expect(r": I'm here,")
    child.kill(signal.SIGTERM)
    child.expect(pexpect.EOF)
    history = json.loads(run_os1("history", "--json", home=home).stdout)
    assert history[-1]["status"] == "interrupted"
    assert history[-1]["text"].startswith("I'm here,")


def test_ctrl_c_at_the_prompt_drops_the_line_and_stays(home: Path) -> None:
    set_up(home, "Theo", "female")
    child = spawn(home, "--model", "fake", "chat")
    child.expect("Theo> ")
    child.send("half typed")
    child.sendintr()
    child.expect("Ctrl-D or /quit leaves")
    child.expect("Theo> ")
    child.sendline("hello")
    child.expect("listening")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    history = json.loads(run_os1("history", "--json", home=home).stdout)
    assert [m["text"] for m in history if m["role"] == "user"] == ["hello"]
