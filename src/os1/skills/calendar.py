"""The calendar: events in the user's database, kept as iCalendar (RFC 5545) text.

Each row is one event (one UID) with its iCalendar text, which may hold a recurrence
rule and changed occurrences; ``icalendar`` reads and writes that text and
``recurring-ical-events`` expands it into the occurrences of a window. The other columns
index it (title, first start, last end) and remember its place on a CalDAV server (href,
etag) and whether a change made here still has to be sent there (``push``):

- ``None``: in step with the server (or no server is used);
- ``ask``: changed here, waiting for the user's yes before it is sent;
- ``send``: changed here, allowed to be sent at the next sync;
- ``local``: the user said no: kept here only.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import icalendar
import recurring_ical_events

from os1.clock import Clock, from_iso, new_id, system_clock, to_iso
from os1.errors import InputError
from os1.skills.reminders import clean_text
from os1.store.db import Database

_log = logging.getLogger(__name__)
PRODID = "-//OS1//Calendar//EN"
DEFAULT_LENGTH = timedelta(hours=1)
_FOREVER = None  # a repeating event without an end: ``last_end_at`` is NULL


@dataclass(frozen=True)
class Occurrence:
    """One time an event happens (a single event has one)."""

    uid: str
    title: str
    start: datetime  # aware
    end: datetime
    all_day: bool
    location: str
    people: tuple[str, ...]
    repeats: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "title": self.title,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "all_day": self.all_day,
            "location": self.location,
            "people": list(self.people),
            "repeats": self.repeats,
        }


@dataclass(frozen=True)
class StoredEvent:
    """A row: the event's iCalendar text and its sync state."""

    uid: str
    ical: str
    title: str
    status: str
    href: str | None
    etag: str | None
    push: str | None
    updated_at: str


class CalendarError(InputError):
    """iCalendar text that cannot be read."""


def parse_calendar(text: str | bytes) -> icalendar.Calendar:
    try:
        parsed = icalendar.Calendar.from_ical(text)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise CalendarError(f"That is not valid iCalendar data ({exc}).") from exc
    if not isinstance(parsed, icalendar.Calendar):
        raise CalendarError("That is not an iCalendar file (no VCALENDAR).")
    return parsed


def split_by_uid(calendar: icalendar.Calendar) -> dict[str, icalendar.Calendar]:
    """One calendar per UID (an event with its changed occurrences), each with the
    time zones it needs: the unit a CalDAV server stores as one resource."""
    zones = {str(tz.get("TZID")): tz for tz in calendar.walk("VTIMEZONE")}
    grouped: dict[str, icalendar.Calendar] = {}
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("UID") or "")
        if not uid:
            uid = new_id("ev") + "@os1"
            event.add("UID", uid)
        if event.get("DTSTART") is None:
            continue  # an event with no time: nothing to show
        holder = grouped.get(uid)
        if holder is None:
            holder = grouped[uid] = _new_calendar()
        holder.add_component(event)
    for holder in grouped.values():
        for tzid in _tzids(holder):
            if tzid in zones:
                holder.add_component(zones[tzid])
    return grouped


def _tzids(calendar: icalendar.Calendar) -> set[str]:
    found = set()
    for event in calendar.walk("VEVENT"):
        for key in ("DTSTART", "DTEND"):
            prop = event.get(key)
            if prop is not None and "TZID" in prop.params:
                found.add(str(prop.params["TZID"]))
    return found


def _new_calendar() -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    return calendar


def new_event(
    title: str,
    start: date | datetime,
    end: date | datetime,
    *,
    location: str = "",
    people: Iterable[str] = (),
    rrule: str = "",
    now: datetime,
) -> icalendar.Calendar:
    """The iCalendar text of a new event made here (dates, not times: all day)."""
    event = icalendar.Event()
    event.add("UID", f"{new_id('ev')}@os1")
    event.add("DTSTAMP", now.astimezone(UTC))
    event.add("CREATED", now.astimezone(UTC))
    event.add("LAST-MODIFIED", now.astimezone(UTC))
    event.add("SUMMARY", clean_text(title))
    event.add("DTSTART", start)
    event.add("DTEND", end)
    if location:
        event.add("LOCATION", clean_text(location))
    for person in people:
        slug = re.sub(r"[^a-z0-9]+", "-", person.lower()).strip("-") or "someone"
        event.add("ATTENDEE", f"urn:x-os1:person:{slug}", parameters={"CN": clean_text(person)})
    if rrule:
        event.add("RRULE", icalendar.vRecur.from_ical(rrule))
    calendar = _new_calendar()
    calendar.add_component(event)
    return calendar  # time zone definitions are added where it leaves OS1 (with_timezones)


