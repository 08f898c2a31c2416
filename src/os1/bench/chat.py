"""Chat latency benchmark: the companion on the embedded model vs plain llama-cpp-python.

A persona and about ``context_tokens`` of earlier conversation are set up in a
temporary data directory; then ``turns`` user messages are sent through the real
``Companion`` (prompt building, storage, reply shaping). Every prompt the companion
sends is also run, in the same order and on the same machine, through a second
``llama_cpp.Llama`` loaded with the same settings and called directly: that is the
baseline, the speed of llama.cpp with nothing of ours around it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from os1.bench.stats import percentile, rounded
from os1.clock import system_clock
from os1.companion.dialogue import Companion
from os1.companion.persona import Persona, save_persona
from os1.config import Settings, load_settings
from os1.llm.base import GenerationParams, ModelInfo, Prompt
from os1.llm.embedded_model import embedded_model_path
from os1.llm.llamacpp import LlamaCppLLM, load_llama
from os1.memory.core import Memory
from os1.memory.embedding import default_embedder
from os1.store.conversations import Conversations
from os1.store.db import Database, clear_cache
from os1.store.state import StateStore

_EARLIER = [
    ("user", "Morning! I slept badly again, the neighbours had a party until three."),
    ("companion", "Oh no, that sounds exhausting. Did you manage to get any rest at all?"),
    ("user", "A bit. I have the quarterly review with Dana at ten, so coffee it is."),
    ("companion", "Coffee and courage, then. What's worrying you most about the review?"),
    ("user", "That she'll ask about the delayed launch. It slipped two weeks."),
    ("companion", "You could lead with why it slipped and what you changed. Want to try it?"),
    ("user", "Yes. We found a data bug late, fixed it, and added a test suite for it."),
    ("companion", "That's a strong story: you caught it before customers did. Say it like that."),
    ("user", "Ok, that helps. Also remind me to call my sister Annie tonight."),
    ("companion", "I'll remember. Is it anything special with Annie, or just catching up?"),
    ("user", "Her birthday is on Saturday and I still haven't bought a present."),
    ("companion", "We can think of something. What has she been into lately?"),
    ("user", "Pottery, weirdly. She started a class in September and loves it."),
    ("companion", "A nice set of glazes or a good apron could be lovely. Or a class voucher."),
    ("user", "The voucher is a good idea. I'll look at lunchtime."),
    ("companion", "Good plan. And good luck with Dana, I think you'll do well."),
    ("user", "The review went fine! Dana liked the test suite story."),
    ("companion", "I'm so glad! You prepared well. How do you feel now?"),
    ("user", "Relieved. Tired, but relieved. I bought the voucher too."),
    ("companion", "Two wins in one day. You deserve a quiet evening."),
    ("user", "I'm thinking of cooking the lentil soup my mum used to make."),
    ("companion", "That sounds comforting. Do you remember how she made it?"),
    ("user", "Mostly. Red lentils, cumin, lemon at the end. I'll improvise the rest."),
    ("companion", "Lemon at the end is the secret. Enjoy it, and say hi to Annie from me."),
    ("user", "Ha, I will. She still doesn't believe I talk to an AI every day."),
    ("companion", "Tell her I'm a good listener. That part is true."),
    ("user", "Back again. Today was slow. I went for a long walk by the river."),
    ("companion", "A slow day with a long walk sounds nice. What did you see?"),
    ("user", "Herons, two of them. And the first frost on the grass."),
    ("companion", "Herons in the frost. That's a beautiful picture to carry around."),
    ("user", "Also my landlord says the rent goes up in January. Not thrilled."),
    ("companion", "That's stressful. Do you know by how much yet?"),
    ("user", "Eight percent. I might start looking at other flats."),
    ("companion", "Looking doesn't commit you to anything. What would you want in a new place?"),
    ("user", "More light, a small balcony, and a shorter commute if possible."),
    ("companion", "Light, a balcony and less time on the train. That's a clear list."),
]

_TURNS = [
    "Hi again. I'm back from work.",
    "The flat hunt started. I saw one place near the park.",
    "It had a balcony but the kitchen was tiny.",
    "What do you think matters more, the balcony or the kitchen?",
    "True. I do cook a lot. Annie says I should wait for spring.",
    "She loved the pottery voucher by the way.",
    "She wants to make me a mug in her class.",
    "I'm a bit tired today, long meetings.",
    "Maybe I'll make the lentil soup again.",
    "Thanks for listening. What should I do this weekend?",
    "Maybe a walk by the river again.",
    "Good night for now.",
]


class _RecordingLLM:
    """Passes everything to the real model and keeps the prompts it was sent."""

    def __init__(self, inner: LlamaCppLLM) -> None:
        self.inner = inner
        self.prompts: list[Prompt] = []

    @property
    def info(self) -> ModelInfo:
        return self.inner.info

    def stream(self, prompt: Prompt, params: GenerationParams) -> Iterator[str]:
        self.prompts.append(prompt)
        return self.inner.stream(prompt, params)

    def prepare(self, prompt: Prompt) -> None:
        self.inner.prepare(prompt)

    def count_tokens(self, prompt: Prompt) -> int:
        return self.inner.count_tokens(prompt)

    def close(self) -> None:
        self.inner.close()


def earlier_lines() -> list[tuple[str, str]]:
    """Earlier days: the scripted exchange above, then everyday chatter of a generated
    person from the memory evaluation set, so no line repeats (a base model copies
    repeated lines, and real conversations do not repeat)."""
    from os1.bench.memory_data import build_eval_set

    generated = build_eval_set(people=1, sessions=24, seed=5).messages
    first_speaker = generated[0].speaker
    chatter = [("user" if m.speaker == first_speaker else "companion", m.text) for m in generated]
    return list(_EARLIER) + chatter


def seed_history(db: Database, persona: Persona, context_tokens: int, count: Any) -> None:
    """Add earlier days of conversation until the prompt holds ``context_tokens``."""
    conversations = Conversations(db)
    start = datetime.now(UTC) - timedelta(days=10)  # ~1,500 tokens span about 5 evenings
    conversation_id = conversations.start()
    moment = start
    index = 0
    lines = earlier_lines()
    while True:
        role, text = lines[index % len(lines)]
        speaker = persona.user_name if role == "user" else persona.companion_name
        conversations.add(conversation_id, role, speaker, text, created_at=moment)  # type: ignore[arg-type]
        moment += timedelta(minutes=2)
        index += 1
        if index % 12 == 0:  # a new evening every dozen messages
            moment += timedelta(hours=20)
        if index % 2 == 0 and (count() >= context_tokens or index >= 1000):
            break


def _prepare(llama: Any, prompt: Prompt) -> None:
    for _ in llama.create_completion(prompt.transcript, max_tokens=1, stream=True):
        pass


def _time_baseline(llama: Any, prompt: Prompt, params: GenerationParams) -> dict[str, Any]:
    started = time.perf_counter()
    first: float | None = None
    tokens = 0
    for chunk in llama.create_completion(
        prompt.transcript,
        stop=list(prompt.stop),
        stream=True,
        max_tokens=params.max_tokens,
        temperature=params.temperature,
        top_p=params.top_p,
        top_k=params.top_k,
        repeat_penalty=params.repeat_penalty,
    ):
        if chunk["choices"][0]["text"]:
            tokens += 1
            if first is None:
                first = time.perf_counter()
    end = time.perf_counter()
    first_ms = None if first is None else (first - started) * 1000
    rate = (
        (tokens - 1) / (end - first) if first is not None and tokens > 1 and end > first else None
    )
    return {"first_token_ms": first_ms, "tokens": tokens, "tokens_per_s": rate}


def _seed_home(
    ours: _RecordingLLM, home: Path, context_tokens: int
) -> tuple[Database, Companion, Settings, int]:
    """A data directory with a companion and earlier days of conversation, remembered."""
    settings = load_settings(home, {"model": "embedded"}, environ={})
    # Room for the requested context: the default window may hold less than that.
    settings.chat.history_messages = max(settings.chat.history_messages, 200)
    db = Database.in_home(home)
    persona = Persona(
        companion_name="Samantha",
        name_reason="it sounds like someone who listens",
        voice="female",
        user_name="Theo",
        traits=("warm", "curious", "honest", "a little playful", "easygoing"),
        answers={"help": "my days and someone to talk to", "social": "a bit of both"},
    )
    save_persona(StateStore(db), persona)
    memory = Memory(db, default_embedder(), user_name=persona.user_name)
    companion = Companion(db, ours, persona, settings, clock=system_clock, memory=memory)
    seed_history(
        db,
        persona,
        context_tokens,
        lambda: ours.inner.count_text_tokens(companion.build_prompt().transcript),
    )
    memory.index_pending()  # the earlier days are remembered, as in real use
    companion.consolidate()
    context = ours.inner.count_text_tokens(companion.build_prompt().transcript)
    return db, companion, settings, context


def _one_conversation(
    ours: _RecordingLLM,
    baseline: Any,
    home: Path,
    turns: int,
    context_tokens: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Seed a fresh data directory, hold the conversation, time both sides per turn."""
    db, companion, settings, context = _seed_home(ours, home, context_tokens)
    companion.warm_up()
    _prepare(baseline, companion.build_prompt(upcoming=1))
    params = GenerationParams(
        max_tokens=settings.llm.max_reply_tokens, temperature=settings.llm.temperature
    )
    rows: list[dict[str, Any]] = []
    for number, text in enumerate(_TURNS[:turns], start=1):
        turn = companion.start_turn(text)
        sent_before = len(ours.prompts)
        reply = "".join(companion.stream(turn))
        prompt = ours.prompts[sent_before]
        base = _time_baseline(baseline, prompt, params)
        # What `os1 chat` does while the user reads the reply and types the next one;
        # the baseline gets the same head start, so the comparison is of the turns.
        companion.learn(turn)
        companion.warm_up()
        _prepare(baseline, companion.build_prompt(upcoming=1))
        rows.append(
            {
                "turn": number,
                "prompt_tokens": ours.inner.count_text_tokens(prompt.transcript),
                "user": text,
                "reply": reply,
                "first_token_ms": turn.timings.first_token_ms,
                "tokens_per_s": turn.timings.tokens_per_s,
                "baseline_first_token_ms": base["first_token_ms"],
                "baseline_tokens_per_s": base["tokens_per_s"],
            }
        )
    db.close()
    return context, rows


