"""Typed turns: one at a time for the one companion, each reply streamed to every device.

A turn takes ``Companion.turn_gate`` too, which a spoken turn on another device holds
while its reply is written, so the two never interleave in the conversation.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from os1.clock import new_id
from os1.companion.dialogue import Companion, TurnResult
from os1.errors import OS1Error
from os1.server.devices import Device
from os1.server.events import ReplyDelta, ReplyDone, ReplyStart, Status
from os1.server.protocol import ProtocolError, message_dict, rounded_ms

if TYPE_CHECKING:
    from os1.server.hub import Hub

_log = logging.getLogger(__name__)

MAX_WAITING_TURNS = 20  # text turns queued behind the one being answered
LEARN_QUIET_S = 0.3  # memory learns from a turn once no turn has run for this long,
LEARN_WAIT_MAX_S = 5.0  # or this long after it, however busy


@dataclass(frozen=True)
class Outcome:
    """How a text turn ended."""

    turn: TurnResult
    status: Status
    error: str | None = None


class TextTurns:
    """The typed (and API) turns of one hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.lock = asyncio.Lock()  # held for the whole of a turn
        self.closing = False  # no new turn starts
        self._waiting = 0
        self._cancel: threading.Event | None = None
        self._learner = ThreadPoolExecutor(1, thread_name_prefix="os1-learn")
        self._last_turn = 0.0  # when the last turn ended (time.monotonic)

    def busy(self) -> bool:
        return self.lock.locked()

    async def close(self) -> None:
        """No more turns: the reply being written is cut short and kept, turns still
        waiting do not start, and memory learns every turn that was stored."""
        self.closing = True
        self.stop_reply()
        async with self.lock:  # the turn under way ends (and hands its learning over)
            pass
        await asyncio.to_thread(self._learner.shutdown, wait=True)

    async def say(
        self,
        text: str,
        *,
        via: str,
        device: Device | None,
        on_delta: Callable[[str], None] | None = None,
    ) -> Outcome:
        """A text turn: store the message, stream the reply to every device, store it.

        Raises ``OS1Error`` (an ``InputError``) if the message cannot be taken; model
        failures end the turn as ``failed`` instead.
        """
        if self.closing:
            raise ProtocolError("busy", "The server is shutting down.")
        if self._waiting >= MAX_WAITING_TURNS:
            raise ProtocolError("busy", "Too many messages are waiting; try again in a moment.")
        self._waiting += 1
        try:
            await self.lock.acquire()
        finally:
            self._waiting -= 1
        try:
            if self.closing:  # it waited behind the last turn
                raise ProtocolError("busy", "The server is shutting down.")
            return await self._turn(text, via, device, on_delta)
        finally:
            self.lock.release()

    async def _turn(
        self,
        text: str,
        via: str,
        device: Device | None,
        on_delta: Callable[[str], None] | None,
    ) -> Outcome:
        hub = self.hub
        companion = hub.companion
        meta: dict[str, Any] = {"via": via}
        if device is not None:
            meta["device"] = device.name
        cancel = threading.Event()  # before anything: a `stop` may come at once
        self._cancel = cancel
        gate = companion.turn_gate  # a voice turn on another device may be under way
        await _acquire(gate)
        started = time.perf_counter()
        try:
            turn = await asyncio.to_thread(companion.start_turn, text, meta=meta)
            start_ms = (time.perf_counter() - started) * 1000  # storing it, recalling
        except BaseException:
            gate.release()
            self._cancel = None
            raise
        turn_id = new_id("t")
        failure: list[BaseException] = []
        try:
            # Everyone sees the message with the start of the reply: one frame, not two.
            hub.feed.announced(turn.user_message)
            hub.set_presence("thinking", told=True)
            hub.broadcast(
                ReplyStart(
                    turn_id,
                    reply_to=turn.user_message.id,
                    message=message_dict(turn.user_message),
                    presence="thinking",
                )
            )
            await self._stream(companion, turn, turn_id, cancel, failure, on_delta)
        except Exception as problem:  # the reply is over whatever happened: say so
            failure.append(problem)
            _log.warning("a turn failed", exc_info=True)
        finally:
            gate.release()
            self._cancel = None
        error = _describe(failure[0]) if failure else None
        status: Status = (
            "failed" if failure else ("complete" if turn.status == "complete" else "interrupted")
        )
        message = turn.reply_message
        if message is not None:
            hub.feed.announced(message)
        timings = turn.timings
        self._last_turn = time.monotonic()
        resting = hub.resting_presence()
        hub.set_presence(resting, told=True)
        hub.broadcast(
            ReplyDone(
                turn_id,
                status,
                message=message_dict(message) if message is not None else None,
                timings={
                    "start_ms": rounded_ms(start_ms),
                    "first_token_ms": rounded_ms(timings.first_token_ms),
                    "total_ms": rounded_ms(timings.total_ms),
                    "tokens": timings.tokens,
                },
                error=error,
                presence=resting,
            )
        )
        self._learner.submit(self._learn, companion, turn)  # ``close`` waits for this
        return Outcome(turn, status, error)

    async def _stream(
        self,
        companion: Companion,
        turn: TurnResult,
        turn_id: str,
        cancel: threading.Event,
        failure: list[BaseException],
        on_delta: Callable[[str], None] | None,
    ) -> None:
        """Write the reply in a thread, broadcasting each piece as it comes."""
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[str | None] = asyncio.Queue()

        def write() -> None:
            if cancel.is_set():  # stopped before it began: the message stays unanswered
                loop.call_soon_threadsafe(chunks.put_nowait, None)
                return
            stream = companion.stream(turn)
            try:
                for chunk in stream:
                    if cancel.is_set():
                        break
                    loop.call_soon_threadsafe(chunks.put_nowait, chunk)
            except Exception as error:
                failure.append(error)
            finally:
                stream.close()  # keeps what was written, marked interrupted
                loop.call_soon_threadsafe(chunks.put_nowait, None)

        writer = loop.run_in_executor(None, write)
        try:
            first, ended = True, False
            while not ended:
                piece = await chunks.get()
                if piece is None:
                    break
                # Pieces that came while the last went out go together: one frame per
                # device instead of several, when the model is faster than the sending.
                while not chunks.empty():
                    more = chunks.get_nowait()
                    if more is None:
                        ended = True
                        break
                    piece += more
                if first:
                    self.hub.set_presence("speaking", told=True)
                self.hub.broadcast(
                    ReplyDelta(turn_id, piece, presence="speaking" if first else None)
                )
                first = False
                if on_delta is not None:
                    on_delta(piece)
        finally:
            await asyncio.shield(writer)  # a reply goes on even if the asker goes away

    def _learn(self, companion: Companion, turn: TurnResult) -> None:
        # While turns keep coming, learning waits a little: it is real work for the CPU
        # and the interpreter, and the replies come first.
        deadline = time.monotonic() + LEARN_WAIT_MAX_S
        while not self.closing and time.monotonic() < deadline:
            if not self.lock.locked() and time.monotonic() - self._last_turn >= LEARN_QUIET_S:
                break
            time.sleep(0.05)
        try:
            companion.learn(turn)
        except Exception:
            _log.warning("memory could not learn from a turn", exc_info=True)

    def stop_reply(self) -> bool:
        """Stop the reply being written (what was written is kept); False if none."""
        if self._cancel is None:
            return False
        self._cancel.set()
        return True


async def _acquire(lock: threading.Lock) -> None:
    """Take a thread lock without blocking the loop. If the wait is cancelled, the lock
    is let go as soon as the thread gets it, so it can never be left held."""
    if lock.acquire(blocking=False):  # the usual case: free, no thread needed
        return
    taking = asyncio.ensure_future(asyncio.to_thread(lock.acquire))
    try:
        await asyncio.shield(taking)
    except asyncio.CancelledError:
        taking.add_done_callback(lambda _: lock.release())
        raise


def _describe(error: BaseException) -> str:
    """What to tell every device (the details of an unexpected error go to the log)."""
    if isinstance(error, OS1Error):
        return error.one_line()
    return "The reply failed unexpectedly; the server's log has the details."
