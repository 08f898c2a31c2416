"""The server against a real uvicorn on loopback with the fake model: the WebSocket
protocol (and every way to get it wrong), and one conversation shared by every device."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import httpx
import pytest

from os1.server import connection
from os1.store.conversations import Conversations
from tests.conftest import MovableClock
from tests.server_support import (
    Paired,
    RawSocket,
    Served,
    open_socket,
    run,
    socket_of,
)

pytestmark = pytest.mark.integration

LONG_REPLY = " ".join(f"word{n}." if n % 9 == 8 else f"word{n}" for n in range(40))


def _stored(served: Served, message_id: str) -> dict[str, object] | None:
    rows = served.second_db().query(
        "SELECT text, status, role, meta FROM messages WHERE id = ?", (message_id,)
    )
    return dict(rows[0]) if rows else None


# -- opening ---------------------------------------------------------------------------


def test_the_welcome_tells_the_device_everything_it_needs(served: Served, device: Paired) -> None:
    async def scenario() -> None:
        async with socket_of(served, device) as phone:
            welcome = phone.welcome
            assert welcome["protocol"] == 1
            assert welcome["device"] == {"id": device.id, "name": "Pixel 8"}
            assert (welcome["companion"], welcome["user"]) == ("Iris", "Theo")
            assert welcome["model"] == "fake"
            assert welcome["presence"] == "idle"
            assert welcome["voice"] == {"input_rate": 16000, "input_format": "pcm_s16le"}
            [greeting] = welcome["messages"]
            assert greeting["role"] == "companion" and greeting["speaker"] == "Iris"
            assert greeting["text"].startswith("Hi Theo. I've chosen a name for myself: Iris.")
            assert set(greeting) == {
                "id", "role", "speaker", "text", "created_at", "status", "via", "device", "kind",
            }  # fmt: skip

    run(scenario)


def test_no_hello_in_time_closes_the_socket(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "HELLO_TIMEOUT_S", 0.3)

    async def scenario() -> None:
        sock = await open_socket(served, None, hello=False)
        assert await sock.closed(within=5) == 4408
        assert sock.seen == []

    run(scenario)


@pytest.mark.parametrize(
    "first",
    [
        {"type": "ping"},
        {"type": "send", "text": "let me in"},
        "not json",
        "[]",
        {"type": "hello", "protocol": 1},
        {"type": "hello", "protocol": "1", "token": "os1_x"},
        b"\x00\x01",
    ],
)
def test_the_first_message_must_be_hello(served: Served, first: object) -> None:
    async def scenario() -> None:
        sock = await open_socket(served, None, hello=False)
        await sock.send(first)  # type: ignore[arg-type]
        assert await sock.closed() == 4401
        assert not any(m["type"] == "welcome" for m in sock.seen)

    run(scenario)


@pytest.mark.parametrize(
    ("hello", "code"),
    [
        ({"type": "hello", "protocol": 1, "token": "os1_not-a-token"}, 4401),
        ({"type": "hello", "protocol": 1, "token": ""}, 4401),
        ({"type": "hello", "protocol": 1, "token": "os1_" + "a" * 10_000}, 4401),
        ({"type": "hello", "protocol": 2, "token": "GOOD"}, 4426),
        ({"type": "hello", "protocol": 0, "token": "GOOD"}, 4426),
        ({"type": "hello", "protocol": -1, "token": "os1_wrong"}, 4426),
    ],
)
def test_a_bad_hello_is_refused(
    served: Served, device: Paired, hello: dict[str, object], code: int
) -> None:
    if hello["token"] == "GOOD":
        hello = {**hello, "token": device.token}

    async def scenario() -> None:
        sock = await open_socket(served, None, hello=False)
        await sock.send(hello)
        assert await sock.closed() == code
        assert not any(m["type"] == "welcome" for m in sock.seen)

    run(scenario)


# -- what a device may get wrong, and the socket stays open ------------------------------------


def test_malformed_messages_get_errors_and_the_socket_stays_open(
    served: Served, device: Paired
) -> None:
    async def scenario() -> None:
        async with socket_of(served, device) as phone:
            await phone.send("{not json")
            error = await phone.expect("error")
            assert error["code"] == "bad_json" and error["message"]
            await phone.ping("after-json")
            for bad, ref in [
                ("[1, 2]", None),
                ('"send"', None),
                ("17", None),
                ('{"text": "no type"}', None),
                ('{"type": "launch"}', None),
                ('{"type": "send", "ref": "r1"}', "r1"),
                ('{"type": "send", "text": 5, "ref": "r2"}', "r2"),
                ('{"type": "send", "text": null}', None),
            ]:
                await phone.send(bad)
                error = await phone.expect("error")
                assert error["code"] == "bad_message", bad
                assert error.get("ref") == ref, bad
            await phone.send({"type": "hello", "protocol": 1, "token": device.token})
            assert (await phone.expect("error"))["code"] == "out_of_order"
            await phone.send({"type": "ping", "ref": "still-here"})
            assert (await phone.expect("pong"))["ref"] == "still-here"
            await phone.send({"type": "ping"})
            assert "ref" not in await phone.expect("pong")

    run(scenario)


def test_a_number_too_long_to_read_is_bad_json_not_a_crash(served: Served, device: Paired) -> None:
    async def scenario() -> None:
        async with socket_of(served, device) as phone:
            await phone.send('{"type": "ping", "ref": ' + "7" * 5000 + "}")
            assert (await phone.expect("error"))["code"] == "bad_json"
            await phone.ping()

    run(scenario)


def test_empty_and_too_long_messages_are_refused(served: Served, device: Paired) -> None:
    async def scenario() -> None:
        async with socket_of(served, device) as phone:
            await phone.send({"type": "send", "text": "   ", "ref": "e"})
            error = await phone.expect("error")
            assert (error["code"], error["ref"]) == ("empty", "e")
            await phone.send({"type": "send", "text": "x" * 9000, "ref": "l"})
            error = await phone.expect("error")
            assert (error["code"], error["ref"]) == ("too_long", "l")
            await phone.ping()
            assert not any(m["type"] == "message" for m in phone.seen)

    run(scenario)


def test_a_text_frame_over_64_kib_closes_the_socket(served: Served, device: Paired) -> None:
    async def scenario() -> None:
        async with socket_of(served, device) as phone:
            padding = 64 * 1024 - len(json.dumps({"type": "ping", "ref": "edge", "pad": ""}))
            await phone.send({"type": "ping", "ref": "edge", "pad": "x" * padding})
            await phone.expect("pong", ref="edge")  # exactly 64 KiB is allowed
            await phone.send({"type": "ping", "pad": "x" * (64 * 1024)})
            assert await phone.closed() == 1009

    run(scenario)


def test_a_text_frame_over_64_kib_in_bytes_closes_the_socket(
    served: Served, device: Paired
) -> None:
    async def scenario() -> None:
        async with socket_of(served, device) as phone:
            await phone.send({"type": "ping", "pad": "é" * 40_000})  # 80,000 bytes
            assert await phone.closed() == 1009

    run(scenario)


def test_a_binary_frame_over_64_kib_closes_the_socket(served: Served, device: Paired) -> None:
    async def scenario() -> None:
        async with socket_of(served, device) as phone:
            await phone.send(b"\x00" * (64 * 1024 + 2))
            assert await phone.closed() == 1009

    run(scenario)


def test_audio_before_voice_start_is_out_of_order(served: Served, device: Paired) -> None:
    async def scenario() -> None:
        async with socket_of(served, device) as phone:
            await phone.send(b"\x00\x00" * 320)
            error = await phone.expect("error")
            assert error["code"] == "out_of_order"
            await phone.ping()

    run(scenario)


def test_voice_needs_16_khz_pcm(served: Served, device: Paired) -> None:
    async def scenario() -> None:
        async with socket_of(served, device) as phone:
            await phone.send(
                {"type": "voice.start", "sample_rate": 44100, "format": "pcm_s16le", "ref": "v"}
            )
            error = await phone.expect("error")
            assert (error["code"], error["ref"]) == ("bad_audio", "v")
            assert "16000" in error["message"]
            await phone.send({"type": "voice.start", "sample_rate": 16000, "format": "f32le"})
            assert (await phone.expect("error"))["code"] == "bad_audio"
            await phone.ping()
            assert served.voice_loads == []  # nothing was started

    run(scenario)


def test_voice_on_and_off_with_odd_length_audio(served: Served, device: Paired) -> None:
    other = served.pair("Laptop")

    async def scenario() -> None:
        async with socket_of(served, device) as phone, socket_of(served, other) as laptop:
            await phone.send({"type": "voice.start", "sample_rate": 16000, "format": "pcm_s16le"})
            ready = await phone.expect("voice.ready")
            assert ready["output_rate"] == served.tts.sample_rate
            assert ready["output_format"] == "pcm_s16le" and ready["voice"] == "fake"
            await laptop.expect("presence", state="listening")
            await phone.send(b"\x00\x00" * 320)  # 20 ms of silence: fine
            await phone.send(b"\x00" * 641)  # half a sample too many
            error = await phone.expect("error")
            assert error["code"] == "bad_audio"
            await phone.ping()
            # Audio from a device that does not have voice on is out of order.
            await laptop.send(b"\x00\x00" * 320)
            assert (await laptop.expect("error"))["code"] == "out_of_order"
            await phone.send({"type": "voice.stop"})
            ended = await phone.expect("voice.ended")
            assert ended["reason"]
            await laptop.expect("presence", state="idle")
            await phone.send(b"\x00\x00" * 320)  # late audio is harmless
            await phone.ping()
            assert served.hub.voice is None

    run(scenario)


def test_voice_moves_to_the_device_that_asks_last(served: Served, device: Paired) -> None:
    other = served.pair("Laptop")

    async def scenario() -> None:
        async with socket_of(served, device) as phone, socket_of(served, other) as laptop:
            await phone.send({"type": "voice.start"})
            await phone.expect("voice.ready")
            await laptop.send({"type": "voice.start"})
            await laptop.expect("voice.ready")
            ended = await phone.expect("voice.ended")
            assert "Laptop" in ended["reason"]
            await phone.send(b"\x00\x00" * 320)
            assert (await phone.expect("error"))["code"] == "out_of_order"

    run(scenario)


# -- floods and stalls ----------------------------------------------------------------------


def test_a_flooding_device_is_closed_and_the_others_carry_on(
    served: Served, device: Paired
) -> None:
    other = served.pair("Laptop")

    async def scenario() -> None:
        async with socket_of(served, device) as flood, socket_of(served, other) as calm:
            for n in range(90):  # a burst of up to 100 is fine
                await flood.send({"type": "ping", "ref": str(n)})
            for n in range(90):
                await flood.expect("pong", ref=str(n))
            for n in range(150):  # more than 50 a second is not
                await flood.send({"type": "ping", "ref": f"again {n}"})
            assert await flood.closed() == 1008
            await calm.ping()
            await calm.send({"type": "send", "text": "Are you still there?"})
            text, done = await calm.reply()
            assert done["status"] == "complete" and text

    run(scenario)


def _stall(served: Served, device: Paired, monkeypatch: pytest.MonkeyPatch) -> RawSocket:
    """A device that says hello and then never reads, while another process writes so
    much that its messages back up; another device reads every one meanwhile."""
    # Fewer waiting messages than 1,000 make a device count as stalled (but more than one
    # look at the store can announce: 100), so that fewer MB of messages are enough.
    monkeypatch.setattr(connection, "OUTBOX", 150)
    monkeypatch.setattr(connection, "CLOSE_TIMEOUT_S", 1.0)
    served.hub.sync_every_s = 0.1
    other = served.pair("Laptop")
    # Small batches, so that the device's messages back up because it does not read,
    # not because one look at the store found more than its outbox holds.
    batches, per_batch, size = 16, 20, 60_000  # 19 MB in all

    stalled = RawSocket.open(served, receive_buffer=4096)  # a tiny network buffer, too
    stalled.send_text(json.dumps({"type": "hello", "protocol": 1, "token": device.token}))
    conversations = Conversations(served.second_db())
    conversation = conversations.start()

    def write(batch: int) -> None:
        for n in range(per_batch):
            text = f"{batch:02d}-{n:03d} " + "z" * size
            conversations.add(conversation, "user", "Theo", text)

    async def scenario() -> None:
        async with socket_of(served, other) as reader:
            for batch in range(batches):
                await asyncio.to_thread(write, batch)
                for n in range(per_batch):  # the reader gets every one, in order
                    message = await reader.expect("message", within=10)
                    assert message["message"]["text"].startswith(f"{batch:02d}-{n:03d} ")
            await reader.ping()
            await reader.send({"type": "send", "text": "Still talking to me?"})
            _, done = await reader.reply()
            assert done["status"] == "complete"

    run(scenario)
    return stalled


def test_a_device_that_stops_reading_does_not_hold_up_the_others(
    served: Served, device: Paired, monkeypatch: pytest.MonkeyPatch
) -> None:
    stalled = _stall(served, device, monkeypatch)
    # Nothing more was sent to it once it had fallen behind: reading now, it finds far
    # fewer than the 320 messages (and then, at best, the end of its connection).
    texts: list[str] = []
    with contextlib.suppress(AssertionError):
        stalled.read_until_closed(timeout=1, texts=texts)
    stalled.close()
    assert json.loads(texts[0])["type"] == "welcome"
    assert 1 < len(texts) < 300, len(texts)


def test_a_device_that_stops_reading_is_disconnected(
    served: Served, device: Paired, monkeypatch: pytest.MonkeyPatch
) -> None:
    stalled = _stall(served, device, monkeypatch)
    time.sleep(connection.CLOSE_TIMEOUT_S + 0.5)  # still not reading when closing gives up
    try:
        # Reading now, it finds its connection ended (a 1008 close, or at least the end
        # of the stream), not left open until a keep-alive ping times out.
        _, code = stalled.read_until_closed(timeout=2)
    finally:
        stalled.close()
    assert code in (1008, None), code


# -- one conversation across devices ----------------------------------------------------------


def test_a_message_on_one_device_appears_on_all_and_the_reply_streams_to_both(
    served: Served, device: Paired
) -> None:
    other = served.pair("Laptop")
    served.llm.enqueue("Good morning, Theo. How did you sleep?")

    async def scenario() -> None:
        async with socket_of(served, device) as phone, socket_of(served, other) as laptop:
            await phone.send({"type": "send", "text": "Good morning!", "ref": "m1"})
            for sock in (phone, laptop):
                shown = await sock.expect("message")
                message = shown["message"]
                assert (message["text"], message["role"]) == ("Good morning!", "user")
                assert (message["via"], message["device"]) == ("text", "Pixel 8")
                assert message["speaker"] == "Theo" and message["status"] == "complete"
            replies = [await phone.reply(), await laptop.reply()]
            for text, done in replies:
                assert text == "Good morning, Theo. How did you sleep?"
                assert done["status"] == "complete"
                assert done["message"]["text"] == text
                assert done["message"]["role"] == "companion"
                assert set(done["timings"]) >= {"first_token_ms", "total_ms", "tokens"}
            assert replies[0][1]["turn"] == replies[1][1]["turn"]
            # The typed message came inside the start of its reply, in one frame.
            start = next(m for m in laptop.seen if m["type"] == "reply.start")
            assert start["reply_to"] == start["message"]["id"]
            # The companion's presence rides on the reply's own events.
            states = [m.get("presence") for m in laptop.seen if m["type"].startswith("reply.")]
            assert [s for s in states if s] == ["thinking", "speaking", "idle"]
            # Stored once, as every device saw it; no device got it twice.
            assert _stored(served, replies[0][1]["message"]["id"]) is not None
            for sock in (phone, laptop):
                await sock.ping()
                kinds = [m["type"] for m in sock.seen]
                assert kinds.count("message") == 0 and kinds.count("reply.start") == 1
                assert kinds.count("reply.done") == 1

    run(scenario)


def test_the_welcome_brings_recent_history_oldest_first(served: Served, device: Paired) -> None:
    db = served.second_db()
    conversations = Conversations(db)
    conversation = conversations.start()
    made = [
        conversations.add(conversation, "user", "Theo", f"note {n}", meta={"via": "text"})
        for n in range(60)
    ]

    async def scenario() -> None:
        async with socket_of(served, device) as phone:
            history = phone.welcome["messages"]
            assert [m["id"] for m in history] == [m.id for m in made[-50:]]
            await phone.send({"type": "send", "text": "And one more."})
            _, done = await phone.reply()
        async with socket_of(served, device) as again:
            texts = [m["text"] for m in again.welcome["messages"]]
            assert len(texts) == 50
            assert texts[-2:] == ["And one more.", done["message"]["text"]]

    run(scenario)
    with served.http() as client:
        page = client.get("/api/messages?limit=5", headers=device.headers).json()["messages"]
        earlier = client.get(
            f"/api/messages?limit=3&before={page[0]['id']}", headers=device.headers
        ).json()["messages"]
        bad = client.get("/api/messages?limit=lots", headers=device.headers)
    assert [m["text"] for m in page][:3] == ["note 57", "note 58", "note 59"]
    assert [m["text"] for m in earlier] == ["note 54", "note 55", "note 56"]
    assert bad.status_code == 400


def test_changes_made_by_another_process_reach_every_device(served: Served, device: Paired) -> None:
    other = served.pair("Laptop")
    db = served.second_db()
    conversations = Conversations(db)

    async def scenario() -> None:
        async with socket_of(served, device) as phone, socket_of(served, other) as laptop:
            conversation = await asyncio.to_thread(conversations.start)
            typed = await asyncio.to_thread(
                conversations.add, conversation, "user", "Theo", "Typed in the terminal."
            )
            for sock in (phone, laptop):
                shown = await sock.expect("message", within=5)
                assert shown["message"]["id"] == typed.id
                assert shown["message"]["via"] == "terminal"
            with db.transaction() as conn:
                conn.execute(
                    "UPDATE messages SET text = 'Typed.', status = 'interrupted' WHERE id = ?",
                    (typed.id,),
                )
            updated = await phone.expect("message.updated", within=5)
            assert updated["message"]["text"] == "Typed."
            assert updated["message"]["status"] == "interrupted"
            with db.transaction() as conn:
                conn.execute("DELETE FROM messages WHERE id = ?", (typed.id,))
            assert (await laptop.expect("message.removed", within=5))["id"] == typed.id
            await phone.expect("message.removed", within=5, id=typed.id)

    run(scenario)


def test_forgetting_the_first_message_is_seen_by_every_device(
    served: Served, device: Paired
) -> None:
    async def scenario() -> None:
        async with socket_of(served, device) as phone:
            [greeting] = phone.welcome["messages"]
            async with httpx.AsyncClient(base_url=served.url) as client:
                response = await client.delete(
                    f"/api/memory/{greeting['id']}", headers=device.headers
                )
                assert response.status_code == 200
            await phone.expect("message.removed", id=greeting["id"])

    run(scenario)


def test_os1_ask_in_another_process_shows_up_on_devices(served: Served, device: Paired) -> None:
    from tests.helpers import run_os1

    async def scenario() -> None:
        async with socket_of(served, device) as phone:
            done = await asyncio.to_thread(
                run_os1, "--model", "fake", "ask", "Hello from the terminal", home=served.app.home
            )
            assert done.returncode == 0, done.stderr
            asked = await phone.expect("message", within=10)
            assert asked["message"]["text"] == "Hello from the terminal"
            answered = await phone.expect("message", within=10)
            assert answered["message"]["role"] == "companion"
            assert answered["message"]["text"] in done.stdout

    run(scenario)


def test_stop_interrupts_a_slow_reply(served: Served, device: Paired) -> None:
    served.llm.delay = 0.05
    served.llm.enqueue(LONG_REPLY)

    async def scenario() -> None:
        async with socket_of(served, device) as phone:
            await phone.send({"type": "send", "text": "Tell me a long story."})
            await phone.expect("reply.delta")
            await phone.send({"type": "stop"})
            done = await phone.expect("reply.done")
            assert done["status"] == "interrupted"
            written = done["message"]["text"]
            assert done["message"]["status"] == "interrupted"
            assert written and LONG_REPLY.startswith(written.rstrip(".…"))
            assert len(written) < len(LONG_REPLY)
            stored = _stored(served, done["message"]["id"])
            assert stored is not None
            assert stored["status"] == "interrupted" and stored["text"] == written
            await phone.send({"type": "stop"})  # nothing to stop: harmless
            await phone.ping()
            served.llm.delay = 0.0
            await phone.send({"type": "send", "text": "Never mind."})
            _, after = await phone.reply()
            assert after["status"] == "complete"

    run(scenario)


def test_a_reply_goes_on_when_the_asking_device_disconnects(served: Served, device: Paired) -> None:
    other = served.pair("Laptop")
    served.llm.delay = 0.03
    served.llm.enqueue(LONG_REPLY)

    async def scenario() -> None:
        async with socket_of(served, other) as laptop:
            phone = await open_socket(served, device.token)
            await phone.send({"type": "send", "text": "Tell me a long story."})
            await phone.expect("reply.delta")
            phone.ws.transport.abort()  # gone, without a goodbye
            text, done = await laptop.reply(within=10)
            assert done["status"] == "complete" and text == done["message"]["text"]
            stored = _stored(served, done["message"]["id"])
            assert stored is not None and stored["status"] == "complete"
            assert stored["text"] == done["message"]["text"]
            served.llm.delay = 0.0
            await laptop.send({"type": "send", "text": "Still here?"})
            _, after = await laptop.reply()
            assert after["status"] == "complete"
        async with socket_of(served, device) as back:
            texts = [m["text"] for m in back.welcome["messages"]]
            assert "Tell me a long story." in texts and done["message"]["text"] in texts

    run(scenario)


def test_a_device_may_not_queue_many_messages(served: Served, device: Paired) -> None:
    served.llm.delay = 0.02

    async def scenario() -> None:
        async with socket_of(served, device) as phone:
            for n in range(5):
                await phone.send({"type": "send", "text": f"Message {n}", "ref": f"r{n}"})
            busy = await phone.expect("error", within=2)
            assert busy["code"] == "busy"
            for _ in range(3):
                await phone.expect("reply.done", within=15)
            served.llm.delay = 0.0
            await phone.ping()

    run(scenario)


def test_a_failing_model_ends_the_turn_as_failed(served: Served, device: Paired) -> None:
    served.llm.enqueue(RuntimeError("the model fell over"))

    async def scenario() -> None:
        async with socket_of(served, device) as phone:
            await phone.send({"type": "send", "text": "Hello?", "ref": "f"})
            done = await phone.expect("reply.done")
            assert done["status"] == "failed" and done["error"]
            error = await phone.expect("error")
            assert (error["code"], error["ref"]) == ("failed", "f")
            assert done["presence"] == "idle"  # the companion is free again
            await phone.send({"type": "send", "text": "Better now?"})
            _, after = await phone.reply()
            assert after["status"] == "complete"

    run(scenario)


def test_a_new_conversation_starts_after_a_long_pause(
    served: Served, device: Paired, clock: MovableClock
) -> None:
    async def scenario() -> None:
        async with socket_of(served, device) as phone:
            await phone.send({"type": "send", "text": "First"})
            _, first = await phone.reply()
            clock.advance(hours=30)
            await phone.send({"type": "send", "text": "Second"})
            _, second = await phone.reply()
            rows = served.second_db().query(
                "SELECT id, conversation_id FROM messages WHERE id IN (?, ?)",
                (first["message"]["id"], second["message"]["id"]),
            )
            assert len({row["conversation_id"] for row in rows}) == 2
            assert second["message"]["created_at"] > first["message"]["created_at"]

    run(scenario)


def test_devices_talking_at_once_take_turns(served: Served, device: Paired) -> None:
    other = served.pair("Laptop")
    served.llm.delay = 0.01

    async def scenario() -> None:
        async with socket_of(served, device) as phone, socket_of(served, other) as laptop:
            await asyncio.gather(
                phone.send({"type": "send", "text": "From the phone"}),
                laptop.send({"type": "send", "text": "From the laptop"}),
            )
            dones = [await phone.expect("reply.done", within=10) for _ in range(2)]
            assert [d["status"] for d in dones] == ["complete", "complete"]
            # One reply at a time: no delta of one turn inside the other.
            turns = [m["turn"] for m in phone.seen if m["type"] in ("reply.start", "reply.delta")]
            first = turns[0]
            switched = turns.index(next(t for t in turns if t != first))
            assert all(t == first for t in turns[:switched])
            assert all(t != first for t in turns[switched:])
            rows = served.second_db().query(
                "SELECT role, text FROM messages ORDER BY seq DESC LIMIT 4"
            )
            roles = [row["role"] for row in reversed(rows)]
            assert roles == ["user", "companion", "user", "companion"]

    run(scenario)