def _ask(home: Path, text: str) -> dict[str, Any]:
    """One `os1 ask` in a new process: its first word, as seen from outside (from the
    process's start) and inside (from the turn's start, as the warm turns are timed)."""
    command = [sys.executable, "-m", "os1", "--home", str(home), "ask", "--json", text]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"os1 ask failed: {done.stderr.strip()[-500:]}")
    reply = json.loads(done.stdout.strip().splitlines()[-1])
    return {"first_token_ms": reply["timings"]["first_token_ms"], "process_s": wall}


def _cold_starts(ours: _RecordingLLM, context_tokens: int, repeats: int) -> dict[str, Any]:
    """`os1 ask` in fresh processes, on a data directory like the warm runs': first with
    no saved prompt state (as after an upgrade), then with the one the last run left."""
    fresh: list[dict[str, Any]] = []
    saved: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="os1-bench-cold-") as tmp:
        home = Path(tmp)
        db, _, _, _ = _seed_home(ours, home, context_tokens)
        db.close()
        for number in range(max(1, repeats)):
            clear_cache(home)  # no saved prompt (nor index copy): a start from nothing
            fresh.append(_ask(home, _TURNS[(2 * number) % len(_TURNS)]))
            saved.append(_ask(home, _TURNS[(2 * number + 1) % len(_TURNS)]))
    return {
        "runs": len(saved),
        "first_token_ms_p50": rounded(_median([r["first_token_ms"] for r in saved])),
        "first_token_ms_runs": [rounded(r["first_token_ms"]) for r in saved],
        "process_s_p50": rounded(_median([r["process_s"] for r in saved]), 2),
        "without_saved_state_first_token_ms_p50": rounded(
            _median([r["first_token_ms"] for r in fresh])
        ),
        "without_saved_state_first_token_ms_runs": [rounded(r["first_token_ms"]) for r in fresh],
        "note": "os1 ask in a new process; first_token_ms from the turn's start, process_s"
        " from the process's start to its exit",
    }


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def run_chat_benchmark(
    turns: int = 10, context_tokens: int = 1500, repeats: int = 3, cold: bool = True
) -> dict[str, Any]:
    """The conversation is held ``repeats`` times (fresh data each time); each turn's
    figures are medians over the repeats, so one noisy moment does not decide a bar."""
    turns = max(1, min(turns, len(_TURNS)))
    settings = load_settings(Path(tempfile.gettempdir()), {"model": "embedded"}, environ={})
    path = embedded_model_path(settings.models_path())
    n_ctx, threads = settings.llm.context_tokens, settings.llm.threads
    ours = _RecordingLLM(
        LlamaCppLLM(path, kind="embedded", n_ctx=n_ctx, threads=threads, prompt_format="transcript")
    )
    baseline = load_llama(path, n_ctx=n_ctx, threads=threads)
    runs = []
    contexts = []
    try:
        for _ in range(max(1, repeats)):
            with tempfile.TemporaryDirectory(prefix="os1-bench-") as tmp:
                context, rows = _one_conversation(ours, baseline, Path(tmp), turns, context_tokens)
                contexts.append(context)
                runs.append(rows)
        cold_starts = _cold_starts(ours, context_tokens, repeats) if cold else None
    finally:
        ours.close()
        baseline.close()
    keys = ("first_token_ms", "tokens_per_s", "baseline_first_token_ms", "baseline_tokens_per_s")
    table = []
    for index in range(turns):
        across = [run[index] for run in runs]
        row: dict[str, Any] = {
            "turn": index + 1,
            "prompt_tokens": across[0]["prompt_tokens"],
            "user": across[0]["user"],
            "replies": [r["reply"] for r in across],
        }
        for key in keys:
            row[key] = rounded(_median([r[key] for r in across]))
        row["first_token_ms_runs"] = [rounded(r["first_token_ms"]) for r in across]
        row["baseline_first_token_ms_runs"] = [
            rounded(r["baseline_first_token_ms"]) for r in across
        ]
        table.append(row)
    ours_first = [r["first_token_ms"] for r in table if r["first_token_ms"] is not None]
    base_first = [
        r["baseline_first_token_ms"] for r in table if r["baseline_first_token_ms"] is not None
    ]
    last = table[-1]
    ratio = (
        last["first_token_ms"] / last["baseline_first_token_ms"]
        if last["first_token_ms"] and last["baseline_first_token_ms"]
        else None
    )
    p50 = statistics.median(ours_first) if ours_first else None
    summary = {
        "turns": len(table),
        "repeats": len(runs),
        "context_tokens_at_start": statistics.median(contexts),
        "prompt_tokens_at_last_turn": last["prompt_tokens"],
        "first_token_ms_p50": rounded(p50),
        "first_token_ms_p90": rounded(percentile(ours_first, 0.9)) if ours_first else None,
        "baseline_first_token_ms_p50": rounded(statistics.median(base_first))
        if base_first
        else None,
        "last_turn_first_token_ms": last["first_token_ms"],
        "last_turn_baseline_first_token_ms": last["baseline_first_token_ms"],
        "last_turn_ratio_to_baseline": rounded(ratio, 3),
        "tokens_per_s_p50": rounded(_median([r["tokens_per_s"] for r in table])),
        "warm_up_between_turns": "both (as os1 chat does while the user types)",
        "memory": "on (retrieval in every turn, learning between turns)",
        "bar_last_turn_within_1_2x": ratio is not None and ratio <= 1.2,
        "bar_p50_at_most_350_ms": p50 is not None and p50 <= 350,
    }
    if cold_starts is not None:
        cold_p50 = cold_starts["first_token_ms_p50"]
        cold_ratio = cold_p50 / p50 if cold_p50 is not None and p50 else None
        summary["cold_first_token_ms_p50"] = cold_p50
        summary["cold_ratio_to_warm_p50"] = rounded(cold_ratio, 3)
        summary["bar_cold_within_1_5x_warm"] = cold_ratio is not None and cold_ratio <= 1.5
    return {
        "benchmark": "chat",
        "model": "embedded:gemma-3-270m (Q4_K_M)",
        "threads": threads or "all cores",
        "summary": summary,
        "cold_start": cold_starts,
        "turns": table,
    }
