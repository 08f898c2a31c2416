"""What flows through a voice conversation: small frozen dataclasses, one per kind.

Times (``at``) are ``time.monotonic()`` seconds. Observers (the terminal, the JSON
report, a web client) receive these events; none of them can change the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from os1.voice.base import Samples


@dataclass(frozen=True)
class AudioChunk:
    """A frame of microphone audio at MIC_RATE; ``at`` is when its last sample arrived."""

    samples: Samples = field(repr=False)
    at: float


@dataclass(frozen=True)
class SpeechStarted:
    """The user started speaking (``at`` is the first speech frame, not its detection)."""

    at: float
    detected_at: float
    while_speaking: bool  # the companion was speaking: a possible barge-in


@dataclass(frozen=True)
class SpeechPaused:
    """A first short silence after speech: the user may be done (``SpeechEnded``
    follows if the silence lasts). Transcribing starts here, so that the words are
    ready when the pause is long enough to count."""

    at: float  # the last speech frame
    audio: Samples = field(repr=False)  # the stretch of speech so far


@dataclass(frozen=True)
class SpeechEnded:
    """A stretch of speech ended in a pause; the turn may or may not be over."""

    at: float  # the last speech frame
    detected_at: float
    audio: Samples = field(repr=False)
    continues: bool = False  # a long stretch cut in two: the user is still speaking


@dataclass(frozen=True)
class Transcript:
    """Words heard so far in the user's turn (``final`` once the turn is over)."""

    text: str
    final: bool
    at: float


@dataclass(frozen=True)
class ReplyText:
    """A piece of the companion's reply as the model writes it."""

    text: str
    at: float


@dataclass(frozen=True)
class ReplyWithdrawn:
    """A reply shown as it was written, but not yet heard, was taken back: the user went
    on speaking. A new reply will answer the whole turn."""

    at: float


@dataclass(frozen=True)
class Interrupt:
    """The user talked over the companion: playback stopped at ``stopped_at``."""

    onset_at: float
    stopped_at: float
    heard: str  # the part of the reply the user heard
    resumed: bool = False  # it was only a backchannel ("mm-hm"): the companion went on
    by_user: bool = True  # False: stopped for another reason (leaving, a new turn)
    reply_heard_at: float | None = None  # when the interrupted reply was first heard


@dataclass(frozen=True)
class TurnDone:
    """A whole exchange is over, with its timings (milliseconds, None when not reached)."""

    index: int
    user_text: str
    reply: str  # what the user heard
    status: str  # complete | interrupted | failed
    speech_end_to_transcript_ms: float | None
    speech_end_to_first_token_ms: float | None
    speech_end_to_first_audio_ms: float | None
    barge_in_ms: float | None = None
    stalled_ms: float | None = None  # silence mid-reply while the next audio was not ready
    error: str | None = None
    reply_id: str | None = None  # the stored reply message (None: nothing was kept)


Event = (
    AudioChunk
    | SpeechStarted
    | SpeechPaused
    | SpeechEnded
    | Transcript
    | ReplyText
    | ReplyWithdrawn
    | Interrupt
    | TurnDone
)
