"""`os1 talk` end to end, as a user runs it: real speech in, the real models (Silero,
Whisper tiny.en, the embedded Gemma, a Piper/Kokoro voice), WAV replies out."""

from __future__ import annotations

import json
import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from os1.voice.audio import read_wav, write_wav
from os1.voice.wer import word_error_rate
from tests.helpers import run_os1, set_up

SPEECH = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "speech"
pytestmark = pytest.mark.skipif(
    not SPEECH.exists(), reason="../shared/fixtures is not beside the project"
)


def _talk(home: Path, *args: str, timeout: float = 600) -> dict[str, object]:
    done = run_os1("talk", *args, "--json", home=home, timeout=timeout)
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


@pytest.fixture
def talker(tmp_path: Path, embedded_gguf: Path) -> Path:
    home = tmp_path / "home"
    set_up(home, voice="male")
    return home


def test_a_spoken_conversation_is_heard_answered_and_remembered(
    talker: Path, tmp_path: Path
) -> None:
    out = tmp_path / "replies"
    clips = [SPEECH / "sb_spk1_snt5.wav", SPEECH / "sb_spk2_snt2.wav"]
    report = _talk(
        talker, *[arg for clip in clips for arg in ("--in", str(clip))], "--out", str(out)
    )
    turns = report["turns"]
    assert isinstance(turns, list) and len(turns) == 2
    heard = " ".join(str(turn["user_text"]) for turn in turns)
    assert (
        word_error_rate("Sunday is the best part of the week. What joy there is in living.", heard)
        <= 0.1
    )
    for turn in turns:
        assert turn["status"] == "complete"
        assert turn["reply"]
        assert turn["speech_end_to_first_audio_ms"] is not None
    replies = sorted(out.glob("reply-*.wav"))
    assert len(replies) == 2
    for path in replies:
        audio = read_wav(path)
        assert audio.size > 8000 and float(np.abs(audio).max()) > 0.05  # real speech, not silence
    history = run_os1("history", "--json", home=talker)
    said = [row["text"] for row in json.loads(history.stdout)]
    assert str(turns[0]["user_text"]) in said and str(turns[1]["reply"]) in said


def test_a_long_monologue_is_transcribed_in_pieces_and_nothing_is_lost(
    talker: Path, tmp_path: Path
) -> None:
    rows = [line.split("\t") for line in (SPEECH / "transcripts.tsv").read_text().splitlines()[1:]]
    pieces: list[np.ndarray] = []
    words: list[str] = []
    gap = np.zeros(2400, dtype=np.float32)  # 0.15 s between sentences: one long turn
    while sum(p.size for p in pieces) < 60 * 16000:
        for name, text in rows:
            pieces += [_trimmed(read_wav(SPEECH / name)), gap]
            words.append(text)
    monologue = tmp_path / "monologue.wav"
    write_wav(monologue, np.concatenate(pieces), 16000)
    report = _talk(talker, "--in", str(monologue))
    turns = report["turns"]
    assert isinstance(turns, list) and turns
    heard = " ".join(str(turn["user_text"]) for turn in turns)
    assert word_error_rate(" ".join(words), heard) <= 0.15


def _trimmed(clip: np.ndarray) -> np.ndarray:
    """The recording without the silence before and after the speech."""
    loud = np.flatnonzero(np.abs(clip) > 0.02)
    return clip[max(0, loud[0] - 800) : loud[-1] + 800]


def test_silence_and_noise_get_no_reply(talker: Path, tmp_path: Path) -> None:
    quiet = tmp_path / "quiet.wav"
    write_wav(quiet, np.zeros(3 * 16000, dtype=np.float32), 16000)
    noise = tmp_path / "noise.wav"
    rng = np.random.default_rng(3)
    write_wav(noise, (0.02 * rng.standard_normal(3 * 16000)).astype(np.float32), 16000)
    report = _talk(talker, "--in", str(quiet), "--in", str(noise))
    assert report["turns"] == []


def test_other_wav_formats_are_converted(talker: Path, tmp_path: Path) -> None:
    speech = read_wav(SPEECH / "sb_spk1_snt1.wav", 44100)
    stereo = tmp_path / "stereo-44k.wav"
    with wave.open(str(stereo), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(44100)
        pcm = (np.clip(speech, -1, 1) * 32767).astype("<i2")
        out.writeframes(np.repeat(pcm, 2).tobytes())
    report = _talk(talker, "--in", str(stereo))
    turns = report["turns"]
    assert isinstance(turns, list) and len(turns) == 1
    assert (
        word_error_rate("the child almost hurt the small dog", str(turns[0]["user_text"])) <= 0.15
    )


def test_a_corrupt_wav_is_a_clear_error_before_anything_starts(
    talker: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF" + struct.pack("<I", 100) + b"WAVEjunkjunkjunk")
    done = run_os1("talk", "--in", str(bad), home=talker)
    assert done.returncode == 2
    assert "bad.wav" in done.stderr
    assert "Traceback" not in done.stderr


def test_without_a_sound_device_talk_points_to_recordings(talker: Path) -> None:
    # A microphone no machine has (this one may have no sound card or even no PortAudio).
    done = run_os1("talk", home=talker, env={"OS1_VOICE_INPUT_DEVICE": "no-such-microphone"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--in" in done.stderr and "os1 chat" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_model_failing_still_gets_a_spoken_answer(talker: Path, tmp_path: Path) -> None:
    done = run_os1(
        "--model", "openai:nothing-there", "talk", "--in", str(SPEECH / "sb_spk2_snt4.wav"),
        "--json", "--out", str(tmp_path / "out"),
        home=talker,
        env={"OS1_OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OS1_OPENAI_TIMEOUT": "2"},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    (turn,) = report["turns"]
    assert turn["status"] == "failed" and turn["error"]
    assert turn["speech_end_to_first_audio_ms"] is not None  # it said sorry, out loud
    assert list((tmp_path / "out").glob("reply-*.wav"))
