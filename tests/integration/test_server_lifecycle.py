"""The server over its life: turns from two places at once, settings, starting when
something is in the way, stopping mid-reply, and who may knock."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from os1.app import App
from os1.llm.fake import FakeLLM
from os1.server.app import create_app
from os1.server.connection import MAX_UNGREETED
from os1.server.hub import Hub
from os1.server.runner import RUNTIME_FILE, ServerThread
from os1.server.tls import ensure_certificate
from os1.store.conversations import Conversations
from tests.helpers import run_os1, set_up
from tests.server_support import (
    Paired,
    Served,
    open_socket,
    raw_http,
    run,
    socket_of,
)

pytestmark = pytest.mark.integration


def test_a_text_turn_waits_while_a_spoken_turn_is_under_way(served: Served, device: Paired) -> None:
    """A reply being spoken on one device holds the turn; a message typed on another
    waits for it instead of landing in the middle of it."""
    gate = served.hub.companion.turn_gate

    async def scenario() -> None:
        async with socket_of(served, device) as laptop:
            gate.acquire()  # as a voice reply does from start_turn to the end of its stream
            try:
                await laptop.send({"type": "send", "text": "Typed while you were talking."})
                await asyncio.sleep(0.6)
                texts = [m.text for m in served.hub.feed.recent(5)]
                assert "Typed while you were talking." not in texts
            finally:
                gate.release()
            message = await laptop.expect("message")
            assert message["message"]["text"] == "Typed while you were talking."
            _, done = await laptop.reply()
            assert done["status"] == "complete"

    run(scenario)


def test_a_request_naming_another_host_is_refused(served: Served, device: Paired) -> None:
    """A page that points a name of its own at this computer (DNS rebinding) gets nowhere,
    even with a matching Origin."""
    port = served.url.rsplit(":", 1)[1]
    status, _ = raw_http(
        served.url,
        b"GET / HTTP/1.1\r\nHost: evil.example:" + port.encode() + b"\r\n"
        b"Origin: http://evil.example:" + port.encode() + b"\r\nConnection: close\r\n\r\n",
    )
    assert status == 421
    status, _ = raw_http(
        served.url,
        b"GET /ws HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n",
    )
    assert status == 403
    with served.http() as client:  # its own name still works
        assert client.get("/api/me", headers=device.headers).status_code == 200


def test_api_data_is_never_cached(served: Served, device: Paired) -> None:
    with served.http() as client:
        response = client.get("/api/me", headers=device.headers)
    assert response.headers["cache-control"] == "no-store"


def test_a_setting_pinned_by_a_flag_is_not_changed_from_a_device(
    served: Served, device: Paired
) -> None:
    served.app.overrides["model"] = "fake"  # as `os1 --model fake serve` does
    config = served.app.home / "config.toml"
    before = config.read_text() if config.exists() else ""
    with served.http() as client:
        response = client.patch("/api/settings", headers=device.headers, json={"model": "embedded"})
    assert response.status_code == 409
    assert "--model" in response.json()["message"] or "flag" in response.json()["message"]
    assert (config.read_text() if config.exists() else "") == before


def test_too_many_sockets_waiting_to_say_hello_are_refused(served: Served) -> None:
    async def scenario() -> None:
        waiting = [await open_socket(served, None, hello=False) for _ in range(MAX_UNGREETED)]
        try:
            with pytest.raises(InvalidStatus):
                await open_socket(served, None, hello=False)
        finally:
            for sock in waiting:
                await sock.ws.close()
        # Once they are gone, a device gets in again.
        token = served.pair().token
        for _ in range(50):
            try:
                later = await open_socket(served, token)
            except InvalidStatus:
                await asyncio.sleep(0.1)  # the server is still letting the others go
                continue
            await later.ws.close()
            return
        raise AssertionError("a paired device could not connect after the crowd left")

    run(scenario)


def test_stopping_the_server_cuts_a_reply_short_and_keeps_it(
    onboarded: App, fake_llm: FakeLLM
) -> None:
    words = " ".join(f"word{n}" for n in range(60))
    fake_llm.enqueue(words)
    fake_llm.delay = 0.1  # six seconds of reply
    hub = Hub(onboarded)
    server = ServerThread(create_app(hub))
    server.start()
    served_url = server.url
    try:
        token = _pair(hub, served_url)

        async def scenario() -> None:
            sock = await open_socket(served_url.replace("http", "ws") + "/ws", token)
            await sock.send({"type": "send", "text": "Tell me everything."})
            await sock.expect("reply.delta")
            await asyncio.to_thread(server.stop)
            await sock.ws.close()

        started = time.monotonic()
        run(scenario)
        assert time.monotonic() - started < 5.5  # it did not wait for the whole reply
    finally:
        server.stop()
    reply = Conversations(onboarded.db).last_message("companion")
    assert reply is not None and reply.status == "interrupted"
    assert reply.text.startswith("word0") and len(reply.text) < len(words)
    # What was kept is remembered too: memory learned the cut-short turn before the end.
    learned = onboarded.db.query("SELECT 1 FROM embeddings WHERE item_id = ?", (reply.id,))
    assert learned


def _pair(hub: Hub, url: str) -> str:
    import httpx

    response = httpx.post(f"{url}/api/pair", json={"code": hub.devices.new_code(), "name": "t"})
    token: str = response.json()["token"]
    return token


def _serve(home: Path, port: int) -> subprocess.Popen[bytes]:
    import os

    environment = {k: v for k, v in os.environ.items() if not k.startswith("OS1_")}
    environment["OS1_HOME"] = str(home)
    command = [sys.executable, "-m", "os1", "--model", "fake", "serve", "--local"]
    return subprocess.Popen(
        [*command, "--port", str(port), "--no-pair"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_says_what_is_in_the_way(tmp_path: Path) -> None:
    home = tmp_path / "home"
    set_up(home)
    # A port another program holds: a sentence, not a traceback.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        blocked = run_os1("--model", "fake", "serve", "--local", "--port", str(port), home=home)
    assert blocked.returncode == 2
    assert "Cannot listen" in blocked.stderr and "--port" in blocked.stderr
    assert "Traceback" not in blocked.stderr

    # A second server for the same companion: pointed at the first, which keeps running.
    port = _free_port()
    first = _serve(home, port)
    try:
        runtime = home / "server" / RUNTIME_FILE
        deadline = time.monotonic() + 60
        while not runtime.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert runtime.exists()
        second = run_os1("--model", "fake", "serve", "--local", "--port", "0", home=home)
        assert second.returncode == 2
        assert "already being served" in second.stderr and str(port) in second.stderr
        assert runtime.exists()  # the second did not take the first one's file away
        paired = run_os1("pair", home=home)
        assert "only for this computer" in paired.stdout  # no QR code a phone cannot open
    finally:
        first.terminate()
        first.wait(timeout=30)
    assert not runtime.exists()


def test_a_new_address_keeps_the_key_and_the_old_names(tmp_path: Path) -> None:
    first = ensure_certificate(tmp_path, ("10.0.0.5",))
    key = first.key_path.read_bytes()
    second = ensure_certificate(tmp_path, ("192.168.1.7",))
    assert {"10.0.0.5", "192.168.1.7"} <= set(second.names)
    assert second.key_path.read_bytes() == key
    third = ensure_certificate(tmp_path, ("10.0.0.5",))  # back home: nothing new
    assert third.fingerprint == second.fingerprint


def test_rate_and_pitch_change_while_talking_other_settings_restart_voice(
    served: Served, device: Paired
) -> None:
    async def scenario() -> None:
        async with (
            socket_of(served, device) as phone,
            httpx.AsyncClient(base_url=served.url, headers=device.headers, timeout=10) as api,
        ):
            await phone.send({"type": "voice.start", "sample_rate": 16000, "format": "pcm_s16le"})
            await phone.expect("voice.ready")
            companion = served.hub.companion
            changed = await api.patch("/api/settings", json={"voice.rate": 1.2})
            assert changed.status_code == 200
            await phone.ping()
            assert not [m for m in phone.seen if m["type"] == "voice.ended"]
            assert served.hub.voice is not None and served.hub.companion is companion
            assert served.app.settings.voice.rate == 1.2  # the next reply speaks faster
            changed = await api.patch("/api/settings", json={"voice.barge_in": False})
            assert changed.status_code == 200
            ended = await phone.expect("voice.ended")
            assert "settings" in ended["reason"]
            assert served.hub.voice is None and served.hub.companion is not companion

    run(scenario)


def test_a_server_file_left_by_a_dead_server_is_ignored(tmp_path: Path) -> None:
    from os1.server.runner import read_runtime, write_runtime

    home = tmp_path / "home"
    runtime = write_runtime(home, "http://127.0.0.1:8080", None)
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "os1"])
    other = subprocess.Popen(["sleep", "30"])  # a process number that is not os1's
    try:
        for pid, alive in ((server.pid, True), (other.pid, False)):
            runtime.write_text(json.dumps({"url": "http://127.0.0.1:8080", "pid": pid}))
            assert (read_runtime(home) is not None) == alive
    finally:
        for process in (server, other):
            process.kill()
            process.wait()
    assert read_runtime(home) is None  # and once it is gone
