"""The server's parts on their own: devices and codes, rate limits, the protocol parser
and the message feed (no network)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from os1.app import App
from os1.server import protocol
from os1.server.devices import (
    CODE_ALPHABET,
    CODE_LENGTH,
    TOKEN_PREFIX,
    Devices,
    clean_name,
    normalize_code,
    show_code,
)
from os1.server.events import ErrorEvent, MessageShown
from os1.server.feed import MessageFeed
from os1.server.limits import (
    GLOBAL_ATTEMPTS,
    PER_CLIENT_ATTEMPTS,
    PER_CLIENT_WINDOW_S,
    PairingGuard,
    TokenBucket,
)
from os1.server.protocol import (
    Hello,
    Ping,
    ProtocolError,
    Send,
    Stop,
    VoiceStart,
    VoiceStop,
    parse,
)
from os1.store.conversations import Conversations
from os1.store.db import Database
from tests.conftest import MovableClock


class Tick:
    """A monotonic clock for the limits, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(home: Path) -> Database:
    return Database.in_home(home)


@pytest.fixture
def devices(db: Database, clock: MovableClock) -> Devices:
    return Devices(db, clock)


# -- pairing codes ------------------------------------------------------------------


def test_a_new_code_is_eight_characters_of_the_alphabet(devices: Devices) -> None:
    codes = {devices.new_code() for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        assert len(code) == CODE_LENGTH
        assert set(code) <= set(CODE_ALPHABET)
    assert len(CODE_ALPHABET) == 32
    assert not set("ILOU") & set(CODE_ALPHABET)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("k7qd-2mxa", "K7QD2MXA"),
        ("K7QD2MXA", "K7QD2MXA"),
        (" k7qd 2mxa ", "K7QD2MXA"),
        ("k7qd\t2mxa", "K7QD2MXA"),
        ("O0OO-1111", "00001111"),
        ("iIlL-oOo0", "11110000"),
        ("k7qd2mx", None),
        ("k7qd2mxaa", None),
        ("K7QD-2MXU", None),  # U is not in the alphabet
        ("K7QD-2MX!", None),
        ("", None),
        ("--------", None),
        ("K7QD_2MXA", None),
        ("Ｋ7QD2MXA", None),  # full-width letters are not the same code
    ],
)
def test_codes_are_read_as_people_type_them(typed: str, expected: str | None) -> None:
    assert normalize_code(typed) == expected


def test_show_code_splits_it_in_two() -> None:
    assert show_code("K7QD2MXA") == "K7QD-2MXA"


def test_a_code_pairs_a_device_once(devices: Devices) -> None:
    code = devices.new_code()
    paired = devices.pair(code, "Pixel 8")
    assert paired is not None
    device, token = paired
    assert device.name == "Pixel 8" and device.id.startswith("d_")
    assert token.startswith(TOKEN_PREFIX) and len(token) > 40
    assert devices.authenticate(token) == devices.get(device.id)
    assert devices.pair(code, "Someone else") is None
    assert [d.id for d in devices.list()] == [device.id]


def test_codes_are_accepted_as_people_type_them(devices: Devices) -> None:
    code = devices.new_code()
    typed = f"{code[:4].lower()}-{code[4:].lower()}".replace("0", "o").replace("1", "l")
    assert devices.pair(typed, "Laptop") is not None


def test_a_wrong_code_pairs_nothing(devices: Devices) -> None:
    code = devices.new_code()
    wrong = ("1" if code[0] != "1" else "2") + code[1:]
    assert devices.pair(wrong, "Intruder") is None
    assert devices.pair("not a code", "Intruder") is None
    assert devices.list() == []
    assert devices.pair(code, "Mine") is not None  # a wrong guess does not spend it


def test_codes_expire_after_five_minutes(devices: Devices, clock: MovableClock) -> None:
    early, late = devices.new_code(), devices.new_code()
    clock.advance(minutes=4, seconds=59)
    assert devices.pair(early, "In time") is not None
    clock.advance(seconds=1)  # exactly five minutes
    assert devices.pair(late, "Too late") is None
    clock.advance(hours=1)
    assert devices.pair(late, "Much too late") is None


def test_expired_codes_are_cleaned_up(devices: Devices, db: Database, clock: MovableClock) -> None:
    devices.new_code()
    clock.advance(minutes=6)
    devices.new_code()
    assert db.query("SELECT COUNT(*) AS n FROM pairing_codes")[0]["n"] == 1


