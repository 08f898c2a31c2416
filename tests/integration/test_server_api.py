"""The HTTP API against a real uvicorn on loopback: the OpenAI-compatible chat, memory,
settings; HTTPS with the server's own certificate; and the `os1 pair` / `os1 devices`
commands working with a running server."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import ssl
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from os1.app import App
from os1.errors import ConfigError
from os1.llm.fake import FakeLLM
from os1.memory.embedding import HashingEmbedder
from os1.server.app import create_app
from os1.server.hub import Hub
from os1.server.runner import ServerThread, plan, uvicorn_config
from tests.helpers import run_os1, set_up
from tests.server_support import Paired, Served, open_socket, run, socket_of

pytestmark = pytest.mark.integration

CHAT = "/v1/chat/completions"


def _user(text: str) -> dict[str, object]:
    return {"model": "os1", "messages": [{"role": "user", "content": text}]}


def _stored_user_messages(served: Served) -> list[dict[str, object]]:
    rows = served.second_db().query(
        "SELECT id, text, meta FROM messages WHERE role = 'user' ORDER BY seq"
    )
    return [{"id": r["id"], "text": r["text"], **json.loads(r["meta"])} for r in rows]


# -- OpenAI-compatible chat ------------------------------------------------------------------


def test_models_lists_the_companion(served: Served, device: Paired) -> None:
    with served.http() as client:
        response = client.get("/v1/models", headers=device.headers)
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["data"]] == ["os1"]


def test_chat_completion_talks_to_the_companion_in_the_shared_conversation(
    served: Served, device: Paired
) -> None:
    served.llm.enqueue("Morning! The kettle is on, I hope.")

    async def scenario() -> None:
        async with socket_of(served, served.pair("Laptop")) as laptop:
            async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
                response = await client.post(
                    CHAT,
                    json={
                        "model": "anything",
                        "messages": [
                            {"role": "system", "content": "You are a pirate."},
                            {"role": "user", "content": "An old message"},
                            {"role": "assistant", "content": "An old reply"},
                            {"role": "user", "content": "Good morning from a script"},
                        ],
                    },
                    headers=device.headers,
                )
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["object"] == "chat.completion" and body["model"] == "os1"
            assert body["id"].startswith("chatcmpl")
            [choice] = body["choices"]
            assert choice["message"] == {
                "role": "assistant",
                "content": "Morning! The kettle is on, I hope.",
            }
            assert choice["finish_reason"] == "stop"
            shown = await laptop.expect("message")
            assert shown["message"]["text"] == "Good morning from a script"
            assert (shown["message"]["via"], shown["message"]["device"]) == ("api", "Pixel 8")
            text, done = await laptop.reply()
            assert text == "Morning! The kettle is on, I hope." and done["status"] == "complete"

    run(scenario)
    stored = _stored_user_messages(served)
    assert [m["text"] for m in stored] == ["Good morning from a script"]  # only the last
    assert stored[0]["via"] == "api" and stored[0]["device"] == "Pixel 8"
    # The companion's own persona, not the request's system message, wrote the prompt.
    assert "pirate" not in str(served.llm.prompts[-1])


def test_chat_completion_streams_server_sent_events(served: Served, device: Paired) -> None:
    served.llm.enqueue("One two three four.")
    served.llm.delay = 0.03  # words come as a model writes them (at once, they go together)
    with (
        served.http() as client,
        client.stream(
            "POST", CHAT, json={**_user("Count for me"), "stream": True}, headers=device.headers
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "One two three four."
    assert len(chunks) >= 4  # it came piece by piece
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert [m["text"] for m in _stored_user_messages(served)] == ["Count for me"]


def test_content_given_as_parts_is_read(served: Served, device: Paired) -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Line one"},
                    {"type": "image_url", "image_url": {"url": "data:..."}},
                    {"type": "text", "text": "Line two"},
                ],
            }
        ]
    }
    with served.http() as client:
        response = client.post(CHAT, json=body, headers=device.headers)
    assert response.status_code == 200
    assert [m["text"] for m in _stored_user_messages(served)] == ["Line one\nLine two"]


BAD_CHAT_BODIES = [
    b"not json",
    b"[]",
    b"{}",
    b'{"messages": []}',
    b'{"messages": "hello"}',
    b'{"messages": [{"role": "assistant", "content": "hi"}]}',
    b'{"messages": [{"role": "user"}]}',
    b'{"messages": [{"role": "user", "content": 42}]}',
    b'{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}',
    b'{"messages": [{"role": "user", "content": ""}]}',
    b'{"messages": [{"role": "user", "content": "   "}]}',
    b'{"messages": [{"role": "user", "content": "' + b"x" * 9000 + b'"}]}',
    b'{"messages": [{"role": "user", "content": "' + b"x" * 70_000 + b'"}]}',
    b'{"messages": [{"role": "user", "content": 1' + b"0" * 5000 + b"}]}",
]


def test_bad_chat_requests_are_refused_with_400(served: Served, device: Paired) -> None:
    with served.http() as client:
        for body in BAD_CHAT_BODIES:
            response = client.post(
                CHAT, content=body, headers={**device.headers, "Content-Type": "application/json"}
            )
            assert response.status_code == 400, (body[:80], response.text)
            assert response.json()["message"]
            assert "digits" not in response.json()["message"]  # no Python internals
        assert client.get("/api/me", headers=device.headers).status_code == 200
    assert _stored_user_messages(served) == []


def test_a_failing_model_is_a_502_and_the_server_goes_on(served: Served, device: Paired) -> None:
    served.llm.enqueue(RuntimeError("out of memory"))
    with served.http() as client:
        failed = client.post(CHAT, json=_user("Hello?"), headers=device.headers)
        assert failed.status_code == 502
        assert failed.json()["error"] == "model_error"
        served.llm.enqueue("Fine again.")
        ok = client.post(CHAT, json=_user("Hello again?"), headers=device.headers)
    assert ok.status_code == 200
    assert ok.json()["choices"][0]["message"]["content"] == "Fine again."


def test_a_streaming_client_that_leaves_early_does_not_lose_the_reply(
    served: Served, device: Paired
) -> None:
    served.llm.delay = 0.03
    served.llm.enqueue(" ".join(f"w{n}" for n in range(30)) + ".")
    with (
        served.http() as client,
        client.stream(
            "POST", CHAT, json={**_user("Talk to me"), "stream": True}, headers=device.headers
        ) as response,
    ):
        for line in response.iter_lines():
            if '"content": "w' in line or '"content": " w' in line:
                break  # gone after the first words
    served.llm.delay = 0.0
    deadline = time.monotonic() + 10
    while True:
        rows = served.second_db().query(
            "SELECT text, status FROM messages WHERE role = 'companion' ORDER BY seq DESC LIMIT 1"
        )
        if rows and rows[0]["text"].startswith("w0") and rows[0]["status"] == "complete":
            break
        assert time.monotonic() < deadline, [dict(r) for r in rows]
        time.sleep(0.05)
    assert rows[0]["text"].endswith("w29.")
    with served.http() as client:
        again = client.post(CHAT, json=_user("Still there?"), headers=device.headers)
    assert again.status_code == 200


# -- memory -----------------------------------------------------------------------------------


def test_memory_search_facts_and_forgetting(served: Served, device: Paired) -> None:
    async def scenario() -> None:
        async with (
            socket_of(served, device) as phone,
            httpx.AsyncClient(base_url=served.url, headers=device.headers, timeout=10) as client,
        ):
            await phone.send({"type": "send", "text": "My sister Annie lives near the harbour."})
            said = (await phone.expect("message"))["message"]
            await phone.reply()
            await phone.send({"type": "send", "text": "I moved to Lisbon last spring."})
            await phone.reply()

            async def found() -> list[dict[str, object]]:
                response = await client.get("/api/memory/search", params={"q": "Annie sister"})
                assert response.status_code == 200
                hits: list[dict[str, object]] = response.json()["hits"]
                return hits

            deadline = asyncio.get_running_loop().time() + 10
            while not any(h["id"] == said["id"] for h in await found()):  # learnt in the background
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.1)

            async def facts_now() -> list[dict[str, object]]:
                listed: list[dict[str, object]] = (await client.get("/api/memory/facts")).json()[
                    "facts"
                ]
                return listed

            wanted = {"Theo's sister is Annie.", "Theo lives in Lisbon."}
            while not wanted <= {f["text"] for f in await facts_now()}:  # learnt when quiet
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.1)
            facts = await facts_now()
            texts = [f["text"] for f in facts]
            assert "Theo's sister is Annie." in texts, texts
            assert "Theo lives in Lisbon." in texts, texts
            assert all(f["kind"] == "fact" for f in facts)

            forgotten = await client.delete(f"/api/memory/{said['id']}")
            assert forgotten.status_code == 200
            assert said["id"] in forgotten.json()["forgotten"]["messages"]
            removed = await phone.expect("message.removed")
            assert removed["id"] == said["id"]
            assert not any(h["id"] == said["id"] for h in await found())
            facts = (await client.get("/api/memory/facts")).json()["facts"]
            assert "Theo's sister is Annie." not in [f["text"] for f in facts]

            lisbon = next(f for f in facts if f["text"] == "Theo lives in Lisbon.")
            gone = await client.delete(f"/api/memory/{lisbon['id']}")
            assert gone.json()["forgotten"]["facts"] == [lisbon["id"]]
            facts = (await client.get("/api/memory/facts")).json()["facts"]
            assert "Theo lives in Lisbon." not in [f["text"] for f in facts]

            missing = await client.delete("/api/memory/m_never")
            assert missing.status_code == 404
            for params in ({"q": ""}, {}, {"q": "x" * 1001}, {"q": "a", "k": "many"}):
                bad = await client.get("/api/memory/search", params=params)
                assert bad.status_code == 400, params

    run(scenario)


# -- settings ----------------------------------------------------------------------------------


def test_settings_can_be_read_and_changed(served: Served, device: Paired) -> None:
    config = served.app.home / "config.toml"
    with served.http() as client:
        shown = client.get("/api/settings", headers=device.headers)
        assert shown.status_code == 200
        body = shown.json()
        assert body["values"]["voice.rate"] == 1.0
        assert body["values"]["voice.voice"]  # the one chosen at setup, if none is set
        voices = body["options"]["voice.voice"]
        assert all(set(v) == {"value", "label"} for v in voices)
        assert body["options"]["voice.stt_model"] == ["tiny.en", "base"]

        changed = client.patch("/api/settings", json={"voice.rate": 1.25}, headers=device.headers)
        assert changed.status_code == 200, changed.text
        assert changed.json()["values"]["voice.rate"] == 1.25
        assert "1.25" in config.read_text()
        assert (
            client.get("/api/settings", headers=device.headers).json()["values"]["voice.rate"]
            == 1.25
        )
        assert served.app.settings.voice.rate == 1.25

        both = client.patch(
            "/api/settings",
            json={"voice.barge_in": False, "voice.pitch": 0.9},
            headers=device.headers,
        )
        assert both.status_code == 200, both.text
        assert both.json()["values"]["voice.barge_in"] is False

        # What it does on its own can be turned off here too.
        assert body["values"]["skills.reminders_in_chat"] is True
        quiet = client.patch(
            "/api/settings", json={"skills.reminders_in_chat": False}, headers=device.headers
        )
        assert quiet.status_code == 200, quiet.text
        assert served.app.settings.skills.reminders_in_chat is False

        before = config.read_text()
        for bad in (
            {"voice.rate": 99},
            {"voice.rate": "fast"},
            {"voice.rate": None},
            {"voice.pitch": 12},
            {"voice.barge_in": "perhaps"},
        ):
            refused = client.patch("/api/settings", json=bad, headers=device.headers)
            assert refused.status_code == 400, (bad, refused.text)
            assert refused.json()["error"] == "bad_setting"
            assert refused.json()["message"]
        for unknown in ({"home": "/tmp"}, {"voice.rate": 1.1, "openai.api_key": "x"}, {}):
            refused = client.patch("/api/settings", json=unknown, headers=device.headers)
            assert refused.status_code == 400, unknown
            assert "voice.rate" in refused.json()["message"]  # it says what can be changed
        not_json = client.patch(
            "/api/settings",
            content=b"voice.rate=2",
            headers={**device.headers, "Content-Type": "application/json"},
        )
        assert not_json.status_code == 400
    assert config.read_text() == before


def test_a_reply_after_a_settings_change_still_works(served: Served, device: Paired) -> None:
    async def scenario() -> None:
        async with (
            socket_of(served, device) as phone,
            httpx.AsyncClient(base_url=served.url, headers=device.headers) as client,
        ):
            response = await client.patch("/api/settings", json={"voice.rate": 0.8})
            assert response.status_code == 200
            await phone.send({"type": "send", "text": "Did that work?"})
            _, done = await phone.reply()
            assert done["status"] == "complete"

    run(scenario)


# -- HTTPS ------------------------------------------------------------------------------------


def test_plan_refuses_plain_http_beyond_this_computer(home: Path) -> None:
    for host in ("0.0.0.0", "192.168.1.20", "::"):
        with pytest.raises(ConfigError):
            plan(home, local=True, host=host, port=None)
    local = plan(home, local=True, host=None, port=None)
    assert (local.host, local.port, local.certificate) == ("127.0.0.1", 8080, None)
    assert local.url == "http://127.0.0.1:8080"
    assert not (home / "server" / "key.pem").exists()


class _TlsServer:
    def __init__(self, web: object, listening: object) -> None:
        self.server = uvicorn.Server(uvicorn_config(web, listening))  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> int:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.02)
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def tls_home(onboarded: App) -> Iterator[tuple[App, Hub]]:
    yield onboarded, Hub(onboarded)


def test_https_with_the_servers_own_certificate(
    tls_home: tuple[App, Hub], fake_llm: FakeLLM
) -> None:
    app, hub = tls_home
    listening = plan(app.home, local=False, host="127.0.0.1", port=0)
    certificate = listening.certificate
    assert certificate is not None
    assert "127.0.0.1" in certificate.names
    key_mode = stat.S_IMODE(certificate.key_path.stat().st_mode)
    assert key_mode == 0o600, oct(key_mode)

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    cert = x509.load_pem_x509_certificate(certificate.cert_path.read_bytes())
    expected = ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))
    assert certificate.fingerprint == expected
    der = cert.public_bytes(serialization.Encoding.DER)
    assert certificate.fingerprint.replace(":", "").lower() == hashlib.sha256(der).hexdigest()
    if shutil.which("openssl"):
        shown = subprocess.run(
            ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", certificate.cert_path],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert shown.strip().split("=", 1)[1] == certificate.fingerprint

    # The same certificate next time (the fingerprint the user checked stays true).
    again = plan(app.home, local=False, host="127.0.0.1", port=0)
    assert again.certificate is not None
    assert again.certificate.fingerprint == certificate.fingerprint

    code = hub.devices.new_code()
    web = create_app(hub)
    context = ssl.create_default_context(cafile=str(certificate.cert_path))
    with _TlsServer(web, listening) as port:
        base = f"https://127.0.0.1:{port}"
        with httpx.Client(base_url=base, verify=context, timeout=10) as client:
            paired = client.post("/api/pair", json={"code": code, "name": "Phone"})
            assert paired.status_code == 200
            token = paired.json()["token"]
            me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200 and me.json()["companion"] == "Iris"
            # Our own page, over HTTPS, is same-origin; the http:// twin is not.
            same = client.get(
                "/api/me", headers={"Authorization": f"Bearer {token}", "Origin": base}
            )
            assert same.status_code == 200
            twin = client.get(
                "/api/me",
                headers={"Authorization": f"Bearer {token}", "Origin": f"http://127.0.0.1:{port}"},
            )
            assert twin.status_code == 403
        # A client that does not trust the certificate is refused by TLS itself.
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/api/me", timeout=10)
        # Plain HTTP is not spoken on the HTTPS port.
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/api/me", timeout=5)

        async def over_wss() -> None:
            from websockets.asyncio.client import connect

            async with connect(
                f"wss://127.0.0.1:{port}/ws",
                ssl=context,
                origin=base,  # type: ignore[arg-type]
            ) as ws:
                await ws.send(json.dumps({"type": "hello", "protocol": 1, "token": token}))
                welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert welcome["type"] == "welcome"

        run(over_wss)


def test_a_damaged_certificate_is_made_again(home: Path) -> None:
    first = plan(home, local=False, host="127.0.0.1", port=0).certificate
    assert first is not None
    first.cert_path.write_text("not a certificate")
    second = plan(home, local=False, host="127.0.0.1", port=0).certificate
    assert second is not None and second.fingerprint != first.fingerprint
    assert stat.S_IMODE(second.key_path.stat().st_mode) == 0o600
    third = plan(home, local=False, host="10.1.2.3", port=0).certificate
    assert third is not None and "10.1.2.3" in third.names  # a new address: a new cert
    assert third.fingerprint != second.fingerprint


# -- the commands -----------------------------------------------------------------------------


@pytest.fixture
def cli_home(tmp_path: Path) -> Path:
    home = tmp_path / "cli-home"
    set_up(home)
    return home


def test_pair_and_devices_commands_work_with_a_running_server(cli_home: Path) -> None:
    made = run_os1("--model", "fake", "pair", "--json", home=cli_home)
    assert made.returncode == 0, made.stderr
    shown = json.loads(made.stdout)
    assert len(shown["code"]) == 9 and shown["code"][4] == "-"
    assert shown["server_running"] is False and shown["url"] is None
    assert shown["code"].replace("-", "").encode() not in (cli_home / "os1.db").read_bytes()
    app = App.open(
        cli_home, llm_factory=lambda settings: FakeLLM(), embedder_factory=HashingEmbedder
    )
    try:
        with ServerThread(create_app(Hub(app))).running() as server:
            paired = httpx.post(
                f"{server.url}/api/pair", json={"code": shown["code"], "name": "Pixel 8"}
            )
            assert paired.status_code == 200, paired.text
            reused = httpx.post(f"{server.url}/api/pair", json={"code": shown["code"]})
            assert reused.status_code == 401
            token = paired.json()["token"]
            device_id = paired.json()["device"]["id"]
            headers = {"Authorization": f"Bearer {token}"}

            listed = run_os1("--model", "fake", "devices", "list", "--json", home=cli_home)
            assert listed.returncode == 0, listed.stderr
            [entry] = json.loads(listed.stdout)
            assert (entry["id"], entry["name"], entry["revoked_at"]) == (
                device_id,
                "Pixel 8",
                None,
            )
            assert token not in listed.stdout

            async def revoke_while_connected() -> None:
                sock = await open_socket(server.url.replace("http", "ws") + "/ws", token)
                revoked = await asyncio.to_thread(
                    run_os1, "--model", "fake", "devices", "revoke", device_id, home=cli_home
                )
                assert revoked.returncode == 0, revoked.stderr
                assert "Pixel 8" in revoked.stdout
                assert await sock.closed(within=5) == 4401

            run(revoke_while_connected)
            assert httpx.get(f"{server.url}/api/me", headers=headers).status_code == 401

            unknown = run_os1("--model", "fake", "devices", "revoke", "d_nobody", home=cli_home)
            assert unknown.returncode == 2
            assert "d_nobody" in unknown.stderr + unknown.stdout

            everything = run_os1(
                "--model", "fake", "devices", "list", "--all", "--json", home=cli_home
            )
            [entry] = json.loads(everything.stdout)
            assert entry["id"] == device_id and entry["revoked_at"] is not None
    finally:
        app.close()


def test_a_crowd_of_api_requests_is_served_or_refused_politely(
    served: Served, device: Paired
) -> None:
    served.llm.delay = 0.005

    async def scenario() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            base_url=served.url, headers=device.headers, timeout=30
        ) as client:
            return await asyncio.gather(
                *(client.post(CHAT, json=_user(f"Question {n}")) for n in range(30))
            )

    responses = run(scenario)
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {200, 400, 429, 503}, statuses
    assert statuses.count(200) >= 20
    for response in responses:
        if response.status_code != 200:
            assert "try again" in response.json()["message"].lower()
    with served.http() as client:
        assert client.get("/api/me", headers=device.headers).status_code == 200


def test_a_failing_model_while_streaming_ends_with_an_error_event(
    served: Served, device: Paired
) -> None:
    served.llm.enqueue(RuntimeError("the model fell over"))
    with (
        served.http() as client,
        client.stream(
            "POST", CHAT, json={**_user("Hello?"), "stream": True}, headers=device.headers
        ) as response,
    ):
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    events = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert "error" in events[-1] and events[-1]["error"]["message"]
