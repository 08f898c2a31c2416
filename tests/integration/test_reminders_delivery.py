"""Reminders delivered by the real programs: `os1 chat` in a pseudo-terminal and `os1 serve`
killed and restarted, on time, late, and each exactly once."""

from __future__ import annotations

import os
import signal
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pexpect

from os1.skills.reminders import ReminderStore
from os1.store.conversations import Conversations
from os1.store.db import Database
from tests.helpers import run_os1, set_up
from tests.integration.test_server_lifecycle import _free_port, _serve
from tests.integration.test_terminal import spawn


def _add(home: Path, text: str, due: datetime) -> None:
    db = Database.in_home(home)
    ReminderStore(db).add(text, due, "UTC")
    db.close()


def test_a_reminder_fires_in_chat_and_a_missed_one_is_said_at_start(home: Path) -> None:
    set_up(home)
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    # Two hours ago, but never yesterday (said then with its date, not "today").
    missed = max(now - timedelta(hours=2), min(midnight, now - timedelta(seconds=1)))
    _add(home, "take the pills", missed)
    child = spawn(home, "--model", "fake", "chat")
    child.expect(r"While you were away \(today at [^)]+\): a reminder to take the pills\.")
    child.expect("Theo> ")
    child.sendline("remind me in 1 second to check the oven")
    # A second from now: fired by the chat's own scheduler, between turns.
    child.expect(r"Okay, I'll remind you: check the oven")
    child.expect(r"Reminder: check the oven\.", timeout=20)
    child.sendline("what are my reminders?")
    child.expect("You don't have any reminders.")
    child.sendeof()
    child.expect(pexpect.EOF)
    log = run_os1("actions", "--json", home=home)
    assert '"reminder.add"' in log.stdout and '"reminder.list"' in log.stdout


def test_a_killed_chat_delivers_each_reminder_exactly_once(home: Path) -> None:
    set_up(home)
    past = datetime.now(UTC) - timedelta(minutes=30)
    for task in ("call Annie", "pay rent", "water the plants"):
        _add(home, task, past)
    child = spawn(home, "--model", "fake", "chat")
    for task in ("call Annie", "pay rent", "water the plants"):
        child.expect(f"a reminder to {task}")
    child.expect("Theo> ")
    os.kill(child.pid, signal.SIGKILL)
    child.expect(pexpect.EOF)
    again = spawn(home, "--model", "fake", "chat")
    again.expect("Theo> ")
    again.sendeof()
    again.expect(pexpect.EOF)
    assert "a reminder to" not in (again.before or "")
    history = run_os1("history", "--json", home=home)
    assert history.stdout.count("a reminder to") == 3


def _reminders_said(home: Path) -> list[str]:
    db = Database.in_home(home)
    try:
        said = Conversations(db).recent(100)
    finally:
        db.close()
    return [m.meta["reminder_id"] for m in said if m.meta.get("kind") == "reminder"]


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_killed_server_delivers_each_reminder_exactly_once(home: Path) -> None:
    set_up(home)
    now = datetime.now(UTC)
    _add(home, "call Annie", now - timedelta(hours=1))
    _add(home, "pay rent", now - timedelta(minutes=10))
    _add(home, "check the oven", now + timedelta(seconds=3))
    port = _free_port()
    server = _serve(home, port)
    try:
        deadline = time.monotonic() + 60
        while len(_reminders_said(home)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_reminders_said(home)) == 3
    finally:
        server.send_signal(signal.SIGKILL)
        server.communicate(timeout=30)
    again = _serve(home, port)
    try:
        deadline = time.monotonic() + 60
        while not _listening(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _listening(port)
        time.sleep(2)  # a few ticks of the restarted scheduler
    finally:
        again.terminate()
        again.communicate(timeout=30)
    said = _reminders_said(home)
    assert len(said) == len(set(said)) == 3
