"""A small CalDAV client (RFC 4791) over httpx: what two-way sync needs and no more.

It finds the calendar (the URL may be the calendar itself, the account, or the server's
root: ``/.well-known/caldav``, then the principal's calendar home), lists the events'
ETags, fetches them in batches, and writes and deletes with ``If-Match`` /
``If-None-Match`` so that a change made on the server meanwhile is never overwritten
(a 412 comes back as a conflict instead).

Why not the ``caldav`` package: it brings eight more dependencies (niquests, lxml,
dnspython, PyYAML…) for a protocol subset that is six requests here, over the HTTP
client OS1 already uses and tests.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote, urljoin, urlsplit

import httpx

from os1.errors import OS1Error

_DAV = "DAV:"
_CAL = "urn:ietf:params:xml:ns:caldav"
_NS = {"d": _DAV, "c": _CAL}
_BATCH = 50


class CalDAVError(OS1Error):
    """The server cannot be reached or refused; nothing was changed here. ``status`` is
    the HTTP status when the server answered."""

    def __init__(self, message: str, hint: str | None = None, status: int | None = None):
        super().__init__(message, hint)
        self.status = status


class Conflict(CalDAVError):
    """The event changed on the server since it was last seen (HTTP 412)."""


@dataclass(frozen=True)
class Account:
    url: str
    username: str
    password: str
    timeout: float = 20.0


def password_for(env_name: str, username: str) -> str:
    """The CalDAV password: from the environment variable, else the OS keyring (when the
    ``keyring`` package is installed). Never from the config file."""
    found = os.environ.get(env_name, "")
    if found:
        return found
    try:
        import keyring  # type: ignore[import-not-found]
    except ImportError:
        keyring = None
    if keyring is not None:
        try:
            stored = keyring.get_password("os1-caldav", username)
        except Exception:  # no keyring backend on this machine
            stored = None
        if stored:
            return str(stored)
    raise CalDAVError(
        "There is no CalDAV password to use.",
        f"Put it in the environment variable {env_name} (or in the OS keyring under"
        f" the service os1-caldav and the user {username!r}).",
    )


def _propfind_body(*props: str) -> str:
    inner = "".join(props)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<d:propfind xmlns:d="DAV:" xmlns:c="{_CAL}"><d:prop>{inner}</d:prop></d:propfind>'
    )


class CalDAVClient:
    def __init__(
        self,
        account: Account,
        transport: httpx.BaseTransport | None = None,
        calendar: str | None = None,
    ) -> None:
        """``calendar``: the calendar found last time, so the same one is used."""
        self.account = account
        self.http = httpx.Client(
            auth=(account.username, account.password),
            timeout=account.timeout,
            follow_redirects=True,
            transport=transport,
            headers={"User-Agent": "OS1"},
        )
        self._calendar = calendar

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> CalDAVClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def server(self) -> str:
        return urlsplit(self.account.url).hostname or self.account.url

    def _send(
        self,
        method: str,
        url: str,
        body: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        try:
            response = self.http.request(method, url, content=body, headers=headers or {})
        except httpx.TimeoutException as exc:
            raise CalDAVError(
                f"The CalDAV server at {self.server} did not answer in time.",
                "It will be tried again at the next sync; nothing was lost here.",
            ) from exc
        except httpx.HTTPError as exc:
            raise CalDAVError(
                f"The CalDAV server at {self.server} can't be reached ({exc}).",
                "Check calendar.caldav_url; it will be tried again at the next sync.",
            ) from exc
        if response.status_code in allow:
            return response
        if response.status_code == 401:
            raise CalDAVError(
                f"The CalDAV server at {self.server} refused the user name or password.",
                "Check calendar.caldav_username and the password.",
                status=401,
            )
        if response.status_code == 412:
            raise Conflict(f"{url} changed on the server.", status=412)
        if response.status_code >= 400:
            raise CalDAVError(
                f"The CalDAV server at {self.server} answered {method} with"
                f" {response.status_code}.",
                "It will be tried again at the next sync.",
                status=response.status_code,
            )
        return response

    def _multistatus(self, response: httpx.Response) -> list[tuple[str, ET.Element]]:
        """(absolute href, the props of its 200 propstat) for each response."""
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError as exc:
            raise CalDAVError(
                f"The CalDAV server at {self.server} sent XML that cannot be read ({exc})."
            ) from exc
        found = []
        for item in root.findall("d:response", _NS):
            href = item.findtext("d:href", default="", namespaces=_NS).strip()
            if not href:
                continue
            for propstat in item.findall("d:propstat", _NS):
                status = propstat.findtext("d:status", default="", namespaces=_NS)
                prop = propstat.find("d:prop", _NS)
                if prop is not None and " 200 " in f"{status} ":
                    found.append((normal_href(urljoin(str(response.url), href)), prop))
        return found

    def _propfind(self, url: str, depth: str, *props: str) -> list[tuple[str, ET.Element]]:
        response = self._send(
            "PROPFIND",
            url,
            _propfind_body(*props),
            {"Depth": depth, "Content-Type": "application/xml; charset=utf-8"},
        )
        return self._multistatus(response)

    def calendar_url(self) -> str:
        """The calendar collection to sync with (found once, then remembered)."""
        if self._calendar is None:
            self._calendar = self._discover()
        return self._calendar

    def _discover(self) -> str:
        url = self.account.url
        if not url.endswith("/"):
            url += "/"
        props = ("<d:resourcetype/>", "<d:current-user-principal/>", "<c:calendar-home-set/>")
        found = self._propfind(url, "0", *props)
        if found and _is_calendar(found[0][1]):
            return found[0][0]
        home = _href_in(found, "c:calendar-home-set")
        if home is None:
            principal = _href_in(found, "d:current-user-principal")
            if principal is None:
                well_known = urljoin(url, "/.well-known/caldav")
                principal = _href_in(
                    self._propfind(well_known, "0", "<d:current-user-principal/>"),
                    "d:current-user-principal",
                )
            if principal is not None:
                home = _href_in(
                    self._propfind(principal, "0", "<c:calendar-home-set/>"),
                    "c:calendar-home-set",
                )
        for href, prop in self._propfind(home or url, "1", "<d:resourcetype/>"):
            if _is_calendar(prop):
                return href
        raise CalDAVError(
            f"There is no calendar at {self.account.url}.",
            "Set calendar.caldav_url to your calendar's URL (or make a calendar there).",
        )

    def etags(self) -> dict[str, str]:
        """Every event on the server: {absolute href: ETag}."""
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<c:calendar-query xmlns:d="DAV:" xmlns:c="{_CAL}"><d:prop><d:getetag/></d:prop>'
            '<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"/>'
            "</c:comp-filter></c:filter></c:calendar-query>"
        )
        calendar = self.calendar_url()
        response = self._send(
            "REPORT",
            calendar,
            body,
            {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
        )
        found = {}
        for href, prop in self._multistatus(response):
            if _same(href, calendar):
                continue
            found[href] = (prop.findtext("d:getetag", default="", namespaces=_NS) or "").strip()
        return found

    def fetch(self, hrefs: Iterable[str]) -> dict[str, tuple[str, str]]:
        """{href: (ETag, iCalendar text)} for the given events, in batches."""
        wanted = list(hrefs)
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start : start + _BATCH]
            refs = "".join(f"<d:href>{_escape(quote(urlsplit(h).path))}</d:href>" for h in batch)
            body = (
                '<?xml version="1.0" encoding="utf-8"?>'
                f'<c:calendar-multiget xmlns:d="DAV:" xmlns:c="{_CAL}"><d:prop><d:getetag/>'
                f"<c:calendar-data/></d:prop>{refs}</c:calendar-multiget>"
            )
            response = self._send(
                "REPORT",
                self.calendar_url(),
                body,
                {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
            )
            for href, prop in self._multistatus(response):
                etag = (prop.findtext("d:getetag", default="", namespaces=_NS) or "").strip()
                data = prop.findtext("c:calendar-data", default="", namespaces=_NS) or ""
                found[href] = (etag, data)
        return found

    def href_for(self, uid: str) -> str:
        safe = "".join(ch if ch.isalnum() or ch in "-_.@" else "_" for ch in uid)
        return normal_href(urljoin(self.calendar_url(), f"{safe}.ics"))

    def put(self, href: str, text: str, etag: str | None) -> str | None:
        """Write one event; ``etag`` None creates it (failing if it exists). Returns the
        new ETag when the server says it."""
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        headers.update({"If-Match": etag} if etag else {"If-None-Match": "*"})
        response = self._send("PUT", href, text.encode(), headers)
        new_etag: str | None = response.headers.get("ETag")
        if new_etag:
            return new_etag
        listed = self._propfind(href, "0", "<d:getetag/>")
        if not listed:
            return None
        return listed[0][1].findtext("d:getetag", default="", namespaces=_NS) or None

    def delete(self, href: str, etag: str | None) -> None:
        # Gone already (404) is what was asked for.
        self._send("DELETE", href, None, {"If-Match": etag} if etag else {}, allow=(404,))


def _is_calendar(prop: ET.Element) -> bool:
    kinds = prop.find("d:resourcetype", _NS)
    return kinds is not None and kinds.find("c:calendar", _NS) is not None


def _href_in(found: list[tuple[str, ET.Element]], prop_name: str) -> str | None:
    for base, prop in found:
        holder = prop.find(prop_name, _NS)
        if holder is not None:
            href = holder.findtext("d:href", default="", namespaces=_NS).strip()
            if href:
                return normal_href(urljoin(base, href))
    return None


def normal_href(url: str) -> str:
    """One spelling per resource: servers differ in what they percent-encode ("%40")."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{unquote(parts.path)}"


def _same(a: str, b: str) -> bool:
    return unquote(urlsplit(a).path).rstrip("/") == unquote(urlsplit(b).path).rstrip("/")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
