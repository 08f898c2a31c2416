"""Two-way sync between the calendar here and a CalDAV server.

One round:

1. list the server's events with their ETags;
2. fetch the ones that are new or changed there, and take them in, unless the same
   event was also changed here: then the copy changed last wins (its LAST-MODIFIED
   against the time of the change here), and the conflict is reported;
3. forget events deleted on the server (one changed here since is sent back instead);
4. send the changes made here that the user allowed (``push = 'send'``, or every change
   when ``calendar.allow_writes`` is on), each with ``If-Match``, so a change made on
   the server meanwhile comes back as a conflict for the next round, not lost.

An error (server down, slow, 401) ends the round with a clear message; nothing here is
changed by a failed request, and the next round tries again. An event the server sends
that is not valid iCalendar is skipped and reported, never stored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from os1.clock import Clock, from_iso, system_clock, to_iso
from os1.errors import OS1Error
from os1.skills.caldav import CalDAVClient, CalDAVError, Conflict
from os1.skills.calendar import (
    CalendarError,
    CalendarStore,
    StoredEvent,
    last_modified,
    parse_calendar,
    split_by_uid,
    with_timezones,
)
from os1.store.state import StateStore

if TYPE_CHECKING:
    from os1.app import App

_log = logging.getLogger(__name__)
STATE_KEY = "calendar.sync"


@dataclass
class SyncReport:
    pulled: int = 0  # new or changed events taken from the server
    removed: int = 0  # events deleted on the server, forgotten here
    pushed: int = 0  # changes made here, sent
    deleted: int = 0  # deletions made here, sent
    waiting: int = 0  # changes made here that wait for the user's yes
    conflicts: list[str] = field(default_factory=list)  # what was resolved, and how
    skipped: list[str] = field(default_factory=list)  # server events that could not be read

    def to_dict(self) -> dict[str, Any]:
        return {
            "pulled": self.pulled,
            "removed": self.removed,
            "pushed": self.pushed,
            "deleted": self.deleted,
            "waiting": self.waiting,
            "conflicts": self.conflicts,
            "skipped": self.skipped,
        }

    def summary(self) -> str:
        parts = [
            f"{self.pulled} from the server",
            f"{self.pushed + self.deleted} sent",
            f"{self.removed} removed (deleted on the server)",
        ]
        said = "Synced: " + ", ".join(parts) + "."
        if self.conflicts:
            said += " Conflicts: " + "; ".join(self.conflicts) + "."
        if self.skipped:
            said += f" {len(self.skipped)} server event(s) could not be read and were skipped."
        if self.waiting:
            said += f" {self.waiting} change(s) made here wait for your OK."
        return said


class CalendarSync:
    def __init__(
        self,
        store: CalendarStore,
        client: CalDAVClient,
        zone: Callable[[], tuple[str, tzinfo]],
        *,
        allow_writes: bool,
        clock: Clock = system_clock,
    ) -> None:
        self.store = store
        self.client = client
        self.zone = zone
        self.allow_writes = allow_writes
        self.clock = clock
        self.state = StateStore(store.db, clock)

    def run(self) -> SyncReport:
        """One round; raises ``CalDAVError`` (and records it) when the server fails."""
        try:
            report = self._round()
        except CalDAVError as exc:
            self.state.put(STATE_KEY, {"ok": False, "error": exc.one_line(), "at": self._now()})
            raise
        self.state.put(STATE_KEY, {"ok": True, "report": report.to_dict(), "at": self._now()})
        return report

    def _now(self) -> str:
        return to_iso(self.clock())

    def _round(self) -> SyncReport:
        report = SyncReport()
        zone = self.zone()[1]
        remote = self.client.etags()
        local = self.store.all(with_deleted=True)
        by_href = {e.href: e for e in local if e.href}
        wanted = [h for h, etag in remote.items() if h not in by_href or by_href[h].etag != etag]
        for href, (etag, text) in self.client.fetch(wanted).items():
            self._take(href, etag, text, by_href.get(href), report, zone)
        for event in local:
            if event.href and event.href not in remote:
                self._gone_there(event, report)
        self._send(report)
        report.waiting = len(self.store.waiting("ask"))
        return report

    def _take(
        self,
        href: str,
        etag: str,
        text: str,
        mine: StoredEvent | None,
        report: SyncReport,
        zone: tzinfo,
    ) -> None:
        try:
            parts = split_by_uid(parse_calendar(text))
        except CalendarError:
            report.skipped.append(href)
            return
        if len(parts) != 1:
            report.skipped.append(href)  # no event, or several in one resource
            return
        [(uid, theirs)] = parts.items()
        mine = mine or self.store.get(uid)
        if mine is None or mine.push is None:
            self.store.put(theirs, zone, push=None, href=href, etag=etag)
            report.pulled += 1
            return
        # Changed on both sides: the later change wins.
        their_time = last_modified(theirs)
        our_time = from_iso(mine.updated_at)
        if mine.status == "deleted" or (their_time is not None and their_time > our_time):
            self.store.put(theirs, zone, push=None, href=href, etag=etag)
            report.pulled += 1
            report.conflicts.append(f"{mine.title!r} changed on the server too; kept the server's")
        else:
            self.store.adopt(mine.uid, href, etag)  # sent below with the server's ETag
            report.conflicts.append(f"{mine.title!r} changed on the server too; kept yours")

    def _gone_there(self, event: StoredEvent, report: SyncReport) -> None:
        if event.push is None or event.status == "deleted":
            self.store.forget(event.uid)
            report.removed += 1
            return
        # Deleted on the server but changed here since: send it back as a new event.
        self.store.adopt(event.uid, None, None)
        report.conflicts.append(f"{event.title!r} was deleted on the server; kept yours")

    def _send(self, report: SyncReport) -> None:
        sending = self.store.waiting("send")
        if self.allow_writes:
            sending += self.store.waiting("ask")
        for event in sending:
            try:
                if event.status == "deleted":
                    if event.href:
                        self.client.delete(event.href, event.etag)
                    self.store.forget(event.uid)
                    report.deleted += 1
                    continue
                href = event.href or self.client.href_for(event.uid)
                sent = with_timezones(parse_calendar(event.ical)).to_ical().decode()
                etag = self.client.put(href, sent, event.etag if event.href else None)
                self.store.mark_synced(event.uid, href, etag)
                report.pushed += 1
            except Conflict:
                # Changed on the server since the last round: the next round takes it
                # in and resolves it; the change made here is kept until then.
                self.store.adopt(event.uid, event.href, "")
                report.conflicts.append(f"{event.title!r} changed on the server while sending")


class SyncLoop:
    """Syncs in a thread: every ``every_minutes``, and within seconds when a change the
    user allowed is waiting to be sent. Errors are logged and retried next time."""

    def __init__(
        self, make: Callable[[], CalendarSync], every_minutes: float, poll: float = 5.0
    ) -> None:
        self.make = make
        self.every = every_minutes * 60
        self.poll = poll
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="os1-calendar-sync", daemon=True)

    def start(self) -> SyncLoop:
        self._thread.start()
        return self

    def _run(self) -> None:
        waited = self.every  # the first round at once
        retry_after = 0.0
        while not self._stop.is_set():
            try:
                sync = self.make()
                try:
                    due = waited >= self.every or (
                        waited >= retry_after and bool(sync.store.waiting("send"))
                    )
                    if due:
                        waited, retry_after = 0.0, 0.0
                        sync.run()
                finally:
                    sync.client.close()
            except OS1Error as exc:
                retry_after = 60.0  # a server that is down is not asked every few seconds
                _log.warning("calendar sync failed: %s", exc.one_line())
            except Exception:
                retry_after = 60.0
                _log.warning("calendar sync failed", exc_info=True)
            self._stop.wait(self.poll)
            waited += self.poll

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


def calendar_loop(app: App) -> SyncLoop | None:
    """Sync ``app``'s calendar in the background; None when no CalDAV server is set up."""
    settings = app.settings.calendar
    if not (app.settings.skills.enabled and settings.caldav_url):
        return None
    return SyncLoop(app.calendar_sync, settings.sync_minutes).start()
