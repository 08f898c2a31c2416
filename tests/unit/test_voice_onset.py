"""The energy onset detector: the first sound over the companion, 10 ms at a time."""

from __future__ import annotations

import numpy as np
import pytest

from os1.voice.base import MIC_RATE
from os1.voice.events import AudioChunk
from os1.voice.onset import OnsetDetector


def _tone(seconds: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * MIC_RATE)) / MIC_RATE
    return (amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def _noise(seconds: float, rms: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rms * rng.standard_normal(int(seconds * MIC_RATE))).astype(np.float32)


def _onsets(detector: OnsetDetector, audio: np.ndarray, block: int = 320) -> list[float]:
    """Feed ``audio`` in microphone-sized chunks (20 ms by default); the onsets found."""
    found = []
    for offset in range(0, audio.size, block):
        chunk = audio[offset : offset + block]
        onset = detector.feed(AudioChunk(chunk, (offset + chunk.size) / MIC_RATE))
        if onset is not None:
            found.append(onset)
    return found


@pytest.mark.parametrize("block", [320, 512, 77])
def test_a_voice_is_dated_from_its_first_sound_within_a_block(block: int) -> None:
    audio = np.concatenate([_noise(1.0, 0.0005), _tone(0.5, 0.02), _noise(0.5, 0.0005, 1)])
    found = _onsets(OnsetDetector(), audio, block)
    assert len(found) == 1
    assert found[0] == pytest.approx(1.0, abs=0.011)


def test_a_click_is_no_onset_and_neither_is_the_room() -> None:
    click = _tone(0.008, 0.5)  # less than one 10 ms block of sound
    audio = np.concatenate([_noise(1.0, 0.002), click, _noise(1.0, 0.002, 1)])
    detector = OnsetDetector()
    assert _onsets(detector, audio) == []
    assert detector.floor == pytest.approx(0.002, rel=0.3)  # it learned the room


def test_in_a_noisy_room_only_a_clear_rise_counts() -> None:
    room = _noise(2.0, 0.004)
    just_louder = _noise(0.5, 0.008, 1)  # twice the room: someone shuffling papers
    voice = _tone(0.5, 0.06)  # fifteen times the room
    audio = np.concatenate([room, just_louder, room, voice, room])
    assert _onsets(OnsetDetector(), audio) == [pytest.approx(4.5, abs=0.011)]


def test_the_companions_own_echo_is_not_an_onset() -> None:
    audio = np.concatenate([np.zeros(MIC_RATE, np.float32), _tone(0.5, 0.05)])
    detector = OnsetDetector()
    found = []
    for offset in range(0, audio.size, 320):
        chunk = AudioChunk(audio[offset : offset + 320], (offset + 320) / MIC_RATE)
        onset = detector.feed(chunk, above_echo=lambda rms: rms > 0.1)
        if onset is not None:
            found.append(onset)
    assert found == [] and detector.sounding_since is None


def test_each_sound_is_counted_once_and_dated_while_it_lasts() -> None:
    detector = OnsetDetector()
    audio = np.concatenate([np.zeros(MIC_RATE // 2, np.float32), _tone(0.3)])
    _onsets(detector, audio)
    assert detector.sounds == 1
    assert detector.sounding_since == pytest.approx(0.5, abs=0.011)
    _onsets(detector, np.zeros(MIC_RATE // 10, np.float32))
    assert detector.sounding_since is None and detector.sounds == 1
