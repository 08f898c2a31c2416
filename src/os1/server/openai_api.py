"""An OpenAI-compatible face for the companion: ``/v1/models`` and ``/v1/chat/completions``.

Existing chat clients can talk to OS1 this way, but they talk to the companion itself, with
its persona and memory, in the one conversation every device shares. The companion keeps
its own history, so only the last user message of a request is new.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from os1.clock import new_id
from os1.errors import OS1Error
from os1.server.api import problem, read_json
from os1.server.hub import Hub
from os1.server.protocol import ProtocolError
from os1.server.turns import Outcome

MODEL_ID = "os1"


def last_user_text(data: dict[str, Any]) -> str:
    """The newest user message of a chat request (``ValueError`` if there is none)."""
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list.")
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):  # [{"type": "text", "text": "…"}, …]
            parts = [
                part.get("text", "")
                for part in content
                if isinstance(part, dict) and part.get("type") == "text"
            ]
            if any(isinstance(p, str) and p for p in parts):
                return "\n".join(p for p in parts if isinstance(p, str))
        raise ValueError("The last user message has no text content.")
    raise ValueError("There is no message with role 'user'.")


async def models(request: Request) -> Response:
    return JSONResponse(
        {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "you"}],
        }
    )


async def chat_completions(request: Request) -> Response:
    try:
        data = await read_json(request)
        text = last_user_text(data)
    except ValueError as error:
        return problem(400, "invalid_request_error", str(error))
    hub: Hub = request.app.state.hub
    device = request.state.device
    completion_id = new_id("chatcmpl")
    created = int(time.time())
    if data.get("stream") is True:
        return StreamingResponse(
            _stream(hub, device, text, completion_id, created),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store"},
        )
    try:
        outcome = await hub.turns.say(text, via="api", device=device)
    except ProtocolError as error:  # too many waiting: come back later
        return problem(429, "rate_limit_error", error.message, **{"Retry-After": "5"})
    except OS1Error as error:
        return problem(400, "invalid_request_error", _text(error))
    if outcome.status == "failed":
        return problem(502, "model_error", outcome.error or "The model failed.")
    reply = outcome.turn.reply
    return JSONResponse(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": MODEL_ID,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply},
                    "finish_reason": _finish_reason(outcome),
                }
            ],
            "usage": {
                "prompt_tokens": 0,
                "completion_tokens": outcome.turn.timings.tokens,
                "total_tokens": outcome.turn.timings.tokens,
            },
        }
    )


async def _stream(
    hub: Hub, device: Any, text: str, completion_id: str, created: int
) -> AsyncIterator[str]:
    pieces: asyncio.Queue[str | None] = asyncio.Queue()

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    async def run() -> Outcome:
        try:
            return await hub.turns.say(text, via="api", device=device, on_delta=pieces.put_nowait)
        finally:
            pieces.put_nowait(None)

    # The turn is the hub's: it goes on (and is stored) if this client goes away.
    turn = hub.spawn(run())
    yield chunk({"role": "assistant", "content": ""})
    while (piece := await pieces.get()) is not None:
        yield chunk({"content": piece})
    try:
        outcome = await turn
    except (OS1Error, ProtocolError) as error:
        yield f"data: {json.dumps({'error': {'message': _text(error)}})}\n\n"
        yield "data: [DONE]\n\n"
        return
    if outcome.status == "failed":
        yield f"data: {json.dumps({'error': {'message': outcome.error}})}\n\n"
    else:
        yield chunk({}, _finish_reason(outcome))
    yield "data: [DONE]\n\n"


def _finish_reason(outcome: Outcome) -> str:
    return "stop" if outcome.status == "complete" else "length"


def _text(error: OS1Error | ProtocolError) -> str:
    return error.one_line() if isinstance(error, OS1Error) else error.message


routes = [
    Route("/v1/models", models, methods=["GET"]),
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
]
