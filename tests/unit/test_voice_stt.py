"""FakeSTT, the cleaning of Whisper's output, model lookup and assembly (no real model).

Whisper on real speech is tested in tests/integration/test_voice_models.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from os1.errors import ModelError
from os1.voice.base import MIC_RATE, Samples, SpeechToText
from os1.voice.stt import (
    BASE_DIR_NAME,
    FakeSTT,
    SegmentText,
    WhisperSTT,
    _package_dir,
    assemble_split_model,
    check_model_dir,
    clean_transcript,
    prompt_from_context,
    resolve_model,
)

LOUD = -20.0  # dBFS of the loudest frame: an ordinary voice


# --- FakeSTT ---------------------------------------------------------------------------


def audio(seconds: float = 1.0) -> Samples:
    return np.zeros(int(MIC_RATE * seconds), dtype=np.float32)


def test_fake_replays_queued_transcripts_then_hears_nothing() -> None:
    stt: SpeechToText = FakeSTT(["hello"])
    assert isinstance(stt, FakeSTT)
    stt.enqueue("how are you", "bye")
    assert [stt.transcribe(audio()) for _ in range(4)] == ["hello", "how are you", "bye", ""]


def test_fake_asks_its_function_when_nothing_is_queued() -> None:
    stt = FakeSTT(respond=lambda samples, context: f"{samples.size} after {context!r}")
    stt.enqueue("first")
    assert stt.transcribe(audio(0.5)) == "first"
    assert stt.transcribe(audio(0.5), context="hi") == "8000 after 'hi'"
    assert stt.calls == [(8000, ""), (8000, "hi")]


# --- Cleaning Whisper's output ---------------------------------------------------------


def test_ordinary_speech_is_kept_and_tidied() -> None:
    segments = [SegmentText(" Ever tried.  Ever failed."), SegmentText("  No matter. ")]
    assert clean_transcript(segments, 5.0, LOUD) == "Ever tried. Ever failed. No matter."


def test_nothing_decoded_is_nothing_said() -> None:
    assert clean_transcript([], 2.0, LOUD) == ""
    assert clean_transcript([SegmentText(" ... ")], 2.0, LOUD) == ""


def test_sound_annotations_are_removed() -> None:
    assert clean_transcript([SegmentText("[Music]")], 3.0, LOUD) == ""
    assert clean_transcript([SegmentText(" ♪♪ ")], 3.0, LOUD) == ""
    assert clean_transcript([SegmentText("(laughs) Hello there.")], 3.0, LOUD) == "Hello there."


@pytest.mark.parametrize("phrase", ["Thank you.", " you", "Thanks for watching!", "thank you"])
def test_a_stock_phrase_on_a_very_short_clip_is_dropped(phrase: str) -> None:
    assert clean_transcript([SegmentText(phrase, 0.1, -0.3)], 0.3, LOUD) == ""


def test_a_stock_phrase_on_quiet_audio_is_dropped() -> None:
    assert clean_transcript([SegmentText("Thank you.", 0.1, -0.3)], 2.0, -60.0) == ""


def test_a_stock_phrase_whisper_doubts_is_dropped() -> None:
    assert clean_transcript([SegmentText("Thank you.", 0.73, -0.98)], 2.0, LOUD) == ""


def test_a_real_thank_you_is_kept() -> None:
    """Said clearly, long enough and loud enough: the user's words stand."""
    assert clean_transcript([SegmentText(" Thank you.", 0.05, -0.2)], 1.2, LOUD) == "Thank you."


def test_a_stock_phrase_inside_a_sentence_is_kept() -> None:
    text = "Thank you, that helped."
    assert clean_transcript([SegmentText(text, 0.6, -0.5)], 0.4, -60.0) == text


def test_a_failed_decoding_is_dropped_when_whisper_doubts_speech() -> None:
    segments = [
        SegmentText(" Good morning.", 0.02, -0.2),
        SegmentText(" which is what you are going to do, which is what", 0.51, -1.46),
    ]
    assert clean_transcript(segments, 4.0, LOUD) == "Good morning."


