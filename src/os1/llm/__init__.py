"""Language models behind one Protocol, chosen by a one-line model spec."""

from os1.llm.base import LLM, ChatMessage, GenerationParams, ModelInfo, Prompt
from os1.llm.fake import FakeLLM
from os1.llm.registry import load_llm
from os1.llm.spec import ModelSpec, parse_model_spec

__all__ = [
    "LLM",
    "ChatMessage",
    "FakeLLM",
    "GenerationParams",
    "ModelInfo",
    "ModelSpec",
    "Prompt",
    "load_llm",
    "parse_model_spec",
]
