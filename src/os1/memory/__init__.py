"""Long-term memory: episodes, facts and a core profile, with hybrid retrieval."""

from os1.memory.core import Fact, ForgetReport, Hit, Memory
from os1.memory.embedding import Embedder, HashingEmbedder, MiniLMEmbedder, default_embedder

__all__ = [
    "Embedder",
    "Fact",
    "ForgetReport",
    "HashingEmbedder",
    "Hit",
    "Memory",
    "MiniLMEmbedder",
    "default_embedder",
]