def test_a_failed_decoding_of_a_tiny_clip_is_dropped() -> None:
    assert clean_transcript([SegmentText(" That's right.", 0.2, -1.33)], 0.3, LOUD) == ""


def test_a_hard_but_confident_utterance_is_kept() -> None:
    """Low log-probability alone (an unusual name, an accent) is not enough to drop words."""
    segment = SegmentText(" Ask Tsiolkovsky about it.", 0.05, -1.2)
    assert clean_transcript([segment], 2.0, LOUD) == "Ask Tsiolkovsky about it."


def test_context_becomes_a_short_prompt() -> None:
    assert prompt_from_context("") is None
    assert prompt_from_context("  \n ") is None
    assert (
        prompt_from_context("My sister  Annie\nlives in Oslo.") == "My sister Annie lives in Oslo."
    )
    long = " ".join(f"word{i}" for i in range(100))
    prompt = prompt_from_context(long)
    assert prompt is not None
    assert len(prompt) <= 200
    assert prompt.endswith("word99")
    assert long.endswith(prompt)
    assert prompt.split()[0] in long.split()  # cut at a word boundary


# --- Finding models ----------------------------------------------------------------------


def fake_model_dir(path: Path, *, skip: str = "") -> Path:
    path.mkdir(parents=True)
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
        if name != skip:
            (path / name).write_text("{}")
    return path


def test_a_complete_model_folder_is_accepted(tmp_path: Path) -> None:
    folder = fake_model_dir(tmp_path / "m")
    assert check_model_dir(folder, "hint") == folder
    assert resolve_model(str(folder), None) == folder


@pytest.mark.parametrize(
    "missing", ["model.bin", "tokenizer.json", "config.json", "vocabulary.txt"]
)
def test_an_incomplete_model_folder_is_refused(tmp_path: Path, missing: str) -> None:
    folder = fake_model_dir(tmp_path / "m", skip=missing)
    with pytest.raises(ModelError, match=missing.replace(".", r"\.")):
        resolve_model(str(folder), None)


def test_a_missing_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model(str(tmp_path / "nowhere"), None)


def test_an_unknown_model_name() -> None:
    with pytest.raises(ModelError, match="Unknown Whisper model 'large-v3'") as caught:
        resolve_model("large-v3", None)
    assert caught.value.hint and "tiny.en" in caught.value.hint


def test_base_needs_a_models_directory() -> None:
    with pytest.raises(ModelError, match="models directory"):
        resolve_model("base", None)


def test_a_missing_package_names_the_install_command() -> None:
    with pytest.raises(ModelError, match="not installed") as caught:
        _package_dir("os1_no_such_model_package", "Install it with: pip install x")
    assert caught.value.hint == "Install it with: pip install x"


def test_whisper_stt_construction_is_cheap_and_checked(tmp_path: Path) -> None:
    stt = WhisperSTT("base", models_dir=tmp_path)
    assert stt.name == "whisper-base"
    assert not stt.loaded
    assert not (tmp_path / BASE_DIR_NAME).exists()  # nothing assembled until load()
    assert WhisperSTT(str(tmp_path)).name == f"whisper:{tmp_path}"
    with pytest.raises(ValueError):
        WhisperSTT(cpu_threads=0)


def test_silence_is_answered_without_loading_a_model(tmp_path: Path) -> None:
    stt = WhisperSTT(str(tmp_path / "not-a-model"))
    assert stt.transcribe(np.zeros(0, dtype=np.float32)) == ""
    assert stt.transcribe(np.zeros(MIC_RATE, dtype=np.float32)) == ""
    assert not stt.loaded
    with pytest.raises(ModelError):  # real sound does need the model
        stt.transcribe(np.full(MIC_RATE, 0.1, dtype=np.float32))


# --- Assembling a model shipped in parts ----------------------------------------------------


@pytest.fixture
def parts(tmp_path: Path) -> tuple[list[Path], list[Path]]:
    source = tmp_path / "package"
    source.mkdir()
    part_paths = [source / "model.bin.part1", source / "model.bin.part2"]
    part_paths[0].write_bytes(b"A" * 1000)
    part_paths[1].write_bytes(b"B" * 777)
    companions = [source / "config.json", source / "tokenizer.json"]
    companions[0].write_text('{"x": 1}')
    companions[1].write_text('{"tok": true}')
    return part_paths, companions


