"""``os1 bench replies``: is what the companion says worth reading?

Each case of ``data/reply_cases.json`` (written apart from the companion's prompts; a
third of every class held out) is a user's message, sometimes after a few earlier
turns. The reply is checked automatically: it mentions what any good reply must, avoids
what it must not (a contradiction of what was said, a wrong name, the user's own side of
the conversation), does not narrate itself or write the user's lines, is not a bare
one-liner, and is not the user's words given back. A case passes when every check does.

Two systems answer in the same run, on the same model: OS1's companion (persona,
prompt, memory, reply shaping, as ``os1 ask`` does) and plain prompting (one line of
setting and the turns as a transcript) as the baseline.
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from os1.clock import system_clock
from os1.companion.dialogue import Companion
from os1.companion.persona import Persona, save_persona
from os1.config import load_settings
from os1.llm.base import LLM, GenerationParams, Prompt
from os1.store.conversations import Conversations
from os1.store.db import Database
from os1.store.state import StateStore

_CLASSES = (
    "greeting", "sadness", "good_news", "about_itself", "about_user", "request", "multi_turn",
)  # fmt: skip
_GENERIC = {
    "i'm sorry", "good", "that's good", "ok", "okay", "i see", "yes", "no", "me too",
    "thank you", "thanks", "that's nice", "nice", "cool", "great", "really", "oh",
}  # fmt: skip
_NARRATION = re.compile(
    r"\*[^*]+\*|\([a-z ]+s\)|\bas an ai\b|\blanguage model\b|\bthe assistant\b|\buser:", re.I
)
_COMMON_CAPITALS = {
    "I", "I'm", "I've", "I'll", "I'd", "OK", "Okay", "God", "Monday", "Tuesday", "Wednesday",
    "Thursday", "Friday", "Saturday", "Sunday", "January", "February", "March", "April",
    "May", "June", "July", "August", "September", "October", "November", "December",
    "English", "Christmas", "TV", "Mr", "Mrs", "Ms", "Dr",
}  # fmt: skip


def load_cases() -> dict[str, Any]:
    text = resources.files("os1.bench").joinpath("data", "reply_cases.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _contains(reply: str, phrase: str) -> bool:
    return re.search(r"(?<![a-z0-9'])" + re.escape(phrase.lower()), reply.lower()) is not None


def _names_in(text: str) -> set[str]:
    return set(re.findall(r"\b[A-Z][a-z'-]+\b", text))


def check(reply: str, case: dict[str, Any], user_name: str, companion_name: str) -> list[str]:
    """The checks ``reply`` fails (empty: it passes)."""
    failed = []
    words = _words(reply)
    if not words:
        return ["empty"]
    for group in case.get("mention_any", []):
        if group and not any(_contains(reply, item) for item in group):
            failed.append("misses what it must mention")
            break
    if any(_contains(reply, item) for item in case.get("avoid", [])):
        failed.append("says what it must not")
    if re.search(rf"\b{re.escape(user_name)}\s*:", reply) or _NARRATION.search(reply):
        failed.append("narrates or writes the user's lines")
    said = " ".join([case["user"], *(turn["text"] for turn in case.get("history", []))])
    allowed = _names_in(said) | {user_name, companion_name} | _COMMON_CAPITALS
    sentence_starts = {m.group(1) for m in re.finditer(r"(?:^|[.!?]\s+)([A-Z][a-z'-]+)", reply)}
    invented = _names_in(reply) - allowed - sentence_starts
    if invented:
        failed.append("names someone never mentioned")
    if len(words) < 3 or " ".join(words) in _GENERIC:
        failed.append("generic one-liner")
    user_words = set(_words(case["user"]))
    if len(words) >= 3 and sum(w in user_words for w in words) / len(words) >= 0.75:
        failed.append("gives the user's words back")
    return failed


def _plain_prompt(case: dict[str, Any], user_name: str, companion_name: str) -> Prompt:
    """The baseline: one line of setting and the conversation as a transcript."""
    lines = [f"A conversation between {user_name} and {companion_name}, a friendly companion."]
    for turn in case.get("history", []):
        speaker = user_name if turn["role"] == "user" else companion_name
        lines.append(f"{speaker}: {turn['text']}")
    lines.append(f"{user_name}: {case['user']}")
    lines.append(f"{companion_name}:")
    return Prompt(messages=(), transcript="\n".join(lines), stop=("\n", f"{user_name}:"))


def _companion_reply(llm: LLM, case: dict[str, Any], user_name: str, companion_name: str) -> str:
    """What OS1's companion says, in a fresh data directory with the case's history."""
    with tempfile.TemporaryDirectory(prefix="os1-bench-replies-") as tmp:
        home = Path(tmp)
        settings = load_settings(home, {"model": "embedded"}, environ={})
        db = Database.in_home(home)
        persona = Persona(
            companion_name=companion_name,
            name_reason="it sounds like someone who listens",
            voice="female",
            user_name=user_name,
            traits=("warm", "curious", "honest", "a little playful", "easygoing"),
            answers={"help": "my days and someone to talk to", "social": "a bit of both"},
        )
        save_persona(StateStore(db), persona)
        conversations = Conversations(db)
        conversation = conversations.start()
        moment = datetime.now(UTC) - timedelta(minutes=2 * len(case.get("history", [])) + 1)
        for turn in case.get("history", []):
            role = "user" if turn["role"] == "user" else "companion"
            speaker = user_name if role == "user" else companion_name
            conversations.add(conversation, role, speaker, turn["text"], created_at=moment)  # type: ignore[arg-type]
            moment += timedelta(minutes=2)
        companion = Companion(db, llm, persona, settings, clock=system_clock)
        reply = companion.respond(case["user"], conversation).reply
        db.close()
    return reply


def _rates(rows: list[dict[str, Any]], system: str) -> dict[str, Any]:
    passed = [r for r in rows if not r[system]["failed"]]
    by_class = {}
    for name in _CLASSES:
        mine = [r for r in rows if r["class"] == name]
        if mine:
            by_class[name] = round(sum(not r[system]["failed"] for r in mine) / len(mine), 3)
    failures: dict[str, int] = {}
    for row in rows:
        for reason in row[system]["failed"]:
            failures[reason] = failures.get(reason, 0) + 1
    return {
        "pass_rate": round(len(passed) / len(rows), 3) if rows else None,
        "by_class": by_class,
        "failures": dict(sorted(failures.items(), key=lambda kv: -kv[1])),
        "ms_p50": round(statistics.median(r[system]["ms"] for r in rows), 1) if rows else None,
    }


def run_replies_bench(llm: LLM, show_replies: bool = False, repeats: int = 3) -> dict[str, Any]:
    """Every case through both systems ``repeats`` times (replies are sampled, so one
    reply per case says little); pass rates per half (dev, held out) and class."""
    data = load_cases()
    user_name, companion_name = data["user_name"], data["companion_name"]
    rows = []
    for case in data["cases"]:
        for attempt in range(max(1, repeats)):
            params = GenerationParams(max_tokens=60, temperature=0.6, seed=7 + attempt)
            plain_prompt = _plain_prompt(case, user_name, companion_name)
            started = time.perf_counter()
            ours = _companion_reply(llm, case, user_name, companion_name)
            ours_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            plain = "".join(llm.stream(plain_prompt, params)).strip()
            plain_ms = (time.perf_counter() - started) * 1000
            rows.append(
                {
                    "id": case["id"],
                    "class": case["class"],
                    "split": case["split"],
                    "user": case["user"],
                    "ours": {
                        "reply": ours,
                        "ms": ours_ms,
                        "failed": check(ours, case, user_name, companion_name),
                    },
                    "plain": {
                        "reply": plain,
                        "ms": plain_ms,
                        "failed": check(plain, case, user_name, companion_name),
                    },
                }
            )
    report: dict[str, Any] = {
        "bench": "replies",
        "model": llm.info.name,
        "cases": len(data["cases"]),
        "replies_per_case": max(1, repeats),
    }
    for split in ("dev", "heldout"):
        part = [r for r in rows if r["split"] == split]
        mine, baseline = _rates(part, "ours"), _rates(part, "plain")
        ratio = (
            mine["pass_rate"] / baseline["pass_rate"]
            if mine["pass_rate"] is not None and baseline["pass_rate"]
            else None
        )
        report[split] = {
            "cases": len({r["id"] for r in part}),
            "ours": mine,
            "plain_prompting": baseline,
            "ratio_to_baseline": round(ratio, 2) if ratio is not None else None,
            "bar_twice_the_baseline": ratio is not None and ratio >= 2,
            "bar_no_class_below_half": all(v >= 0.5 for v in mine["by_class"].values()),
        }
    if show_replies:
        report["replies"] = rows
    return report
