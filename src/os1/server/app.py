"""The server's web application: routes, the gate in front of them, and the app shell."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp
from starlette.websockets import WebSocket

from os1.server import api, openai_api
from os1.server.connection import Greeting, serve_socket
from os1.server.gate import LOOPBACK_HOSTS, Gate
from os1.server.hub import Hub
from os1.server.limits import PairingGuard

WEB_DIR = Path(__file__).parent / "web"


async def _socket(websocket: WebSocket) -> None:
    state = websocket.app.state
    await serve_socket(websocket, state.hub, state.greeting)


def create_app(
    hub: Hub,
    *,
    on_alert: Callable[[str], None] = lambda text: None,
    web_dir: Path = WEB_DIR,
    allowed_hosts: frozenset[str] = LOOPBACK_HOSTS,
) -> ASGIApp:
    """The ASGI application serving ``hub``; ``on_alert`` hears what the person at the
    server should know (a device paired, someone guessing codes); ``allowed_hosts`` are
    the names it is reached by."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()

    routes = [
        WebSocketRoute("/ws", _socket),
        *api.routes,
        *openai_api.routes,
        Mount("/", app=StaticFiles(directory=web_dir, html=True, check_dir=False), name="web"),
    ]
    web = Starlette(routes=routes, lifespan=lifespan)
    web.state.hub = hub
    web.state.pairing_guard = PairingGuard()
    web.state.on_alert = on_alert
    web.state.greeting = Greeting()
    return Gate(web, hub.devices, allowed_hosts)