def test_voiding_spends_every_outstanding_code(devices: Devices) -> None:
    codes = [devices.new_code() for _ in range(3)]
    assert devices.void_codes() == 3
    assert all(devices.pair(code, "Late") is None for code in codes)
    assert devices.void_codes() == 0
    assert devices.pair(devices.new_code(), "New") is not None


def test_secrets_are_stored_only_as_hashes(home: Path, db: Database, devices: Devices) -> None:
    code = devices.new_code()
    spare = devices.new_code()
    paired = devices.pair(code, "Pixel 8")
    assert paired is not None
    _, token = paired
    db.close()
    files = sorted(home.glob("os1.db*"))
    assert files
    everything = b"".join(path.read_bytes() for path in files)
    for secret in (token, code, spare, token.removeprefix(TOKEN_PREFIX)):
        assert secret.encode() not in everything
    # Only what cannot be reversed is there.
    import hashlib

    assert hashlib.sha256(token.encode()).hexdigest().encode() in everything


def test_authenticate_refuses_anything_but_an_active_token(devices: Devices) -> None:
    paired = devices.pair(devices.new_code(), "Pixel 8")
    assert paired is not None
    _, token = paired
    assert devices.authenticate(None) is None
    assert devices.authenticate("") is None
    assert devices.authenticate(token + "x") is None
    assert devices.authenticate(token[:-1]) is None
    assert devices.authenticate(token.removeprefix(TOKEN_PREFIX)) is None
    assert devices.authenticate(TOKEN_PREFIX + "a" * 300) is None
    assert devices.authenticate(token.upper()) is None
    other = devices.pair(devices.new_code(), "Laptop")
    assert other is not None
    assert devices.authenticate(other[1]) == devices.get(other[0].id)
    assert devices.authenticate(token) is not None


def test_revoking_a_device_stops_its_token(devices: Devices, clock: MovableClock) -> None:
    first = devices.pair(devices.new_code(), "Pixel 8")
    second = devices.pair(devices.new_code(), "Laptop")
    assert first is not None and second is not None
    clock.advance(minutes=1)
    revoked = devices.revoke(first[0].id)
    assert revoked is not None
    assert revoked.revoked_at == clock.now and not revoked.active
    assert devices.authenticate(first[1]) is None
    assert devices.authenticate(second[1]) is not None
    assert devices.revoke(first[0].id) is None  # already revoked
    assert devices.revoke("d_nobody") is None
    assert [d.id for d in devices.list()] == [second[0].id]
    assert [d.id for d in devices.list(include_revoked=True)] == [first[0].id, second[0].id]


def test_revocation_in_another_process_is_seen_at_once(
    home: Path, devices: Devices, clock: MovableClock
) -> None:
    paired = devices.pair(devices.new_code(), "Pixel 8")
    assert paired is not None
    elsewhere = Devices(Database.in_home(home), clock)
    assert elsewhere.revoke(paired[0].id) is not None
    assert devices.authenticate(paired[1]) is None


def test_a_code_made_in_another_process_pairs_here(
    home: Path, devices: Devices, clock: MovableClock
) -> None:
    code = Devices(Database.in_home(home), clock).new_code()
    assert devices.pair(code, "Phone") is not None


def test_last_seen_is_written_at_most_once_a_minute(devices: Devices, clock: MovableClock) -> None:
    paired = devices.pair(devices.new_code(), "Pixel 8")
    assert paired is not None
    device, token = paired
    start = clock.now
    clock.advance(seconds=30)
    devices.authenticate(token)
    clock.advance(seconds=20)
    devices.authenticate(token)
    seen = devices.get(device.id)
    assert seen is not None
    assert seen.last_seen_at is not None and seen.last_seen_at - start == timedelta(seconds=30)
    clock.advance(seconds=45)
    devices.authenticate(token)
    seen = devices.get(device.id)
    assert seen is not None and seen.last_seen_at == clock.now


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Pixel 8", "Pixel 8"),
        ("  Pixel\n8\x00\x1b[31m ", "Pixel8[31m"),
        ("", "A device"),
        ("\n\t", "A device"),
        ("x" * 500, "x" * 80),
        ("Théo’s iPhone 📱", "Théo’s iPhone 📱"),
    ],
)
def test_device_names_are_cleaned(given: str, kept: str) -> None:
    assert clean_name(given) == kept


