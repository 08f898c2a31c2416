"""Put a voice conversation together from the settings: models, sound, and a session.

Used by ``os1 talk`` (microphone or files) and by ``os1 bench voice``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from os1.companion.dialogue import Companion
from os1.config import VoiceSettings
from os1.terminal import say
from os1.voice.base import Prosody, SpeechToText, TextToSpeech, VoiceActivityDetector
from os1.voice.events import Event, Interrupt, ReplyText, Transcript, TurnDone
from os1.voice.io import Cue, FileMicrophone, FileSpeaker, Microphone, Speaker
from os1.voice.session import VoiceSession

IDLE_BEFORE_NEXT_S = 0.8  # in file mode, the pause before the next WAV is "spoken"
CUE_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class VoiceParts:
    stt: SpeechToText
    vad: VoiceActivityDetector
    tts: TextToSpeech


def load_parts(
    settings: VoiceSettings, chosen_voice: str, models_dir: Path, *, quiet: bool = False
) -> VoiceParts:
    """Load and warm the models (so the first turn is as fast as the rest)."""
    from os1.voice.stt import WhisperSTT
    from os1.voice.vad import SileroVAD
    from os1.voice.voices import load_voice

    started = time.perf_counter()
    if not quiet:
        say("Loading the voice models...", err=True)
    tts = load_voice(settings.voice or chosen_voice, models_dir)
    stt = WhisperSTT(settings.stt_model, models_dir=models_dir, cpu_threads=settings.threads)
    stt.load()
    vad = SileroVAD()
    for _ in tts.synthesize("Hello."):
        pass
    stt.transcribe(np.zeros(8000, dtype=np.float32))
    if not quiet:
        say(f"Ready ({time.perf_counter() - started:.1f} s).", err=True)
    return VoiceParts(stt=stt, vad=vad, tts=tts)


def prosody_for(companion: Companion, settings: VoiceSettings) -> Callable[[], Prosody]:
    """The prosody of the next reply: the user's settings, coloured by the companion's mood."""
    from os1.voice.voices import mood_prosody

    def current() -> Prosody:
        pitch = 2 ** (settings.pitch / 12)
        if not settings.mood_prosody:
            return Prosody(rate=settings.rate, pitch=pitch)
        mood = mood_prosody(companion.affect.companion_mood)
        return Prosody(rate=settings.rate * mood.rate, pitch=pitch * mood.pitch)

    return current


class Printer(Protocol):
    def user(self, text: str, final: bool) -> None: ...
    def reply(self, name: str, text: str) -> None: ...
    def interrupted(self, heard: str, resumed: bool) -> None: ...
    def turn_done(self) -> None: ...


class VoiceRun:
    """One ``os1 talk``: where the sound comes from and goes to, and the report."""

    def __init__(self, companion: Companion, settings: VoiceSettings, models_dir: Path) -> None:
        self.companion = companion
        self.settings = settings
        self.models_dir = models_dir
        self.conversation_id: str | None = None
        self._clips: list[Any] | None = None
        self._out_dir: Path | None = None
        self._inputs: list[Path] = []
        self.session: VoiceSession | None = None  # while conversing
        self.microphone: Microphone | None = None
        self._unsaid: list[str] = []  # brought up before the conversation began
        self._unsaid_lock = threading.Lock()  # ``announce`` comes from the reminder thread

    def announce(self, text: str) -> None:
        """Say ``text`` aloud in the conversation (see ``VoiceSession.announce``)."""
        with self._unsaid_lock:
            if self.session is None:
                self._unsaid.append(text)
                return
        self.session.announce(text)

    def use_files(self, paths: list[Path], out_dir: Path | None) -> None:
        """Speak these WAVs, one turn each (read now, so a bad file fails before anything)."""
        from os1.voice.audio import read_wav

        self._clips = [read_wav(path) for path in paths]
        self._inputs = paths
        self._out_dir = out_dir
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)

    def use_devices(self) -> None:
        from os1.voice.sound import check_devices

        check_devices(self.settings.input_device, self.settings.output_device)
        self._clips = None

    async def converse(
        self,
        parts: VoiceParts,
        *,
        printer: Printer | None = None,
        cue: Cue | None = None,
        observe: Callable[[Event], None] | None = None,
    ) -> dict[str, Any]:
        microphone: Microphone
        speaker: Speaker
        file_speaker: FileSpeaker | None = None
        session: VoiceSession | None = None

        async def when_idle(number: int) -> None:
            assert session is not None
            with contextlib.suppress(TimeoutError):  # never wait for ever to speak
                if number == 0:
                    await asyncio.wait_for(session.warmed.wait(), CUE_TIMEOUT_S)
                await asyncio.wait_for(session.wait_idle(IDLE_BEFORE_NEXT_S), CUE_TIMEOUT_S)

        if self._clips is not None:
            microphone = FileMicrophone(self._clips, cue=cue or when_idle)
            file_speaker = FileSpeaker(parts.tts.sample_rate, self._out_dir)
            speaker = file_speaker
        else:
            from os1.voice.sound import SoundMicrophone, SoundSpeaker

            microphone = SoundMicrophone(self.settings.input_device)
            speaker = SoundSpeaker(parts.tts.sample_rate, self.settings.output_device)
        self.microphone = microphone
        name = self.companion.persona.companion_name

        def on_event(event: Event) -> None:
            if observe is not None:
                observe(event)
            if isinstance(event, TurnDone) and file_speaker is not None:
                file_speaker.save_reply(event.index + 1)
            if printer is None:
                return
            if isinstance(event, Transcript):
                printer.user(event.text, event.final)
            elif isinstance(event, ReplyText):
                printer.reply(name, event.text)
            elif isinstance(event, Interrupt):
                printer.interrupted(event.heard, event.resumed)
            elif isinstance(event, TurnDone):
                printer.turn_done()

        session = VoiceSession(
            self.companion,
            stt=parts.stt,
            vad=parts.vad,
            tts=parts.tts,
            microphone=microphone,
            speaker=speaker,
            settings=self.settings,
            prosody=prosody_for(self.companion, self.settings),
            observe=on_event,
            conversation_id=self.conversation_id,
        )
        with self._unsaid_lock:
            self.session = session
            for text in self._unsaid:
                session.announce(text)
            self._unsaid.clear()
        turns = await session.run()
        return {
            "companion": name,
            "model": self.companion.llm.info.name,
            "voice": parts.tts.name,
            "stt": parts.stt.name,
            "inputs": [str(path) for path in self._inputs],
            "turns": [asdict(turn) for turn in turns],
            # Pauses at a sound over the companion that the voice detector did not confirm.
            "false_onsets": session.false_onsets,
            "replies": [str(path) for path in file_speaker.files] if file_speaker else [],
        }
