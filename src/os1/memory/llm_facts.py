"""Facts drawn by a language model, for when a bigger model is configured.

The deterministic patterns in ``facts.py`` always run; a chat-tuned model on a server
(``openai:MODEL``) adds what they cannot see ("We adopted a greyhound, Luna" → "Theo
has a greyhound named Luna."). Its answer is checked line by line: short statements
about the user only, nothing that reads like a question or a guess.
"""

from __future__ import annotations

import logging
import re

from os1.companion.prompt import fact_extraction_prompt
from os1.errors import OS1Error
from os1.llm.base import LLM, GenerationParams
from os1.memory.facts import FactCandidate
from os1.store.conversations import Message

_log = logging.getLogger(__name__)
_HEDGES = re.compile(r"\b(maybe|might|probably|possibly|seems|unclear|unknown)\b", re.I)


def llm_facts(llm: LLM, message: Message, user_name: str) -> list[FactCandidate]:
    """Facts the model finds in one of the user's messages (none if it fails)."""
    if message.role != "user" or len(message.text.split()) < 4:
        return []
    params = GenerationParams(max_tokens=160, temperature=0.0, repeat_penalty=1.0)
    try:
        answer = "".join(llm.stream(fact_extraction_prompt(message.text, user_name), params))
    except OS1Error as error:
        _log.warning("fact extraction by the model failed: %s", error)
        return []
    found: list[FactCandidate] = []
    for line in answer.splitlines():
        text = " ".join(line.strip().lstrip("-*• ").split())
        if not text or text.lower().rstrip(".") == "none" or text.endswith("?"):
            continue
        text = re.sub(r"^(?:the user|user)\b", user_name, text, flags=re.IGNORECASE)
        words = text.split()
        if not 3 <= len(words) <= 25 or user_name.split()[0] not in text or _HEDGES.search(text):
            continue
        found.append(FactCandidate(text=text.rstrip(".") + ".", slot=None, importance=0.6))
    return found[:6]
