"""The companion's spoken reply: think, say, and know what was heard.

Two worker threads overlap the work. The writer streams the reply from the companion
and cuts it into speakable pieces; the voice thread synthesises each piece and queues
its audio, so the first clause plays while the model is still writing the rest.
Cancelling (barge-in) stops both at their next step; the caller then keeps only what
the user heard (``Companion.settle_heard``).

The first piece gets the machine to itself: once it is written, the writer waits until
its first audio is queued before it asks the model for more. On two cores the model and
the voice running together each go at about half speed, and what the user waits for is
that first sound, not the rest of the reply, which has the first piece's playing time
to catch up (measured: Kokoro's first clause 0.45 s alone, 1.0 s beside the model).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from os1.companion.dialogue import Companion, TurnResult
from os1.voice.base import Prosody, Samples, TextToSpeech
from os1.voice.chunker import SentenceChunker
from os1.voice.playback import Playback

_log = logging.getLogger(__name__)

APOLOGY = "Sorry, I lost my train of thought. Could you say that again?"
FIRST_AUDIO_WAIT_S = 3.0
"""The longest the writer waits for the first piece's audio (a voice that hangs must not
stop the reply being written and stored)."""
_END = None


@dataclass(frozen=True)
class ReplyListener:
    """Callbacks from the worker threads (they must be thread-safe)."""

    on_text: Callable[[str], None] = lambda text: None


class SpokenReply:
    def __init__(
        self,
        companion: Companion,
        tts: TextToSpeech,
        playback: Playback,
        prosody: Prosody,
        listener: ReplyListener | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.companion = companion
        self.tts = tts
        self.playback = playback
        self.prosody = prosody
        self.listener = listener or ReplyListener()
        self.clock = clock
        self.turn: TurnResult | None = None
        self.first_token_at: float | None = None
        self.error: Exception | None = None
        self.apologized = False  # the model failed before a word: it said sorry instead
        self._cancel = threading.Event()
        self._first_audio = threading.Event()  # the first piece is heard-ready (or never)
        self._pieces: queue.Queue[str | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write, name="os1-reply-writer", daemon=True)
        self._voice = threading.Thread(target=self._speak, name="os1-reply-voice", daemon=True)
        self._user_text = ""
        self._generation = 0
        self._conversation_id: str | None = None
        self._meta: dict[str, Any] | None = None

    def start(
        self,
        user_text: str,
        conversation_id: str | None,
        *,
        held: bool = False,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Begin the reply; a ``held`` one is prepared but silent until the playback is
        released (the session is not yet sure the user has finished). ``meta`` is kept
        with the user's message."""
        self._user_text = user_text
        self._meta = meta
        self._conversation_id = conversation_id
        self._generation = self.playback.begin_reply(held=held)
        self._writer.start()
        self._voice.start()

    def cancel(self) -> None:
        """Stop writing and synthesising (audio already queued is the caller's to clear)."""
        self._cancel.set()
        self._first_audio.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the worker threads (if the reply was ever started)."""
        for thread in (self._writer, self._voice):
            if thread.ident is not None:
                thread.join(timeout)

    def first_heard_at(self) -> float | None:
        """When the user first heard this reply (None: not yet, or never started)."""
        return self.playback.first_sample_of(self._generation) if self._generation else None

    def stalled_ms(self) -> float | None:
        """How long the reply fell silent mid-way waiting for its next audio."""
        return self.playback.stalled_ms_of(self._generation) if self._generation else None

    def heard(self) -> str:
        """The words of this reply the user has heard so far (never the apology)."""
        if not self._generation or self.apologized:
            return ""
        return self.playback.heard_text_of(self._generation)

    @property
    def written(self) -> bool:
        """The writer and the voice have finished: all the audio there will be is queued."""
        return not self._writer.is_alive() and not self._voice.is_alive()

    # -- the writer ---------------------------------------------------------------

    def _write(self) -> None:
        chunker = SentenceChunker()
        spoke = False
        try:
            with self.companion.turn_gate:  # no other turn (another device) in between
                if self._cancel.is_set():
                    return  # withdrawn before it began: store nothing, think nothing
                self.turn = self.companion.start_turn(
                    self._user_text, self._conversation_id, meta=self._meta
                )
                stream = self.companion.stream(self.turn)
                try:
                    for text in stream:
                        if self._cancel.is_set():
                            break
                        if self.first_token_at is None:
                            self.first_token_at = self.clock()
                        self.listener.on_text(text)
                        for piece in chunker.feed(text):
                            self._pieces.put(piece)
                            if not spoke:
                                self._first_audio.wait(FIRST_AUDIO_WAIT_S)
                            spoke = True
                finally:
                    stream.close()  # stores what was written (settle_heard trims it later)
            if not self._cancel.is_set():
                for piece in chunker.finish():
                    self._pieces.put(piece)
                    spoke = True
        except Exception as error:  # the model failed: say something short, never go silent
            _log.warning("the reply failed", exc_info=True)
            self.error = error
            if not self._cancel.is_set():
                # Say what was written before the failure; if nothing was, say sorry.
                for piece in chunker.finish():
                    self._pieces.put(piece)
                    spoke = True
                if not spoke:
                    self.apologized = True
                    self._pieces.put(APOLOGY)
        finally:
            self._pieces.put(_END)
            self._first_audio.set()

    # -- the voice ----------------------------------------------------------------

    def _speak(self) -> None:
        while True:
            piece = self._pieces.get()
            if piece is _END or self._cancel.is_set():
                return
            error = say_piece(
                self.tts,
                self.playback,
                self._generation,
                piece,
                self.prosody,
                self._cancel,
                started=self._first_audio,
            )
            self._first_audio.set()  # (a piece that made no sound: the writer goes on)
            self.error = self.error or error


def say_piece(
    tts: TextToSpeech,
    playback: Playback,
    generation: int,
    piece: str,
    prosody: Prosody,
    cancel: threading.Event,
    *,
    started: threading.Event | None = None,
) -> Exception | None:
    """Synthesise one piece of speech into ``playback`` (as part of reply ``generation``)
    until it is said or ``cancel`` is set; the voice's error, if it failed. ``started`` is
    set once its first audio is queued."""
    number = playback.add_piece(generation, piece)
    audio: Generator[Samples, None, None] | None = None
    try:
        audio = tts.synthesize(piece, prosody)
        for samples in audio:
            if cancel.is_set():
                return None
            playback.play(generation, number, samples)
            if started is not None:
                started.set()
    except Exception as error:
        _log.warning("the voice failed on %r", piece, exc_info=True)
        return error
    finally:
        playback.piece_done(generation, number)
        if audio is not None:
            with contextlib.suppress(Exception):
                audio.close()
    return None


class Announcement:
    """Words the companion says on its own, not in answer to anything: a reminder that
    came due, the morning briefing. The text is already stored; this only says it, and
    stops when cancelled (the user started talking)."""

    def __init__(self, tts: TextToSpeech, playback: Playback, prosody: Prosody) -> None:
        self.tts = tts
        self.playback = playback
        self.prosody = prosody
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._say, name="os1-announce", daemon=True)
        self._text = ""
        self._generation = 0

    def start(self, text: str) -> None:
        self._text = text
        self._generation = self.playback.begin_reply()
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def written(self) -> bool:
        """All of its audio is queued (or it was cancelled)."""
        return self._thread.ident is not None and not self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.ident is not None:
            self._thread.join(timeout)

    def _say(self) -> None:
        chunker = SentenceChunker()
        pieces = [*chunker.feed(self._text), *chunker.finish()]
        for piece in pieces:
            if self._cancel.is_set():
                return
            say_piece(self.tts, self.playback, self._generation, piece, self.prosody, self._cancel)
