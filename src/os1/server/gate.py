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


Headers = dict[bytes, bytes]


def host_name(headers: Headers) -> str | None:
    """The name in the Host header, without the port (``[::1]:80`` -> ``::1``)."""
    host = headers.get(b"host")
    if host is None:
        return None
    text: str = host.decode("latin-1").lower().strip()
    if text.startswith("["):
        return text[1:].partition("]")[0]
    return text.rpartition(":")[0] if text.count(":") == 1 else text


def origin_allowed(scope: Scope, headers: Headers) -> bool:
    """No Origin (not a browser), or the server's own (scheme://host[:port])."""
    origin, host = headers.get(b"origin"), headers.get(b"host")
    if origin is None:
        return True
    if host is None:
        return False
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    return origin.decode("latin-1").lower() == f"{scheme}://{host.decode('latin-1').lower()}"


def bearer_token(headers: Headers) -> str | None:
    value = headers.get(b"authorization", b"").decode("latin-1")
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
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers: Headers = dict(scope["headers"])
        refusal = None
        if host_name(headers) not in self.allowed_hosts:
            refusal = (421, "wrong_host", "This server is not that host.")
        elif not origin_allowed(scope, headers):
            refusal = (403, "forbidden_origin", "Requests from other sites are refused.")
        if kind == "websocket":
            if refusal is not None:  # refused before it opens: HTTP 403
                await send({"type": "websocket.close", "code": 1008})
            else:
                await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        private = path.startswith(PROTECTED_PREFIXES) and path not in PUBLIC_API
        send = _with_headers(send, private=private)
        if refusal is not None:
            await _reply(send, *refusal)
            return
        if private:
            device = await asyncio.to_thread(self.devices.authenticate, bearer_token(headers))
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
