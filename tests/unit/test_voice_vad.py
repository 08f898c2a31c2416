"""The energy VAD (the deterministic stand-in) and Silero's loading errors.

Silero on real speech is tested in tests/integration/test_voice_models.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from os1.errors import ModelError
from os1.voice.base import Samples, VoiceActivityDetector
from os1.voice.vad import FRAME_SAMPLES, EnergyVAD, SileroVAD, silero_model_path


def level(db: float, n: int = FRAME_SAMPLES) -> Samples:
    """A frame whose RMS is exactly ``db`` dBFS (a constant has RMS equal to its value)."""
    return np.full(n, 10 ** (db / 20), dtype=np.float32)


def test_energy_vad_follows_the_protocol() -> None:
    vad: VoiceActivityDetector = EnergyVAD()
    assert vad.frame_samples == FRAME_SAMPLES == 512


def test_energy_vad_ramps_around_its_threshold() -> None:
    vad = EnergyVAD(threshold_db=-40.0, knee_db=6.0)
    assert vad.probability(np.zeros(FRAME_SAMPLES, dtype=np.float32)) == 0.0
    assert vad.probability(level(-46.0)) == pytest.approx(0.0, abs=1e-6)
    assert vad.probability(level(-43.0)) == pytest.approx(0.25, abs=1e-6)
    assert vad.probability(level(-40.0)) == pytest.approx(0.5, abs=1e-6)
    assert vad.probability(level(-37.0)) == pytest.approx(0.75, abs=1e-6)
    assert vad.probability(level(-34.0)) == pytest.approx(1.0, abs=1e-6)
    assert vad.probability(level(0.0)) == 1.0


def test_energy_vad_is_monotonic_and_stateless() -> None:
    vad = EnergyVAD()
    levels = [vad.probability(level(db)) for db in range(-80, 1, 2)]
    assert levels == sorted(levels)
    loud, quiet = level(-10.0), level(-70.0)
    first = [vad.probability(f) for f in (loud, quiet, loud)]
    vad.reset()
    assert [vad.probability(f) for f in (loud, quiet, loud)] == first == [1.0, 0.0, 1.0]


def test_energy_vad_uses_rms_not_peak() -> None:
    vad = EnergyVAD(threshold_db=-40.0)
    click = np.zeros(FRAME_SAMPLES, dtype=np.float32)
    click[0] = 0.1  # a -20 dBFS peak, but the frame's energy is about -47 dBFS
    assert vad.probability(click) == 0.0


def test_energy_vad_other_frame_lengths() -> None:
    vad = EnergyVAD(frame_samples=160)
    assert vad.probability(level(-10.0, 160)) == 1.0
    with pytest.raises(ValueError, match="160"):
        vad.probability(level(-10.0))


@pytest.mark.parametrize("shape", [(511,), (513,), (0,), (2, 512)])
def test_wrong_frames_are_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="512"):
        EnergyVAD().probability(np.zeros(shape, dtype=np.float32))


def test_energy_vad_rejects_a_zero_knee() -> None:
    with pytest.raises(ValueError):
        EnergyVAD(knee_db=0.0)


def test_silero_model_ships_with_faster_whisper() -> None:
    path = silero_model_path()
    assert path.name == "silero_vad_v6.onnx"
    assert path.is_file()


def test_silero_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as caught:
        SileroVAD(tmp_path / "missing.onnx")
    assert "missing.onnx" in caught.value.message
    assert caught.value.hint and "pip install" in caught.value.hint


def test_silero_corrupt_model(tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not an onnx model")
    with pytest.raises(ModelError, match="Could not load the Silero VAD model"):
        SileroVAD(broken)
