from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from os1.errors import LLMUnavailableError
from os1.llm.base import ChatMessage, GenerationParams, Prompt
from os1.llm.openai_compat import OpenAICompatibleLLM

PROMPT = Prompt(
    messages=(ChatMessage("system", "You are Iris."), ChatMessage("user", "hi")),
    transcript="unused",
)
PARAMS = GenerationParams(max_tokens=20)


def sse(*events: object) -> bytes:
    lines = [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()


def delta(text: str) -> dict[str, object]:
    return {"choices": [{"delta": {"content": text}}]}


def backend(handler: object, api_key: str | None = "sekrit") -> OpenAICompatibleLLM:
    transport = httpx.MockTransport(handler)  # type: ignore[arg-type]
    return OpenAICompatibleLLM(
        "http://models.test/v1", "tiny", api_key=api_key, transport=transport
    )


def test_streams_chat_completions_with_key_and_messages() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = sse({"choices": [{"delta": {"role": "assistant"}}]}, delta("Hel"), delta("lo!"))
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    chunks = list(backend(handler).stream(PROMPT, PARAMS))
    assert chunks == ["Hel", "lo!"]
    request = seen[0]
    assert request.url == "http://models.test/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sekrit"
    payload = json.loads(request.content)
    assert payload["model"] == "tiny" and payload["stream"] is True
    assert payload["messages"][1] == {"role": "user", "content": "hi"}


def test_no_key_sends_no_authorization_header() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert "authorization" not in request.headers
        return httpx.Response(
            200, content=sse(delta("ok")), headers={"content-type": "text/event-stream"}
        )

    assert list(backend(handler, api_key=None).stream(PROMPT, PARAMS)) == ["ok"]


def test_a_server_that_ignores_stream_still_works() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"choices": [{"message": {"content": "whole reply"}}]})

    assert list(backend(handler).stream(PROMPT, PARAMS)) == ["whole reply"]


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(401, text="bad key"), "refused the API key"),
        (httpx.Response(404, text="no such model"), "HTTP 404"),
        (httpx.Response(500, text="boom"), "HTTP 500: boom"),
        (
            httpx.Response(
                200, content=b"data: {not json\n\n", headers={"content-type": "text/event-stream"}
            ),
            "not JSON",
        ),
        (
            httpx.Response(
                200,
                content=sse({"error": {"message": "overloaded"}}),
                headers={"content-type": "text/event-stream"},
            ),
            "overloaded",
        ),
        (
            httpx.Response(
                200, content=sse({"nothing": 1}), headers={"content-type": "text/event-stream"}
            ),
            "without choices",
        ),
        (httpx.Response(200, text="<html>hello</html>"), "not JSON"),
    ],
)
def test_misbehaving_servers_give_clear_errors(response: httpx.Response, message: str) -> None:
    with pytest.raises(LLMUnavailableError) as caught:
        list(backend(lambda request: response).stream(PROMPT, PARAMS))
    assert message in str(caught.value)
    assert "http://models.test/v1" in str(caught.value)


def test_unreachable_server_names_the_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm = OpenAICompatibleLLM(f"http://127.0.0.1:{port}/v1", "tiny", timeout=2)
    with pytest.raises(LLMUnavailableError, match=f"127.0.0.1:{port}.*cannot be reached"):
        list(llm.stream(PROMPT, PARAMS))


def test_list_models() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/models"
        return httpx.Response(200, json={"data": [{"id": "tiny"}, {"id": "big"}]})

    assert backend(handler).list_models() == ["tiny", "big"]


class _SlowStream(httpx.SyncByteStream):
    """A server that sends only keep-alive comments, one every 0.1 s."""

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(100):
            time.sleep(0.1)
            yield b": keep-alive\n\n"


def test_keep_alives_alone_do_not_keep_a_reply_waiting_forever() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, stream=_SlowStream(), headers={"content-type": "text/event-stream"}
        )

    llm = OpenAICompatibleLLM(
        "http://models.test/v1", "tiny", timeout=0.5, transport=httpx.MockTransport(handler)
    )
    started = time.monotonic()
    with pytest.raises(LLMUnavailableError, match="sent nothing of the reply"):
        list(llm.stream(PROMPT, PARAMS))
    assert time.monotonic() - started < 5


def test_a_server_ignoring_max_tokens_is_cut_off() -> None:
    body = sse(*[delta(" la")] * 500)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    chunks = list(backend(handler).stream(PROMPT, GenerationParams(max_tokens=10)))
    assert len(chunks) <= 2 * 10 + 16


@pytest.mark.parametrize("body", [sse(), sse({"choices": []}), sse({"choices": [{"delta": {}}]})])
def test_an_empty_reply_is_a_server_error_not_silence(body: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    with pytest.raises(LLMUnavailableError, match="empty reply"):
        list(backend(handler).stream(PROMPT, PARAMS))


def test_absurdly_nested_json_is_a_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="[" * 100_000 + "]" * 100_000)

    with pytest.raises(LLMUnavailableError, match="not JSON"):
        list(backend(handler).stream(PROMPT, PARAMS))
