"""Long-term memory on a real SQLite database, with the hashing test embedder."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from os1.app import App
from os1.errors import InputError
from os1.llm.fake import FakeLLM
from os1.memory.core import Memory
from os1.memory.embedding import HashingEmbedder
from os1.memory.transfer import export_all, import_jsonl
from os1.store.conversations import Conversations, Message
from os1.store.db import Database
from tests.conftest import MovableClock

T0 = datetime(2026, 10, 5, 18, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def memory(home: Path, clock: MovableClock) -> Memory:
    return Memory(Database.in_home(home), HashingEmbedder(), user_name="Theo", clock=clock)


def say(memory: Memory, text: str, at: datetime, role: str = "user") -> Message:
    conversations = Conversations(memory.db)
    cid = conversations.start()
    speaker = "Theo" if role == "user" else "Iris"
    message = conversations.add(cid, role, speaker, text, created_at=at)  # type: ignore[arg-type]
    memory.learn([message])
    return message


def test_facts_are_learned_with_their_sources(memory: Memory) -> None:
    message = say(memory, "My sister Annie just moved to Lisbon.", T0)
    facts = {f.text: f for f in memory.facts()}
    assert "Theo's sister is Annie." in facts
    assert facts["Theo's sister is Annie."].sources == (message.id,)


def test_search_returns_hits_with_sources_in_rank_order(memory: Memory) -> None:
    pet = say(memory, "We adopted a beagle, we named him Pickles.", T0)
    say(memory, "Work was long today, lots of meetings.", T0 + timedelta(days=1))
    hits = memory.search("beagle Pickles", k=5)
    assert hits[0].kind in ("episode", "fact")
    assert pet.id in hits[0].sources
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
    for hit in hits:
        assert set(hit.to_dict()) >= {"id", "kind", "text", "time", "score", "sources"}


def test_a_changed_fact_supersedes_the_old_one(memory: Memory) -> None:
    old = say(memory, "I live in Los Angeles, near the beach.", T0)
    new = say(memory, "Big news: we moved to Seattle!", T0 + timedelta(days=30))
    current = [f for f in memory.facts() if f.slot == "home"]
    assert [f.text for f in current] == ["Theo lives in Seattle."]
    history = [f for f in memory.facts(include_superseded=True) if f.slot == "home"]
    previous = next(f for f in history if "Los Angeles" in f.text)
    assert previous.valid_to == new.created_at and previous.superseded_by == current[0].id
    hits = memory.search("Theo lives in", k=10)
    facts = [h for h in hits if h.kind == "fact"]
    assert facts[0].text == "Theo lives in Seattle." and facts[0].current
    assert old.id in {s for h in hits for s in h.sources}  # still findable, ranked lower


def test_forgetting_a_message_removes_it_everywhere(memory: Memory) -> None:
    secret = say(memory, "I'm allergic to penicillin, don't tell anyone.", T0)
    say(memory, "The weather is lovely today.", T0 + timedelta(hours=1))
    memory.consolidate()
    assert "penicillin" in str(memory.profile())
    report = memory.forget(secret.id)
    assert report.messages == [secret.id] and len(report.facts) == 1
    assert report.profile_changed and "penicillin" not in str(memory.profile())
    for query in ("penicillin", "allergic", "allergy medicine"):
        for hit in memory.search(query, k=20):
            assert "penicillin" not in hit.text and secret.id not in hit.sources
    assert not memory.index.has(secret.id)
    exported = json.dumps(export_all(memory, None))
    assert "penicillin" not in exported


def test_forgetting_the_new_fact_brings_back_the_old_one(memory: Memory) -> None:
    say(memory, "I live in Los Angeles.", T0)
    say(memory, "We moved to Seattle.", T0 + timedelta(days=3))
    seattle = next(f for f in memory.facts() if "Seattle" in f.text)
    memory.forget(seattle.id)
    assert [f.text for f in memory.facts() if f.slot == "home"] == ["Theo lives in Los Angeles."]


def test_editing_a_fact_changes_what_is_found(memory: Memory) -> None:
    say(memory, "My favourite book is Dune.", T0)
    fact = memory.facts()[0]
    memory.edit(fact.id, "Theo's favourite book is Middlemarch.")
    assert memory.search("Middlemarch", k=3)[0].id == fact.id
    with pytest.raises(KeyError):
        memory.edit("f_missing", "x")


def test_time_words_narrow_the_search(memory: Memory, clock: MovableClock) -> None:
    tuesday = T0 + timedelta(days=1)  # Tuesday 6 October
    for day in range(0, 21, 3):
        say(memory, "I cooked pasta for dinner again.", T0 + timedelta(days=day, hours=1))
    cooked = say(memory, "I cooked a Thai curry for dinner.", tuesday)
    clock.now = T0 + timedelta(days=8)  # Tuesday 13 October: "last Tuesday" is the 6th
    hits = memory.search("what did I cook last Tuesday?", k=3)
    assert hits[0].id == cooked.id


def write_lines(path: Path, records: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def record(n: int, text: str, speaker: str = "Theo") -> dict[str, str]:
    at = (T0 + timedelta(minutes=n)).isoformat()
    return {
        "id": f"x{n}",
        "conversation": "imported-1",
        "time": at,
        "speaker": speaker,
        "text": text,
    }


def test_import_is_idempotent_and_learns(memory: Memory, tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "t.jsonl",
        [
            record(1, "My brother Sam lives in Oslo."),
            record(2, "Lovely!", "assistant"),
            record(3, "I live in Bergen."),
        ],
    )
    first = import_jsonl(memory, path)
    assert (first.added, first.already_known) == (3, 0) and first.facts >= 2
    again = import_jsonl(memory, path)
    assert (again.added, again.already_known, again.facts) == (0, 3, 0)
    roles = {r["id"]: r["role"] for r in memory.db.query("SELECT id, role FROM messages")}
    assert roles == {"x1": "user", "x2": "companion", "x3": "user"}
    assert "x1" in memory.search("brother Sam", k=3)[0].sources


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2 is not valid JSON"),
        ('{"id": "a"}', "line 2 lacks conversation, time, speaker, text"),
        (
            '{"id": "a", "conversation": "c", "time": "yesterday", "speaker": "T", "text": "x"}',
            "time is not ISO 8601",
        ),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_a_bad_import_line_is_named_and_nothing_is_imported(
    memory: Memory, tmp_path: Path, line: str, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(record(1, "hello")) + "\n" + line + "\n")
    with pytest.raises(InputError, match=message):
        import_jsonl(memory, path)
    assert Conversations(memory.db).count() == 0


def test_export_is_readable_json_of_everything(memory: Memory) -> None:
    say(memory, "My dog is called Pickles.", T0)
    memory.consolidate()
    data = export_all(memory, {"companion_name": "Iris"})
    assert data["companion"] == {"companion_name": "Iris"}
    assert data["facts"][0]["text"] == "Theo's dog is Pickles."
    assert data["conversations"][0]["messages"][0]["text"] == "My dog is called Pickles."
    assert "Pickles" in data["profile"]["text"]


# -- in conversation ------------------------------------------------------------------


def test_forget_that_forgets_the_previous_message(onboarded: App, fake_llm: FakeLLM) -> None:
    companion = onboarded.companion()
    turn = companion.respond("My therapist is called Dr Moss.")
    companion.learn(turn)
    assert onboarded.memory.search("therapist Moss", k=3)
    reply = companion.respond("Actually, forget that.")
    assert reply.reply == "Okay. I've forgotten that."
    texts = [m.text for m in Conversations(onboarded.db).recent(50)]
    assert "My therapist is called Dr Moss." not in texts
    assert not [f for f in onboarded.memory.facts() if "Moss" in f.text]


def test_dont_remember_this_keeps_nothing_of_it(onboarded: App, fake_llm: FakeLLM) -> None:
    companion = onboarded.companion()
    turn = companion.respond("My bank PIN is 4711, don't remember this.")
    companion.learn(turn)
    assert turn.reply == "Okay. I won't remember that."
    everything = json.dumps(export_all(onboarded.memory, None))
    assert "4711" not in everything
    assert not any("4711" in p.transcript for p in fake_llm.prompts)


def test_the_companion_recalls_what_matters_from_long_ago(
    onboarded: App, fake_llm: FakeLLM, clock: MovableClock
) -> None:
    onboarded.settings.chat.history_messages = 4
    companion = onboarded.companion()
    first = companion.respond("I have an interview with the publisher on Friday.")
    companion.learn(first)
    for n in range(6):
        clock.advance(hours=1)
        companion.learn(companion.respond(f"Just chatting about the weather, part {n}."))
    clock.advance(days=4)
    companion.respond("The interview with the publisher went well!")
    prompt = fake_llm.prompts[-1].transcript
    assert "Iris remembers:" in prompt
    assert "publisher" in prompt.split("Iris remembers:")[1]


@pytest.mark.parametrize(
    "query",
    ['"unbalanced', "AND OR NOT", "NEAR(a b)", "col:umn*", "^start", "", "  ", "💜", "x" * 5000],
)
def test_any_query_text_is_safe(memory: Memory, query: str) -> None:
    say(memory, "I cooked a Thai curry.", T0)
    memory.search(query, k=5)  # no FTS5 syntax error, no crash


def test_large_index_first_pass_finds_the_same_best_matches(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    from os1.memory import index as index_module

    rng = np.random.default_rng(3)
    # Like real sentence embeddings, most of the variation lies in a few directions.
    topics = rng.normal(size=(3000, 12)) @ rng.normal(size=(12, 64))
    vectors = (topics + 0.2 * rng.normal(size=(3000, 64))).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    db = Database.in_home(home)
    exact = index_module.VectorIndex(db, "test", 64)
    exact.add([(f"m{i}", "episode", float(i)) for i in range(3000)], vectors)
    monkeypatch.setattr(index_module, "_APPROXIMATE_FROM", 1000)
    approx = index_module.VectorIndex(db, "test", 64)
    approx.load()
    for query in vectors[:20] + 0.05 * rng.normal(size=(20, 64)).astype(np.float32):
        query = query / np.linalg.norm(query)
        best = {h.item_id for h in approx.search(query, 5)}
        monkeypatch.setattr(index_module, "_APPROXIMATE_FROM", 10**9)
        assert best == {h.item_id for h in exact.search(query, 5)}
        monkeypatch.setattr(index_module, "_APPROXIMATE_FROM", 1000)


def test_the_loaded_index_is_saved_and_taken_up_by_the_next_process(home: Path) -> None:
    import numpy as np

    from os1.memory import index as index_module
    from os1.memory.index_snapshot import SnapshotFile

    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(1500, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    db = Database.in_home(home)
    index_module.VectorIndex(db, "test", 32).add(
        [(f"m{i}", "episode", float(i)) for i in range(1500)], vectors
    )
    first = index_module.VectorIndex(db, "test", 32)
    first.load()  # read from the database, and saved
    saved = SnapshotFile(home / "cache", "test", 32)

    def stamp() -> tuple[int, str]:
        row = db.query("SELECT count, database_id FROM index_changes")[0]
        return int(row[0]), str(row[1])

    assert saved.load(*stamp()) is not None
    expected = [h.item_id for h in first.search(vectors[7], 3)]

    def fresh(database: Database = db) -> index_module.VectorIndex:
        index = index_module.VectorIndex(database, "test", 32)
        index.load()
        return index

    assert [h.item_id for h in fresh().search(vectors[7], 3)] == expected
    # Added since the copy was saved: read from the database on top of it.
    newer = rng.normal(size=(1, 32)).astype(np.float32)
    newer /= np.linalg.norm(newer)
    fresh().add([("late", "episode", 2000.0)], newer)
    assert fresh().search(newer[0], 1)[0].item_id == "late"
    # Removed: the copy no longer fits and is not used.
    fresh().remove(["m7"])
    assert saved.load(*stamp()) is None
    after = fresh()
    assert "m7" not in {h.item_id for h in after.search(vectors[7], 3)} and len(after) == 1500
    # A damaged copy is ignored.
    saved.path.write_bytes(b"PK not really a zip")
    assert len(fresh()) == 1500
    # Another database in the same place (the old one deleted by hand) never takes it up.
    after = fresh()  # saved again
    db.close()
    (home / "os1.db").unlink()
    other = Database.in_home(home)
    index_module.VectorIndex(other, "test", 32).add([("new", "episode", 1.0)], newer)
    assert len(fresh(other)) == 1


def test_times_read_back_from_the_database_are_exact(memory: Memory) -> None:
    at = datetime.fromisoformat("2026-05-02T18:00:00+02:00")
    said = say(memory, "Dinner with Ana at the harbour.", at)
    reread = Memory(memory.db, HashingEmbedder(), user_name="Theo")
    found = reread.index.search(HashingEmbedder().embed([said.text])[0], 1, start=at.timestamp())
    assert [h.item_id for h in found] == [said.id]  # not a few microseconds before its start


def test_forgetting_removes_what_is_kept_to_start_fast(memory: Memory, home: Path) -> None:
    said = say(memory, "My bank PIN is 4711.", T0)
    kept = home / "cache" / "prompt-0123.llama-state"
    kept.parent.mkdir(exist_ok=True)
    kept.write_bytes(b"My bank PIN is 4711.")
    memory.forget(said.id)
    assert not kept.exists()


# -- review findings: each of these was a bug -------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("forget that", "previous"),
        ("Okay, please forget what I said.", "previous"),
        ("My bank PIN is 4711, don't remember this.", "this"),
        ("My bank PIN is 4711 - don’t save this please", "this"),
        ("Don't forget that I have an interview on Friday.", None),
        ("I'll never forget that trip to Rome with my dad.", None),
        ("I don't remember that at all, was I there?", None),
        ("I can't forget that.", None),
        ("Did you forget it?", None),
        ("Oh forget it, it doesn't matter.", None),
    ],
)
def test_forget_requests_are_told_from_ordinary_sentences(text: str, expected: str | None) -> None:
    from os1.companion.recall import forget_command

    assert forget_command(text) == expected


def test_time_words_mean_the_users_local_day(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time as time_module

    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time_module.tzset()
    try:
        clock = MovableClock(datetime(2026, 11, 24, 4, 0, tzinfo=UTC))  # Mon 8 pm in LA
        memory = Memory(Database.in_home(home), HashingEmbedder(), user_name="Theo", clock=clock)
        curry = say(memory, "I cooked a Thai curry.", datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
        say(memory, "I cooked pasta.", datetime(2026, 11, 23, 17, 0, tzinfo=UTC))  # Mon 9 am
        hits = memory.search("what did I cook yesterday?", k=2)  # Sunday, in LA
        assert hits[0].id == curry.id
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time_module.tzset()


def test_supersession_chain_and_late_imports(memory: Memory) -> None:
    say(memory, "I live in Los Angeles.", T0)
    denver = say(memory, "We moved to Denver.", T0 + timedelta(days=60))
    say(memory, "I moved to Seattle.", T0 + timedelta(days=30))  # told late, happened before
    current = [f.text for f in memory.facts() if f.slot == "home"]
    assert current == ["Theo lives in Denver."]
    memory.forget(denver.id)  # forgetting the newest brings back the one before it only
    assert [f.text for f in memory.facts() if f.slot == "home"] == ["Theo lives in Seattle."]


def test_learning_and_forgetting_at_once_leave_nothing_behind(memory: Memory) -> None:
    import threading
    import time as time_module

    class SlowEmbedder(HashingEmbedder):
        def embed(self, texts: Sequence[str]) -> Any:
            time_module.sleep(0.2)
            return super().embed(texts)

    memory.embedder = SlowEmbedder()
    conversations = Conversations(memory.db)
    message = conversations.add(conversations.start(), "user", "Theo", "I'm allergic to nuts.")
    learning = threading.Thread(target=memory.learn, args=([message],))
    learning.start()
    time_module.sleep(0.05)
    memory.forget(message.id)
    learning.join()
    assert memory.facts() == []
    assert memory.db.query("SELECT COUNT(*) AS n FROM embeddings")[0]["n"] == 0
    assert memory.search("nuts allergy", k=5) == []


def test_forgotten_words_leave_no_trace_in_the_database_file(memory: Memory, home: Path) -> None:
    secret = say(memory, "My password is zebracorn42.", T0)
    memory.forget(secret.id)
    raw = b"".join(p.read_bytes() for p in home.glob("os1.db*"))
    assert b"zebracorn42" not in raw


def test_blank_messages_do_not_stall_indexing(memory: Memory) -> None:
    conversations = Conversations(memory.db)
    conversations.add(conversations.start(), "user", "Theo", "   ")
    assert memory.index_pending() == 0


def test_ids_that_look_like_facts_are_still_messages(memory: Memory, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", [{**record(1, "A message about owls."), "id": "f_1"}])
    import_jsonl(memory, path)
    assert memory.search("owls", k=1)[0].id == "f_1"
    assert memory.describe("f_1")["kind"] == "episode"  # type: ignore[index]
    assert memory.forget("f_1").messages == ["f_1"]
    bad = write_lines(tmp_path / "bad.jsonl", [{**record(2, "x"), "id": "profile"}])
    with pytest.raises(InputError, match="other than 'profile'"):
        import_jsonl(memory, bad)


def test_editing_a_message_redraws_its_facts(memory: Memory) -> None:
    message = say(memory, "I live in Boston.", T0)
    memory.edit(message.id, "I live in Chicago.")
    assert [f.text for f in memory.facts()] == ["Theo lives in Chicago."]


def test_false_facts_are_not_drawn(memory: Memory) -> None:
    say(memory, "She is my boss. What if we moved to Denver? I moved to Paris. Then it rained.", T0)
    assert sorted(f.text for f in memory.facts()) == ["Theo lives in Paris."]


class ServerFakeLLM(FakeLLM):
    """The fake model, presenting itself as one on a server (so memory asks it for facts)."""

    @property
    def info(self) -> Any:
        from os1.llm.base import ModelInfo

        return ModelInfo(name="openai:fake", kind="openai", prompt_format="chat")


def test_a_bigger_model_adds_facts_the_patterns_miss(home: Path, clock: MovableClock) -> None:
    from os1.companion.onboarding import Onboarding

    llm = ServerFakeLLM()
    app = App.open(home, clock=clock, llm_factory=lambda s: llm, embedder_factory=HashingEmbedder)
    llm.enqueue("Iris, because it is bright.")
    onboarding = Onboarding()
    onboarding.fill_defaults("Theo", "female")
    app.complete_onboarding(onboarding)
    companion = app.companion()
    llm.enqueue(
        "That's lovely!",  # the reply
        "- Theo has a greyhound named Luna.\n- Theo maybe likes dogs.\n- Who is Luna?\n"
        "- The user lives in Seattle.\n- none",  # the facts in the user's message
    )
    turn = companion.respond(
        "We adopted a greyhound last week, she's called Luna. I live in Seattle."
    )
    companion.learn(turn)
    facts = sorted(f.text for f in app.memory.facts())
    # The pattern found 'lives in Seattle'; the model added the dog, said nothing twice,
    # and its hedged or questioning lines were dropped.
    assert facts == ["Theo has a greyhound named Luna.", "Theo lives in Seattle."]
    assert app.memory.facts()[0].sources == (turn.user_message.id,)
    app.close()


def test_the_embedded_model_is_not_asked_for_facts(onboarded: App, fake_llm: FakeLLM) -> None:
    companion = onboarded.companion()
    turn = companion.respond("We adopted a greyhound last week, she's called Luna.")
    asked = len(fake_llm.prompts)
    companion.learn(turn)
    assert len(fake_llm.prompts) == asked


def test_the_core_profile_says_who_is_talking_and_what_is_known(onboarded: App) -> None:
    companion = onboarded.companion()
    companion.learn(companion.respond("My sister Annie lives in Lisbon."))
    profile = onboarded.consolidate()
    assert profile.startswith("Theo talks with Iris, an AI companion with a female voice since")
    assert "only just met" in profile and "Theo's sister is Annie." in profile
    assert profile in companion.build_prompt().transcript  # always in the companion's mind


def test_a_long_message_is_found_by_what_it_says_at_the_end(memory: Memory) -> None:
    from os1.memory.core import passages

    filler = " ".join(f"word{n}" for n in range(400))
    long = say(memory, f"{filler} and finally my grandmother's recipe uses cardamom.", T0)
    parts = passages(long.text)
    assert len(parts) >= 3 and all(len(p.split()) <= 150 for p in parts)
    assert "cardamom" in parts[-1]
    rows = memory.db.query("SELECT item_id FROM embeddings")
    assert len(rows) == len(parts)
    hits = memory.index.search(memory.embedder.embed(["grandmother cardamom recipe"])[0], 3)
    assert hits[0].item_id == long.id  # found by its last passage, as the message
    memory.forget(long.id)
    assert memory.db.query("SELECT COUNT(*) AS n FROM embeddings")[0]["n"] == 0
    assert not memory.index.has(long.id)


def test_an_imported_old_transcript_is_not_the_recent_past(
    onboarded: App, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    companion = onboarded.companion()
    companion.respond("Today I'm painting the kitchen.")
    old = [record(1, "Back in October I was in Lisbon.")]
    import_jsonl(onboarded.memory, write_lines(tmp_path / "old.jsonl", old))
    companion.respond("Still painting.")
    prompt = fake_llm.prompts[-1].transcript
    recent = prompt.split("Today I'm painting the kitchen.")[1]
    assert "Lisbon" not in recent  # the old message sits before, not among the newest


# -- second round of findings -------------------------------------------------------------


def test_a_message_without_words_does_not_stall_search(memory: Memory, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "ws.jsonl", [record(1, "\n\t "), record(2, "tea time")])
    import_jsonl(memory, path)
    assert memory.index_pending() == 0
    assert memory.search("tea", k=3)[0].id == "x2"
    assert memory.search("   ", k=3) == []


def test_an_interrupted_import_learns_on_the_next_one(memory: Memory, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", [record(1, "My sister is called Annie.")])
    import_jsonl(memory, path)
    with memory.db.transaction() as conn:  # as if killed after storing, before learning
        conn.execute("DELETE FROM facts")
        conn.execute("DELETE FROM embeddings")
    again = import_jsonl(memory, path)
    assert again.added == 0 and again.facts == 1
    assert [f.text for f in memory.facts()] == ["Theo's sister is Annie."]


def test_editing_one_message_keeps_a_fact_another_still_states(
    memory: Memory, tmp_path: Path
) -> None:
    path = write_lines(
        tmp_path / "t.jsonl",
        [record(1, "My sister is called Annie."), record(2, "My sister is called Annie.")],
    )
    import_jsonl(memory, path)
    memory.edit("x1", "I like tea.")
    facts = memory.facts()
    assert [f.text for f in facts] == ["Theo's sister is Annie."] and facts[0].sources == ("x2",)


def test_the_profile_keeps_its_header_when_rebuilt_after_forgetting(memory: Memory) -> None:
    allergy = say(memory, "I'm allergic to nuts.", T0)
    say(memory, "I live in Bergen.", T0)
    memory.consolidate("Theo talks with Iris.")
    memory.forget(allergy.id)
    assert str(memory.profile()["text"]).startswith("Theo talks with Iris.")  # type: ignore[index]


def test_quotes_of_an_odd_id_are_scrubbed(memory: Memory, tmp_path: Path) -> None:
    odd = {**record(1, "My secret code word is pineapple."), "id": 'sec"1\\x'}
    import_jsonl(memory, write_lines(tmp_path / "t.jsonl", [odd]))
    conversations = Conversations(memory.db)
    later = conversations.add(
        conversations.start(), "user", "Theo", "what's my code word?",
        meta={"recalled": [{"id": odd["id"], "text": odd["text"]}]},
    )  # fmt: skip
    memory.forget(odd["id"])
    meta = memory.db.query("SELECT meta FROM messages WHERE id = ?", (later.id,))[0]["meta"]
    assert "pineapple" not in meta


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "k\x1f1"}, "control characters"),
        ({"text": "bad \ud800"}, "unpaired surrogate"),
        ({"time": "0001-01-01T00:00:00+05:00"}, "out of range"),
        ({"time": "9999-12-31T23:59:59-05:00"}, "out of range"),
    ],
)
def test_impossible_lines_are_refused(
    memory: Memory, tmp_path: Path, change: dict[str, str], message: str
) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({**record(1, "hello"), **change}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        import_jsonl(memory, path)


def test_an_id_that_a_fact_has_is_refused(memory: Memory, tmp_path: Path) -> None:
    say(memory, "My dog is called Rex.", T0)
    fact_id = memory.facts()[0].id
    path = write_lines(tmp_path / "t.jsonl", [{**record(1, "zebrafish"), "id": fact_id}])
    with pytest.raises(InputError, match="already used by facts"):
        import_jsonl(memory, path)


def test_a_byte_order_mark_and_a_local_time_are_understood(memory: Memory, tmp_path: Path) -> None:
    line = json.dumps({**record(1, "hello"), "time": "2026-05-02T18:00:00"})
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + line.encode() + b"\n")
    assert import_jsonl(memory, path).added == 1


def test_forget_that_twice_reaches_further_back(onboarded: App, fake_llm: FakeLLM) -> None:
    companion = onboarded.companion()
    fake_llm.enqueue("Annie is a lovely name.", "Bob, nice.")
    for text in ("My sister is called Annie.", "My brother is called Bob."):
        companion.learn(companion.respond(text))
    companion.respond("forget that")
    companion.respond("forget that")
    facts = [f.text for f in onboarded.memory.facts()]
    assert facts == []
    said = [m.text for m in Conversations(onboarded.db).recent(50)]
    assert not [t for t in said if "Annie" in t or "Bob" in t]  # the replies went too
    assert said.count("Okay. I've forgotten that.") == 2
