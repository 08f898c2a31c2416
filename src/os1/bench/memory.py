"""Memory benchmark: evidence recall on our evaluation set, and speed at scale.

Quality: each person of ``memory_data.build_eval_set`` gets a fresh database; their
conversations are imported through the real import path, then every question is
searched (as of the time it is asked). Recall@k is the share of gold message ids
found among the source ids of the top hits, flattened in rank order, cut at k. The
baseline is plain BM25 over single messages (FTS5), in the same run.

Scale: 100,000 episodes and 20,000 facts. Embedding 100,000 messages takes a quarter
of an hour on two cores, so import throughput is measured on real embeddings of a
sample, and the large database reuses those vectors for its rows (the text of every
row is distinct, so FTS5 sees a realistic index, and the vector matrix has its real
size). Search latency is then measured end to end, query embedding included.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from os1.bench.memory_data import EvalMessage, EvalQuestion, build_eval_set, by_person
from os1.clock import new_id, to_iso
from os1.memory.core import Memory, keyword_query
from os1.memory.embedding import Embedder, default_embedder
from os1.memory.transfer import import_jsonl, write_jsonl
from os1.store.db import DB_FILE, Database

KS = (5, 10)


def _flatten_sources(source_lists: Sequence[Sequence[str]]) -> list[str]:
    seen: dict[str, None] = {}
    for sources in source_lists:
        for source in sources:
            seen.setdefault(source, None)
    return list(seen)


def _recall(found: Sequence[str], gold: Sequence[str], k: int) -> float:
    top = set(found[:k])
    return sum(1 for g in gold if g in top) / len(gold)


def _bm25_baseline(db: Database, question: str, k: int) -> list[str]:
    match = keyword_query(question)
    if not match:
        return []
    rows = db.query(
        "SELECT m.id FROM messages_fts JOIN messages m ON m.seq = messages_fts.rowid"
        " WHERE messages_fts MATCH ? ORDER BY bm25(messages_fts) LIMIT ?",
        (match, k),
    )
    return [str(r["id"]) for r in rows]


def _summarise(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    kinds = sorted({r["kind"] for r in rows})
    for name, subset in [("overall", rows)] + [
        (k, [r for r in rows if r["kind"] == k]) for k in kinds
    ]:
        out[name] = {
            f"recall@{k}": round(statistics.fmean(r[f"{key}@{k}"] for r in subset), 3) for k in KS
        } | {"questions": len(subset)}
    return out


def evaluate_quality(
    embedder: Embedder, people: int = 5, sessions: int = 24, seed: int = 7
) -> dict[str, Any]:
    eval_set = build_eval_set(people=people, sessions=sessions, seed=seed)
    rows: list[dict[str, Any]] = []
    for person, (messages, questions) in by_person(eval_set).items():
        with tempfile.TemporaryDirectory(prefix="os1-membench-") as tmp:
            rows += _evaluate_person(Path(tmp), person, messages, questions, embedder)
    return {
        "people": people,
        "sessions_per_person": sessions,
        "messages": len(eval_set.messages),
        "questions": len(rows),
        "memory": _summarise(rows, "memory"),
        "bm25_baseline": _summarise(rows, "bm25"),
        "per_question": rows,
    }


def _evaluate_person(
    home: Path,
    person: str,
    messages: list[EvalMessage],
    questions: list[EvalQuestion],
    embedder: Embedder,
) -> list[dict[str, Any]]:
    db = Database.in_home(home)
    path = home / "transcript.jsonl"
    write_jsonl(
        [
            {
                "id": m.id,
                "conversation": m.conversation,
                "time": m.time,
                "speaker": m.speaker,
                "text": m.text,
                "role": "user" if m.speaker == person else "companion",
            }
            for m in messages
        ],
        path,
    )
    rows = []
    try:
        memory = Memory(db, embedder, user_name=person)
        import_jsonl(memory, path)
        memory.consolidate()
        for q in questions:
            hits = memory.search(q.question, k=10, now=q.asked_at)
            found = _flatten_sources([h.sources for h in hits])
            baseline = _bm25_baseline(db, q.question, 10)
            row: dict[str, Any] = {"id": q.id, "kind": q.kind, "question": q.question}
            for k in KS:
                row[f"memory@{k}"] = _recall(found, q.gold, k)
                row[f"bm25@{k}"] = _recall(baseline, q.gold, k)
            rows.append(row)
    finally:
        db.close()
    return rows


# -- scale --------------------------------------------------------------------------------


def _corpus() -> tuple[list[str], list[str]]:
    """Distinct everyday messages (and questions) from many generated people."""
    texts: dict[str, None] = {}
    questions: dict[str, None] = {}
    for seed in range(1, 8):
        eval_set = build_eval_set(people=16, sessions=24, seed=seed)
        texts.update(dict.fromkeys(m.text for m in eval_set.messages))
        questions.update(dict.fromkeys(q.question for q in eval_set.questions))
    return list(texts), list(questions)


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def evaluate_scale(
    embedder: Embedder, episodes: int = 100_000, facts: int = 20_000, sample: int = 2_000
) -> dict[str, Any]:
    """Import speed on a real sample; then search speed at ``episodes`` and ``facts``.

    The large database repeats the ~4,700 distinct messages of many generated people
    (about twenty times each at 100k), with their real vectors, so word frequencies and
    the vector matrix are those of a real corpus of that size.
    """
    texts, questions = _corpus()
    rng = random.Random(11)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="os1-memscale-") as tmp:
        home = Path(tmp)
        db = Database.in_home(home)
        memory = Memory(db, embedder, user_name="Theo")
        sample = min(sample, len(texts), episodes)
        records = [
            {
                "id": f"s{n}",
                "conversation": f"c{n // 12}",
                "speaker": "Theo" if n % 2 else "Iris",
                "time": start + timedelta(minutes=7 * n),
                "text": texts[n],
            }
            for n in range(sample)
        ]
        path = home / "sample.jsonl"
        write_jsonl(records, path)
        import_ms = _timed(lambda: import_jsonl(memory, path))
        vectors = np.concatenate(
            [
                np.stack(
                    [
                        np.frombuffer(r["vector"], dtype=np.float32)
                        for r in db.query(
                            "SELECT e.vector FROM embeddings e JOIN messages m ON m.id = e.item_id"
                            " WHERE e.kind = 'episode' ORDER BY m.seq"
                        )
                    ]
                ),
                embedder.embed(texts[sample:]) if len(texts) > sample else np.zeros((0, 384)),
            ]
        ).astype(np.float32)
        _bulk_fill(
            memory,
            rng,
            texts,
            vectors,
            start + timedelta(minutes=7 * sample),
            episodes - sample,
            facts,
        )
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = (home / DB_FILE).stat().st_size
        db.close()
        db = Database.in_home(home)
        memory = Memory(db, embedder, user_name="Theo")
        # The first load reads the database (and saves a copy of the index); a new
        # process then starts from that copy.
        load_ms = _timed(lambda: memory.index.search(embedder.embed(["warm"])[0], 1))
        db.close()
        db = Database.in_home(home)
        memory = Memory(db, embedder, user_name="Theo")
        saved_load_ms = _timed(lambda: memory.index.search(embedder.embed(["warm"])[0], 1))
        now = start + timedelta(minutes=7 * episodes)
        asked = rng.sample(questions, min(100, len(questions)))
        latencies = [_timed(lambda q=q: memory.search(q, 10, now=now)) for q in asked]  # type: ignore[misc]
        embed_only = [_timed(lambda q=q: embedder.embed([q])) for q in asked[:30]]  # type: ignore[misc]
        turn = _turn_overhead(db, memory, home, asked[:20])
        counts = db.query(
            "SELECT (SELECT COUNT(*) FROM messages) AS m, (SELECT COUNT(*) FROM facts) AS f"
        )[0]
        db.close()
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    return {
        "episodes": int(counts["m"]),
        "facts": int(counts["f"]),
        "distinct_texts": len(texts),
        "import_messages_per_s": round(sample / (import_ms / 1000), 1),
        "import_note": f"measured on {sample} messages with real embeddings and fact extraction",
        "database_mb": round(size / 1e6, 1),
        "index_load_ms": round(load_ms, 1),
        "index_load_from_saved_copy_ms": round(saved_load_ms, 1),
        "search_ms_p50": round(statistics.median(latencies), 2),
        "search_ms_p95": round(p95, 2),
        "query_embedding_ms_p50": round(statistics.median(embed_only), 2),
        "bar_search_p95_at_most_50_ms": p95 <= 50,
        **turn,
    }


def _turn_overhead(
    db: Database, memory: Memory, home: Path, questions: list[str]
) -> dict[str, Any]:
    """First-chunk latency of a turn with and without memory, on an instant fake model,
    so the difference is what retrieval (search, recall selection) costs the turn."""
    from os1.companion.dialogue import Companion
    from os1.companion.persona import Persona
    from os1.config import load_settings
    from os1.llm.fake import FakeLLM

    persona = Persona("Iris", "it sounds bright", "female", "Theo", ("warm", "easygoing"))
    settings = load_settings(home, {"model": "fake"}, environ={})
    timings: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(2):
        for label, mem in (("with", memory), ("without", None)):
            companion = Companion(db, FakeLLM(), persona, settings, memory=mem)
            for question in questions:
                started = time.perf_counter()
                turn = companion.start_turn(question)
                next(iter(companion.stream(turn)))
                timings[label].append((time.perf_counter() - started) * 1000)
    with_p50 = statistics.median(timings["with"])
    without_p50 = statistics.median(timings["without"])
    return {
        "turn_first_chunk_ms_p50_with_memory": round(with_p50, 2),
        "turn_first_chunk_ms_p50_without_memory": round(without_p50, 2),
        "memory_adds_to_first_token_ms_p50": round(with_p50 - without_p50, 2),
        "bar_memory_adds_at_most_30_ms": with_p50 - without_p50 <= 30,
    }


def _bulk_fill(
    memory: Memory,
    rng: random.Random,
    texts: list[str],
    vectors: np.ndarray[Any, Any],
    start: datetime,
    episodes: int,
    facts: int,
) -> None:
    db = memory.db
    batch = 5_000
    for offset in range(0, episodes, batch):
        rows = []
        items = []
        picks = []
        for n in range(offset, min(offset + batch, episodes)):
            message_id = f"b{n}"
            moment = start + timedelta(minutes=7 * n)
            pick = rng.randrange(len(texts))
            picks.append(pick)
            rows.append(
                (
                    message_id,
                    f"bc{n // 12}",
                    "user" if n % 2 else "companion",
                    "Theo" if n % 2 else "Iris",
                    texts[pick],
                    to_iso(moment),
                )
            )
            items.append((message_id, "episode", moment.timestamp()))
        with db.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO conversations (id, started_at) VALUES (?, ?)",
                [(r[1], r[5]) for r in rows],
            )
            conn.executemany(
                "INSERT INTO messages (id, conversation_id, role, speaker, text, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        memory.index.add(items, vectors[picks])
    fact_rows = []
    fact_items = []
    picks = []
    for n in range(facts):
        fact_id = new_id("f")
        moment = start + timedelta(minutes=35 * n)
        pick = rng.randrange(len(texts))
        picks.append(pick)
        fact_rows.append(
            (fact_id, f"Theo said: {texts[pick]}", None, 0.6, to_iso(moment), to_iso(moment))
        )
        fact_items.append((fact_id, "fact", moment.timestamp()))
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO facts (id, text, slot, importance, valid_from, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            fact_rows,
        )
    memory.index.add(fact_items, vectors[picks])


def run_memory_benchmark(
    *, scale: bool = True, episodes: int = 100_000, facts: int = 20_000
) -> dict[str, Any]:
    embedder = default_embedder()
    report: dict[str, Any] = {"benchmark": "memory", "embedder": embedder.name}
    report["quality"] = evaluate_quality(embedder)
    if scale:
        report["scale"] = evaluate_scale(embedder, episodes=episodes, facts=facts)
    quality = report["quality"]
    report["summary"] = {
        "recall@5": quality["memory"]["overall"]["recall@5"],
        "recall@10": quality["memory"]["overall"]["recall@10"],
        "bm25_recall@5": quality["bm25_baseline"]["overall"]["recall@5"],
        "bm25_recall@10": quality["bm25_baseline"]["overall"]["recall@10"],
        "by_kind": {
            kind: values for kind, values in quality["memory"].items() if kind != "overall"
        },
        **(
            {
                k: report["scale"][k]
                for k in (
                    "search_ms_p95",
                    "memory_adds_to_first_token_ms_p50",
                    "import_messages_per_s",
                    "database_mb",
                )
            }
            if scale
            else {}
        ),
    }
    return report
