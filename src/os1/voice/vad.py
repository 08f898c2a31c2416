"""Voice activity detection: is this 32 ms frame of microphone audio speech?

``SileroVAD`` runs Silero VAD v6, the ONNX file faster-whisper ships (so no extra
download and no PyTorch), one frame at a time as audio arrives. The model is recurrent:
besides the LSTM state (``h``, ``c``) it expects each 512-sample frame prefixed with the
last 64 samples of the frame before, so both are carried between calls until ``reset()``.

``EnergyVAD`` is a deterministic stand-in with the same protocol — loudness against a
threshold — for unit tests, and a fallback where the model cannot load.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from os1.errors import ModelError
from os1.voice.audio import rms_dbfs
from os1.voice.base import MIC_RATE, Samples

INSTALL_HINT = "Install it with: .venv/bin/pip install faster-whisper onnxruntime"

FRAME_SAMPLES = 512  # 32 ms at MIC_RATE: the only frame length Silero v6 takes at 16 kHz
_CONTEXT = 64  # samples of the previous frame the model sees before each new frame
_STATE_SHAPE = (1, 1, 128)


def silero_model_path() -> Path:
    """Where faster-whisper keeps ``silero_vad_v6.onnx`` (found without importing it)."""
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "faster-whisper, which ships the Silero VAD model, is not installed.", INSTALL_HINT
        )
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / "silero_vad_v6.onnx"


class SileroVAD:
    """Streaming Silero VAD v6 on ONNX Runtime, one intra-op thread (a frame is tiny:
    more threads cost more in wake-ups than they save)."""

    frame_samples = FRAME_SAMPLES
    sample_rate = MIC_RATE

    def __init__(self, model_path: Path | None = None) -> None:
        path = model_path or silero_model_path()
        if not path.is_file():
            raise ModelError(
                f"The Silero VAD model is missing: {path}.",
                "Reinstall it with: .venv/bin/pip install --force-reinstall faster-whisper",
            )
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelError("ONNX Runtime is not installed.", INSTALL_HINT) from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session: Any = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(
                f"Could not load the Silero VAD model from {path}: {exc}",
                "Reinstall it with: .venv/bin/pip install --force-reinstall faster-whisper",
            ) from exc
        # One preallocated input row: [64 context samples | 512 new samples].
        self._input = np.zeros((1, _CONTEXT + FRAME_SAMPLES), dtype=np.float32)
        self._h = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(_STATE_SHAPE, dtype=np.float32)

    def probability(self, frame: Samples) -> float:
        _check_frame(frame, self.frame_samples)
        row = self._input[0]
        row[_CONTEXT:] = frame
        probs, self._h, self._c = self._session.run(
            None, {"input": self._input, "h": self._h, "c": self._c}
        )
        # The next frame's context is the tail of this one.
        row[:_CONTEXT] = row[-_CONTEXT:]
        return float(probs.reshape(-1)[0])

    def reset(self) -> None:
        self._input.fill(0.0)
        self._h = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(_STATE_SHAPE, dtype=np.float32)


class EnergyVAD:
    """Speech probability from loudness alone: 0 below ``threshold_db - knee_db``, 1 above
    ``threshold_db + knee_db``, a straight line between (0.5 at the threshold).

    Deterministic and stateless, so tests can build frames with known answers; it cannot
    tell a voice from a door slam, which is why the real pipeline uses ``SileroVAD``.
    """

    def __init__(
        self, threshold_db: float = -40.0, knee_db: float = 6.0, frame_samples: int = FRAME_SAMPLES
    ) -> None:
        if knee_db <= 0:
            raise ValueError(f"knee_db must be positive, got {knee_db}")
        self.threshold_db = threshold_db
        self.knee_db = knee_db
        self.frame_samples = frame_samples

    def probability(self, frame: Samples) -> float:
        _check_frame(frame, self.frame_samples)
        level = rms_dbfs(frame)
        ramp = (level - self.threshold_db + self.knee_db) / (2.0 * self.knee_db)
        return min(1.0, max(0.0, ramp))

    def reset(self) -> None:
        """Nothing to forget: each frame is judged on its own."""


def _check_frame(frame: Samples, expected: int) -> None:
    if frame.shape != (expected,):
        raise ValueError(f"a VAD frame must be {expected} mono samples, got shape {frame.shape}")
