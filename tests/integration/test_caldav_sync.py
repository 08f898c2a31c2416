"""Two-way calendar sync against a real CalDAV server (Radicale) started on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from os1.skills.caldav import Account, CalDAVClient, CalDAVError
from os1.skills.calendar import CalendarStore, new_event
from os1.skills.calendar_skills import Remote
from os1.skills.calendar_sync import CalendarSync
from os1.skills.router import SkillRouter
from os1.store.db import Database
from tests.helpers import OS1

pytestmark = pytest.mark.integration
ZONE = ZoneInfo("Europe/Berlin")


@dataclass
class Server:
    base: str
    calendar: str
    process: subprocess.Popen[bytes]

    def http(self, password: str = "secret") -> httpx.Client:
        return httpx.Client(auth=("alice", password), timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Server]:
    users = tmp_path / "users"
    users.write_text("alice:secret\n")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}",
         "--storage-filesystem-folder", str(tmp_path / "store"), "--auth-type", "htpasswd",
         "--auth-htpasswd-filename", str(users), "--auth-htpasswd-encryption", "plain",
         "--logging-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("Radicale did not start") from None
            time.sleep(0.1)
    server = Server(base, f"{base}/alice/work/", process)
    with server.http() as http:
        assert http.request("MKCALENDAR", server.calendar).status_code == 201
    yield server
    process.terminate()
    process.wait(timeout=10)


def _client(url: str, password: str = "secret") -> CalDAVClient:
    return CalDAVClient(Account(url, "alice", password, timeout=5))


def _sync(db: Database, url: str, clock: object, *, allow: bool = False) -> CalendarSync:
    store = CalendarStore(db, clock)  # type: ignore[arg-type]
    return CalendarSync(store, _client(url), lambda: ("Europe/Berlin", ZONE), allow_writes=allow,
                        clock=clock)  # type: ignore[arg-type]  # fmt: skip


def _on_server(server: Server) -> dict[str, str]:
    """{href: iCalendar text} of what the server holds, read with a client of its own."""
    with _client(server.calendar) as other:
        return {h: text for h, (_, text) in other.fetch(other.etags()).items()}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 9, 14, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_two_way_sync_with_consent(radicale: Server) -> None:
    db = Database(":memory:")
    clock = Clock()
    router = SkillRouter(db, lambda: ("Europe/Berlin", ZONE), clock,
                         lambda: Remote("127.0.0.1"))  # fmt: skip
    # The account URL, not the calendar's: the client finds the calendar itself.
    sync = _sync(db, f"{radicale.base}/alice/", clock)

    asked = router.handle("put dinner with Amy on Friday at 8")
    assert asked is not None and "Shall I add it to your calendar on 127.0.0.1 too?" in asked.say
    report = sync.run()
    assert (report.pushed, report.waiting) == (0, 1)  # nothing sent without a yes
    assert _on_server(radicale) == {}

    router.handle("yes")
    report = sync.run()
    assert (report.pushed, report.waiting) == (1, 0)
    [(href, text)] = _on_server(radicale).items()
    assert "SUMMARY:dinner with Amy" in text and "BEGIN:VTIMEZONE" in text

    # Made on another device: taken in.
    at = datetime(2026, 12, 12, 10, tzinfo=ZONE)
    theirs = new_event("brunch with Sam", at, at + timedelta(hours=1), now=clock.now)
    with radicale.http() as http:
        put = http.put(f"{radicale.calendar}brunch.ics", content=theirs.to_ical(),
                       headers={"Content-Type": "text/calendar"})  # fmt: skip
        assert put.status_code == 201
    report = sync.run()
    assert report.pulled == 1
    assert sorted(e.title for e in sync.store.all()) == ["brunch with Sam", "dinner with Amy"]

    # Changed on the server: the change comes here. Deleted there: gone here.
    with radicale.http() as http:
        changed = text.replace("SUMMARY:dinner with Amy", "SUMMARY:dinner with Amy and Joe")
        answer = http.put(href, content=changed.encode(), headers={"Content-Type": "text/calendar"})
        assert answer.status_code in (201, 204)
        assert http.delete(f"{radicale.calendar}brunch.ics").status_code == 200
    report = sync.run()
    assert (report.pulled, report.removed) == (1, 1)
    assert [e.title for e in sync.store.all()] == ["dinner with Amy and Joe"]

    # Cancelled here, with a yes: deleted there.
    clock.now += timedelta(minutes=1)
    router.handle("cancel dinner with Amy")
    router.handle("yes")
    report = sync.run()
    assert report.deleted == 1 and _on_server(radicale) == {}
    assert sync.store.all(with_deleted=True) == []
    sync.client.close()


def test_a_change_on_both_sides_is_resolved_and_reported(radicale: Server) -> None:
    db = Database(":memory:")
    clock = Clock()
    sync = _sync(db, radicale.calendar, clock, allow=True)
    at = datetime(2026, 12, 11, 20, tzinfo=ZONE)
    uid = sync.store.put(new_event("dinner", at, at + timedelta(hours=1), now=clock.now), ZONE,
                         push="send")  # fmt: skip
    sync.run()
    stored = sync.store.get(uid)
    assert stored is not None and stored.href

    # Both change it; the server's change is the later one.
    calendar = sync.store.calendar_of(uid)
    assert calendar is not None
    for event in calendar.walk("VEVENT"):
        event["SUMMARY"] = "dinner (here)"
    clock.now += timedelta(minutes=5)
    sync.store.put(calendar, ZONE, push="send", keep_sync=True)
    [(href, text)] = _on_server(radicale).items()
    later = (clock.now + timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    there = text.replace("SUMMARY:dinner", "SUMMARY:dinner (there)")
    there = "\n".join(
        f"LAST-MODIFIED:{later}" if line.startswith("LAST-MODIFIED") else line
        for line in there.splitlines()
    )
    with radicale.http() as http:
        http.put(href, content=there.encode(), headers={"Content-Type": "text/calendar"})
    report = sync.run()
    assert report.conflicts == ["'dinner (here)' changed on the server too; kept the server's"]
    assert [e.title for e in sync.store.all()] == ["dinner (there)"]
    assert sync.store.all()[0].push is None
    sync.client.close()


def test_a_server_that_fails_loses_nothing(radicale: Server) -> None:
    db = Database(":memory:")
    clock = Clock()
    sync = _sync(db, radicale.calendar, clock, allow=True)
    at = datetime(2026, 12, 11, 20, tzinfo=ZONE)
    sync.store.put(new_event("dinner", at, at + timedelta(hours=1), now=clock.now), ZONE,
                   push="send")  # fmt: skip
    wrong = CalendarSync(sync.store, _client(radicale.calendar, "wrong"), sync.zone,
                         allow_writes=True, clock=clock)  # fmt: skip
    with pytest.raises(CalDAVError, match="refused the user name or password"):
        wrong.run()
    radicale.process.terminate()
    radicale.process.wait(timeout=10)
    with pytest.raises(CalDAVError, match="can't be reached"):
        sync.run()
    [kept] = sync.store.all()
    assert kept.title == "dinner" and kept.push == "send"  # sent when the server is back
    sync.client.close()
    wrong.client.close()


def test_os1_calendar_sync_from_the_terminal(radicale: Server, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "OS1_HOME": str(home), "OS1_CALDAV_PASSWORD": "secret"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*OS1, *args], env=env, capture_output=True, text=True, timeout=120)

    assert run("config", "set", "calendar.caldav_url", radicale.calendar).returncode == 0
    assert run("config", "set", "calendar.caldav_username", "alice").returncode == 0
    added = run("calendar", "add", "dentist on the 14th at 9am")
    assert added.returncode == 0, added.stderr
    assert "Shall I add it to your calendar on 127.0.0.1 too?" in added.stdout
    waiting = run("calendar", "sync")
    assert "add or change: dentist" in waiting.stdout and "wait for your OK" in waiting.stdout
    sent = run("calendar", "sync", "--yes", "--json")
    assert sent.returncode == 0, sent.stderr
    assert '"pushed": 1' in sent.stdout
    [text] = _on_server(radicale).values()
    assert "SUMMARY:dentist" in text
    exported = run("calendar", "export", str(tmp_path / "out.ics"))
    assert exported.returncode == 0 and "SUMMARY:dentist" in (tmp_path / "out.ics").read_text()
    env["OS1_CALDAV_PASSWORD"] = "wrong"
    refused = run("calendar", "sync")
    assert refused.returncode == 1 and "refused the user name or password" in refused.stderr
