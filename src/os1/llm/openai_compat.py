"""Any OpenAI-compatible chat endpoint: Ollama, vLLM, llama.cpp server, LM Studio, OpenAI."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx

from os1.errors import LLMUnavailableError
from os1.llm.base import GenerationParams, ModelInfo, Prompt, ToolCall


class OpenAICompatibleLLM:
    """Streams ``/chat/completions`` over server-sent events."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
        )

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            name=f"openai:{self.model}",
            kind="openai",
            prompt_format="chat",
            details={"base_url": self.base_url, "model": self.model},
        )

    def _unavailable(self, what: str, hint: str | None = None) -> LLMUnavailableError:
        return LLMUnavailableError(
            f"The model server at {self.base_url} {what}.",
            hint
            or "Check that it is running, or point OS1 elsewhere with "
            "`os1 config set openai.base_url URL`.",
        )

    def _raise_for_status(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        body = response.read().decode("utf-8", "replace").strip().replace("\n", " ")[:300]
        if response.status_code in (401, 403):
            raise self._unavailable(
                f"refused the API key (HTTP {response.status_code})",
                "Put the right key in the environment variable named by openai.api_key_env.",
            )
        if response.status_code == 404:
            raise self._unavailable(
                f"does not know {response.request.url.path} or model {self.model!r} (HTTP 404)",
                "Check openai.base_url (it usually ends in /v1) and the model name.",
            )
        raise self._unavailable(f"answered HTTP {response.status_code}: {body or '(empty)'}")

    def stream(self, prompt: Prompt, params: GenerationParams) -> Iterator[str]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in prompt.messages],
            "stream": True,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.seed is not None:
            payload["seed"] = params.seed
        try:
            with self._client.stream("POST", "/chat/completions", json=payload) as response:
                self._raise_for_status(response)
                said = False
                # A server that ignores max_tokens must not stream forever.
                for count, chunk in enumerate(self._events(response)):
                    if count >= 2 * params.max_tokens + 16:
                        break
                    said = True
                    yield chunk
                if not said:
                    raise self._unavailable("sent an empty reply")
        except httpx.ConnectError as exc:
            raise self._unavailable(f"cannot be reached ({_reason(exc)})") from exc
        except httpx.TimeoutException as exc:
            raise self._unavailable("did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise self._unavailable(f"failed ({_reason(exc)})") from exc

    def _events(self, response: httpx.Response) -> Iterator[str]:
        content_type = response.headers.get("content-type", "")
        if "text/event-stream" not in content_type:
            # Some servers ignore "stream": accept a plain JSON completion too.
            yield self._content(self._json(response.read().decode("utf-8", "replace")), False)
            return
        last_content = time.monotonic()
        for line in response.iter_lines():
            if time.monotonic() - last_content > self.timeout:
                # Keep-alive comments alone do not count as an answer.
                raise self._unavailable(f"sent nothing of the reply for {self.timeout:g} s")
            line = line.strip()
            if not line or line.startswith(":") or not line.startswith("data:"):
                continue
            data = line[len("data:") :].strip()
            if data == "[DONE]":
                return
            event = self._json(data)
            if "error" in event:
                raise self._unavailable(f"reported an error: {event['error']}")
            chunk = self._content(event, True)
            if chunk:
                last_content = time.monotonic()
                yield chunk

    def _json(self, text: str) -> dict[str, Any]:
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise self._unavailable(f"sent something that is not JSON: {text[:120]!r}") from exc
        if not isinstance(value, dict):
            raise self._unavailable(f"sent JSON that is not an object: {text[:120]!r}")
        return value

    def _content(self, event: dict[str, Any], streaming: bool) -> str:
        try:
            choice = event["choices"][0] if event["choices"] else {}
            part = choice.get("delta" if streaming else "message") or {}
            content = part.get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise self._unavailable(f"sent a reply without choices: {str(event)[:120]}") from exc
        if not isinstance(content, str):
            raise self._unavailable("sent content that is not text")
        return content

    def call_tools(
        self, prompt: Prompt, tools: list[dict[str, Any]], params: GenerationParams
    ) -> list[ToolCall]:
        """One non-streamed request offering ``tools``; the calls the model made.

        Calls that are not well-formed (arguments that are not a JSON object) are dropped:
        a skill is only ever run with arguments the model really gave.
        """
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in prompt.messages],
            "tools": tools,
            "tool_choice": "auto",
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
        }
        try:
            response = self._client.post("/chat/completions", json=payload)
        except httpx.ConnectError as exc:
            raise self._unavailable(f"cannot be reached ({_reason(exc)})") from exc
        except httpx.TimeoutException as exc:
            raise self._unavailable("did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise self._unavailable(f"failed ({_reason(exc)})") from exc
        self._raise_for_status(response)
        event = self._json(response.text)
        try:
            message = (event.get("choices") or [{}])[0].get("message") or {}
            raw_calls = message.get("tool_calls") or []
        except (AttributeError, IndexError, TypeError):
            return []
        calls = []
        for raw in raw_calls if isinstance(raw_calls, list) else []:
            function = raw.get("function") if isinstance(raw, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                continue
            try:
                arguments = json.loads(function.get("arguments") or "{}")
            except (json.JSONDecodeError, TypeError, RecursionError):
                continue
            if isinstance(arguments, dict):
                calls.append(ToolCall(function["name"], arguments))
        return calls

    def list_models(self) -> list[str]:
        """Model ids the server offers (used by ``os1 doctor``)."""
        try:
            response = self._client.get("/models")
        except httpx.ConnectError as exc:
            raise self._unavailable(f"cannot be reached ({_reason(exc)})") from exc
        except httpx.HTTPError as exc:
            raise self._unavailable(f"failed: {exc}") from exc
        self._raise_for_status(response)
        data = self._json(response.text).get("data") or []
        return [str(item.get("id")) for item in data if isinstance(item, dict)]

    def prepare(self, prompt: Prompt) -> None:
        return None

    def count_tokens(self, prompt: Prompt) -> int | None:
        return None

    def close(self) -> None:
        self._client.close()


def _reason(error: httpx.HTTPError) -> str:
    """A short lower-case reason such as 'connection refused' or 'name not known'."""
    text = str(error).strip().rstrip(".") or type(error).__name__
    for known in ("Connection refused", "Name or service not known", "No route to host"):
        if known.lower() in text.lower():
            return known.lower()
    return text[:160]
