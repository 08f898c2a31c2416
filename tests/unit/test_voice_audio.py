"""Reading WAVs of every common shape, writing them atomically, and raw PCM."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from os1.errors import AudioError
from os1.voice.audio import (
    decode_wav,
    encode_wav,
    from_pcm16,
    loudest_dbfs,
    read_wav,
    resample,
    rms_dbfs,
    to_pcm16,
    write_wav,
)
from os1.voice.base import MIC_RATE

PCM, FLOAT, EXTENSIBLE = 1, 3, 0xFFFE
GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def wav_bytes(
    payload: bytes,
    *,
    rate: int,
    channels: int,
    width: int,
    tag: int = PCM,
    extensible: bool = False,
    data_size: int | None = None,
    before_fmt: bytes = b"",
    after_fmt: bytes = b"",
) -> bytes:
    """A WAV file built by hand, byte by byte, independent of the code under test."""
    block = channels * width
    fmt = struct.pack(
        "<HHIIHH", EXTENSIBLE if extensible else tag, channels, rate, rate * block, block, 8 * width
    )
    if extensible:
        fmt += struct.pack("<HHI", 22, 8 * width, 0) + struct.pack("<H", tag) + GUID_TAIL
    size = len(payload) if data_size is None else data_size
    body = (
        b"WAVE"
        + before_fmt
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + after_fmt
        + b"data"
        + struct.pack("<I", size)
        + payload
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def sine(freq: float, rate: int, seconds: float, amp: float = 0.5) -> npt.NDArray[np.float64]:
    t = np.arange(int(rate * seconds)) / rate
    return np.asarray(amp * np.sin(2 * np.pi * freq * t), dtype=np.float64)


def save(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- Formats that must read correctly ---------------------------------------------------


def test_16_bit_written_by_the_standard_library(tmp_path: Path) -> None:
    ints = np.array([0, 1, -1, 32767, -32768, 1000], dtype="<i2")
    with wave.open(str(tmp_path / "a.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(MIC_RATE)
        out.writeframes(ints.tobytes())
    got = read_wav(tmp_path / "a.wav")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, ints.astype(np.float32) / 32768)


def test_8_bit_is_unsigned(tmp_path: Path) -> None:
    payload = bytes([0, 128, 255, 64])
    got = read_wav(save(tmp_path / "a.wav", wav_bytes(payload, rate=MIC_RATE, channels=1, width=1)))
    np.testing.assert_allclose(got, [-1.0, 0.0, 127 / 128, -0.5])


def test_24_bit_keeps_sign_and_scale(tmp_path: Path) -> None:
    values = [0, 1, -1, 8_388_607, -8_388_608, 4_194_304]
    payload = b"".join(v.to_bytes(3, "little", signed=True) for v in values)
    got = read_wav(save(tmp_path / "a.wav", wav_bytes(payload, rate=MIC_RATE, channels=1, width=3)))
    np.testing.assert_allclose(got, np.array(values) / 2**23, atol=1e-7)


def test_32_bit_integer(tmp_path: Path) -> None:
    values = np.array([0, 2**31 - 1, -(2**31), 2**30], dtype="<i4")
    data = wav_bytes(values.tobytes(), rate=MIC_RATE, channels=1, width=4)
    got = read_wav(save(tmp_path / "a.wav", data))
    np.testing.assert_allclose(got, values / 2**31, atol=1e-7)


@pytest.mark.parametrize("extensible", [False, True])
@pytest.mark.parametrize("dtype", ["<f4", "<f8"])
def test_float_wavs(tmp_path: Path, dtype: str, extensible: bool) -> None:
    values = np.array([0.0, 0.25, -0.5, 0.999, -1.0], dtype=dtype)
    width = np.dtype(dtype).itemsize
    data = wav_bytes(
        values.tobytes(), rate=MIC_RATE, channels=1, width=width, tag=FLOAT, extensible=extensible
    )
    np.testing.assert_allclose(read_wav(save(tmp_path / "a.wav", data)), values, atol=1e-7)


def test_extensible_24_bit_pcm(tmp_path: Path) -> None:
    payload = b"".join(v.to_bytes(3, "little", signed=True) for v in [1 << 22, -(1 << 22)])
    data = wav_bytes(payload, rate=MIC_RATE, channels=1, width=3, extensible=True)
    np.testing.assert_allclose(read_wav(save(tmp_path / "a.wav", data)), [0.5, -0.5])


def test_float_samples_beyond_full_scale_are_clipped(tmp_path: Path) -> None:
    values = np.array([1.5, -3.0, 0.5], dtype="<f4")
    data = wav_bytes(values.tobytes(), rate=MIC_RATE, channels=1, width=4, tag=FLOAT)
    np.testing.assert_allclose(read_wav(save(tmp_path / "a.wav", data)), [1.0, -1.0, 0.5])


def test_stereo_channels_are_averaged(tmp_path: Path) -> None:
    left = np.array([0.5, -0.5, 0.25, 0.0], dtype="<f4")
    right = np.array([0.5, 0.5, -0.25, 1.0], dtype="<f4")
    interleaved = np.stack([left, right], axis=1).reshape(-1)
    data = wav_bytes(interleaved.tobytes(), rate=MIC_RATE, channels=2, width=4, tag=FLOAT)
    np.testing.assert_allclose(read_wav(save(tmp_path / "a.wav", data)), [0.5, 0.0, 0.0, 0.5])


def test_stereo_44k_16_bit_is_resampled_to_the_mic_rate(tmp_path: Path) -> None:
    wave_44k = sine(440, 44_100, 1.0)
    stereo = np.stack([wave_44k, wave_44k], axis=1)
    ints = np.rint(stereo * 32767).astype("<i2").reshape(-1)
    data = wav_bytes(ints.tobytes(), rate=44_100, channels=2, width=2)
    got = read_wav(save(tmp_path / "a.wav", data))
    expected = sine(440, MIC_RATE, 1.0)
    assert abs(got.size - expected.size) <= 1
    n = min(got.size, expected.size)
    # The same tone, sample for sample, away from the filter's edges.
    np.testing.assert_allclose(got[200 : n - 200], expected[200 : n - 200], atol=5e-3)


def test_8k_is_upsampled(tmp_path: Path) -> None:
    ints = np.rint(sine(300, 8_000, 0.5) * 32767).astype("<i2")
    data = wav_bytes(ints.tobytes(), rate=8_000, channels=1, width=2)
    got = read_wav(save(tmp_path / "a.wav", data))
    expected = sine(300, MIC_RATE, 0.5)
    assert got.size == expected.size
    np.testing.assert_allclose(got[200:-200], expected[200:-200], atol=5e-3)


def test_a_chosen_rate_and_the_native_rate(tmp_path: Path) -> None:
    ints = np.rint(sine(440, 22_050, 0.2) * 32767).astype("<i2")
    path = save(tmp_path / "a.wav", wav_bytes(ints.tobytes(), rate=22_050, channels=1, width=2))
    np.testing.assert_array_equal(read_wav(path, rate=22_050), ints.astype(np.float32) / 32768)
    assert read_wav(path, rate=44_100).size == 2 * ints.size


def test_other_chunks_are_skipped_including_odd_sized_ones(tmp_path: Path) -> None:
    odd = b"LIST" + struct.pack("<I", 3) + b"abc" + b"\x00"  # padded to an even length
    fact = b"fact" + struct.pack("<I", 4) + struct.pack("<I", 2)
    payload = np.array([0.5, -0.5], dtype="<f4").tobytes()
    data = wav_bytes(
        payload, rate=MIC_RATE, channels=1, width=4, tag=FLOAT, before_fmt=odd, after_fmt=fact
    )
    np.testing.assert_allclose(read_wav(save(tmp_path / "a.wav", data)), [0.5, -0.5])


def test_a_streamed_wav_of_unknown_length_reads_to_the_end(tmp_path: Path) -> None:
    payload = np.array([100, -100, 200], dtype="<i2").tobytes()
    data = wav_bytes(payload, rate=MIC_RATE, channels=1, width=2, data_size=0xFFFFFFFF)
    np.testing.assert_allclose(
        read_wav(save(tmp_path / "a.wav", data)), np.array([100, -100, 200]) / 32768
    )


def test_a_trailing_partial_frame_is_dropped(tmp_path: Path) -> None:
    payload = np.array([100, -100], dtype="<i2").tobytes() + b"\x01"
    data = wav_bytes(payload, rate=MIC_RATE, channels=1, width=2)
    assert read_wav(save(tmp_path / "a.wav", data)).size == 2


def test_decode_wav_reads_bytes_at_their_own_rate() -> None:
    payload = np.array([0.5, 0.25], dtype="<f4").tobytes()
    samples, rate = decode_wav(wav_bytes(payload, rate=48_000, channels=1, width=4, tag=FLOAT))
    assert rate == 48_000
    np.testing.assert_allclose(samples, [0.5, 0.25])


# --- Files that must be refused, saying why -------------------------------------------


def good_wav(seconds: float = 0.5) -> bytes:
    ints = np.rint(sine(440, MIC_RATE, seconds) * 32767).astype("<i2")
    return wav_bytes(ints.tobytes(), rate=MIC_RATE, channels=1, width=2)


def refused(path: Path, *words: str) -> AudioError:
    with pytest.raises(AudioError) as caught:
        read_wav(path)
    error = caught.value
    assert str(path) in error.message
    for word in words:
        assert word in error.message
    assert error.hint
    return error


def test_missing_file(tmp_path: Path) -> None:
    refused(tmp_path / "nope.wav", "does not exist")


def test_a_folder(tmp_path: Path) -> None:
    refused(tmp_path, "folder")


def test_empty_file(tmp_path: Path) -> None:
    refused(save(tmp_path / "a.wav", b""), "empty")


def test_random_bytes(tmp_path: Path) -> None:
    noise = np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    refused(save(tmp_path / "a.wav", noise), "not a WAV")


def test_text_renamed_to_wav(tmp_path: Path) -> None:
    refused(save(tmp_path / "a.wav", b"hello, this is not audio at all"), "not a WAV")


@pytest.mark.parametrize("keep", [4, 11, 12, 20, 30, 43])
def test_truncated_header(tmp_path: Path, keep: int) -> None:
    refused(save(tmp_path / "a.wav", good_wav()[:keep]))


def test_truncated_audio(tmp_path: Path) -> None:
    data = good_wav(1.0)
    refused(save(tmp_path / "a.wav", data[: len(data) // 2]), "truncated", "1.00 s")


def test_no_audio_frames(tmp_path: Path) -> None:
    refused(
        save(tmp_path / "a.wav", wav_bytes(b"", rate=MIC_RATE, channels=1, width=2)), "no audio"
    )


def test_audio_before_its_format(tmp_path: Path) -> None:
    data = b"RIFF" + struct.pack("<I", 16) + b"WAVE" + b"data" + struct.pack("<I", 4) + b"\0" * 4
    refused(save(tmp_path / "a.wav", data), "format")


def test_compressed_wav(tmp_path: Path) -> None:
    data = wav_bytes(b"\x7f" * 100, rate=8000, channels=1, width=1, tag=7)
    error = refused(save(tmp_path / "a.wav", data), "µ-law")
    assert error.hint and "ffmpeg" in error.hint


def test_big_endian_rifx(tmp_path: Path) -> None:
    refused(save(tmp_path / "a.wav", b"RIFX" + good_wav()[4:]), "RIFX")


def test_unknown_extensible_subformat(tmp_path: Path) -> None:
    data = bytearray(wav_bytes(b"\0" * 8, rate=MIC_RATE, channels=1, width=2, extensible=True))
    data[-12 - 14 : -12] = b"\x01" * 14  # spoil the GUID tail (data header + payload follow)
    refused(save(tmp_path / "a.wav", bytes(data)), "extensible")


def test_nan_samples(tmp_path: Path) -> None:
    payload = np.array([0.1, np.nan], dtype="<f4").tobytes()
    data = wav_bytes(payload, rate=MIC_RATE, channels=1, width=4, tag=FLOAT)
    refused(save(tmp_path / "a.wav", data), "corrupt")


def test_too_long_is_refused_before_reading_it(tmp_path: Path) -> None:
    # The header claims an hour; only its size is looked at.
    data = wav_bytes(b"\0" * 64, rate=MIC_RATE, channels=1, width=2, data_size=MIC_RATE * 2 * 3600)
    path = save(tmp_path / "a.wav", data)
    with pytest.raises(AudioError, match="60 min long"):
        read_wav(path, max_seconds=60)


def test_max_seconds_allows_shorter_audio(tmp_path: Path) -> None:
    path = save(tmp_path / "a.wav", good_wav(0.5))
    assert read_wav(path, max_seconds=1).size == MIC_RATE // 2
    with pytest.raises(AudioError, match="longest"):
        read_wav(path, max_seconds=0.25)


def test_decode_wav_names_its_source() -> None:
    with pytest.raises(AudioError, match="the upload is not a WAV"):
        decode_wav(b"0123456789abcdef", source="the upload")


# --- Writing -----------------------------------------------------------------------------


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    original = sine(440, MIC_RATE, 0.3).astype(np.float32)
    write_wav(tmp_path / "out.wav", original, MIC_RATE)
    np.testing.assert_allclose(read_wav(tmp_path / "out.wav"), original, atol=1 / 32767)
    with wave.open(str(tmp_path / "out.wav")) as check:
        assert (check.getnchannels(), check.getsampwidth(), check.getframerate()) == (
            1,
            2,
            MIC_RATE,
        )
        assert check.getnframes() == original.size
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]  # no temporary files left


def test_write_clips_and_cleans(tmp_path: Path) -> None:
    loud = np.array([2.0, -2.0, 0.5, np.nan], dtype=np.float32)
    write_wav(tmp_path / "out.wav", loud, 22_050)
    np.testing.assert_allclose(
        read_wav(tmp_path / "out.wav", rate=22_050),
        [32767 / 32768, -32767 / 32768, 0.5, 0.0],
        atol=1 / 32767,
    )


def test_write_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "out.wav"
    target.write_bytes(b"old")
    write_wav(target, np.zeros(10, dtype=np.float32), MIC_RATE)
    assert read_wav(target).size == 10


def test_write_into_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="Could not write"):
        write_wav(tmp_path / "missing" / "out.wav", np.zeros(10, dtype=np.float32), MIC_RATE)
    assert list(tmp_path.iterdir()) == []


def test_encode_wav_rejects_non_mono() -> None:
    with pytest.raises(ValueError, match="mono"):
        encode_wav(np.zeros((10, 2), dtype=np.float32), MIC_RATE)


# --- Raw PCM, resampling and levels -------------------------------------------------------


def test_pcm16_round_trip() -> None:
    samples = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 0.123], dtype=np.float32)
    data = to_pcm16(samples)
    assert len(data) == 2 * samples.size
    assert np.frombuffer(data, "<i2").tolist()[:5] == [0, 16384, -16384, 32767, -32767]
    np.testing.assert_allclose(from_pcm16(data), samples, atol=1 / 32767)


def test_pcm16_clips_and_cleans() -> None:
    data = to_pcm16(np.array([3.0, -3.0, np.nan, np.inf], dtype=np.float32))
    assert np.frombuffer(data, "<i2").tolist() == [32767, -32767, 0, 32767]


def test_from_pcm16_full_negative_scale_and_odd_lengths() -> None:
    assert from_pcm16(struct.pack("<h", -32768)).tolist() == [-1.0]
    assert from_pcm16(b"").size == 0
    with pytest.raises(AudioError, match="even number"):
        from_pcm16(b"\x00\x01\x02")


def test_resample_edges() -> None:
    samples = sine(440, MIC_RATE, 0.1).astype(np.float32)
    np.testing.assert_array_equal(resample(samples, MIC_RATE, MIC_RATE), samples)
    assert resample(np.zeros(0, dtype=np.float32), 44_100, MIC_RATE).size == 0
    assert resample(samples, MIC_RATE, 48_000).dtype == np.float32
    assert resample(samples, MIC_RATE, 48_000).size == 3 * samples.size
    with pytest.raises(ValueError):
        resample(samples, 0, MIC_RATE)


def test_levels() -> None:
    square = np.where(np.arange(1024) % 2, 1.0, -1.0).astype(np.float32)
    assert rms_dbfs(square) == pytest.approx(0.0)
    assert rms_dbfs(sine(100, MIC_RATE, 1.0, amp=1.0).astype(np.float32)) == pytest.approx(
        -3.01, abs=0.01
    )
    assert rms_dbfs(np.zeros(100, dtype=np.float32)) == -120.0
    assert rms_dbfs(np.zeros(0, dtype=np.float32)) == -120.0
    # A short loud burst in a long silence: the average hides it, the loudest frame does not.
    burst = np.zeros(MIC_RATE * 5, dtype=np.float32)
    burst[1024:1536] = 0.5
    assert loudest_dbfs(burst) == pytest.approx(20 * np.log10(0.5), abs=0.01)
    assert rms_dbfs(burst) == pytest.approx(20 * np.log10(0.5) + 10 * np.log10(512 / burst.size))
    assert loudest_dbfs(np.full(100, 0.1, dtype=np.float32)) == pytest.approx(-20.0)
