"""A voice conversation: listen, decide when the user is done, answer aloud, and yield
the floor the moment the user talks over the companion.

Everything runs on one asyncio loop fed by the microphone; the heavy work (speech
recognition, the model, the voice) runs in threads, so listening never stops. The voice
activity detector judges every 32 ms frame, which is what makes barge-in fast.

Answering is speculative: as soon as a pause has been transcribed, the reply is started
but held silent. If the pause turns out to be the end of the turn, the reply is already
under way and is released; if the user goes on speaking, it is withdrawn unheard (and
removed from the conversation), and a new one starts from the longer sentence.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from os1.companion.dialogue import Companion
from os1.companion.recall import forget_command
from os1.config import VoiceSettings
from os1.voice.base import (
    MIC_RATE,
    Prosody,
    Samples,
    SpeechToText,
    TextToSpeech,
    VoiceActivityDetector,
)
from os1.voice.echo import EchoGate
from os1.voice.endpoint import EndpointPolicy, is_backchannel, parse_backchannels
from os1.voice.events import (
    AudioChunk,
    Event,
    Interrupt,
    ReplyText,
    ReplyWithdrawn,
    SpeechEnded,
    SpeechPaused,
    SpeechStarted,
    Transcript,
    TurnDone,
)
from os1.voice.io import Microphone, Speaker
from os1.voice.listener import Listener
from os1.voice.onset import OnsetDetector
from os1.voice.reply import Announcement, ReplyListener, SpokenReply

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
_POLL_S = 0.01
COMMIT_S = 12.0
FINISH_TIMEOUT_S = 120.0
JOIN_TIMEOUT_S = 30.0  # a reply's threads stop at their next step once cancelled
ANNOUNCE_QUIET_S = 0.6  # something the companion brings up waits for this much quiet
CONFIRM_ONSET_S = 0.35
"""A reply paused at a sound resumes unless the voice detector hears speech by then (it
lags a soft onset by up to about 0.3 s)."""


@dataclass
class _Turn:
    """One exchange: the user's words (as they are transcribed) and the reply to them.

    Whisper hears whole phrases far better than fragments, so each new stretch of speech
    is transcribed together with the rest of the turn since the last commit; once that
    audio passes ``COMMIT_S`` its transcript is final, which bounds the work per pause.
    """

    index: int
    committed: list[asyncio.Task[str]] = field(default_factory=list)
    pending: list[Samples] = field(default_factory=list)  # audio since the last commit
    latest: asyncio.Task[str] | None = None  # the transcript of ``pending``
    user_text: str = ""
    speech_end_at: float | None = None
    transcript_at: float | None = None
    reply: SpokenReply | None = None
    reply_to: str = ""  # the words the reply answers
    confirmed: bool = False  # the user has finished: the reply may be heard
    barge_in_ms: float | None = None
    first_audio_at: float | None = None
    stalled_ms: float | None = None
    early_text: list[ReplyText] = field(default_factory=list)  # written while held

    @property
    def transcripts(self) -> list[asyncio.Task[str]]:
        return self.committed + ([self.latest] if self.latest is not None else [])

    def text(self) -> str:
        parts = [task.result().strip() for task in self.transcripts if task.done()]
        return " ".join(part for part in parts if part)

    def context(self, before: str) -> str:
        """Text said just before the part being transcribed (helps Whisper)."""
        done = [t.result() for t in self.committed if t.done()]
        return " ".join(done)[-400:] if done else before


@dataclass
class _Onset:
    """A sound over the companion's voice, not yet known to be speech: playback is
    paused until the voice detector says."""

    at: float
    stopped_at: float
    timer: asyncio.TimerHandle | None = None


@dataclass
class _Barge:
    """Speech over the companion's reply, not yet known to be more than "mm-hm"."""

    onset_at: float
    stopped_at: float
    confirm: asyncio.TimerHandle | None = None