def test_device_as_dict(devices: Devices) -> None:
    paired = devices.pair(devices.new_code(), "Pixel 8")
    assert paired is not None
    shown = paired[0].to_dict()
    assert shown["name"] == "Pixel 8" and shown["revoked_at"] is None
    assert "token" not in json.dumps(shown)
    assert paired[1] not in json.dumps(shown)


# -- limits ----------------------------------------------------------------------------


def test_a_client_is_refused_after_five_wrong_codes_a_minute() -> None:
    tick = Tick()
    guard = PairingGuard(tick)
    for _ in range(PER_CLIENT_ATTEMPTS - 1):
        assert guard.retry_after("10.0.0.2") == 0
        guard.wrong("10.0.0.2")
        tick.now += 1
    assert guard.retry_after("10.0.0.2") == 0
    guard.wrong("10.0.0.2")
    wait = guard.retry_after("10.0.0.2")
    assert 0 < wait <= PER_CLIENT_WINDOW_S
    assert wait == pytest.approx(PER_CLIENT_WINDOW_S - (PER_CLIENT_ATTEMPTS - 1))
    assert guard.retry_after("10.0.0.3") == 0  # others are not held up
    tick.now += wait
    assert guard.retry_after("10.0.0.2") == 0


def test_per_client_attempts_slide_with_the_window() -> None:
    tick = Tick()
    guard = PairingGuard(tick)
    start = tick.now
    for _ in range(PER_CLIENT_ATTEMPTS):
        guard.wrong("a")
        tick.now += 10
    assert guard.retry_after("a") == pytest.approx(10)  # until the first is a minute old
    tick.now = start + PER_CLIENT_WINDOW_S
    assert guard.retry_after("a") == 0  # the first has left the window
    guard.wrong("a")
    assert guard.retry_after("a") == pytest.approx(10)  # now the second holds it up


def test_many_wrong_codes_from_everywhere_raise_the_alarm_once() -> None:
    tick = Tick()
    guard = PairingGuard(tick)
    results = [guard.wrong(f"10.0.0.{n % 7}") for n in range(GLOBAL_ATTEMPTS)]
    assert results == [False] * (GLOBAL_ATTEMPTS - 1) + [True]
    # It starts counting again afterwards.
    again = [guard.wrong(f"10.0.1.{n % 7}") for n in range(GLOBAL_ATTEMPTS)]
    assert again == [False] * (GLOBAL_ATTEMPTS - 1) + [True]


def test_old_wrong_codes_do_not_count_towards_the_alarm() -> None:
    tick = Tick()
    guard = PairingGuard(tick)
    for n in range(GLOBAL_ATTEMPTS - 1):
        assert guard.wrong(f"c{n}") is False
    tick.now += 601
    assert guard.wrong("late") is False


def test_the_guard_does_not_grow_without_bound() -> None:
    guard = PairingGuard(Tick())
    for n in range(10_050):
        guard.wrong(f"client-{n}")
    assert len(guard._by_client) <= 10_000


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    tick = Tick()
    bucket = TokenBucket(rate=10, burst=5, clock=tick)
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    tick.now += 0.1  # one more token
    assert bucket.take() is True
    assert bucket.take() is False
    tick.now += 100  # never more than the burst
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    tick.now += 1
    assert bucket.take(5) is True
    assert bucket.take(0.5) is False


