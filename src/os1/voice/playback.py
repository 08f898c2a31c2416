"""The speaker's side of a reply: what is queued, what has been played, what was heard.

A device callback (or a real-time clock, in file mode) pulls samples from here. Because
every queued piece of audio carries the words it says, the companion knows at any moment
which part of its reply the user has heard: on barge-in only that part is kept.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from os1.voice.base import Samples

_LEVEL_WINDOW_S = 0.2  # echo arrives within this long of being played


@dataclass
class _Piece:
    """One spoken piece of a reply (a clause or sentence), possibly still growing."""

    text: str
    queued: int = 0  # samples queued for it so far
    played: int = 0
    done: bool = False  # all of its audio has been queued


@dataclass
class _Reply:
    pieces: list[_Piece] = field(default_factory=list)
    first_sample_at: float | None = None
    dry_since: float | None = None  # all queued audio was played; more may come
    stalled_s: float = 0.0  # silence inside the reply while its next audio was not ready


class Playback:
    """A thread-safe queue of reply audio with a play position.

    ``latency_s`` is how long a pulled sample takes to be heard (the device's output
    latency; 0 for a file).
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        latency_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sample_rate = sample_rate
        self.latency_s = latency_s
        self.clock = clock
        self._lock = threading.Lock()
        self._queue: deque[tuple[_Piece, Samples]] = deque()
        self._offset = 0  # samples of the head chunk already played
        self._played: deque[tuple[_Piece, Samples]] = deque()  # recent chunks, for rewind
        self._played_samples = 0
        self._paused = False
        self._held = False
        self._generation = 0
        self._reply = _Reply()
        self._levels: deque[tuple[float, float]] = deque()  # (time, rms) of played blocks
        self.stopped_at: float | None = None

    # -- the producer side (the reply) -------------------------------------------

    def begin_reply(self, *, held: bool = False) -> int:
        """Start a new reply: forget the previous one's pieces. A ``held`` reply is
        queued but silent until ``release()`` (it was started before the user was done).

        Returns the reply's number: audio offered under an older number (a cancelled
        reply's last words, still on their way) is dropped."""
        with self._lock:
            self._reply = _Reply()
            self._forget_played()
            self._paused = False
            self._held = held
            self.stopped_at = None
            self._generation += 1
            return self._generation

    def release(self) -> None:
        """Let a held reply be heard."""
        with self._lock:
            self._held = False

    def add_piece(self, reply: int, text: str) -> int:
        """Announce a piece of text whose audio follows; returns its number (-1 when
        ``reply`` is no longer the current reply)."""
        with self._lock:
            if reply != self._generation:
                return -1
            self._reply.pieces.append(_Piece(text))
            return len(self._reply.pieces) - 1

    def play(self, reply: int, piece: int, samples: Samples) -> None:
        """Queue audio (at ``sample_rate``) for piece number ``piece`` of ``reply``."""
        if samples.size == 0:
            return
        with self._lock:
            if reply != self._generation or piece < 0:
                return
            part = self._reply.pieces[piece]
            part.queued += samples.size
            self._queue.append((part, samples.astype(np.float32, copy=False)))
            if self._reply.dry_since is not None:
                self._reply.stalled_s += max(0.0, self.clock() - self._reply.dry_since)
                self._reply.dry_since = None

    def piece_done(self, reply: int, piece: int) -> None:
        with self._lock:
            if reply == self._generation and piece >= 0:
                self._reply.pieces[piece].done = True

    # -- the consumer side (the device or the clock) ------------------------------

    def pull(self, count: int) -> Samples:
        """The next ``count`` samples to play (silence when paused or empty)."""
        out = np.zeros(count, dtype=np.float32)
        with self._lock:
            if self._paused or self._held:
                return out
            filled = 0
            while filled < count and self._queue:
                part, chunk = self._queue[0]
                take = min(count - filled, chunk.size - self._offset)
                out[filled : filled + take] = chunk[self._offset : self._offset + take]
                filled += take
                self._offset += take
                part.played += take
                if self._offset >= chunk.size:
                    self._queue.popleft()
                    self._offset = 0
                    self._keep_played(part, chunk)
            now = self.clock()
            if filled and self._reply.first_sample_at is None:
                self._reply.first_sample_at = now + self.latency_s
            if filled and not self._queue:
                self._reply.dry_since = now + filled / self.sample_rate
            if filled:
                rms = float(np.sqrt(np.mean(np.square(out[:filled]))))
                self._levels.append((now + self.latency_s, rms))
            while self._levels and self._levels[0][0] < now - _LEVEL_WINDOW_S:
                self._levels.popleft()
        return out

    # -- control ------------------------------------------------------------------

    def pause(self) -> float:
        """Stop sound at once (queued audio is kept); returns when it stops being heard."""
        with self._lock:
            self._paused = True
            self.stopped_at = self.clock() + self.latency_s
            return self.stopped_at

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self.stopped_at = None

    def rewind(self, count: int) -> int:
        """Take back the last ``count`` samples pulled, as if never played (a device had
        them buffered and dropped them unheard); returns how many were taken back. At
        most the last second can be."""
        with self._lock:
            left = count
            while left > 0:
                if self._queue and self._offset > 0:
                    part, _ = self._queue[0]
                    back = min(left, self._offset)
                elif self._played:
                    part, chunk = self._played.pop()
                    self._played_samples -= chunk.size
                    self._queue.appendleft((part, chunk))
                    self._offset = chunk.size
                    continue
                else:
                    break
                self._offset -= back
                part.played -= back
                left -= back
            return count - left

    def _keep_played(self, part: _Piece, chunk: Samples) -> None:
        self._played.append((part, chunk))
        self._played_samples += chunk.size
        while self._played and self._played_samples - self._played[0][1].size >= self.sample_rate:
            self._played_samples -= self._played.popleft()[1].size

    def _forget_played(self) -> None:
        self._played.clear()
        self._played_samples = 0

    def clear(self) -> None:
        """Drop everything not yet played (and anything still to come for this reply)."""
        with self._lock:
            self._forget_played()
            self._queue.clear()
            self._offset = 0
            self._paused = False
            self._held = False
            self._generation += 1  # late audio of the cleared reply is dropped

    # -- what happened ------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Audio is queued (playing, or paused mid-reply)."""
        with self._lock:
            return bool(self._queue)

    @property
    def playing(self) -> bool:
        """Audio is queued and may be heard now (not paused, not held back)."""
        with self._lock:
            return bool(self._queue) and not self._paused and not self._held

    @property
    def first_sample_at(self) -> float | None:
        """When the first sample of the current reply was (or will be) heard."""
        with self._lock:
            return self._reply.first_sample_at

    def level(self) -> float:
        """The loudest output level (RMS) of the last moments, for telling echo from the
        user; 0 once the speaker has been quiet for a while."""
        with self._lock:
            recent = self.clock() - _LEVEL_WINDOW_S
            return max((rms for at, rms in self._levels if at >= recent), default=0.0)

    def first_sample_of(self, reply: int) -> float | None:
        """When reply number ``reply`` was first heard (None: not yet, or not current)."""
        with self._lock:
            return self._reply.first_sample_at if reply == self._generation else None

    def stalled_ms_of(self, reply: int) -> float | None:
        """How long reply number ``reply`` fell silent between its pieces because the next
        audio was not ready (None unless it is the current one and was heard)."""
        with self._lock:
            if reply != self._generation or self._reply.first_sample_at is None:
                return None
            return self._reply.stalled_s * 1000

    def heard_text_of(self, reply: int) -> str:
        """What was heard of reply number ``reply`` ("" unless it is the current one)."""
        with self._lock:
            current = reply == self._generation
        return self.heard_text() if current else ""

    def heard_text(self) -> str:
        """The words of the current reply played so far: whole pieces, and of the piece
        being played, the share of its words matching the share of its audio played."""
        with self._lock:
            words: list[str] = []
            for part in self._reply.pieces:
                if part.played == 0:
                    break
                piece_words = part.text.split()
                if part.done and part.played >= part.queued:
                    words.extend(piece_words)
                    continue
                share = part.played / part.queued if part.queued else 0.0
                words.extend(piece_words[: int(len(piece_words) * share)])
                break
            return " ".join(words)
