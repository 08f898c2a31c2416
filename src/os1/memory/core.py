"""Long-term memory: episodes (every message), facts, and a core profile.

``Memory`` is the one object the rest of OS1 talks to. It learns from new messages
(embeds them, extracts facts) outside the reply path, answers ``search`` with hybrid
retrieval (BM25 over FTS5 + vector similarity + recency + importance, fused by
reciprocal rank), and lets the user list, show, edit and forget anything.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from os1.clock import Clock, from_iso, new_id, system_clock, to_iso
from os1.memory.embedding import Embedder
from os1.memory.facts import FactCandidate, extract_facts
from os1.memory.index import CHUNK, VectorIndex
from os1.memory.timeparse import find_time_range, strip_time_expression
from os1.store.conversations import Message
from os1.store.db import Database, clear_cache
from os1.store.state import StateStore

Kind = Literal["episode", "fact", "profile"]
PROFILE_KEY = "profile"
PROFILE_ID = "profile"

_RRF_K = 60
COMPANION_WEIGHT = 0.5
"""The companion's own lines count for less: they echo, the user's words inform."""
_CANDIDATES = 5
"""Each ranking (keyword, vector) offers this many candidates per hit asked for (at least
30): enough for fusion to find agreement, few enough to stay fast at 100k messages."""
_STOPWORD_TEXT = """
a about above after again all am an and any are as at be been before being below between
both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me
more most my myself no nor not now of off on once only or other our ours ourselves out over
own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves tell remember know
say said ever s t d ll re ve m don doesn didn isn wasn won can't
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class Hit:
    id: str
    kind: Kind
    text: str
    time: datetime
    score: float
    sources: tuple[str, ...]
    speaker: str = ""
    current: bool = True  # False for a fact that has been superseded
    role: str = ""  # an episode's role: "user" or "companion"

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "text": self.text,
            "time": self.time.isoformat(),
            "score": round(self.score, 5),
            "sources": list(self.sources),
            **({"speaker": self.speaker} if self.speaker else {}),
            **({} if self.current else {"current": False}),
        }


@dataclass(frozen=True)
class Fact:
    id: str
    text: str
    slot: str | None
    importance: float
    valid_from: datetime
    valid_to: datetime | None
    superseded_by: str | None
    sources: tuple[str, ...]

    @property
    def current(self) -> bool:
        return self.valid_to is None

    def as_hit(self) -> Hit:
        """This fact as a listing shows it (no search score)."""
        return Hit(
            self.id, "fact", self.text, self.valid_from, 0.0, self.sources, current=self.current
        )


@dataclass
class ForgetReport:
    messages: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    profile_changed: bool = False  # rebuilt without the forgotten items, or deleted


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def string_list(value: object) -> list[str]:
    """A list of strings from loosely typed stored JSON (anything else: empty)."""
    return [str(v) for v in value] if isinstance(value, list) else []


PASSAGE_WORDS = 150
_PASSAGE_STRIDE = 120
MAX_PASSAGES = 64
"""Vectors for the first ~8,000 words of a message; keyword search covers all of it."""


def passages(text: str) -> list[str]:
    """A message as overlapping passages of at most PASSAGE_WORDS words ([] if blank)."""
    words = text.split()
    if len(words) <= PASSAGE_WORDS + 30:
        return [text] if words else []
    return [
        " ".join(words[start : start + PASSAGE_WORDS])
        for start in range(0, len(words) - 30, _PASSAGE_STRIDE)
    ]


def keyword_query(text: str) -> str:
    """An FTS5 query: the question's content words, any of which may match."""
    words = [
        w
        for w in re.findall(r"[^\W_]+", re.sub(r"'(?:s|t|d|ll|re|ve|m)\b", "", text.lower()))
        if w not in _STOPWORDS and len(w) > 1
    ]
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words))


