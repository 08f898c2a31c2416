"""The JSON API under ``/api`` (docs/protocol.md): pairing, history, memory, settings,
devices. Every route but pairing runs behind the ``Gate``, which has put the calling
device in ``request.state.device``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from os1.config import ConfigFile, set_setting, setting_sources, settings_as_flat
from os1.errors import OS1Error
from os1.memory.core import Hit
from os1.server.devices import Devices
from os1.server.hub import Hub
from os1.server.limits import PairingGuard
from os1.server.protocol import message_dict

MAX_BODY = 64 * 1024
EDITABLE_SETTINGS = (
    "model",
    "voice.voice",
    "voice.rate",
    "voice.pitch",
    "voice.stt_model",
    "voice.barge_in",
    "voice.mood_prosody",
    # What the companion does on its own or outside OS1: each can be turned off here.
    "skills.enabled",
    "skills.reminders_in_chat",
    "skills.briefing_at",
    "skills.follow_ups",
    "skills.quiet_hours",
    "calendar.allow_writes",
)


def problem(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status, headers=headers or None)


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object body (``ValueError`` with a sentence if it is not one)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise ValueError(f"The request body is over {MAX_BODY // 1024} KiB.")
    try:
        data = json.loads(body or b"{}")
    except (ValueError, RecursionError):  # ValueError: also a number of 4,300+ digits
        raise ValueError("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ValueError("The request body must be a JSON object.")
    return data


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _devices(request: Request) -> Devices:
    return _hub(request).devices


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def pair(request: Request) -> Response:
    guard: PairingGuard = request.app.state.pairing_guard
    client = _client_address(request)
    wait = guard.retry_after(client)
    if wait > 0:
        return problem(
            429,
            "rate_limited",
            f"Too many wrong codes. Try again in {int(wait) + 1} seconds.",
            **{"Retry-After": str(int(wait) + 1)},
        )
    try:
        data = await read_json(request)
    except ValueError as error:
        return problem(400, "bad_request", str(error))
    code, name = data.get("code"), data.get("name", "A device")
    if not isinstance(code, str) or not isinstance(name, str):
        return problem(400, "bad_request", "Send {'code': '…', 'name': '…'} as strings.")
    paired = await asyncio.to_thread(_devices(request).pair, code[:64], name)
    if paired is None:
        if guard.wrong(client):
            voided = await asyncio.to_thread(_devices(request).void_codes)
            request.app.state.on_alert(
                f"Many wrong pairing codes were tried: {voided} outstanding code(s) were "
                "voided. Run `os1 pair` for a new one."
            )
        return problem(
            401, "bad_code", "That code is wrong, used or expired. Run `os1 pair` for a new one."
        )
    device, token = paired
    request.app.state.on_alert(f"Paired a new device: {device.name} ({device.id}).")
    return JSONResponse({"token": token, "device": {"id": device.id, "name": device.name}})


async def me(request: Request) -> Response:
    device = request.state.device
    persona = _hub(request).companion.persona
    return JSONResponse(
        {
            "device": {"id": device.id, "name": device.name},
            "companion": persona.companion_name,
            "user": persona.user_name,
        }
    )


async def messages(request: Request) -> Response:
    try:
        limit = min(500, max(1, int(request.query_params.get("limit", "50"))))
    except ValueError:
        return problem(400, "bad_request", "'limit' must be a number.")
    before = request.query_params.get("before")
    found = await asyncio.to_thread(_hub(request).feed.recent, limit, before)
    return JSONResponse({"messages": [message_dict(m) for m in found]})


def _hit(hit: Hit) -> dict[str, Any]:
    return {
        "id": hit.id,
        "kind": hit.kind,
        "text": hit.text,
        "time": hit.time.isoformat(),
        "current": hit.current,
        "speaker": hit.speaker,
    }


async def memory_search(request: Request) -> Response:
    query = request.query_params.get("q", "").strip()
    try:
        k = min(100, max(1, int(request.query_params.get("k", "10"))))
    except ValueError:
        return problem(400, "bad_request", "'k' must be a number.")
    if not query or len(query) > 1000:
        return problem(400, "bad_request", "Give a search of 1 to 1,000 characters as 'q'.")
    memory = _hub(request).app.memory
    hits = await asyncio.to_thread(memory.search, query, k)
    return JSONResponse({"hits": [_hit(h) for h in hits]})


async def memory_facts(request: Request) -> Response:
    memory = _hub(request).app.memory
    facts = await asyncio.to_thread(memory.facts)
    return JSONResponse({"facts": [_hit(fact.as_hit()) for fact in reversed(facts)]})


async def memory_forget(request: Request) -> Response:
    item_id = request.path_params["item_id"]
    hub = _hub(request)
    try:
        report = await asyncio.to_thread(hub.app.memory.forget, item_id)
    except KeyError:
        return problem(404, "not_found", f"Nothing is remembered as {item_id!r}.")
    hub.sync_soon()
    return JSONResponse(
        {"forgotten": {"messages": report.messages, "facts": report.facts}},
    )


async def settings_get(request: Request) -> Response:
    return JSONResponse(await asyncio.to_thread(_settings_view, _hub(request)))


def _settings_view(hub: Hub) -> dict[str, Any]:
    from os1.voice.voices import CHOICES, available_voices

    flat = settings_as_flat(hub.app.settings)
    values = {key: flat[key] for key in EDITABLE_SETTINGS}
    persona = hub.companion.persona
    voice = values["voice.voice"] or persona.voice
    alias = CHOICES.get(voice)
    values["voice.voice"] = alias.spec if alias is not None else voice
    voices = [
        {"value": info.spec, "label": f"{info.gender.title()} · {info.description}"}
        for info in available_voices()
        if info.installed
    ]
    return {
        "values": values,
        "options": {"voice.voice": voices, "voice.stt_model": ["tiny.en", "base"]},
        "model": hub.companion.llm.info.name,
    }


async def settings_patch(request: Request) -> Response:
    try:
        data = await read_json(request)
    except ValueError as error:
        return problem(400, "bad_request", str(error))
    unknown = [key for key in data if key not in EDITABLE_SETTINGS]
    if unknown or not data:
        return problem(
            400,
            "bad_setting",
            f"Settings that can be changed here: {', '.join(EDITABLE_SETTINGS)}.",
        )
    hub = _hub(request)
    sources = await asyncio.to_thread(setting_sources, hub.app.home, hub.app.overrides)
    pinned = [key for key in data if sources.get(key) in ("flag", "environment")]
    if pinned:
        return problem(
            409,
            "setting_pinned",
            f"{', '.join(pinned)} is set for this run by a command-line flag or an OS1_ "
            "environment variable; change it there.",
        )
    # What to put back if the change fails: the file's value, or (not in the file) the
    # value in effect, which is then the default.
    in_file = await asyncio.to_thread(ConfigFile(hub.app.home).load)
    effective = settings_as_flat(hub.app.settings)
    before = {key: in_file.get(key, effective[key]) for key in data}

    async def write(values: dict[str, Any]) -> None:
        for key, value in values.items():
            raw = json.dumps(value) if not isinstance(value, str) else value
            await asyncio.to_thread(set_setting, hub.app.home, key, raw)

    try:
        await write(data)
        await hub.settings_changed(set(data))
    except OS1Error as error:
        # Put back what was there (a model that will not load must not lock us out).
        await write(before)
        await hub.settings_changed(set(data))
        return problem(400, "bad_setting", error.one_line())
    return JSONResponse(await asyncio.to_thread(_settings_view, hub))


async def devices_list(request: Request) -> Response:
    current = request.state.device.id
    found = await asyncio.to_thread(_devices(request).list)
    return JSONResponse({"devices": [{**d.to_dict(), "current": d.id == current} for d in found]})


async def devices_revoke(request: Request) -> Response:
    device_id = request.path_params["device_id"]
    revoked = await asyncio.to_thread(_devices(request).revoke, device_id)
    if revoked is None:
        return problem(404, "not_found", f"No paired device {device_id!r}.")
    _hub(request).disconnect_device(device_id, "This device was revoked.")
    return JSONResponse({"revoked": revoked.to_dict()})


routes = [
    Route("/api/pair", pair, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
    Route("/api/messages", messages, methods=["GET"]),
    Route("/api/memory/search", memory_search, methods=["GET"]),
    Route("/api/memory/facts", memory_facts, methods=["GET"]),
    Route("/api/memory/{item_id}", memory_forget, methods=["DELETE"]),
    Route("/api/settings", settings_get, methods=["GET"]),
    Route("/api/settings", settings_patch, methods=["PATCH"]),
    Route("/api/devices", devices_list, methods=["GET"]),
    Route("/api/devices/{device_id}", devices_revoke, methods=["DELETE"]),
]
