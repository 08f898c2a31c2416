"""The door every request passes: same-origin browsers only, a device token for anything
that is not the public app shell, and safe headers on every response."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from os1.server.devices import Devices

# Served without a token: the pairing call (and the static app shell, by not being here).
PUBLIC_API = {"/api/pair"}
PROTECTED_PREFIXES = ("/api/", "/v1/")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"microphone=(self), camera=(), geolocation=()"),
    (
        b"content-security-policy",
        b"default-src 'self'; connect-src 'self'; img-src 'self' data:; media-src 'self' blob:;"
        b" style-src 'self'; script-src 'self'; worker-src 'self'; frame-ancestors 'none';"
        b" base-uri 'none'; form-action 'self'",
    ),
]


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def host_name(scope: Scope) -> str | None:
    """The name in the Host header, without the port (``[::1]:80`` -> ``::1``)."""
    host = dict(scope["headers"]).get(b"host")
    if host is None:
        return None
    text: str = host.decode("latin-1").lower().strip()
    if text.startswith("["):
        return text[1:].partition("]")[0]
    return text.rpartition(":")[0] if text.count(":") == 1 else text


def own_origin(scope: Scope) -> str | None:
    """The origin a browser on our own page would send (scheme://host[:port])."""
    host = dict(scope["headers"]).get(b"host")
    if host is None:
        return None
    secure = scope.get("scheme") in ("https", "wss")
    return f"{'https' if secure else 'http'}://{host.decode('latin-1').lower()}"


def origin_allowed(scope: Scope) -> bool:
    """No Origin (not a browser), or the server's own."""
    origin = dict(scope["headers"]).get(b"origin")
    if origin is None:
        return True
    return bool(origin.decode("latin-1").lower() == own_origin(scope))


def bearer_token(scope: Scope) -> str | None:
    value = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class Gate:
    """``allowed_hosts``: the names this server is reached by. A request naming any
    other host is refused, so a web page cannot reach the server by pointing a name of
    its own at this computer's address (DNS rebinding) and pass the Origin check."""

    def __init__(
        self, app: ASGIApp, devices: Devices, allowed_hosts: frozenset[str] = LOOPBACK_HOSTS
    ) -> None:
        self.app = app
        self.devices = devices
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind in ("http", "websocket") and host_name(scope) not in self.allowed_hosts:
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await _reply(
                    _with_headers(send), 421, "wrong_host", "This server is not that host."
                )
            return
        if kind == "websocket":
            if not origin_allowed(scope):
                await send({"type": "websocket.close", "code": 1008})  # refused: HTTP 403
                return
            await self.app(scope, receive, send)
            return
        if kind != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send)
        if not origin_allowed(scope):
            await _reply(send, 403, "forbidden_origin", "Requests from other sites are refused.")
            return
        path: str = scope["path"]
        if path.startswith(PROTECTED_PREFIXES) and path not in PUBLIC_API:
            device = await asyncio.to_thread(self.devices.authenticate, bearer_token(scope))
            if device is None:
                await _reply(
                    send,
                    401,
                    "unauthorized",
                    "A paired device's token is needed (Authorization: Bearer TOKEN).",
                    [(b"www-authenticate", b'Bearer realm="os1"')],
                )
                return
            scope.setdefault("state", {})["device"] = device
            send = _with_headers(send, private=True)
        await self.app(scope, receive, send)


def _with_headers(send: Send, *, private: bool = False) -> Send:
    """Add the security headers (and, for a device's own data, forbid caching it)."""
    extra = [*SECURITY_HEADERS, (b"cache-control", b"no-store")] if private else SECURITY_HEADERS

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            headers += [(k, v) for k, v in extra if k not in present]
            message = {**message, "headers": headers}
        await send(message)

    return sending


async def _reply(
    send: Send,
    status: int,
    code: str,
    text: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps({"error": code, "message": text}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
