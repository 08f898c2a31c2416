"""The server's doors, tried against a real uvicorn on loopback: pairing and its limits,
tokens on every route, origins, path traversal, revocation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from os1.app import App
from os1.server.app import WEB_DIR, create_app
from os1.server.devices import Devices
from os1.server.hub import Hub
from os1.server.runner import ServerThread
from tests.conftest import MovableClock
from tests.server_support import (
    Paired,
    Served,
    open_socket,
    raw_http,
    run,
    socket_of,
)

pytestmark = pytest.mark.integration


def _wrong(code: str) -> str:
    """A code that differs from ``code`` in one place."""
    return ("2" if code[0] != "2" else "3") + code[1:]


# -- pairing ---------------------------------------------------------------------------


def test_pairing_trades_a_code_for_a_working_token(served: Served) -> None:
    code = served.new_code()
    with served.http() as client:
        response = client.post(
            "/api/pair", json={"code": f"{code[:4].lower()}-{code[4:]}", "name": "Pixel 8"}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token"].startswith("os1_")
        assert body["device"]["name"] == "Pixel 8" and body["device"]["id"].startswith("d_")
        me = client.get("/api/me", headers={"Authorization": f"Bearer {body['token']}"})
        assert me.status_code == 200
        assert me.json() == {
            "device": body["device"],
            "companion": "Iris",
            "user": "Theo",
        }
        again = client.post("/api/pair", json={"code": code, "name": "Second try"})
    assert again.status_code == 401
    assert again.json()["error"] == "bad_code"
    assert any("Pixel 8" in alert for alert in served.alerts)


def test_an_expired_code_is_refused(served: Served, clock: MovableClock) -> None:
    code = served.new_code()
    clock.advance(minutes=5, seconds=1)
    with served.http() as client:
        response = client.post("/api/pair", json={"code": code, "name": "Late"})
    assert response.status_code == 401
    assert response.json()["error"] == "bad_code"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"code": 12345678}', b'{"code": "ABCD2345", "name": 7}', b"\xff\xfe"],
)
def test_a_malformed_pairing_request_is_a_bad_request(served: Served, body: bytes) -> None:
    with served.http() as client:
        response = client.post(
            "/api/pair", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_a_huge_pairing_request_is_refused(served: Served) -> None:
    with served.http() as client:
        response = client.post("/api/pair", content=b'{"code": "' + b"A" * 200_000 + b'"}')
    assert response.status_code == 400


def test_wrong_codes_are_limited_per_address(served: Served) -> None:
    code = served.new_code()
    with served.http() as client:
        for _ in range(5):
            response = client.post("/api/pair", json={"code": _wrong(code), "name": "Guess"})
            assert response.status_code == 401
        limited = client.post("/api/pair", json={"code": _wrong(code), "name": "Guess"})
        assert limited.status_code == 429
        assert limited.json()["error"] == "rate_limited"
        assert 0 < int(limited.headers["Retry-After"]) <= 60
        # Even the right code waits: the address is limited, not the guess.
        right = client.post("/api/pair", json={"code": code, "name": "Mine"})
        assert right.status_code == 429
    # Another address is not held up, and the code was not spent by the guesses.
    with served.http(local_address="127.0.0.2") as other:
        response = other.post("/api/pair", json={"code": code, "name": "Mine"})
    assert response.status_code == 200, response.text


def test_brute_force_voids_every_outstanding_code(served: Served) -> None:
    codes = [served.new_code() for _ in range(3)]
    target = codes[0]
    statuses: list[int] = []
    for n in range(5):  # 4 guesses from each of 5 addresses: never rate limited, 20 in all
        with served.http(local_address=f"127.0.0.{10 + n}") as client:
            for _ in range(4):
                response = client.post("/api/pair", json={"code": _wrong(target), "name": "x"})
                statuses.append(response.status_code)
    assert statuses == [401] * 20
    assert any("voided" in alert and "3" in alert for alert in served.alerts), served.alerts
    with served.http(local_address="127.0.0.99") as client:
        for code in codes:
            response = client.post("/api/pair", json={"code": code, "name": "Too late"})
            assert response.status_code == 401
        fresh = client.post("/api/pair", json={"code": served.new_code(), "name": "New"})
    assert fresh.status_code == 200


# -- tokens on every route -----------------------------------------------------------------

PROTECTED: list[tuple[str, str, dict[str, object] | None]] = [
    ("GET", "/api/me", None),
    ("GET", "/api/messages", None),
    ("GET", "/api/messages?limit=5", None),
    ("GET", "/api/memory/search?q=hello", None),
    ("GET", "/api/memory/facts", None),
    ("DELETE", "/api/memory/m_anything", None),
    ("GET", "/api/settings", None),
    ("PATCH", "/api/settings", {"voice.rate": 1.5}),
    ("GET", "/api/devices", None),
    ("DELETE", "/api/devices/d_anything", None),
    ("GET", "/api/no-such-route", None),
    ("GET", "/v1/models", None),
    ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}]}),
    ("GET", "/v1/no-such-route", None),
]


def _request(
    client: httpx.Client, method: str, path: str, body: object, headers: dict[str, str]
) -> httpx.Response:
    return client.request(method, path, json=body, headers=headers)


def test_every_protected_route_needs_a_valid_token(served: Served, device: Paired) -> None:
    other = served.pair("Old phone")
    with served.http() as client:
        revoked = client.delete(f"/api/devices/{other.id}", headers=device.headers)
        assert revoked.status_code == 200
        bad_headers: list[dict[str, str]] = [
            {},
            {"Authorization": "Bearer"},
            {"Authorization": "Bearer os1_wrong"},
            {"Authorization": f"Bearer {device.token}x"},
            {"Authorization": f"Basic {device.token}"},
            {"Authorization": device.token},
            {"Authorization": f"Bearer {other.token}"},  # revoked
            {"X-Token": device.token},
        ]
        for method, path, body in PROTECTED:
            for headers in bad_headers:
                response = _request(client, method, path, body, headers)
                assert response.status_code == 401, (method, path, headers, response.text)
                assert response.json()["error"] == "unauthorized"
                assert response.headers["www-authenticate"].startswith("Bearer")
        # Nothing was changed by the refused calls.
        assert client.get("/api/me", headers=device.headers).status_code == 200
        assert served.app.settings.voice.rate == 1.0
        ok = client.get("/api/devices", headers=device.headers)
    assert [d["id"] for d in ok.json()["devices"]] == [device.id]


def test_the_bearer_scheme_is_case_insensitive(served: Served, device: Paired) -> None:
    with served.http() as client:
        response = client.get("/api/me", headers={"Authorization": f"bearer {device.token}"})
    assert response.status_code == 200


def test_the_app_shell_is_public_and_holds_no_data(served: Served) -> None:
    if not (WEB_DIR / "index.html").exists():
        pytest.skip("the web app is not there yet")
    with served.http() as client:
        page = client.get("/")
        script = client.get("/app.js")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert page.content == (WEB_DIR / "index.html").read_bytes()
    assert script.status_code == 200
    for response in (page, script):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["referrer-policy"] == "no-referrer"
    assert "Theo" not in page.text and "Iris" not in page.text


def test_responses_carry_the_security_headers(served: Served, device: Paired) -> None:
    with served.http() as client:
        for response in (
            client.get("/api/me", headers=device.headers),
            client.get("/api/me"),
            client.get("/nothing-here"),
        ):
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["x-content-type-options"] == "nosniff"
            assert "content-security-policy" in response.headers


# -- origins ------------------------------------------------------------------------------


def test_a_socket_from_another_site_is_refused(served: Served, device: Paired) -> None:
    async def scenario() -> None:
        for origin in (
            "http://evil.example",
            "null",
            f"{served.url}.evil.example",
            served.url.replace("http://", "https://"),
            served.url.rsplit(":", 1)[0] + ":1",
        ):
            with pytest.raises(InvalidStatus) as refused:
                await open_socket(served, device.token, origin=origin)
            assert refused.value.response.status_code == 403, origin

    run(scenario)


def test_sockets_from_our_own_page_or_without_origin_are_accepted(
    served: Served, device: Paired
) -> None:
    async def scenario() -> None:
        async with socket_of(served, device, origin=served.origin) as same:
            assert same.welcome["device"]["id"] == device.id
        async with socket_of(served, device, origin=served.origin.upper()) as shouting:
            assert shouting.welcome["companion"] == "Iris"
        async with socket_of(served, device) as script:
            await script.ping()

    run(scenario)


def test_cross_origin_http_requests_are_refused(served: Served, device: Paired) -> None:
    code = served.new_code()
    prompts = len(served.llm.prompts)
    evil = {"Origin": "http://evil.example"}
    with served.http() as client:
        pair = client.post("/api/pair", json={"code": code, "name": "Evil"}, headers=evil)
        assert pair.status_code == 403
        assert pair.json()["error"] == "forbidden_origin"
        me = client.get("/api/me", headers={**device.headers, **evil})
        assert me.status_code == 403
        chat = client.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "Hi"}]},
            headers={**device.headers, **evil},
        )
        assert chat.status_code == 403
        # The refused pairing did not spend the code; our own page may use it.
        mine = client.post(
            "/api/pair", json={"code": code, "name": "Mine"}, headers={"Origin": served.origin}
        )
    assert mine.status_code == 200
    assert len(served.llm.prompts) == prompts  # no turn was taken for the other site


# -- path traversal ---------------------------------------------------------------------------

TRAVERSALS = [
    "/../app.py",
    "/../../../../../../etc/passwd",
    "/%2e%2e/app.py",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/..%2fapp.py",
    "/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/%2e%2e%2fapp.py",
    "/..%5capp.py",
    "/..\\app.py",
    "/%5c..%5c..%5capp.py",
    "/static/../../app.py",
    "/static/../../etc/passwd",
    "/index.html/../../app.py",
    "//etc/passwd",
    "///etc/passwd",
    "/%2fetc%2fpasswd",
    "/etc/passwd",
    "/./../app.py",
    "/.%2e/app.py",
    "/%252e%252e/app.py",
    "/..%00/app.py",
    "/index.html%00.js",
    "/..;/app.py",
    "/%c0%ae%c0%ae/app.py",
    "/....//app.py",
    "/web/../app.py",
    "/ws/../app.py",
    "/api/../app.py",
    "/v1/../../etc/passwd",
    "http://127.0.0.1/../app.py",
    "/proc/self/environ",
    "/../../../../proc/self/environ",
]


def _inside_web_dir(body: bytes) -> bool:
    return any(body == path.read_bytes() for path in WEB_DIR.rglob("*") if path.is_file())


def test_no_file_outside_the_web_app_is_ever_served(served: Served) -> None:
    host = served.url.removeprefix("http://")
    outside = [
        Path("/etc/passwd"),
        WEB_DIR.parent / "app.py",
        WEB_DIR.parent.parent.parent.parent / "pyproject.toml",
    ]
    samples = [path.read_bytes()[:200] for path in outside if path.exists()]
    for target in TRAVERSALS:
        request = f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        status, body = raw_http(served.url, request.encode())
        shown = (target, status, body[:200])
        assert not any(sample in body for sample in samples), shown
        assert b"root:" not in body and b"OS1_HOME" not in body, shown
        assert status in (400, 401, 403, 404, 405, 307) or (
            status == 200 and _inside_web_dir(body)
        ), shown


def test_traversal_with_a_token_is_no_different(served: Served, device: Paired) -> None:
    host = served.url.removeprefix("http://")
    for target in ("/api/../../app.py", "/v1/%2e%2e/%2e%2e/app.py", "/api/..%2f..%2fapp.py"):
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {device.token}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        status, body = raw_http(served.url, request)
        assert b"create_app" not in body and status != 200, (target, status)


# -- revocation ---------------------------------------------------------------------------------


def test_revoking_over_the_api_closes_the_devices_socket(served: Served, device: Paired) -> None:
    other = served.pair("Laptop")

    async def scenario() -> None:
        async with socket_of(served, other) as laptop, socket_of(served, device) as phone:
            async with httpx.AsyncClient(base_url=served.url) as client:
                response = await client.delete(f"/api/devices/{other.id}", headers=device.headers)
                assert response.status_code == 200
                assert response.json()["revoked"]["id"] == other.id
                assert response.json()["revoked"]["revoked_at"] is not None
                assert await laptop.closed() == 4401
                await phone.ping()  # the other device is untouched
                again = await client.delete(f"/api/devices/{other.id}", headers=device.headers)
                assert again.status_code == 404
                assert (await client.get("/api/me", headers=other.headers)).status_code == 401
            with pytest.raises(ConnectionClosed) as refused:  # nor opens a socket
                await open_socket(served, other.token)
            assert refused.value.rcvd is not None and refused.value.rcvd.code == 4401

    run(scenario)


def test_a_revoked_token_cannot_open_a_socket(served: Served, device: Paired) -> None:
    Devices(served.second_db()).revoke(device.id)

    async def scenario() -> None:
        sock = await open_socket(served, device.token, hello=False)
        await sock.send({"type": "hello", "protocol": 1, "token": device.token})
        assert await sock.closed() == 4401
        assert not any(m["type"] == "welcome" for m in sock.seen)

    run(scenario)


def test_revoking_in_another_process_closes_the_socket_soon(served: Served, device: Paired) -> None:
    other = served.pair("Laptop")

    async def scenario() -> None:
        async with socket_of(served, other) as laptop, socket_of(served, device) as phone:
            elsewhere = Devices(served.second_db())
            await asyncio.to_thread(elsewhere.revoke, device.id)
            assert await phone.closed(within=3.0) == 4401
            await laptop.ping()

    run(scenario)


def test_a_device_may_revoke_itself(served: Served, device: Paired) -> None:
    with served.http() as client:
        response = client.delete(f"/api/devices/{device.id}", headers=device.headers)
        assert response.status_code == 200
        assert client.get("/api/me", headers=device.headers).status_code == 401


def test_siblings_and_symlinks_of_the_web_dir_stay_private(onboarded: App, tmp_path: Path) -> None:
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<!doctype html><title>shell</title>")
    (tmp_path / "web-private").mkdir()
    (tmp_path / "web-private" / "secret.txt").write_text("SIBLING-SECRET")
    (tmp_path / "web.secret").write_text("PREFIX-SECRET")
    (tmp_path / "outside.txt").write_text("OUTSIDE-SECRET")
    (web / "link.txt").symlink_to(tmp_path / "outside.txt")
    (web / "linked-dir").symlink_to(tmp_path / "web-private", target_is_directory=True)
    app = create_app(Hub(onboarded), web_dir=web)
    with ServerThread(app).running() as server:
        host = server.url.removeprefix("http://")
        for target in (
            "/../web-private/secret.txt",
            "/%2e%2e/web-private/secret.txt",
            "/..%2fweb-private%2fsecret.txt",
            "/../web.secret",
            "/%2e%2e/web.secret",
            "/../outside.txt",
            "/link.txt",
            "/linked-dir/secret.txt",
            "/linked-dir/../../outside.txt",
        ):
            request = f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            status, body = raw_http(server.url, request.encode())
            assert b"SECRET" not in body, (target, status)
            assert status in (400, 403, 404), (target, status)
        status, body = raw_http(
            server.url, f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
        )
        assert status == 200 and b"shell" in body