@functools.lru_cache(maxsize=32)
def _vtimezone(tzid: str) -> icalendar.Timezone | None:
    try:
        return icalendar.Timezone.from_tzid(tzid)
    except Exception:  # a zone this computer has no rules for: the TZID alone stays
        return None


def with_timezones(calendar: icalendar.Calendar) -> icalendar.Calendar:
    """The calendar with a VTIMEZONE for each zone its events name, as RFC 5545 asks of
    what is sent to a server or written to a file (events made here are stored without
    them: they are big)."""
    have = {str(tz.get("TZID")) for tz in calendar.walk("VTIMEZONE")}
    for tzid in sorted(_tzids(calendar) - have):
        found = _vtimezone(tzid)
        if found is not None:
            calendar.add_component(found)
    return calendar


def _as_aware(value: date | datetime, zone: tzinfo) -> tuple[datetime, bool]:
    """(an aware datetime, whether it was a whole day)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)), False
    return datetime.combine(value, time(0), tzinfo=zone), True


def _people(event: icalendar.Event) -> tuple[str, ...]:
    attendees = event.get("ATTENDEE")
    if attendees is None:
        return ()
    if not isinstance(attendees, list):
        attendees = [attendees]
    names = []
    for attendee in attendees:
        name = attendee.params.get("CN") or str(attendee).removeprefix("mailto:")
        names.append(clean_text(str(name)))
    return tuple(names)


def occurrence_of(
    event: icalendar.Event, uid: str, zone: tzinfo, repeats: bool = False
) -> Occurrence:
    start, all_day = _as_aware(event.decoded("DTSTART"), zone)
    if event.get("DTEND") is not None:
        end, _ = _as_aware(event.decoded("DTEND"), zone)
    elif event.get("DURATION") is not None:
        end = start + event.decoded("DURATION")
    else:
        end = start + (timedelta(days=1) if all_day else timedelta(0))
    return Occurrence(
        uid=uid,
        title=clean_text(str(event.get("SUMMARY") or "(no title)")),
        start=start,
        end=max(end, start),
        all_day=all_day,
        location=clean_text(str(event.get("LOCATION") or "")),
        people=_people(event),
        repeats=repeats,
    )


def repeats(calendar: icalendar.Calendar) -> bool:
    master = _master(calendar)
    return master.get("RRULE") is not None or master.get("RDATE") is not None


def _events(calendar: icalendar.Calendar) -> list[icalendar.Event]:
    return [e for e in calendar.walk("VEVENT") if isinstance(e, icalendar.Event)]


def _master(calendar: icalendar.Calendar) -> icalendar.Event:
    events = _events(calendar)
    masters = [e for e in events if e.get("RECURRENCE-ID") is None]
    return masters[0] if masters else events[0]


_FREQUENCIES = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}


def _index(calendar: icalendar.Calendar, zone: tzinfo) -> tuple[str, str, str, str | None]:
    """(uid, title, first start, last end or None for an endless repetition), in UTC;
    ``CalendarError`` for an event that cannot be shown (a bad time or repetition)."""
    try:
        found = _read_index(calendar, zone)
    except CalendarError:
        raise
    except Exception as exc:  # icalendar and dateutil raise many kinds on bad values
        raise CalendarError(f"An event in it cannot be read ({exc}).") from exc
    if repeats(calendar):
        try:
            rule = _master(calendar).get("RRULE")
            frequency = {str(f).upper() for f in (rule.get("FREQ", []) if rule else [])}
        except Exception as exc:
            raise CalendarError(f"{found[1]!r} has a repetition that cannot be read.") from exc
        if rule is not None and not frequency <= _FREQUENCIES:
            raise CalendarError(f"{found[1]!r} repeats more often than daily; it was not kept.")
        try:
            start = from_iso(found[2])
            recurring_ical_events.of(calendar).between(start, start + timedelta(days=1))
        except Exception as exc:
            raise CalendarError(f"{found[1]!r} has a repetition that cannot be read.") from exc
    return found


def _read_index(calendar: icalendar.Calendar, zone: tzinfo) -> tuple[str, str, str, str | None]:
    master = _master(calendar)
    uid = str(master.get("UID"))
    first = occurrence_of(master, uid, zone)
    starts = [first.start]
    ends: list[datetime] | None = [first.end]
    for event in _events(calendar):
        if event is master:
            continue
        other = occurrence_of(event, uid, zone)
        starts.append(other.start)
        if ends is not None:
            ends.append(other.end)
    if repeats(calendar):
        ends = None  # expanded at query time; its end is not worth computing here
    last = to_iso(max(ends).astimezone(UTC)) if ends else _FOREVER
    return uid, first.title, to_iso(min(starts).astimezone(UTC)), last


class CalendarStore:
    def __init__(self, db: Database, clock: Clock = system_clock) -> None:
        self.db = db
        self.clock = clock

    @staticmethod
    def _row(row: Any) -> StoredEvent:
        return StoredEvent(
            row["uid"], row["ical"], row["title"], row["status"], row["href"], row["etag"],
            row["push"], row["updated_at"],
        )  # fmt: skip

    def put(
        self,
        calendar: icalendar.Calendar,
        zone: tzinfo,
        *,
        push: str | None,
        href: str | None = None,
        etag: str | None = None,
        keep_sync: bool = False,
    ) -> str:
        """Store (or replace) one event; returns its UID. ``keep_sync`` keeps the href and
        etag it had (a change made here to an event the server knows)."""
        [uid] = self.put_many([calendar], zone, push=push, href=href, etag=etag,
                              keep_sync=keep_sync)  # fmt: skip
        return uid

    def put_many(
        self,
        calendars: Iterable[icalendar.Calendar],
        zone: tzinfo,
        *,
        push: str | None,
        href: str | None = None,
        etag: str | None = None,
        keep_sync: bool = False,
    ) -> list[str]:
        """Store events all or none: every one is read first (``CalendarError`` for one
        that cannot be), then all are written in one transaction."""
        rows = [(_index(c, zone), c.to_ical().decode()) for c in calendars]
        now = to_iso(self.clock())
        with self.db.transaction() as conn:
            for (uid, title, starts, last), text in rows:
                where, tag = href, etag
                old = conn.execute("SELECT href, etag FROM events WHERE uid = ?", (uid,))
                found = old.fetchone()
                if keep_sync and found is not None:
                    where, tag = found["href"], found["etag"]
                if where is not None:  # the server now holds another event at that address
                    conn.execute("DELETE FROM events WHERE href = ? AND uid != ?", (where, uid))
                conn.execute(
                    "INSERT INTO events (uid, ical, title, starts_at, last_end_at, status, href,"
                    " etag, push, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'active', ?, ?,"
                    " ?, ?, ?) ON CONFLICT (uid) DO UPDATE SET ical = excluded.ical, title ="
                    " excluded.title, starts_at = excluded.starts_at, last_end_at ="
                    " excluded.last_end_at, status = 'active', href = excluded.href, etag ="
                    " excluded.etag, push = excluded.push, updated_at = excluded.updated_at",
                    (uid, text, title, starts, last, where, tag, push, now, now),
                )
        return [row[0][0] for row in rows]

    def get(self, uid: str) -> StoredEvent | None:
        rows = self.db.query("SELECT * FROM events WHERE uid = ?", (uid,))
        return self._row(rows[0]) if rows else None

    def all(self, *, with_deleted: bool = False) -> list[StoredEvent]:
        where = "" if with_deleted else " WHERE status = 'active'"
        return [self._row(r) for r in self.db.query(f"SELECT * FROM events{where}")]

    def count(self) -> int:
        return int(self.db.query("SELECT count(*) FROM events WHERE status = 'active'")[0][0])

    def delete(self, uid: str, *, push: str | None) -> None:
        """Mark deleted; a deletion the server must hear of keeps the row until then."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT href FROM events WHERE uid = ?", (uid,)).fetchone()
            if row is None:
                return
            if row["href"] is None or push is None:
                conn.execute("DELETE FROM events WHERE uid = ?", (uid,))
            else:
                conn.execute(
                    "UPDATE events SET status = 'deleted', push = ?, updated_at = ? WHERE uid = ?",
                    (push, to_iso(self.clock()), uid),
                )

    def forget(self, uid: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM events WHERE uid = ?", (uid,))

    def set_push(self, uids: Iterable[str], push: str | None) -> None:
        with self.db.transaction() as conn:
            conn.executemany(
                "UPDATE events SET push = ? WHERE uid = ?", [(push, uid) for uid in uids]
            )

    def mark_synced(self, uid: str, href: str, etag: str | None, seen: str) -> str:
        """Record that the event as it was at ``seen`` (its updated_at) is on the server.
        'synced'; 'changed' when it changed here meanwhile (that change still goes);
        'gone' when it was deleted here meanwhile (the caller deletes it there)."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT updated_at FROM events WHERE uid = ?", (uid,)).fetchone()
            if row is None:
                return "gone"
            if row["updated_at"] != seen:
                conn.execute(
                    "UPDATE events SET href = ?, etag = ? WHERE uid = ?", (href, etag, uid)
                )
                return "changed"
            conn.execute(
                "UPDATE events SET href = ?, etag = ?, push = NULL WHERE uid = ?",
                (href, etag, uid),
            )
            return "synced"

    def adopt(self, uid: str, href: str | None, etag: str | None) -> None:
        """Take the server's place for an event without touching its pending change."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE events SET href = ?, etag = ? WHERE uid = ?", (href, etag, uid))

    def waiting(self, push: str) -> list[StoredEvent]:
        rows = self.db.query("SELECT * FROM events WHERE push = ?", (push,))
        return [self._row(r) for r in rows]

    def between(self, start: datetime, end: datetime, zone: tzinfo) -> list[Occurrence]:
        """Every occurrence that overlaps ``[start, end)``, soonest first."""
        rows = self.db.query(
            "SELECT uid, ical FROM events WHERE status = 'active' AND starts_at < ?"
            " AND (last_end_at IS NULL OR last_end_at > ?)",
            (to_iso(end.astimezone(UTC)), to_iso(start.astimezone(UTC))),
        )
        found: list[Occurrence] = []
        for row in rows:
            try:
                found.extend(self._expand(row["uid"], row["ical"], start, end, zone))
            except Exception:  # one unreadable event must not hide the others
                _log.warning("event %s cannot be expanded; skipped", row["uid"], exc_info=True)
        return sorted(found, key=lambda o: (o.start, o.title))

    @staticmethod
    def _expand(
        uid: str, text: str, start: datetime, end: datetime, zone: tzinfo
    ) -> Iterator[Occurrence]:
        calendar = icalendar.Calendar.from_ical(text)
        repeating = repeats(calendar)
        for event in recurring_ical_events.of(calendar).between(start, end):
            occurrence = occurrence_of(event, uid, zone, repeating)
            if occurrence.end > start or occurrence.start >= start:
                yield occurrence

    def matching(self, which: str, after: datetime, zone: tzinfo) -> list[Occurrence]:
        """Upcoming events (the next year) whose title, place or people share the most
        words with ``which``; one occurrence per event."""
        words = [w for w in re.findall(r"[\w']+", which.lower()) if w not in _STOP]
        if not words:
            return []
        best: dict[str, Occurrence] = {}
        best_hits = 0
        for occurrence in self.between(after, after + timedelta(days=366), zone):
            if occurrence.uid in best:
                continue
            mine = re.findall(r"[\w']+", " ".join((occurrence.title, occurrence.location,
                                                   *occurrence.people)).lower())  # fmt: skip
            stems = [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words]
            hits = sum(1 for w in stems if any(m.startswith(w) for m in mine))
            if hits > best_hits:
                best, best_hits = {occurrence.uid: occurrence}, hits
            elif hits == best_hits and hits:
                best[occurrence.uid] = occurrence
        return list(best.values())

    def first(self, uid: str, zone: tzinfo) -> Occurrence | None:
        """An event's first occurrence (deleted ones too: to show what will be sent)."""
        found = self.get(uid)
        if found is None:
            return None
        calendar = icalendar.Calendar.from_ical(found.ical)
        return occurrence_of(_master(calendar), uid, zone, repeats(calendar))

    def calendar_of(self, uid: str) -> icalendar.Calendar | None:
        found = self.get(uid)
        return icalendar.Calendar.from_ical(found.ical) if found else None

    def export(self) -> icalendar.Calendar:
        """Every event as one calendar (what ``os1 calendar export`` writes), with the
        time zone definitions it needs."""
        whole = _new_calendar()
        seen_zones: set[str] = set()
        for stored in self.all():
            for component in icalendar.Calendar.from_ical(stored.ical).subcomponents:
                if component.name == "VTIMEZONE":
                    tzid = str(component.get("TZID"))
                    if tzid in seen_zones:
                        continue
                    seen_zones.add(tzid)
                whole.add_component(component)
        return with_timezones(whole)


_STOP = {
    "the", "a", "an", "my", "with", "to", "from", "on", "at", "in", "of", "for", "calendar",
    "event", "one", "that", "it", "this", "appointment", "off", "out",
}  # fmt: skip


def last_modified(calendar: icalendar.Calendar) -> datetime | None:
    stamps = []
    for event in calendar.walk("VEVENT"):
        for key in ("LAST-MODIFIED", "DTSTAMP"):
            if event.get(key) is not None:
                value = event.decoded(key)
                if isinstance(value, datetime):
                    stamps.append(value if value.tzinfo else value.replace(tzinfo=UTC))
                break
    return max(stamps) if stamps else None


def day_bounds(first: date, last: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """``[first 00:00, the day after last 00:00)`` in ``zone``."""
    return (
        datetime.combine(first, time(0), tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone),
    )