def test_parts_are_joined_with_their_companions(
    tmp_path: Path, parts: tuple[list[Path], list[Path]]
) -> None:
    part_paths, companions = parts
    seen: list[tuple[int, int]] = []
    target = assemble_split_model(
        part_paths, companions, tmp_path / "models" / "m", lambda d, t: seen.append((d, t))
    )
    assert (target / "model.bin").read_bytes() == b"A" * 1000 + b"B" * 777
    assert (target / "config.json").read_text() == '{"x": 1}'
    assert (target / "tokenizer.json").read_text() == '{"tok": true}'
    assert seen[-1] == (1777, 1777)
    stamp = json.loads((target / "assembled.json").read_text())
    assert stamp["parts"] == [1000, 777]
    assert sorted(p.name for p in target.iterdir()) == [
        "assembled.json",
        "config.json",
        "model.bin",
        "tokenizer.json",
    ]  # no temporary files left


def test_an_assembled_model_is_reused(tmp_path: Path, parts: tuple[list[Path], list[Path]]) -> None:
    part_paths, companions = parts
    target = assemble_split_model(part_paths, companions, tmp_path / "m")
    before = (target / "model.bin").stat().st_mtime_ns
    seen: list[tuple[int, int]] = []
    assemble_split_model(part_paths, companions, tmp_path / "m", lambda d, t: seen.append((d, t)))
    assert seen == []
    assert (target / "model.bin").stat().st_mtime_ns == before


def test_a_damaged_model_is_rebuilt(tmp_path: Path, parts: tuple[list[Path], list[Path]]) -> None:
    part_paths, companions = parts
    target = assemble_split_model(part_paths, companions, tmp_path / "m")
    with (target / "model.bin").open("r+b") as damaged:
        damaged.truncate(500)  # an interrupted copy, say
    assemble_split_model(part_paths, companions, tmp_path / "m")
    assert (target / "model.bin").read_bytes() == b"A" * 1000 + b"B" * 777


def test_a_missing_stamp_or_companion_means_rebuild(
    tmp_path: Path, parts: tuple[list[Path], list[Path]]
) -> None:
    part_paths, companions = parts
    target = assemble_split_model(part_paths, companions, tmp_path / "m")
    (target / "tokenizer.json").unlink()
    assemble_split_model(part_paths, companions, tmp_path / "m")
    assert (target / "tokenizer.json").is_file()
    (target / "assembled.json").write_text("not json")
    seen: list[tuple[int, int]] = []
    assemble_split_model(part_paths, companions, tmp_path / "m", lambda d, t: seen.append((d, t)))
    assert seen  # rebuilt
    assert json.loads((target / "assembled.json").read_text())["parts"] == [1000, 777]


def test_new_parts_mean_rebuild(tmp_path: Path, parts: tuple[list[Path], list[Path]]) -> None:
    part_paths, companions = parts
    target = assemble_split_model(part_paths, companions, tmp_path / "m")
    part_paths[1].write_bytes(b"C" * 10)  # an upgraded package
    assemble_split_model(part_paths, companions, tmp_path / "m")
    assert (target / "model.bin").read_bytes() == b"A" * 1000 + b"C" * 10


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_an_unwritable_models_directory(
    tmp_path: Path, parts: tuple[list[Path], list[Path]]
) -> None:
    part_paths, companions = parts
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ModelError, match="Could not assemble"):
            assemble_split_model(part_paths, companions, locked / "m")
    finally:
        locked.chmod(0o700)


def test_a_models_path_that_is_a_file(tmp_path: Path, parts: tuple[list[Path], list[Path]]) -> None:
    part_paths, companions = parts
    blocker = tmp_path / "models"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(ModelError, match="Could not assemble") as caught:
        assemble_split_model(part_paths, companions, blocker / "m")
    assert caught.value.hint