# -- the protocol --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"type":"hello","protocol":1,"token":"os1_x"}', Hello(1, "os1_x")),
        ('{"type":"hello","protocol":2,"token":""}', Hello(2, "")),
        ('{"type":"send","text":"Hi"}', Send("Hi")),
        ('{"type":"send","text":"Hi","ref":"r1"}', Send("Hi", "r1")),
        ('{"type":"send","text":""}', Send("")),
        ('{"type":"send","text":"Hi","ref":5}', Send("Hi")),
        ('{"type":"send","text":"Hi","ref":"' + "r" * 101 + '"}', Send("Hi")),
        ('{"type":"stop"}', Stop()),
        ('{"type":"voice.start","sample_rate":16000,"format":"pcm_s16le"}',
         VoiceStart(16000, "pcm_s16le")),
        ('{"type":"voice.start"}', VoiceStart(16000, "pcm_s16le")),
        ('{"type":"voice.stop"}', VoiceStop()),
        ('{"type":"ping"}', Ping()),
        ('{"type":"ping","ref":"abc"}', Ping("abc")),
        ('  {"type":"ping","extra":[1,2,3]}  ', Ping()),
    ],
)  # fmt: skip
def test_parse_every_message_type(text: str, expected: protocol.ClientMessage) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "bad_json"),
        ("{", "bad_json"),
        ("{'type': 'ping'}", "bad_json"),
        ('{"type":"ping"', "bad_json"),
        ("ping", "bad_json"),
        ("[" * 100_000 + "]" * 100_000, "bad_json"),
        ('{"type":"hello","protocol":' + "9" * 5000 + ',"token":"x"}', "bad_json"),
        ("[]", "bad_message"),
        ('[{"type":"ping"}]', "bad_message"),
        ('"ping"', "bad_message"),
        ("42", "bad_message"),
        ("null", "bad_message"),
        ("true", "bad_message"),
        ("{}", "bad_message"),
        ('{"type":null}', "bad_message"),
        ('{"type":7}', "bad_message"),
        ('{"type":["send"]}', "bad_message"),
        ('{"type":"SEND","text":"x"}', "bad_message"),
        ('{"type":"sudo"}', "bad_message"),
        ('{"type":"hello","token":"x"}', "bad_message"),
        ('{"type":"hello","protocol":"1","token":"x"}', "bad_message"),
        ('{"type":"hello","protocol":1.0,"token":"x"}', "bad_message"),
        ('{"type":"hello","protocol":true,"token":"x"}', "bad_message"),
        ('{"type":"hello","protocol":1}', "bad_message"),
        ('{"type":"hello","protocol":1,"token":null}', "bad_message"),
        ('{"type":"hello","protocol":1,"token":["os1_x"]}', "bad_message"),
        ('{"type":"send"}', "bad_message"),
        ('{"type":"send","text":null}', "bad_message"),
        ('{"type":"send","text":42}', "bad_message"),
        ('{"type":"send","text":{"t":"x"}}', "bad_message"),
        ('{"type":"voice.start","sample_rate":44100,"format":"pcm_s16le"}', "bad_audio"),
        ('{"type":"voice.start","sample_rate":"16000"}', "bad_audio"),
        ('{"type":"voice.start","sample_rate":16000,"format":"f32le"}', "bad_audio"),
        ('{"type":"voice.start","sample_rate":null}', "bad_audio"),
    ],
)
def test_parse_refuses_what_is_not_a_message(text: str, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse(text)
    assert caught.value.code == code
    assert caught.value.message  # a sentence for the user
    shown = caught.value.event().to_dict()
    assert shown["type"] == "error" and shown["code"] == code
    assert len(json.dumps(shown)) < 500  # never echoes a huge input back


def test_errors_carry_the_ref_back() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse('{"type":"send","text":3,"ref":"r9"}')
    assert caught.value.event().to_dict()["ref"] == "r9"
    with pytest.raises(ProtocolError) as unknown:
        parse('{"type":"nope","ref":"r10"}')
    assert unknown.value.event().to_dict()["ref"] == "r10"
    assert "ref" not in ErrorEvent("bad_json", "x").to_dict()


def test_an_unknown_type_is_named_but_cut_short() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse(json.dumps({"type": "x" * 10_000}))
    assert len(caught.value.message) < 100


def test_message_dict_and_encode(onboarded: App) -> None:
    conversations = Conversations(onboarded.db, onboarded.clock)
    conversation = conversations.start()
    typed = conversations.add(
        conversation, "user", "Theo", "Grüße 👋", meta={"via": "text", "device": "Pixel 8"}
    )
    shown = protocol.message_dict(typed)
    assert shown == {
        "id": typed.id,
        "role": "user",
        "speaker": "Theo",
        "text": "Grüße 👋",
        "created_at": "2026-11-26T09:30:00.000+00:00",
        "status": "complete",
        "via": "text",
        "device": "Pixel 8",
        "kind": None,
    }
    reminder = conversations.add(
        conversation, "companion", "Iris", "Reminder: call Annie.", meta={"kind": "reminder"}
    )
    assert protocol.message_dict(reminder)["kind"] == "reminder"
    old = conversations.add(conversation, "user", "Theo", "from the terminal")
    assert protocol.message_dict(old)["via"] == "terminal"
    assert protocol.message_dict(old)["device"] is None
    encoded = MessageShown(shown).encode()
    assert "Grüße 👋" in encoded  # not escaped
    assert '", "' not in encoded and '": "' not in encoded  # compact
    assert json.loads(encoded)["message"] == shown


# -- the message feed ------------------------------------------------------------------


def _changes(feed: MessageFeed) -> list[dict[str, Any]]:
    return [event.to_dict() for event in feed.changes()]


def _add(db: Database, text: str, role: str = "user") -> Any:
    conversations = Conversations(db)
    rows = db.query("SELECT id FROM conversations LIMIT 1")
    conversation = rows[0]["id"] if rows else conversations.start()
    return conversations.add(conversation, role, "Theo", text)  # type: ignore[arg-type]


def test_the_feed_starts_from_what_is_there(db: Database) -> None:
    _add(db, "before")
    feed = MessageFeed(db)
    assert _changes(feed) == []
    assert _changes(feed) == []


def test_the_feed_reports_new_updated_and_removed_messages(db: Database) -> None:
    first = _add(db, "one")
    second = _add(db, "two")
    feed = MessageFeed(db)
    _changes(feed)
    third = _add(db, "three")
    events = _changes(feed)
    assert [(e["type"], e["message"]["id"]) for e in events] == [("message", third.id)]
    assert events[0]["message"]["text"] == "three"

    with db.transaction() as conn:
        conn.execute(
            "UPDATE messages SET text = 'tw', status = 'interrupted' WHERE id = ?", (second.id,)
        )
    events = _changes(feed)
    assert [(e["type"], e["message"]["id"]) for e in events] == [("message.updated", second.id)]
    assert events[0]["message"]["status"] == "interrupted"

    with db.transaction() as conn:
        conn.execute("DELETE FROM messages WHERE id = ?", (first.id,))
    assert _changes(feed) == [{"type": "message.removed", "id": first.id}]
    assert _changes(feed) == []


def test_a_message_leaving_the_window_is_not_removed(db: Database) -> None:
    for n in range(5):
        _add(db, f"old {n}")
    feed = MessageFeed(db, window=5)
    _changes(feed)
    newer = [_add(db, f"new {n}") for n in range(3)]
    events = _changes(feed)
    assert [e["type"] for e in events] == ["message"] * 3
    assert [e["message"]["id"] for e in events] == [m.id for m in newer]
    assert _changes(feed) == []


def test_a_deletion_inside_the_window_is_seen_while_others_leave_it(db: Database) -> None:
    kept = [_add(db, f"m{n}") for n in range(4)]
    feed = MessageFeed(db, window=4)
    _changes(feed)
    with db.transaction() as conn:
        conn.execute("DELETE FROM messages WHERE id = ?", (kept[3].id,))
    fresh = _add(db, "fresh")
    events = _changes(feed)
    assert {"type": "message.removed", "id": kept[3].id} in events
    assert {"type": "message.removed", "id": kept[0].id} not in events
    assert [e["message"]["id"] for e in events if e["type"] == "message"] == [fresh.id]


def test_everything_deleted_is_removed(db: Database) -> None:
    gone = [_add(db, f"m{n}") for n in range(3)]
    feed = MessageFeed(db)
    _changes(feed)
    with db.transaction() as conn:
        conn.execute("DELETE FROM messages")
    events = _changes(feed)
    assert sorted(e["id"] for e in events) == sorted(m.id for m in gone)
    assert all(e["type"] == "message.removed" for e in events)


def test_announced_messages_are_not_announced_again(db: Database) -> None:
    feed = MessageFeed(db)
    _changes(feed)
    said = _add(db, "said already", role="companion")
    feed.announced(said)
    assert _changes(feed) == []
    unknown = _add(db, "not announced")
    assert [e["message"]["id"] for e in _changes(feed)] == [unknown.id]


def test_the_feed_gives_recent_messages_oldest_first(db: Database) -> None:
    made = [_add(db, f"m{n}") for n in range(6)]
    feed = MessageFeed(db)
    assert [m.id for m in feed.recent(3)] == [m.id for m in made[3:]]
    assert [m.id for m in feed.recent(2, before=made[3].id)] == [m.id for m in made[1:3]]
    assert feed.recent(5, before=made[0].id) == []
    assert feed.recent(5, before="m_nonexistent") == []