class Memory:
    def __init__(
        self,
        db: Database,
        embedder: Embedder,
        *,
        user_name: str = "the user",
        clock: Clock = system_clock,
    ) -> None:
        self.db = db
        self.embedder = embedder
        self.user_name = user_name
        self.clock = clock
        self.index = VectorIndex(db, embedder.name, embedder.dim)
        self.state = StateStore(db, clock)
        # Learning runs in a background thread while the user talks (and may ask to
        # forget): every change to memory takes this lock, so none sees another half done.
        self._lock = threading.RLock()

    # -- learning ------------------------------------------------------------------

    def learn(
        self,
        messages: Sequence[Message],
        extra: Callable[[Message], list[FactCandidate]] | None = None,
    ) -> list[Fact]:
        """Embed new messages and extract the facts they state (runs off the reply path).

        ``extra`` finds more facts in a message (a bigger model, see ``llm_facts``); it
        runs before the lock is taken, as it may be slow.
        """
        more = {m.id: extra(m) for m in messages} if extra else {}
        with self._lock:
            return self._learn(messages, more)

    def _learn(
        self, messages: Sequence[Message], more: dict[str, list[FactCandidate]] | None = None
    ) -> list[Fact]:
        present = {
            r["id"]
            for chunk in _chunks([m.id for m in messages])
            for r in self.db.query(
                f"SELECT id FROM messages WHERE id IN ({','.join('?' * len(chunk))})",
                tuple(chunk),
            )
        }
        messages = [m for m in messages if m.id in present]  # forgotten meanwhile: skip
        self._embed_messages(messages)
        learned: list[Fact] = []
        for message in sorted(messages, key=lambda m: m.created_at):
            candidates = list(extract_facts(message, self.user_name))
            candidates += self._new_to(candidates, (more or {}).get(message.id, []))
            for candidate in candidates:
                learned.append(self._store_fact(candidate, message))
        self._embed_facts(learned)
        return learned

    def index_pending(self, batch: int = 64) -> int:
        """Embed every message that has no vector yet; returns how many got one.

        Messages are visited once each, in storage order: one with no words in it
        gets no vector, and must not be fetched again forever.
        """
        done = 0
        after = 0
        while True:
            with self._lock:
                rows = self.db.query(
                    "SELECT m.seq, m.id, m.conversation_id, m.role, m.speaker, m.text,"
                    " m.created_at, m.status, m.meta FROM messages m"
                    " LEFT JOIN embeddings e ON e.item_id = m.id"
                    " WHERE e.item_id IS NULL AND m.seq > ? ORDER BY m.seq LIMIT ?",
                    (after, batch),
                )
                if not rows:
                    return done
                after = int(rows[-1]["seq"])
                messages = [Message.from_row(r) for r in rows]
                self._embed_messages(messages)
            done += sum(1 for m in messages if passages(m.text))

    def _embed_messages(self, messages: Sequence[Message]) -> None:
        """One vector per passage: a long message is embedded in overlapping parts, as the
        model reads only its first 256 tokens, and found by its best part."""
        keys: list[tuple[str, str, float]] = []
        texts: list[str] = []
        for message in messages:
            for n, passage in enumerate(passages(message.text)[:MAX_PASSAGES]):
                key = message.id if n == 0 else f"{message.id}{CHUNK}{n}"
                keys.append((key, "episode", message.created_at.timestamp()))
                texts.append(passage)
        for start in range(0, len(texts), 32):  # bounded memory, however long the text
            batch = slice(start, start + 32)
            self.index.add(keys[batch], self.embedder.embed(texts[batch]))

    def _embed_facts(self, facts: Sequence[Fact]) -> None:
        if facts:
            vectors = self.embedder.embed([f.text for f in facts])
            self.index.add([(f.id, "fact", f.valid_from.timestamp()) for f in facts], vectors)

    def _store_fact(self, candidate: FactCandidate, source: Message) -> Fact:
        """Store a fact, or add a source to the same current fact; supersede its slot."""
        valid_from = source.created_at
        with self.db.transaction() as conn:
            same = conn.execute(
                "SELECT id FROM facts WHERE text = ? AND valid_to IS NULL", (candidate.text,)
            ).fetchone()
            if same:
                conn.execute(
                    "INSERT OR IGNORE INTO fact_sources (fact_id, message_id) VALUES (?, ?)",
                    (same["id"], source.id),
                )
                fact_id = str(same["id"])
            else:
                fact_id = new_id("f")
                conn.execute(
                    "INSERT INTO facts (id, text, slot, importance, valid_from, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        fact_id,
                        candidate.text,
                        candidate.slot,
                        candidate.importance,
                        to_iso(valid_from),
                        to_iso(self.clock()),
                    ),
                )
                conn.execute(
                    "INSERT INTO fact_sources (fact_id, message_id) VALUES (?, ?)",
                    (fact_id, source.id),
                )
                if candidate.slot:
                    self._supersede(conn, fact_id, candidate.slot, valid_from)
        fact = self.fact(fact_id)
        assert fact is not None
        return fact

    def _new_to(
        self, known: list[FactCandidate], offered: list[FactCandidate]
    ) -> list[FactCandidate]:
        """The offered facts that do not say again what a known one says."""
        if not offered or not known:
            return offered
        known_vectors = self.embedder.embed([c.text for c in known])
        offered_vectors = self.embedder.embed([c.text for c in offered])
        similarity = offered_vectors @ known_vectors.T
        return [c for c, row in zip(offered, similarity, strict=True) if row.max() < 0.85]

    @staticmethod
    def _supersede(conn: sqlite3.Connection, fact_id: str, slot: str, since: datetime) -> None:
        """Put a new slot fact in its place in time: it ends the fact before it, and is
        itself already ended if a newer one is known (an old transcript imported late)."""
        before = conn.execute(
            "SELECT id, valid_to, superseded_by FROM facts WHERE slot = ? AND id != ?"
            " AND valid_from <= ? ORDER BY valid_from DESC, seq DESC LIMIT 1",
            (slot, fact_id, to_iso(since)),
        ).fetchone()
        after = conn.execute(
            "SELECT id, valid_from FROM facts WHERE slot = ? AND id != ? AND valid_from > ?"
            " ORDER BY valid_from, seq LIMIT 1",
            (slot, fact_id, to_iso(since)),
        ).fetchone()
        if after is not None:
            conn.execute(
                "UPDATE facts SET valid_to = ?, superseded_by = ? WHERE id = ?",
                (after["valid_from"], after["id"], fact_id),
            )
        if before is not None:
            conn.execute(
                "UPDATE facts SET valid_to = ?, superseded_by = ? WHERE id = ?",
                (to_iso(since), fact_id, before["id"]),
            )

    def unlearned(self, message_ids: Iterable[str]) -> list[Message]:
        """Those of these messages that memory has not taken in (no vector yet)."""
        found: list[Message] = []
        for chunk in _chunks(sorted(message_ids)):
            found += [
                Message.from_row(r)
                for r in self.db.query(
                    "SELECT m.id, m.conversation_id, m.role, m.speaker, m.text, m.created_at,"
                    " m.status, m.meta FROM messages m LEFT JOIN embeddings e"
                    " ON e.item_id = m.id WHERE e.item_id IS NULL"
                    f" AND m.id IN ({','.join('?' * len(chunk))})",
                    tuple(chunk),
                )
            ]
        return found

    def fact_ids(self, item_ids: Iterable[str]) -> set[str]:
        """Which of these ids are facts (the rest are messages, or the profile)."""
        return {
            str(r["id"])
            for chunk in _chunks(sorted(item_ids))
            for r in self.db.query(
                f"SELECT id FROM facts WHERE id IN ({','.join('?' * len(chunk))})",
                tuple(chunk),
            )
        }

    # -- reading -------------------------------------------------------------------

    def fact(self, fact_id: str) -> Fact | None:
        rows = self.db.query("SELECT * FROM facts WHERE id = ?", (fact_id,))
        return self._fact_from_row(rows[0]) if rows else None

    def _fact_from_row(self, row: object) -> Fact:
        r = row  # sqlite3.Row
        sources = self.db.query(
            "SELECT message_id FROM fact_sources WHERE fact_id = ? ORDER BY message_id",
            (r["id"],),  # type: ignore[index]
        )
        return Fact(
            id=r["id"],  # type: ignore[index]
            text=r["text"],  # type: ignore[index]
            slot=r["slot"],  # type: ignore[index]
            importance=float(r["importance"]),  # type: ignore[index]
            valid_from=from_iso(r["valid_from"]),  # type: ignore[index]
            valid_to=from_iso(r["valid_to"]) if r["valid_to"] else None,  # type: ignore[index]
            superseded_by=r["superseded_by"],  # type: ignore[index]
            sources=tuple(s["message_id"] for s in sources),
        )

    def facts(self, *, include_superseded: bool = False) -> list[Fact]:
        where = "" if include_superseded else "WHERE valid_to IS NULL"
        rows = self.db.query(f"SELECT * FROM facts {where} ORDER BY valid_from, seq")
        return [self._fact_from_row(r) for r in rows]

    def profile(self) -> dict[str, object] | None:
        return self.state.get(PROFILE_KEY)

    def profile_hit(self, score: float = 0.0) -> Hit | None:
        """The core profile as a hit (its sources: the messages its facts rest on)."""
        profile = self.profile()
        if not profile:
            return None
        return Hit(
            PROFILE_ID,
            "profile",
            str(profile["text"]),
            from_iso(str(profile["updated_at"])),
            score,
            tuple(string_list(profile.get("sources")))[:20],
        )

    # -- search --------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        now: datetime | None = None,
        exclude: Iterable[str] = (),
        second_hop: bool = True,
    ) -> list[Hit]:
        """Hybrid retrieval, best first. Time words in the query narrow by date.

        ``second_hop`` follows names in the best hits to what is said about them (for
        questions like "what city does my sister live in?"); it costs a few milliseconds.
        """
        if not query.strip():
            return []
        now = (now or self.clock()).astimezone()  # "yesterday" is the user's yesterday
        excluded = set(exclude)
        found = find_time_range(query, now)
        text = strip_time_expression(query, found) if found else query
        start = found.start.timestamp() if found else None
        end = found.end.timestamp() if found else None
        scores: dict[str, float] = {}

        def fuse(ranked: Iterable[str], weight: float = 1.0) -> None:
            rank = 0
            for item_id in ranked:
                if item_id in excluded:
                    continue
                scores[item_id] = scores.get(item_id, 0.0) + weight / (_RRF_K + rank)
                rank += 1

        window = (found.start, found.end) if found else None
        pool = max(30, _CANDIDATES * k)
        keywords = keyword_query(text)
        bm25 = self._keyword_hits(keywords, window, pool) if keywords else []
        if found and not bm25 and keywords:
            bm25 = self._keyword_hits(keywords, None, pool)  # nothing then: look further
        vector = self.embedder.embed([text or query])[0]
        similar = self.index.search(vector, pool, start=start, end=end)
        if found and not similar:
            similar = self.index.search(vector, pool)
        fuse(bm25)
        fuse(h.item_id for h in similar)
        if not second_hop:
            return self._ranked_hits(scores, k, now)
        # Second hop: names that the best hits mention lead to what is said about them.
        leads = self._names_in(list(sorted(scores, key=scores.__getitem__, reverse=True))[:3])
        asked = {w.lower() for w in re.findall(r"[^\W_]+", query)}
        leads = [n for n in leads if n.lower() not in asked and n != self.user_name]
        if leads:
            fuse(self._keyword_hits(" OR ".join(f'"{n}"' for n in leads), None, pool), 0.5)
        return self._ranked_hits(scores, k, now)

    def _keyword_hits(
        self, match: str, window: tuple[datetime, datetime] | None, pool: int
    ) -> list[str]:
        """Episodes and facts ranked by BM25 (episodes only within ``window``, if given).

        Words found in a large share of all messages say little and make FTS5 score tens
        of thousands of rows, so they are left out (the rarest word always stays).
        """
        match = self._selective(match)
        if not match:
            return []
        if window is None:
            episodes = self.db.query(
                "SELECT m.id, r.rank FROM (SELECT rowid, bm25(messages_fts) AS rank"
                " FROM messages_fts WHERE messages_fts MATCH ?"
                f" ORDER BY rank LIMIT {pool}) r JOIN messages m ON m.seq = r.rowid",
                (match,),
            )
        else:
            episodes = self.db.query(
                "SELECT m.id, bm25(messages_fts) AS rank FROM messages_fts"
                " JOIN messages m ON m.seq = messages_fts.rowid"
                " WHERE messages_fts MATCH ? AND m.created_at >= ? AND m.created_at < ?"
                f" ORDER BY rank LIMIT {pool}",
                (match, to_iso(window[0]), to_iso(window[1])),
            )
        facts = self.db.query(
            "SELECT f.id, r.rank FROM (SELECT rowid, bm25(facts_fts) AS rank FROM facts_fts"
            f" WHERE facts_fts MATCH ? ORDER BY rank LIMIT {pool // 2}) r"
            " JOIN facts f ON f.seq = r.rowid",
            (match,),
        )
        merged = sorted(
            [(float(r["rank"]), str(r["id"])) for r in episodes]
            + [(float(r["rank"]), str(r["id"])) for r in facts]
        )
        return [item_id for _, item_id in merged]

    def _selective(self, match: str) -> str:
        terms = match.split(" OR ")
        total = int(self.db.query("SELECT COALESCE(MAX(seq), 0) AS n FROM messages")[0]["n"])
        if len(terms) <= 2 or total < 2000:
            return match
        cap = total // 50  # a word in more than 2% of all messages hardly narrows anything
        counts = {
            term: int(
                self.db.query(
                    "SELECT COUNT(*) AS n FROM (SELECT 1 FROM messages_fts"
                    " WHERE messages_fts MATCH ? LIMIT ?)",
                    (term, cap + 1),
                )[0]["n"]
            )
            for term in terms
        }
        kept = [t for t in terms if counts[t] <= cap]
        return " OR ".join(kept or sorted(terms, key=counts.__getitem__)[:1])

    def _names_in(self, item_ids: Sequence[str]) -> list[str]:
        names: list[str] = []
        for hit in self._hits(item_ids, {}).values():
            for name in re.findall(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]{2,})\b", hit.text):
                if name.lower() not in _STOPWORDS and name not in names:
                    names.append(name)
        return names[:4]

    def _ranked_hits(self, scores: dict[str, float], k: int, now: datetime) -> list[Hit]:
        ranked: list[Hit] = []
        for hit in self._hits(list(scores), scores).values():
            score = hit.score
            age_days = max(0.0, (now - hit.time).total_seconds() / 86400)
            bonus = 0.002 * math.exp(-age_days / 60)  # recent things come to mind first
            if hit.kind == "fact":
                bonus += 0.004 if hit.current else -0.01
            elif hit.kind == "episode" and hit.role != "user":
                score *= COMPANION_WEIGHT  # the user's own words are the evidence
            ranked.append(Hit(**{**hit.__dict__, "score": score + bonus}))
        ranked.sort(key=lambda h: h.score, reverse=True)
        return ranked[:k]

    def _hits(self, item_ids: Sequence[str], scores: dict[str, float]) -> dict[str, Hit]:
        """Hits for many ids at once (three queries, not three per item)."""
        hits: dict[str, Hit] = {}
        known_facts = self.fact_ids(item_ids)
        fact_ids = [i for i in item_ids if i in known_facts]
        message_ids = [i for i in item_ids if i not in known_facts and i != PROFILE_ID]
        if PROFILE_ID in item_ids and (profile := self.profile_hit(scores.get(PROFILE_ID, 0))):
            hits[PROFILE_ID] = profile
        for chunk in _chunks(message_ids):
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(
                f"SELECT id, role, speaker, text, created_at FROM messages WHERE id IN ({marks})",
                tuple(chunk),
            ):
                hits[row["id"]] = Hit(
                    row["id"],
                    "episode",
                    row["text"],
                    from_iso(row["created_at"]),
                    scores.get(row["id"], 0.0),
                    (row["id"],),
                    speaker=row["speaker"],
                    role=row["role"],
                )
        for chunk in _chunks(fact_ids):
            marks = ",".join("?" * len(chunk))
            sources: dict[str, list[str]] = {}
            for row in self.db.query(
                f"SELECT fact_id, message_id FROM fact_sources WHERE fact_id IN ({marks})"
                " ORDER BY message_id",
                tuple(chunk),
            ):
                sources.setdefault(row["fact_id"], []).append(row["message_id"])
            for row in self.db.query(
                f"SELECT id, text, valid_from, valid_to FROM facts WHERE id IN ({marks})",
                tuple(chunk),
            ):
                hits[row["id"]] = Hit(
                    row["id"],
                    "fact",
                    row["text"],
                    from_iso(row["valid_from"]),
                    scores.get(row["id"], 0.0),
                    tuple(sources.get(row["id"], ())),
                    current=row["valid_to"] is None,
                )
        return hits

    # -- the core profile --------------------------------------------------------------

    def consolidate(self, header: str | None = None) -> str:
        """Rebuild the core profile from the current facts; returns its text.

        ``header`` (who is talking, where they stand) is kept for later rebuilds, such as
        after something is forgotten, that do not give one.
        """
        with self._lock:
            if header is None:
                header = str((self.profile() or {}).get("header", ""))
            facts = self.facts()
            lines = [header.strip()] if header.strip() else []
            ranked = sorted(facts, key=lambda f: (-f.importance, f.valid_from))
            lines += [f.text for f in ranked][:24]
            text = " ".join(lines) if lines else f"Not much is known about {self.user_name} yet."
            sources = sorted({s for f in facts for s in f.sources})
            self.state.put(
                PROFILE_KEY,
                {
                    "text": text,
                    "header": header,
                    "updated_at": to_iso(self.clock()),
                    "sources": sources,
                    "facts": [f.id for f in facts],
                },
            )
            self.index.add(
                [(PROFILE_ID, "profile", self.clock().timestamp())], self.embedder.embed([text])
            )
            return text

    def _profile_uses(self, item_ids: set[str]) -> bool:
        profile = self.profile()
        if not profile:
            return False
        used = set(string_list(profile.get("sources")) + string_list(profile.get("facts")))
        return bool(used & item_ids)

    # -- user control ----------------------------------------------------------------

    def forget(self, item_id: str) -> ForgetReport:
        """Remove a message or fact from every layer and index; facts that rested only on
        a forgotten message go too, and the profile is rebuilt if it used any of it."""
        with self._lock:
            report = self._forget(item_id)
            clear_cache(self.db.path.parent)  # the saved prompt and index held it too
            return report

    def _forget(self, item_id: str) -> ForgetReport:
        report = ForgetReport()
        if item_id == PROFILE_ID:
            self.state.delete(PROFILE_KEY)
            self.index.remove([PROFILE_ID])
            report.profile_changed = True
            return report
        if self.fact_ids([item_id]):
            report.facts.append(item_id)
        else:
            if not self.db.query("SELECT 1 FROM messages WHERE id = ?", (item_id,)):
                raise KeyError(item_id)
            report.messages.append(item_id)
            derived = self.db.query(
                "SELECT fact_id FROM fact_sources WHERE message_id = ?", (item_id,)
            )
            for row in derived:
                remaining = self.db.query(
                    "SELECT COUNT(*) AS n FROM fact_sources WHERE fact_id = ? AND message_id != ?",
                    (row["fact_id"], item_id),
                )[0]["n"]
                if remaining == 0:
                    report.facts.append(str(row["fact_id"]))
        with self.db.transaction() as conn:
            for fact_id in report.facts:
                # The fact before it in its slot now ends where the forgotten one ended.
                gone = conn.execute(
                    "SELECT valid_to, superseded_by FROM facts WHERE id = ?", (fact_id,)
                ).fetchone()
                conn.execute(
                    "UPDATE facts SET valid_to = ?, superseded_by = ? WHERE superseded_by = ?",
                    (gone["valid_to"], gone["superseded_by"], fact_id),
                )
            conn.executemany("DELETE FROM facts WHERE id = ?", [(f,) for f in report.facts])
            conn.executemany(
                "DELETE FROM fact_sources WHERE message_id = ?", [(m,) for m in report.messages]
            )
            conn.executemany("DELETE FROM messages WHERE id = ?", [(m,) for m in report.messages])
            # Merge the full-text indexes so no trace of the words stays in their pages.
            conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('optimize')")
            conn.execute("INSERT INTO facts_fts (facts_fts) VALUES ('optimize')")
        self.index.remove(report.messages + report.facts)
        gone_ids = set(report.messages + report.facts)
        self._scrub_recollections(gone_ids)
        if self._profile_uses(gone_ids):
            self.consolidate()
            report.profile_changed = True
        self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return report

    def edit(self, item_id: str, text: str) -> None:
        """Correct what a fact or a message says. Facts drawn from an edited message are
        drawn again from its new words; quotes of it and the profile follow."""
        text = " ".join(text.split())
        if not text:
            raise ValueError("empty text")
        with self._lock:
            is_fact = bool(self.fact_ids([item_id]))
            table, kind = ("facts", "fact") if is_fact else ("messages", "episode")
            column = "valid_from" if is_fact else "created_at"
            rows = self.db.query(f"SELECT {column} AS time FROM {table} WHERE id = ?", (item_id,))
            if not rows:
                raise KeyError(item_id)
            with self.db.transaction() as conn:
                conn.execute(f"UPDATE {table} SET text = ? WHERE id = ?", (text, item_id))
            self.index.remove([item_id])
            clear_cache(self.db.path.parent)  # the saved prompt and index held the old words
            if is_fact:
                time = from_iso(rows[0]["time"]).timestamp()
                self.index.add([(item_id, kind, time)], self.embedder.embed([text]))
            changed = {item_id}
            if not is_fact:
                derived = [
                    str(r["fact_id"])
                    for r in self.db.query(
                        "SELECT fact_id FROM fact_sources WHERE message_id = ?", (item_id,)
                    )
                ]
                for fact_id in derived:
                    others = self.db.query(
                        "SELECT COUNT(*) AS n FROM fact_sources"
                        " WHERE fact_id = ? AND message_id != ?",
                        (fact_id, item_id),
                    )[0]["n"]
                    if others:  # other messages still say it: only this source goes
                        with self.db.transaction() as conn:
                            conn.execute(
                                "DELETE FROM fact_sources WHERE fact_id = ? AND message_id = ?",
                                (fact_id, item_id),
                            )
                    else:
                        self._forget(fact_id)
                changed.update(derived)
                message = self.db.query(
                    "SELECT id, conversation_id, role, speaker, text, created_at, status, meta"
                    " FROM messages WHERE id = ?",
                    (item_id,),
                )
                self._learn([Message.from_row(message[0])])
            self._scrub_recollections({item_id})
            if self._profile_uses(changed):
                self.consolidate()

    def _scrub_recollections(self, gone: set[str]) -> None:
        """Drop quotes of forgotten items that later turns kept as what was recalled."""
        for item_id in gone:
            rows = self.db.query(
                "SELECT id, meta FROM messages WHERE EXISTS (SELECT 1 FROM"
                " json_each(messages.meta, '$.recalled') AS r"
                " WHERE json_extract(r.value, '$.id') = ?)",
                (item_id,),
            )
            for row in rows:
                meta = json.loads(row["meta"])
                recalled = [r for r in meta.get("recalled", []) if r.get("id") not in gone]
                meta["recalled"] = recalled
                if not recalled:
                    del meta["recalled"]
                with self.db.transaction() as conn:
                    conn.execute(
                        "UPDATE messages SET meta = ? WHERE id = ?",
                        (json.dumps(meta, ensure_ascii=False), row["id"]),
                    )

    def describe(self, item_id: str) -> dict[str, object] | None:
        """Everything stored about one item (for `os1 memory show`)."""
        if item_id == PROFILE_ID:
            return dict(self.profile() or {}) or None
        if self.fact_ids([item_id]):
            fact = self.fact(item_id)
            if fact is None:
                return None
            quoted = [
                {"id": r["id"], "time": r["created_at"], "speaker": r["speaker"], "text": r["text"]}
                for source in fact.sources
                for r in self.db.query(
                    "SELECT id, created_at, speaker, text FROM messages WHERE id = ?", (source,)
                )
            ]
            return {
                "id": fact.id,
                "kind": "fact",
                "text": fact.text,
                "slot": fact.slot,
                "importance": fact.importance,
                "valid_from": to_iso(fact.valid_from),
                "valid_to": to_iso(fact.valid_to) if fact.valid_to else None,
                "superseded_by": fact.superseded_by,
                "sources": quoted,
            }
        rows = self.db.query(
            "SELECT id, conversation_id, role, speaker, text, created_at, status"
            " FROM messages WHERE id = ?",
            (item_id,),
        )
        if not rows:
            return None
        derived = self.db.query("SELECT fact_id FROM fact_sources WHERE message_id = ?", (item_id,))
        return {
            "id": item_id,
            "kind": "episode",
            **{k: rows[0][k] for k in ("conversation_id", "role", "speaker", "text", "status")},
            "time": rows[0]["created_at"],
            "facts": [r["fact_id"] for r in derived],
        }
