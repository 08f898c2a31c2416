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
        except Exception as exc:
            said = exc.one_line() if isinstance(exc, OS1Error) else f"{type(exc).__name__}: {exc}"
            self.state.put(STATE_KEY, {"ok": False, "error": said, "at": self._now()})
            raise
        self.state.put(
            STATE_KEY,
            {
                "ok": True,
                "report": report.to_dict(),
                "at": self._now(),
                "account": self.client.account.url,
                "calendar": self.client.calendar_url(),  # the same one next time
            },
        )
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
        taken: set[str] = set()
        for href, (etag, text) in self.client.fetch(wanted).items():
            taken |= self._take(href, etag, text, by_href.get(href), report, zone)
        synced = [e for e in self.store.all(with_deleted=True) if e.href and e.uid not in taken]
        if not remote and synced:
            # An empty listing where events were: more likely the wrong calendar or a
            # server fault than everything deleted, so nothing is forgotten here.
            report.conflicts.append("the server's calendar came back empty; nothing forgotten")
        else:
            for event in synced:
                if event.href not in remote:
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
    ) -> set[str]:
        """Take one server event in (or resolve it against a change made here); the UIDs
        it touched."""
        try:
            parts = split_by_uid(parse_calendar(text))
        except CalendarError:
            report.skipped.append(href)
            return set()
        if len(parts) != 1:
            report.skipped.append(href)  # no event, or several in one resource
            return set()
        [(uid, theirs)] = parts.items()
        if mine is not None and mine.uid != uid:
            mine = None  # another event now lives at that address
        mine = mine or self.store.get(uid)
        try:
            if mine is None or mine.push is None:
                self.store.put(theirs, zone, push=None, href=href, etag=etag)
                report.pulled += 1
                return {uid}
            # Changed on both sides (or deleted here, changed there): the later one wins.
            their_time = last_modified(theirs)
            if their_time is not None and their_time > from_iso(mine.updated_at):
                self.store.put(theirs, zone, push=None, href=href, etag=etag)
                report.pulled += 1
                report.conflicts.append(
                    f"{mine.title!r} changed on the server too; kept the server's"
                )
            else:
                self.store.adopt(mine.uid, href, etag)  # sent below with the server's ETag
                report.conflicts.append(f"{mine.title!r} changed on the server too; kept yours")
        except CalendarError:
            report.skipped.append(href)  # a bad time or repetition: never stored
        return {uid}

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
                report.pushed += 1
                if self.store.mark_synced(event.uid, href, etag, event.updated_at) == "gone":
                    # Cancelled here while it was being sent: take it off there too.
                    self.client.delete(href, etag)
                    report.deleted += 1
            except Conflict:
                # Changed on the server since the last round: the next round takes it
                # in and resolves it; the change made here is kept until then.
                self.store.adopt(event.uid, event.href, "")
                report.conflicts.append(f"{event.title!r} changed on the server while sending")
            except CalDAVError as exc:
                if exc.status is None or exc.status == 401:
                    raise  # the server is gone or refuses us: the round ends here
                # This one event was refused (400, 403, 415…): the others still go.
                report.skipped.append(f"{event.title!r}: {exc.message}")


class SyncLoop:
    """Syncs in a thread: every ``every_minutes``, and within seconds when a change the
    user allowed is waiting to be sent (``pending``). Errors are logged and retried:
    the next round after a failure waits at least a minute."""

    def __init__(
        self,
        make: Callable[[], CalendarSync],
        pending: Callable[[], bool],
        every_minutes: float,
        poll: float = 5.0,
    ) -> None:
        self.make = make
        self.pending = pending
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
                if waited >= self.every or (waited >= retry_after and self.pending()):
                    waited, retry_after = 0.0, 60.0
                    sync = self.make()
                    try:
                        sync.run()
                        retry_after = 0.0
                    finally:
                        sync.client.close()
            except OS1Error as exc:
                _log.warning("calendar sync failed: %s", exc.one_line())
            except Exception:
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
    store = CalendarStore(app.db, app.clock)
    return SyncLoop(
        app.calendar_sync, lambda: bool(store.waiting("send")), settings.sync_minutes
    ).start()