class VoiceSession:
    def __init__(
        self,
        companion: Companion,
        *,
        stt: SpeechToText,
        vad: VoiceActivityDetector,
        tts: TextToSpeech,
        microphone: Microphone,
        speaker: Speaker,
        settings: VoiceSettings,
        prosody: Callable[[], Prosody] = Prosody,
        observe: Callable[[Event], None] | None = None,
        conversation_id: str | None = None,
        turn_meta: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.companion = companion
        self.turn_meta = turn_meta  # kept with each user message (where it was said)
        self.stt = stt
        self.tts = tts
        self.microphone = microphone
        self.speaker = speaker
        self.playback = speaker.playback
        self.settings = settings
        self.prosody = prosody
        self.observe = observe or (lambda event: None)
        self.conversation_id = conversation_id
        self.clock = clock
        self.echo_gate = EchoGate() if settings.echo_gate else None
        self.listener = Listener(vad, threshold=settings.vad_threshold, echo_gate=self.echo_gate)
        self.onsets = OnsetDetector()
        self._onset: _Onset | None = None
        self._onset_sound = 0  # the detector's last sound that paused the companion
        self.false_onsets = 0  # pauses at a sound that was not speech
        self.policy = EndpointPolicy(
            settings.end_of_turn_ms, settings.unfinished_ms, settings.hesitation_ms
        )
        self.backchannels = parse_backchannels(settings.backchannels)
        self.turns: list[TurnDone] = []
        self._stt_pool = ThreadPoolExecutor(1, thread_name_prefix="os1-stt")
        self._stt_running = 0  # transcriptions submitted and not finished
        # Started at a first short silence: (the last speech frame it covers, its words).
        self._early: tuple[float, asyncio.Future[str | None]] | None = None
        self._background = ThreadPoolExecutor(1, thread_name_prefix="os1-voice-bg")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turn = _Turn(index=0)  # the user's turn in progress
        self._replying: _Turn | None = None  # the turn whose reply may be heard now
        self._barge: _Barge | None = None
        self._endpoint: asyncio.TimerHandle | None = None
        self._history: asyncio.Task[None] | None = None  # see _in_order
        self._closing = False
        self._ignoring = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._count = 0
        self._last_reply = ""
        self._warming = False
        self._warm_again = False
        self.warmed = asyncio.Event()  # the first prompt is ready: the fastest first turn
        self._announcing: Announcement | None = None
        self._announce_lock = asyncio.Lock()  # one at a time, in the order they came
        self._unsaid: list[str] = []  # announced before the session ran
        self._unsaid_lock = threading.Lock()
        self._ready = False  # running: announcements go straight to the loop

    # -- running --------------------------------------------------------------------

    async def run(self) -> list[TurnDone]:
        """Converse until the microphone ends (or the task is cancelled)."""
        self._loop = asyncio.get_running_loop()
        await self.speaker.start()
        self._warm_up()
        with self._unsaid_lock:
            self._ready = True
            for text in self._unsaid:
                self._track(self._announce(text))
            self._unsaid.clear()
        try:
            async for chunk in self.microphone.chunks():
                self._watch_onset(chunk)
                for event in self.listener.feed(chunk, self.playback.level):
                    self._on_detected(event)
            for event in self.listener.flush(self.clock()):
                self._on_detected(event)
            try:  # let the last reply finish (but never hang on a stuck one)
                await asyncio.wait_for(self.wait_idle(), timeout=FINISH_TIMEOUT_S)
            except TimeoutError:
                _log.warning("the last turn did not finish in %s s", FINISH_TIMEOUT_S)
        finally:
            await self._shutdown()
        return self.turns

    def busy(self) -> bool:
        """Something is under way: the user speaking, a turn being decided, a reply."""
        return (
            self.listener.in_speech
            or bool(self._turn.transcripts)
            or self._replying is not None
            or self._barge is not None
            or self.playback.busy
            or self._announcing is not None
        )

    async def wait_idle(self, quiet_s: float = 0.0) -> None:
        """Return once nothing has been under way for ``quiet_s`` seconds."""
        since: float | None = None
        while not self._closing:  # shutting down: nothing will be under way any more
            if self.busy():
                since = None
            elif since is None:
                since = self.clock()
            if since is not None and self.clock() - since >= quiet_s:
                return
            await asyncio.sleep(_POLL_S)

    async def _shutdown(self) -> None:
        self._closing = True
        if self._announcing is not None:
            self._announcing.cancel()
        if self._endpoint is not None:
            self._endpoint.cancel()
        if self._turn.reply is not None:
            self._withdraw(self._turn)
        if self._replying is not None:
            # Leaving mid-reply (Ctrl-C): keep what was heard, as if talked over.
            self._interrupt(
                _Barge(onset_at=self.clock(), stopped_at=self.playback.pause()), by_user=False
            )
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.speaker.close()
        # Off the loop: a warm-up may be waiting for the model (another device's reply),
        # and whoever else the loop serves must not wait with it. Queued warm-ups go.
        for pool in (self._stt_pool, self._background):
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    # -- what the listener hears ----------------------------------------------------------

    def _emit(self, event: Event) -> None:
        try:
            self.observe(event)
        except Exception:
            _log.warning("a voice observer failed", exc_info=True)

    def _on_detected(self, event: SpeechStarted | SpeechPaused | SpeechEnded) -> None:
        self._emit(event)
        if isinstance(event, SpeechStarted):
            self._early = None  # it went on: what was transcribed early is not the turn
            self._on_speech_started(event)
        elif isinstance(event, SpeechPaused):
            self._on_speech_paused(event)
        else:
            self._on_speech_ended(event)

    def _on_speech_paused(self, event: SpeechPaused) -> None:
        """Transcribe the turn so far while the pause is judged, if nothing else is being
        transcribed (a stale run would only delay the next one)."""
        if self._ignoring or self._barge is not None or self._stt_running:
            return
        turn = self._turn
        audio = [*turn.pending, event.audio]
        quick = self._run_stt(self.stt.transcribe_quickly, audio, turn.context(self._last_reply))
        self._early = (event.at, quick)

    def _watch_onset(self, chunk: AudioChunk) -> None:
        """Pause what the companion is saying at the first sound over it, before the voice
        detector can tell whether it is speech."""
        level = self.playback.level()
        gate = self.echo_gate
        self.onsets.feed(chunk, lambda rms: gate is None or gate.above_echo(rms, level))
        # A sound that began before the companion's voice counts too (the user started
        # as the reply did), but each sound pauses the companion at most once.
        onset = self.onsets.sounding_since
        if onset is None or self.onsets.sounds == self._onset_sound:
            return
        if not self.settings.barge_in or self._onset is not None:
            return
        if self._barge is not None or self.listener.in_speech or not self.playback.playing:
            return
        replying = self._replying
        reply = replying.reply if replying is not None else None
        heard = reply is not None and reply.first_heard_at() is not None
        if not heard and self._announcing is None:
            return
        assert self._loop is not None
        self._onset_sound = self.onsets.sounds
        pending = _Onset(at=onset, stopped_at=self.playback.pause())
        pending.timer = self._loop.call_later(CONFIRM_ONSET_S, self._not_speech, pending)
        self._onset = pending

    def _not_speech(self, onset: _Onset) -> None:
        """The sound that paused the companion was not speech: go on where it stopped."""
        if self._onset is onset:
            self._onset = None
            self.false_onsets += 1
            self.playback.resume()

    def _take_onset(self) -> _Onset | None:
        onset, self._onset = self._onset, None
        if onset is not None and onset.timer is not None:
            onset.timer.cancel()
        return onset

    def _on_speech_started(self, event: SpeechStarted) -> None:
        onset = self._take_onset()  # speech after all: the pause at its first sound stands
        started_at = event.at if onset is None else min(event.at, onset.at)
        stopped_at = None if onset is None else onset.stopped_at
        if self._announcing is not None:
            if not self.settings.barge_in:
                self._ignoring = True  # as over a reply: talking over it is not a turn
                return
            # The user has the floor; it stays in writing.
            self._stop_announcing(started_at, stopped_at)
            onset = None
        if self._endpoint is not None:  # the user is not done after all
            self._endpoint.cancel()
            self._endpoint = None
        if self._turn.reply is not None:
            self._withdraw(self._turn)  # nobody heard it: answer the whole thought later
        replying = self._replying
        if replying is not None and replying.reply and replying.reply.first_heard_at() is None:
            self._reopen(replying)  # not a word of the reply was heard: they were not done
            return
        if replying is None or self._barge is not None:
            if onset is not None:
                self.playback.resume()  # nothing of the companion's to stop after all
            return
        if not self.settings.barge_in:
            self._ignoring = True  # talking over the companion is not taken as a turn
            return
        barge = _Barge(onset_at=started_at, stopped_at=stopped_at or self.playback.pause())
        self._barge = barge
        assert self._loop is not None
        wait = max(0.0, started_at + self.settings.backchannel_ms / 1000 - self.clock())
        barge.confirm = self._loop.call_later(wait, self._confirm_if_still_speaking, barge)

    def _reopen(self, turn: _Turn) -> None:
        """The user goes on after the turn was judged over, before any of the reply was
        heard: withdraw the reply and carry on with the same turn."""
        self._replying = None
        self._withdraw(turn)
        turn.confirmed = False
        self._emit(ReplyWithdrawn(self.clock()))  # its text was shown: take it back
        turn.user_text = ""
        self._turn = turn
        self._count = turn.index

    def _confirm_if_still_speaking(self, barge: _Barge) -> None:
        barge.confirm = None
        if self._barge is barge and self.listener.in_speech:
            self._interrupt(barge)  # too long to be "mm-hm": the user has the floor

    def _on_speech_ended(self, event: SpeechEnded) -> None:
        if self._ignoring:
            self._ignoring = event.continues
            return
        barge = self._barge
        if barge is not None and barge.confirm is not None:
            # Ended within the backchannel window: "mm-hm", or the start of a turn?
            alone = self._transcribe([event.audio], self._last_reply)
            self._track(self._judge_backchannel(barge, event, alone))
            return
        self._hear(event)
        self._track(self._after_transcript(event))

    def _hear(self, event: SpeechEnded, known: asyncio.Task[str] | None = None) -> None:
        """Add a stretch of speech to the user's turn and (re)transcribe what is open
        (``known``: a transcript of this stretch alone, reused when it is all there is)."""
        turn = self._turn
        turn.pending.append(event.audio)
        early, self._early = self._early, None
        if known is not None and len(turn.pending) == 1:
            task = known
        elif early is not None and early[0] == event.at:
            # The same speech, transcribed from its first short silence.
            task = asyncio.ensure_future(
                self._sure_words(early[1], list(turn.pending), turn.context(self._last_reply))
            )
        else:
            task = self._transcribe(turn.pending, turn.context(self._last_reply))
        if event.continues or sum(a.size for a in turn.pending) / MIC_RATE >= COMMIT_S:
            turn.committed.append(task)
            turn.pending = []
            turn.latest = None
        else:
            turn.latest = task
        turn.speech_end_at = event.at

    async def _sure_words(
        self, quick: asyncio.Future[str | None], audio: list[Samples], context: str
    ) -> str:
        """The early quick pass's words, or if it was not sure of them, the full pass's."""
        try:
            words = await quick
        except Exception:
            words = None
        return words if words is not None else await self._transcribe(audio, context)

    def _run_stt(
        self, work: Callable[[Samples, str], _T], audio: list[Samples], context: str
    ) -> asyncio.Future[_T]:
        """Run ``work`` (a transcription) on the speech-recognition thread."""
        assert self._loop is not None
        joined = np.concatenate(audio) if len(audio) > 1 else audio[0]
        future = self._loop.run_in_executor(self._stt_pool, work, joined, context)
        self._stt_running += 1

        def finished(done: asyncio.Future[_T]) -> None:
            self._stt_running -= 1
            if not done.cancelled():
                done.exception()  # an early guess nobody took may fail unheard

        future.add_done_callback(finished)
        return future

    def _transcribe(self, audio: list[Samples], context: str) -> asyncio.Task[str]:
        future = self._run_stt(self.stt.transcribe, audio, context)

        async def transcript() -> str:
            try:
                return await future
            except Exception:
                _log.warning("speech recognition failed", exc_info=True)
                return ""

        return asyncio.ensure_future(transcript())

    async def _judge_backchannel(
        self, barge: _Barge, event: SpeechEnded, alone: asyncio.Task[str]
    ) -> None:
        text = await alone
        if self._barge is barge:
            short = (event.at - barge.onset_at) * 1000 <= self.settings.backchannel_ms
            # (Speaking again already is no backchannel: "mm-hm… wait, actually".)
            if short and is_backchannel(text, self.backchannels) and not self.listener.in_speech:
                if barge.confirm is not None:
                    barge.confirm.cancel()
                self._barge = None
                self.playback.resume()
                heard = self.playback.heard_text()
                self._emit(Interrupt(barge.onset_at, barge.stopped_at, heard, resumed=True))
                return
            self._interrupt(barge)
        # What they said is the start of their turn.
        self._hear(event, known=alone)
        await self._after_transcript(event)

    def _interrupt(self, barge: _Barge, *, by_user: bool = True) -> None:
        """The user has the floor: stop the reply, keep what they heard."""
        if barge.confirm is not None:
            barge.confirm.cancel()
            barge.confirm = None
        if self._barge is barge:
            self._barge = None
        turn = self._replying
        self._replying = None
        if turn is None or turn.reply is None:
            return
        reply = turn.reply
        reply.cancel()
        heard = reply.heard()
        heard_at = reply.first_heard_at()
        turn.first_audio_at = heard_at if heard else None
        turn.stalled_ms = reply.stalled_ms()
        self.playback.clear()
        if by_user:
            turn.barge_in_ms = (barge.stopped_at - barge.onset_at) * 1000
        self._emit(
            Interrupt(
                barge.onset_at, barge.stopped_at, heard, by_user=by_user, reply_heard_at=heard_at
            )
        )
        self._track(self._settle(turn, heard, "interrupted"))

    # -- deciding the turn is over ----------------------------------------------------

    async def _after_transcript(self, event: SpeechEnded) -> None:
        turn = self._turn
        await asyncio.gather(*turn.transcripts)
        if self._closing or turn is not self._turn or self.listener.in_speech:
            return  # more is coming; the last stretch decides
        if any(not task.done() for task in turn.transcripts):
            return
        turn.transcript_at = self.clock()
        text = turn.text()
        if text:
            self._emit(Transcript(text, final=False, at=self.clock()))
        if event.continues:
            return
        deadline = event.at + self.policy.pause_ms(text) / 1000
        if text and turn.reply is None and self._replying is None and not forget_command(text):
            self._start_reply(turn, text)  # speculatively: unheard until the turn is over
        if self._endpoint is not None:
            self._endpoint.cancel()
        assert self._loop is not None
        self._endpoint = self._loop.call_later(max(0.0, deadline - self.clock()), self._end_of_turn)

    def _end_of_turn(self) -> None:
        self._endpoint = None
        if self._closing or self.listener.in_speech:
            return
        turn = self._turn
        text = turn.text()
        self._count += 1
        self._turn = _Turn(index=self._count)
        if not text:
            if turn.reply is not None:
                self._withdraw(turn)
            return  # a cough, a door, noise: nothing to answer
        turn.user_text = text
        self._emit(Transcript(text, final=True, at=self.clock()))
        if self._replying is not None:  # cannot normally happen: the floor is the user's
            self._interrupt(_Barge(self.clock(), self.playback.pause()), by_user=False)
        if turn.reply is not None and turn.reply_to != text:
            self._withdraw(turn)
        if turn.reply is None:
            self._start_reply(turn, text)
        turn.confirmed = True
        self._replying = turn
        self.playback.release()
        for event in turn.early_text:
            self._emit(event)
        turn.early_text.clear()

    # -- speaking up ----------------------------------------------------------------------

    def announce(self, text: str) -> None:
        """Say ``text`` aloud once nothing else is under way: something the companion
        brings up itself (a reminder that came due, the morning briefing), already stored
        in the conversation. Safe to call from any thread, and before ``run``."""
        with self._unsaid_lock:
            if not self._ready:
                self._unsaid.append(text)
                return
        if self._loop is not None and not self._closing:
            self._loop.call_soon_threadsafe(lambda: self._track(self._announce(text)))

    async def _announce(self, text: str) -> None:
        async with self._announce_lock:
            await self.wait_idle(ANNOUNCE_QUIET_S)  # never over the user or a reply
            if self._closing:  # (the wait ends when the session does)
                return
            said = Announcement(self.tts, self.playback, self.prosody())
            self._announcing = said
            said.start(text)
            while not said.cancelled and not (said.written and not self.playback.busy):  # noqa: ASYNC110
                await asyncio.sleep(_POLL_S)
            if self._announcing is said:
                self._announcing = None
            await asyncio.to_thread(said.join, JOIN_TIMEOUT_S)

    def _stop_announcing(self, onset_at: float, stopped_at: float | None = None) -> None:
        said = self._announcing
        if said is not None:
            stopped_at = stopped_at or self.playback.pause()
            heard = self.playback.heard_text()
            said.cancel()
            self._announcing = None
            self.playback.clear()
            self._emit(Interrupt(onset_at, stopped_at, heard))

    # -- answering ------------------------------------------------------------------------

    def _start_reply(self, turn: _Turn, text: str) -> None:
        """Start answering ``text``; until the turn is confirmed over, it stays unheard."""
        assert self._loop is not None
        loop = self._loop

        def on_text(chunk: str) -> None:
            loop.call_soon_threadsafe(self._reply_text, turn, ReplyText(chunk, self.clock()))

        reply = SpokenReply(
            self.companion,
            self.tts,
            self.playback,
            self.prosody(),
            ReplyListener(on_text=on_text),
            clock=self.clock,
        )
        turn.reply = reply
        turn.reply_to = text
        barrier = self._history

        async def begin() -> None:
            if barrier is not None:
                # The prompt must show the past as it will stay: no withdrawn
                # half-sentence, no unheard end of an interrupted reply.
                await asyncio.gather(barrier, return_exceptions=True)
            if not reply.cancelled:
                # Decided now, not when scheduled: the turn may have been confirmed since.
                reply.start(
                    text, self.conversation_id, held=not turn.confirmed, meta=self.turn_meta
                )
                await self._follow(turn, reply)

        self._track(begin())

    def _reply_text(self, turn: _Turn, event: ReplyText) -> None:
        """Show the reply as it is written, once the user's turn is over (what a held
        reply wrote before then is shown at that moment)."""
        if turn.reply is None:
            return  # withdrawn
        if turn.confirmed:
            self._emit(event)
        else:
            turn.early_text.append(event)

    def _withdraw(self, turn: _Turn) -> None:
        """Take back a reply the user never heard (they were still speaking)."""
        reply = turn.reply
        if reply is None:
            return
        turn.reply = None
        reply.cancel()
        self.playback.clear()

        async def take_back() -> None:
            await asyncio.to_thread(reply.join, JOIN_TIMEOUT_S)
            if reply.turn is not None:
                await asyncio.to_thread(self.companion.withdraw, reply.turn)

        self._in_order(take_back())

    def _in_order(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` after the changes to the conversation before it (withdrawals,
        settled replies); new replies wait for all of them."""
        previous = self._history

        async def after() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            try:
                await work
            except Exception:
                _log.warning("updating the conversation failed", exc_info=True)

        task = asyncio.ensure_future(after())
        self._history = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _follow(self, turn: _Turn, reply: SpokenReply) -> None:
        """Wait for the reply to be said in full (unless interrupted), then close the turn."""
        # The speaker drains in its own thread; a 10 ms poll costs less than waking the
        # loop from its callback on every block.
        while not reply.cancelled and not (  # noqa: ASYNC110
            turn.confirmed and reply.written and not self.playback.busy
        ):
            await asyncio.sleep(_POLL_S)
        if reply.cancelled or self._replying is not turn:
            return
        turn.first_audio_at = reply.first_heard_at()
        turn.stalled_ms = reply.stalled_ms()
        self._replying = None
        if reply.error:  # keep what was said before it failed, not the apology
            await self._settle(turn, reply.heard(), "failed")
        else:
            await self._settle(turn, None, "complete")

    async def _settle(self, turn: _Turn, heard: str | None, status: str) -> None:
        done = asyncio.get_running_loop().create_future()

        async def store() -> None:
            try:
                await self._store(turn, heard, status)
            finally:
                done.set_result(None)

        self._in_order(store())
        await done

    async def _store(self, turn: _Turn, heard: str | None, status: str) -> None:
        """Keep what was heard of the reply, let memory learn, and report the turn."""
        reply = turn.reply
        assert reply is not None
        await asyncio.to_thread(reply.join, JOIN_TIMEOUT_S)
        result = reply.turn
        if result is not None:
            self.conversation_id = result.conversation_id
            if heard is not None:
                await asyncio.to_thread(self.companion.settle_heard, result, heard)
            self._in_background(lambda: self.companion.learn(result))
            self._warm_up()
        said = heard if heard is not None else (result.reply if result else "")
        self._last_reply = said
        end = turn.speech_end_at

        def since_end(at: float | None) -> float | None:
            return None if at is None or end is None else round((at - end) * 1000, 1)

        done = TurnDone(
            index=turn.index,
            user_text=turn.user_text,
            reply=said,
            status=status,
            speech_end_to_transcript_ms=since_end(turn.transcript_at),
            speech_end_to_first_token_ms=since_end(reply.first_token_at),
            speech_end_to_first_audio_ms=since_end(turn.first_audio_at),
            barge_in_ms=None if turn.barge_in_ms is None else round(turn.barge_in_ms, 1),
            stalled_ms=None if turn.stalled_ms is None else round(turn.stalled_ms, 1),
            error=str(reply.error) if reply.error else None,
            reply_id=result.reply_message.id if result and result.reply_message else None,
        )
        self.turns.append(done)
        self._emit(done)

    # -- helpers ----------------------------------------------------------------------

    def _track(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    def _warm_up(self) -> None:
        """Prepare the next prompt in the background; one at a time (a queue of them
        would hold the model while the user is waiting for an answer)."""
        if self._warming:
            self._warm_again = True  # the conversation moved on while it ran
            return
        self._warming = True
        loop = self._loop

        def work() -> None:
            try:
                self._warm_again = True
                while self._warm_again:
                    self._warm_again = False
                    self.companion.warm_up()
            finally:
                self._warming = False
                if loop is not None:
                    loop.call_soon_threadsafe(self.warmed.set)

        self._in_background(work)

    def _in_background(self, work: Callable[[], object]) -> None:
        def run() -> None:
            try:
                work()
            except Exception:
                _log.warning("background work failed", exc_info=True)

        self._background.submit(run)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error("a voice task failed", exc_info=task.exception())
