"""Audio in and out of WAV files and raw PCM bytes; the one place that resamples.

``read_wav`` parses the RIFF chunks itself instead of using the ``wave`` module, because
``wave`` refuses IEEE-float WAVs (format tag 3, and WAVE_FORMAT_EXTENSIBLE wrapping it),
which is what many recorders and editors write. One parser for every format keeps the
error messages alike: each names the file and says what is wrong with it.

Everything comes out as mono float32 in [-1, 1], the pipeline's ``Samples``.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from os1.errors import AudioError
from os1.voice.base import MIC_RATE, Samples

DEFAULT_MAX_SECONDS = 600.0
"""Longest audio ``read_wav`` accepts unless told otherwise: ten minutes is far more
than one spoken turn, and stops a stray multi-gigabyte file from filling memory."""

CONVERT_HINT = (
    "Convert it to a plain PCM WAV, for example: ffmpeg -i INPUT -ac 1 -ar 16000 output.wav"
)

_PCM = 0x0001
_FLOAT = 0x0003
_EXTENSIBLE = 0xFFFE
# The last 14 bytes of the KSDATAFORMAT_SUBTYPE GUIDs; the first two are the format tag.
_SUBTYPE_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
_UNKNOWN_SIZE = 0xFFFFFFFF  # written by streaming encoders that cannot seek back
_FORMAT_NAMES = {
    0x0002: "MS ADPCM",
    0x0006: "A-law",
    0x0007: "µ-law",
    0x0011: "IMA ADPCM",
    0x0055: "MP3",
}


@dataclass(frozen=True)
class _Format:
    tag: int  # _PCM or _FLOAT, after unwrapping WAVE_FORMAT_EXTENSIBLE
    channels: int
    rate: int
    block_align: int
    width: int  # bytes per sample of one channel


def read_wav(
    path: str | os.PathLike[str],
    rate: int = MIC_RATE,
    *,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
) -> Samples:
    """Mono float32 samples of a WAV file at ``rate`` (MIC_RATE unless told otherwise).

    Reads 8-bit unsigned, 16/24/32-bit integer and 32/64-bit float WAVs, plain or
    WAVE_FORMAT_EXTENSIBLE, at any sample rate and channel count (channels are averaged).
    Raises AudioError for a missing, unreadable, corrupt, empty or too long file.
    """
    path = Path(path)
    try:
        with path.open("rb") as source:
            samples, native_rate = _decode(source, str(path), max_seconds)
    except FileNotFoundError as exc:
        raise AudioError(f"{path} does not exist.", "Check the path and try again.") from exc
    except IsADirectoryError as exc:
        raise AudioError(
            f"{path} is a folder, not a WAV file.", "Give the path of a file."
        ) from exc
    except OSError as exc:
        raise AudioError(
            f"Could not read {path}: {exc.strerror or exc}.", "Check the file's permissions."
        ) from exc
    return resample(samples, native_rate, rate)


def decode_wav(
    data: bytes, *, source: str = "the audio", max_seconds: float | None = DEFAULT_MAX_SECONDS
) -> tuple[Samples, int]:
    """Mono float32 samples of WAV bytes (an upload, a socket message) at their own rate.

    ``source`` names the audio in error messages.
    """
    return _decode(io.BytesIO(data), source, max_seconds)


def resample(samples: Samples, from_rate: int, to_rate: int) -> Samples:
    """``samples`` taken at ``from_rate`` as if taken at ``to_rate`` (soxr, high quality)."""
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} and {to_rate}")
    mono = np.ascontiguousarray(samples, dtype=np.float32)
    if from_rate == to_rate or mono.size == 0:
        return mono
    import soxr

    out: Samples = np.asarray(soxr.resample(mono, from_rate, to_rate, quality="HQ"), np.float32)
    return out


def to_pcm16(samples: Samples) -> bytes:
    """Little-endian signed 16-bit PCM of ``samples``, clipped to [-1, 1]."""
    clean = np.nan_to_num(np.asarray(samples, dtype=np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
    scaled = np.rint(np.clip(clean, -1.0, 1.0) * np.float32(32767.0))
    return bytes(scaled.astype("<i2").tobytes())


def from_pcm16(data: bytes) -> Samples:
    """Samples from little-endian signed 16-bit PCM (the inverse of ``to_pcm16``)."""
    if len(data) % 2:
        raise AudioError(
            f"16-bit PCM audio must have an even number of bytes, got {len(data)}.",
            "The audio was cut mid-sample; send whole samples.",
        )
    out: Samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / np.float32(32768.0)
    return out


def encode_wav(samples: Samples, rate: int) -> bytes:
    """A complete 16-bit PCM mono WAV file of ``samples`` at ``rate``."""
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, got {rate}")
    mono = np.asarray(samples, dtype=np.float32)
    if mono.ndim != 1:
        raise ValueError(f"expected mono samples (1-D), got shape {mono.shape}")
    pcm = to_pcm16(mono)
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVE"
    fmt = struct.pack("<HHIIHH", _PCM, 1, rate, rate * 2, 2, 16)
    return (
        header
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(pcm))
        + pcm
    )


def write_wav(path: str | os.PathLike[str], samples: Samples, rate: int) -> None:
    """Write ``samples`` as a 16-bit PCM mono WAV, atomically: a reader never sees half a
    file, and an interrupted write leaves any older file in place."""
    path = Path(path)
    data = encode_wav(samples, rate)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with partial.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except OSError as exc:
        raise AudioError(
            f"Could not write {path}: {exc.strerror or exc}.",
            "Check that the folder exists, is writable and has free space.",
        ) from exc
    finally:
        partial.unlink(missing_ok=True)


def rms_dbfs(samples: Samples) -> float:
    """Loudness as RMS in dB relative to full scale (a full-scale square wave is 0 dBFS).
    Silence, and no samples at all, give -120.0 rather than -inf, so sums stay finite."""
    if samples.size == 0:
        return -120.0
    power = float(np.mean(np.square(samples, dtype=np.float64)))
    return max(-120.0, 10.0 * float(np.log10(power))) if power > 0 else -120.0


def loudest_dbfs(samples: Samples, frame: int = 512) -> float:
    """RMS level in dBFS of the loudest ``frame``-sample stretch (32 ms at MIC_RATE by
    default): a level for "is anything here at all" that a long pause cannot dilute."""
    if samples.size <= frame:
        return rms_dbfs(samples)
    frames = samples[: samples.size // frame * frame].reshape(-1, frame)
    power = float(np.max(np.mean(np.square(frames, dtype=np.float64), axis=1)))
    return max(-120.0, 10.0 * float(np.log10(power))) if power > 0 else -120.0


def _decode(source: BinaryIO, name: str, max_seconds: float | None) -> tuple[Samples, int]:
    head = source.read(12)
    if not head:
        raise AudioError(f"{name} is empty.", "Record or choose the audio again.")
    if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RIFX", b"RF64"):
        raise AudioError(f"{name} is not a WAV file.", CONVERT_HINT)
    if head[:4] != b"RIFF":
        raise AudioError(
            f"{name} is a {head[:4].decode()} WAV, which OS1 does not read.", CONVERT_HINT
        )
    fmt: _Format | None = None
    while True:
        chunk = source.read(8)
        if len(chunk) < 8:
            problem = "has no audio data chunk" if fmt else "has no format chunk"
            raise AudioError(f"{name} is truncated or corrupt: it {problem}.", CONVERT_HINT)
        chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if chunk_id == b"fmt ":
            fmt = _parse_format(source.read(size), name)
            if size % 2:
                source.read(1)
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioError(
                    f"{name} is corrupt: its audio comes before its format chunk.", CONVERT_HINT
                )
            return _read_data(source, size, fmt, name, max_seconds), fmt.rate
        else:
            _skip(source, size + size % 2, name)


def _skip(source: BinaryIO, count: int, name: str) -> None:
    if source.seekable():
        here = source.tell()
        end = source.seek(0, os.SEEK_END)
        if here + count > end:
            raise AudioError(f"{name} is truncated: a chunk runs past the end.", CONVERT_HINT)
        source.seek(here + count)
    elif len(source.read(count)) < count:
        raise AudioError(f"{name} is truncated: a chunk runs past the end.", CONVERT_HINT)


def _parse_format(body: bytes, name: str) -> _Format:
    if len(body) < 16:
        raise AudioError(f"{name} is corrupt: its format chunk is too short.", CONVERT_HINT)
    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _EXTENSIBLE:
        if len(body) < 40 or body[26:40] != _SUBTYPE_TAIL:
            raise AudioError(
                f"{name} uses an extensible WAV format OS1 does not recognise.", CONVERT_HINT
            )
        tag = struct.unpack("<H", body[24:26])[0]
    if tag not in (_PCM, _FLOAT):
        kind = _FORMAT_NAMES.get(tag, f"format {tag:#06x}")
        raise AudioError(
            f"{name} is compressed ({kind}); OS1 reads PCM and float WAVs.", CONVERT_HINT
        )
    if channels < 1 or rate < 1 or block_align < 1 or block_align % channels:
        raise AudioError(
            f"{name} is corrupt: {channels} channel(s) at {rate} Hz in {block_align}-byte frames.",
            CONVERT_HINT,
        )
    width = block_align // channels
    allowed = (1, 2, 3, 4) if tag == _PCM else (4, 8)
    if width not in allowed or bits > 8 * width:
        kind = "integer" if tag == _PCM else "float"
        raise AudioError(
            f"{name} has {bits}-bit {kind} samples in {width}-byte slots, which OS1 does not read.",
            CONVERT_HINT,
        )
    return _Format(tag, channels, rate, block_align, width)


def _read_data(
    source: BinaryIO, size: int, fmt: _Format, name: str, max_seconds: float | None
) -> Samples:
    unknown = size == _UNKNOWN_SIZE
    if max_seconds is not None and not unknown:
        seconds = size / fmt.block_align / fmt.rate
        if seconds > max_seconds:
            raise AudioError(
                f"{name} is {_duration(seconds)} long; the longest audio OS1 reads is "
                f"{_duration(max_seconds)}.",
                "Cut it into shorter pieces.",
            )
    if unknown:
        limit = -1 if max_seconds is None else int(max_seconds * fmt.rate + 1) * fmt.block_align
        raw = source.read(limit)
        if max_seconds is not None and len(raw) >= limit:
            raise AudioError(
                f"{name} is longer than {_duration(max_seconds)}, the longest OS1 reads.",
                "Cut it into shorter pieces.",
            )
    else:
        raw = source.read(size)
        if len(raw) < size:
            got, want = len(raw) / fmt.block_align / fmt.rate, size / fmt.block_align / fmt.rate
            raise AudioError(
                f"{name} is truncated: it promises {want:.2f} s of audio but holds {got:.2f} s.",
                "Record or copy the file again.",
            )
    frames = len(raw) // fmt.block_align
    if frames == 0:
        raise AudioError(f"{name} holds no audio.", "Record or choose the audio again.")
    samples = _to_float(raw[: frames * fmt.block_align], fmt)
    if not np.isfinite(samples).all():
        raise AudioError(f"{name} is corrupt: some samples are not numbers.", CONVERT_HINT)
    if fmt.channels > 1:
        samples = samples.reshape(frames, fmt.channels).mean(axis=1, dtype=np.float32)
    out: Samples = np.clip(samples, -1.0, 1.0).astype(np.float32, copy=False)
    return out


def _to_float(raw: bytes, fmt: _Format) -> Samples:
    """Interleaved samples as float32, scaled so full scale is ±1."""
    if fmt.tag == _FLOAT:
        return np.frombuffer(raw, dtype="<f4" if fmt.width == 4 else "<f8").astype(np.float32)
    if fmt.width == 1:
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / np.float32(128.0)
    if fmt.width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.float32) / np.float32(32768.0)
    if fmt.width == 3:
        # Put each 3-byte sample in the top of a 4-byte little-endian int: sign comes free.
        padded = np.zeros((len(raw) // 3, 4), dtype=np.uint8)
        padded[:, 1:] = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        wide = padded.view("<i4").reshape(-1)
    else:
        wide = np.frombuffer(raw, dtype="<i4")
    return (wide.astype(np.float64) / 2147483648.0).astype(np.float32)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
