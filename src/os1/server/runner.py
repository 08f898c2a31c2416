"""Running the server: where it listens, how it introduces itself, and a thread to run
it in (tests, benchmarks)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn

from os1.errors import ConfigError
from os1.server.devices import show_code
from os1.server.gate import LOOPBACK_HOSTS
from os1.server.protocol import MAX_FRAME_BYTES
from os1.server.tls import Certificate, ensure_certificate, lan_address

LAN_PORT = 8443
LOCAL_PORT = 8080
RUNTIME_FILE = "server.json"  # where a running server says where it is (for `os1 pair`)
EVERY_ADDRESS = ("0.0.0.0", "::")  # bind addresses that are not an address devices can use


@dataclass(frozen=True)
class Listening:
    host: str  # bound address
    port: int
    public_host: str  # the address devices use
    certificate: Certificate | None

    @property
    def url(self) -> str:
        scheme = "https" if self.certificate else "http"
        host = f"[{self.public_host}]" if ":" in self.public_host else self.public_host
        return f"{scheme}://{host}:{self.port}"

    def allowed_hosts(self) -> frozenset[str]:
        """The names devices may use to reach this server (any other is refused)."""
        names = set(LOOPBACK_HOSTS) | {self.public_host}
        if self.host not in EVERY_ADDRESS:
            names.add(self.host)
        if self.certificate is not None:
            names.update(self.certificate.names)
            machine = socket.gethostname().lower()
            if machine:
                names.update({machine, f"{machine}.local"})
        return frozenset(name.lower() for name in names)

    def check_free(self) -> None:
        """Refuse now, with a message, if the port is taken (rather than a traceback)."""
        if self.port == 0:
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((self.host, self.port))
            except OSError as error:
                raise ConfigError(
                    f"Cannot listen on {self.host}:{self.port} ({error.strerror}).",
                    "Another program is using that port: choose another with --port.",
                ) from None


def server_dir(home: Path) -> Path:
    path = home / "server"
    path.mkdir(parents=True, exist_ok=True)
    return path


def plan(home: Path, *, local: bool, host: str | None, port: int | None) -> Listening:
    """Decide where to listen. Plain HTTP only ever on loopback; the network gets HTTPS."""
    if local:
        bind = host or "127.0.0.1"
        if not _is_loopback(bind):
            raise ConfigError(
                f"--local serves plain HTTP, which is only allowed on this computer, not {bind}.",
                "Leave out --local to serve HTTPS on the network.",
            )
        return Listening(bind, port if port is not None else LOCAL_PORT, bind, None)
    bind = host or "0.0.0.0"
    public = host if host and host not in EVERY_ADDRESS else (lan_address() or "127.0.0.1")
    certificate = ensure_certificate(server_dir(home), (public,))
    return Listening(bind, port if port is not None else LAN_PORT, public, certificate)


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def uvicorn_config(app: Any, listening: Listening) -> uvicorn.Config:
    cert = listening.certificate
    return uvicorn.Config(
        app,
        host=listening.host,
        port=listening.port,
        ssl_certfile=str(cert.cert_path) if cert else None,
        ssl_keyfile=str(cert.key_path) if cert else None,
        ws="websockets-sansio",
        ws_max_size=MAX_FRAME_BYTES,
        # Small JSON frames gain little from compression, which cost a fifth of the
        # server's time and ~50 KiB a connection when every device gets every frame.
        ws_per_message_deflate=False,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        proxy_headers=False,  # no proxy in front: never trust X-Forwarded-For
        lifespan="on",
        log_level="warning",
        access_log=False,  # no URLs or addresses in logs
        server_header=False,
        timeout_graceful_shutdown=5,
    )


def pairing_url(base_url: str, code: str) -> str:
    return f"{base_url}/#pair={code}"


def qr_text(url: str) -> str:
    """A QR code of ``url`` drawn with block characters, for the terminal."""
    import segno

    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True)
    return out.getvalue()


def pairing_banner(base_url: str, code: str) -> str:
    url = pairing_url(base_url, code)
    return (
        f"{qr_text(url)}\n"
        f"To pair a phone, scan the code above, or open {base_url} and enter {show_code(code)}.\n"
        "The code works once, for 5 minutes. `os1 pair` makes a new one.\n"
    )


def pairing_note(base_url: str, code: str) -> str:
    """How to pair with a server at ``base_url`` (a QR code only where a phone can go)."""
    if _is_loopback(urlsplit(base_url).hostname or ""):
        return (
            f"Pairing code: {show_code(code)} (works once, for 5 minutes).\n"
            f"This server is only for this computer: open {base_url} here and enter it.\n"
            "(Phones need `os1 serve` without --local.)\n"
        )
    return pairing_banner(base_url, code)


def write_runtime(home: Path, url: str, fingerprint: str | None) -> Path:
    path = server_dir(home) / RUNTIME_FILE
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps({"url": url, "pid": os.getpid(), "fingerprint": fingerprint}))
    os.replace(temp, path)
    return path


def remove_runtime(path: Path) -> None:
    """Remove the runtime file if it is this process's (never another server's)."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        if int(json.loads(path.read_text())["pid"]) == os.getpid():
            path.unlink()


def read_runtime(home: Path) -> dict[str, Any] | None:
    """Where a running server is, or None if none is running (a file left by a server
    that died, whose process number now belongs to something else, does not count)."""
    path = home / "server" / RUNTIME_FILE
    try:
        data = json.loads(path.read_text())
        pid = int(data["pid"])
        os.kill(pid, 0)  # is it still running?
    except (OSError, ValueError, KeyError, TypeError):
        return None
    command = Path(f"/proc/{pid}/cmdline")
    with contextlib.suppress(OSError):  # where there is no /proc, trust the number
        if b"os1" not in command.read_bytes():
            return None
    return data if isinstance(data, dict) else None


class ServerThread:
    """Runs an ASGI app on uvicorn in a background thread (tests, benchmarks)."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        listening = Listening(host, port, host, None)
        self.server = uvicorn.Server(uvicorn_config(app, listening))
        self._thread = threading.Thread(target=self.server.run, name="os1-server", daemon=True)
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        sockets = self.server.servers[0].sockets
        self.port = int(sockets[0].getsockname()[1])

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)

    @contextlib.contextmanager
    def running(self) -> Iterator[ServerThread]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
